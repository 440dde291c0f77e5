"""Sentences as answers: the sentences the reader points at, and the answer that quotes one.

The answers that are not a short span (why/how, yes/no, lists, comparisons) quote whole sentences. Which
sentences is asked of the span reader: every candidate span it finds in the retrieved passages (at any
confidence) votes for the sentence holding it, and a sentence is as likely as its best span.

Example::

    found = evidence(reader, "Why is the plant closing?", passages)
    found[0].citation.quote  # the sentence the reader's best span sits in
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from index.terms import terms
from qa.read import SpanReader, cite
from qa.types import Answer, Citation, Part, Passage


@dataclass(frozen=True)
class Asking:
    """What every kind of answer is given (one entry shape: ``answer_<kind>(asking) -> Answer | None``, ``None``
    when the span reader should answer instead).

    Attributes:
        question: the question as asked.
        kind: its kind (:func:`qa.kinds.question_kind`).
        passages: the retrieved passages, best first.
        reader: the span reader.
        store: the index (whole articles, their sentences).
        k: passages to keep in the answer.
        context: words a follow-up borrows from the conversation, read with the question.
        verdicts: the yes/no classifier (:class:`qa.verdict.VerdictModel`).
    """

    question: str
    kind: str
    passages: list[Passage]
    reader: SpanReader
    store: object
    k: int
    context: str = ""
    verdicts: object | None = None

    @property
    def read_as(self) -> str:
        """The question with the conversation's words, as the reader reads it."""
        return f"{self.question} {self.context}".strip()


@dataclass(frozen=True)
class Evidence:
    """A sentence the reader points at.

    Attributes:
        probability: the calibrated probability of the reader's best span in it.
        passage: the passage it was read in.
        citation: the sentence (or sentences, when the span crosses a boundary), verbatim.
        start: the reader's best span in it, in article offsets.
        end: one past the span's end.
    """

    probability: float
    passage: Passage
    citation: Citation
    start: int
    end: int

    @property
    def span(self) -> Part:
        """The reader's span inside the sentence, as a part of an answer."""
        text = self.passage.text[self.start - self.passage.start : self.end - self.passage.start]
        return Part(text, self.start, self.end, self.citation)


def evidence(reader: SpanReader, question: str, passages: list[Passage], depth: int | None = None) -> list[Evidence]:
    """The sentences holding the reader's candidate spans in the best ``depth`` passages (default: as many as the
    reader reads), best first, each sentence once (with its best span)."""
    found: list[Evidence] = []
    seen: set[tuple[str, int]] = set()
    for candidate in reader.spans(question, passages[: depth or reader.passages]):
        citation = cite(candidate.passage, candidate.start, candidate.end)
        if (citation.article_id, citation.start) in seen:
            continue
        seen.add((citation.article_id, citation.start))
        found.append(Evidence(candidate.probability, candidate.passage, citation, candidate.start, candidate.end))
    return found


@functools.cache
def _asking_words() -> frozenset[str]:
    # stemmed on first use (the stop words come from spaCy, not loaded at import)
    return frozenset(
        terms(
            "article articles story stories report reports piece pieces news say says said summarise summarize sum "
            "compare comparison differ difference different tell latest about what happened both each"
        )
    )


def related_articles(asking: Asking, limit: int) -> list[Passage]:
    """The best passage of each article that speaks of what the question names, best first, at most ``limit``:
    the best passage's article, and others whose passage (with its title) holds at least half as many of the
    question's words as the best one's (a neighbour that retrieval only ranked is not "about" it)."""
    topic = set(terms(asking.question)) - _asking_words()
    best: dict[str, Passage] = {}
    for passage in asking.passages:
        best.setdefault(passage.article_id, passage)
    ranked = list(best.values())
    if not ranked or not topic:
        return ranked[:1]

    def held(passage: Passage) -> int:
        return len(topic & set(terms(f"{passage.title} {passage.text}")))

    floor = max(1, held(ranked[0]) / 2)
    return [ranked[0], *(p for p in ranked[1:] if held(p) >= floor)][:limit]


def quoted_answer(
    question: str,
    kind: str,
    quotes: list[Citation],
    score: float,
    passages: list[Passage],
    k: int,
    *,
    parts: tuple[Part, ...] = (),
    verdict: str | None = None,
    text: str | None = None,
    span: tuple[int, int] | None = None,
) -> Answer:
    """An answer that quotes whole sentences (``quotes``, the first the main one): its text is the quotes joined by
    " … " unless ``text`` is given, its offsets the main quote's unless ``span`` (in its article) is given; the
    passages shown are the ``k`` best, the main quote's first."""
    main = quotes[0]
    start, end = span or (main.start, main.end)
    shown = [p for p in passages if p.article_id == main.article_id][:1]
    shown += [p for p in passages if p not in shown]
    return Answer(
        question=question,
        text=" … ".join(q.quote for q in quotes) if text is None else text,
        found=True,
        score=round(score, 4),
        article_id=main.article_id,
        start=start,
        end=end,
        citations=tuple(quotes),
        passages=tuple(shown[:k]),
        message="",
        kind=kind,
        parts=parts,
        verdict=verdict,
    )
