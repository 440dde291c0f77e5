"""Sentences as answers: the sentences the reader points at, and the answer that quotes one.

The answers that are not a short span (why/how, yes/no, lists, comparisons) quote whole sentences. The span
reader points at them (every candidate span it finds in the retrieved passages, at any confidence, votes for
the sentence holding it) and the sentence judge (:mod:`qa.judge`) weighs each sentence of those passages.

Example::

    found = evidence(asking)
    found[0].citation.quote  # the sentence most likely to answer
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from index.terms import terms
from qa.judge import SentenceJudge, sigmoid
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
        judge: the sentence judge (:class:`qa.judge.SentenceJudge`), when there is one.
        search: retrieval again, for an answer that needs more than the question's passages: ``search(query,
            articles, k)`` gives the ``k`` best passages for ``query`` (its words matched lexically, the
            question's vector densely) among the given article ids (every article the question may see when
            empty), best first.
    """

    question: str
    kind: str
    passages: list[Passage]
    reader: SpanReader
    store: object
    k: int
    context: str = ""
    judge: SentenceJudge | None = None
    search: Callable[[str, tuple[str, ...], int], list[Passage]] | None = None

    @property
    def read_as(self) -> str:
        """The question with the conversation's words, as the reader reads it."""
        return f"{self.question} {self.context}".strip()


@dataclass(frozen=True)
class Evidence:
    """A sentence that may answer the question.

    Attributes:
        probability: the calibrated probability of the reader's best span in it (0 when it holds none).
        passage: the passage it was read in.
        citation: the sentence (or sentences, when the span crosses a boundary), verbatim.
        start: the reader's best span in it, in article offsets (the whole sentence when it holds none).
        end: one past the span's end.
        relevance: the judge's probability that the sentence is evidence for the answer (``None``: no judge).
        yes: the judge's probability that the sentence says "yes" to the question (``None``: no judge).
    """

    probability: float
    passage: Passage
    citation: Citation
    start: int
    end: int
    relevance: float | None = None
    yes: float | None = None

    @property
    def confidence(self) -> float:
        """How sure it is that this sentence answers: the judge's probability when there is a judge, else the
        reader's."""
        return self.probability if self.relevance is None else self.relevance

    @property
    def span(self) -> Part:
        """The reader's span inside the sentence (or the sentence), as a part of an answer."""
        text = self.passage.text[self.start - self.passage.start : self.end - self.passage.start]
        return Part(text, self.start, self.end, self.citation)


SENTENCE_CONFIDENCE = 0.05
"""Below this confidence in the best sentence, none is quoted ("not found")."""
SPAN_FLOOR = 0.02
"""Nor when no sentence holds a span the reader gives at least this probability: the judge alone finds a plausible
sentence in articles that do not answer (the news dev why/how/yes-no/list questions asked over the training
articles: it declines 3 % of them; with this floor 66 %, keeping 94 % of the answerable ones; BENCHMARKS.md)."""
READER_WEIGHT = 0.5
"""How much the reader's span probability (its log) adds to the judge's log-odds when sentences are ranked (by
default)."""
FOLLOWING_SHARE = 0.5
"""A sentence judged because it follows one the reader points at is ranked as if the reader gave it this share of
that one's probability."""


def evidence(
    asking: Asking,
    passages: list[Passage] | None = None,
    depth: int | None = None,
    *,
    following: int = 0,
    reader_weight: float = READER_WEIGHT,
) -> list[Evidence]:
    """The sentences holding the reader's candidate spans in the best ``depth`` passages (default: as many as the
    reader reads), best first, each once with the reader's best span in it; with a judge, also the sentence after
    each of the ``following`` best of them (holding no span: a reason is often given in the sentence after the
    one that names what the question asks about).

    Without a judge they are ranked by the span's probability; with one, by the judge's log-odds plus
    ``reader_weight`` times the log of the reader's probability (the reader points, the judge weighs whole
    sentences; a following sentence counts :data:`FOLLOWING_SHARE` of the one before it). Judging every sentence
    of the passages instead was measured (BENCHMARKS.md): a little better on why/how, and about 40 ms slower a
    question."""
    read = (asking.passages if passages is None else passages)[: depth or asking.reader.passages]
    found: dict[tuple[str, int], Evidence] = {}
    for candidate in asking.reader.spans(asking.read_as, read):
        citation = cite(candidate.passage, candidate.start, candidate.end)
        key = (citation.article_id, citation.start)
        if key not in found:
            found[key] = Evidence(candidate.probability, candidate.passage, citation, candidate.start, candidate.end)
    if asking.judge is None:
        return list(found.values())
    pointing = {key: e.probability for key, e in found.items()}
    if following:
        for e in sorted(found.values(), key=lambda e: -e.probability)[:following]:
            after = next((s for s in e.passage.sentences if s[0] >= e.citation.end), None)
            key = (e.citation.article_id, after[0]) if after is not None else None
            if key is not None and key not in found:
                found[key] = Evidence(0.0, e.passage, cite(e.passage, after[0], after[1]), after[0], after[1])
                pointing[key] = FOLLOWING_SHARE * e.probability
    entries = list(found.items())
    judged = asking.judge.judge(asking.read_as, [e.citation.quote for _, e in entries])
    ranked = sorted(
        (
            (
                log_odds + reader_weight * math.log(pointing[key] + 1e-3),
                replace(e, relevance=float(sigmoid(log_odds)), yes=yes),
            )
            for (key, e), (log_odds, yes) in zip(entries, judged, strict=True)
        ),
        key=lambda pair: -pair[0],
    )
    return [e for _, e in ranked]


def answered(found: list[Evidence]) -> bool:
    """Whether the sentences found look like an answer (see :data:`SENTENCE_CONFIDENCE` and :data:`SPAN_FLOOR`)."""
    return (
        bool(found) and found[0].confidence >= SENTENCE_CONFIDENCE and max(f.probability for f in found) >= SPAN_FLOOR
    )


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
