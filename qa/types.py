"""The results the question-answering side returns: passages, citations, answers.

Every offset is in article coordinates: ``article_text[start:end]`` is the
quoted text, exactly, so any layer can highlight or verify a span.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass

from index.scope import Scope
from qa.kinds import named_subject

__all__ = ["Alternative", "Answer", "Citation", "Part", "Passage", "Scope"]

NOT_FOUND_MESSAGE = "Not found in the indexed articles."
SOURCES_HEADING = "Sources:"
"""The line of a chat reply (``qa.api.chat_content``) after which its numbered sources follow."""


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk of an article.

    Attributes:
        chunk_id: the chunk's id in the index.
        article_id: the article it comes from.
        title: the article's title.
        source: the file (or file and record) the article was read from.
        start: offset of the chunk's first character in the article.
        end: offset one past its last character.
        text: ``article_text[start:end]``.
        score: fused retrieval score in [0, 1]; higher is more relevant.
        dense_score: cosine similarity to the question, or ``None`` if not a dense hit.
        lexical_score: BM25 score, or ``None`` if not a BM25 hit.
        url: the article's URL, when known.
        date: the article's publication date, when known.
        sentences: ``(start, end, text)`` of the article's sentences that overlap the passage, whole
            (so that a citation can quote a sentence the chunk cuts); the reader needs nothing else.
        author: the article's byline, when known.
        pages: where each page of the article starts (a PDF's; empty for formats without pages).
    """

    chunk_id: int
    article_id: str
    title: str
    source: str
    start: int
    end: int
    text: str
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    url: str | None = None
    date: str | None = None
    sentences: tuple[tuple[int, int, str], ...] = ()
    author: str | None = None
    pages: tuple[int, ...] = ()

    def page_of(self, offset: int) -> int | None:
        """The 1-based page of the article that holds ``offset`` (``None``: the article has no pages)."""
        return bisect.bisect_right(self.pages, offset) if self.pages else None

    def excerpt(self, start: int, end: int) -> str:
        """``article_text[start:end]``, for a range inside the passage and the sentences it carries.

        Raises:
            ValueError: part of the range is in neither.
        """
        pieces = sorted([(self.start, self.text), *((s, text) for s, _, text in self.sentences)])
        taken, at = [], start
        for offset, text in pieces:
            if at >= end:
                break
            if offset <= at < offset + len(text):
                stop = min(end, offset + len(text))
                taken.append(text[at - offset : stop - offset])
                at = stop
        if at < end:
            raise ValueError(f"[{start}, {end}) is not inside passage {self.chunk_id} of {self.article_id}")
        return "".join(taken)


@dataclass(frozen=True)
class Citation:
    """A verbatim quote from an article that supports an answer.

    ``quote == article_text[start:end]``. An answer taken from the article's metadata where its text
    does not show it (a publication date, a byline) has ``field`` set ("date", "author") and an empty quote.
    ``page`` is the 1-based page the quote starts on, for articles with pages (PDF); else ``None``.
    """

    article_id: str
    title: str
    source: str
    start: int
    end: int
    quote: str
    url: str | None = None
    date: str | None = None
    author: str | None = None
    field: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class Alternative:
    """A different answer that another article gives to the same question.

    Shown beside the main answer when articles disagree ("$45 million" in one,
    "$52 million" in another), so that nobody silently gets only one of them.
    ``citation.quote`` is the sentence holding it; ``start``/``end`` are the answer
    span in ``citation.article_id``'s text.
    """

    text: str
    score: float
    start: int
    end: int
    citation: Citation


@dataclass(frozen=True)
class Part:
    """One piece of an answer made of several, verbatim and cited.

    A summary's sentences, a list's items, each article's sentence in a comparison, the reader's span inside
    the sentence that explains why or how. ``text == article_text[start:end]`` of ``citation.article_id``;
    ``citation.quote`` is the whole sentence(s) holding it.
    """

    text: str
    start: int
    end: int
    citation: Citation


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    Attributes:
        question: the question as asked.
        text: the answer, verbatim from the article; empty when not found.
        found: whether the articles support an answer.
        score: confidence in [0, 1]: the calibrated probability that the reader's span is right (for a summary,
            the best passage's retrieval score: how well the story matches, not a probability).
        article_id: the article the answer comes from (``None`` when not found).
        start: offset of the answer in that article (``None`` when not found).
        end: offset one past the answer's end (``None`` when not found).
        citations: supporting sentences, the one holding the answer first.
        passages: the retrieved passages, best first.
        message: a plain sentence for people ("Not found in the indexed articles." when declined).
        alternatives: different answers from other articles that score almost as well (the articles disagree).
        kind: what the question asks for (:data:`qa.kinds.KINDS`): ``factoid`` (a short span), ``about`` (a
            summary: ``parts`` are its key sentences, in the article's order; ``citations`` add one sentence of each
            other matching article), ``why``/``how`` (``citations`` are the sentences that explain, best first;
            ``text``, ``score`` and ``parts[0]`` the reader's span inside the first), ``yesno`` (``text`` is the
            sentence that settles it, ``verdict`` the verdict when shown), ``list`` (``parts`` are the items;
            ``text``, offsets and ``score`` the reader's best span's, as for a factoid), ``compare`` (``parts`` are
            one sentence from each article). A summary's and a comparison's ``text`` is their sentences joined,
            and their ``start``/``end`` are ``None`` (no one span; every part has its offsets).
        parts: the pieces of an answer made of several, each verbatim with its citation.
        verdict: "yes" or "no" for a yes/no question, shown only when the classifier is confident enough to be
            right at least 90 % of the time (``None``: the reply quotes the sentence without a verdict).
    """

    question: str
    text: str
    found: bool
    score: float
    article_id: str | None
    start: int | None
    end: int | None
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = ()
    message: str = ""
    alternatives: tuple[Alternative, ...] = ()
    kind: str = "factoid"
    parts: tuple[Part, ...] = ()
    verdict: str | None = None

    @property
    def lead(self) -> str:
        """The reply's first words for people, by kind: "Yes." or "No." (a verdict shown), "The article says:" (a
        yes/no without one), "In short, from “title”:" (a summary; "What “title” says of X:" when the
        question asks of a name alone), "What each article says:" (a comparison),
        "Named in the articles:" (a list); the answer's text for the other kinds."""
        if not self.found:
            return self.message
        if not self.parts:  # the span reader answered (the kind's own answerer found nothing to quote)
            return self.text
        if self.kind == "yesno":
            return {"yes": "Yes.", "no": "No."}.get(self.verdict or "", "The article says:")
        if self.kind == "about" and self.citations:
            subject = named_subject(self.question)
            if subject:  # "Who is Tang Xiao'ou?"
                return f"What “{self.citations[0].title}” says of {subject}:"
            return f"In short, from “{self.citations[0].title}”:"
        if self.kind == "compare":
            return "What each article says:"
        if self.kind == "list" and self.parts:
            return "Named in the articles:"
        return self.text

    @property
    def summary_caption(self) -> str | None:
        """What a summary's sentences are, shown in place of a confidence (a summary's score is its story's
        retrieval score, not a probability): "The key sentences of the best-matching article", or of those that
        name the subject of "Who is X?"; ``None`` for an answer that is not a summary."""
        if not (self.found and self.kind == "about" and self.parts):
            return None
        subject = named_subject(self.question)
        if subject:
            return f"The key sentences that name {subject}, from the first matching article that does"
        return "The key sentences of the best-matching article"

    @property
    def listed(self) -> bool:
        """Whether the reply is a list of its parts (a summary, a list, a comparison) rather than one quote."""
        return self.found and self.kind in ("about", "list", "compare") and bool(self.parts)

    def to_dict(self) -> dict:
        """A JSON-serializable dict of every field (citations, passages, alternatives and parts as lists of dicts)."""
        return asdict(self) | {
            "citations": [asdict(c) for c in self.citations],
            "passages": [asdict(p) for p in self.passages],
            "alternatives": [asdict(a) for a in self.alternatives],
            "parts": [asdict(p) for p in self.parts],
        }

    @classmethod
    def not_found(cls, question: str, score: float, passages: tuple[Passage, ...]) -> Answer:
        """The honest "not in the articles" answer, keeping the closest passages for display."""
        return cls(
            question=question,
            text="",
            found=False,
            score=score,
            article_id=None,
            start=None,
            end=None,
            citations=(),
            passages=passages,
            message=NOT_FOUND_MESSAGE,
        )
