"""Questions about an article rather than in it: when was it published, who wrote it.

"When was the article about the ferry terminal published?" and "Who wrote the piece on coffee
prices?" are answered from the publication date and byline of the article that retrieval finds
best for the question. The answer is quoted from the article where its text shows the value (a
dateline, a "By …" line), with exact offsets as always; where only the page's metadata holds it,
the citation says so (``Citation.field``) and names the source. The score is the article's passage's
retrieval score. An article that lacks that metadata, or shares no word with what the question
names (the least bad match is no match), is read as for any other question.
"""

from __future__ import annotations

import functools
import re
from datetime import date as Date

from index.terms import terms
from qa.read import cite
from qa.retrieve import passage_of
from qa.types import Answer, Citation, Passage

_PIECE = r"(article|story|piece|post|column|op-ed|editorial|interview|news item|write-up|this)"
"""What a question about an article calls it: "When was *the article about X* published?" asks about an
article, "When was the Book of Mormon published?" about what one says."""
_PUBLISHED = re.compile(
    rf"^\s*(when|what (date|day|year|month)|on what (date|day)|in what year)\b.*\b{_PIECE}\b.*"
    r"\b(published|posted|written|released|dated|printed|put out|come out|came out|appear(ed)?)\b",
    re.IGNORECASE,
)
_WROTE = re.compile(
    rf"^\s*(who\b.*\b(wrote|write|written|writes|authored|penned|reported|bylined?)\b.*\b{_PIECE}\b"
    rf"|who\b.*\b(is|was|'s) the (author|writer|reporter) of\b.*\b{_PIECE}\b"
    rf"|(whose|what author'?s?) {_PIECE}\b|(what|which) (author|writer|reporter)\b.*\b{_PIECE}\b)",
    re.IGNORECASE,
)


def metadata_field(question: str) -> str | None:
    """``"date"`` for a question about when an article was published, ``"author"`` for one about who
    wrote it, ``None`` for a question about what an article says."""
    if _PUBLISHED.search(question):
        return "date"
    if _WROTE.search(question):
        return "author"
    return None


@functools.cache
def _asking_terms() -> frozenset[str]:
    # Stemmed on first use, not at import: the stop-word list comes from spaCy, which every `qa` command
    # would otherwise import at start-up.
    return frozenset(
        terms(
            "article story piece post column op-ed editorial interview news item write-up published posted written "
            "released dated printed put out come came appeared wrote write writes authored penned reported byline "
            "author writer reporter date day year month"
        )
    )


def _about(question: str, passage: Passage) -> bool:
    """Whether the passage's article is about what the question names: it shares one of the question's
    words beyond those that ask for a date or an author (else the best passage is only the least bad)."""
    topic = set(terms(question)) - _asking_terms()
    return bool(topic & set(terms(f"{passage.title} {passage.text}")))


def date_spellings(iso: str) -> list[str]:
    """How a date (``YYYY-MM-DD``) may be written in an article: ISO, "18 March 2024", "March 18, 2024" …"""
    try:
        day = Date.fromisoformat(iso[:10])
    except ValueError:
        return [iso]
    month, short = day.strftime("%B"), day.strftime("%b")
    return [
        iso[:10],
        f"{day.day} {month} {day.year}",
        f"{month} {day.day}, {day.year}",
        f"{month} {day.day} {day.year}",
        f"{day.day} {short} {day.year}",
        f"{short} {day.day}, {day.year}",
        f"{short}. {day.day}, {day.year}",
    ]


def answer_about(question: str, field: str, passages: list[Passage], store, k: int) -> Answer | None:
    """The publication date or byline (``field``) of the article of the best passage, cited (see the module);
    ``None`` when that article has no such metadata (its text is then read as for any question: "When was
    his article published in Century Magazine?" may be about what it says).

    ``store`` finds where the article's text shows the value.
    """
    if not passages:
        return None
    best = passages[0]
    value = best.date if field == "date" else best.author
    shown = tuple(passages[:k])
    if not value or not _about(question, best):
        return None
    needles = date_spellings(value) if field == "date" else [value]
    found = store.locate(best.article_id, needles)
    if found is None:
        citation = Citation(
            article_id=best.article_id,
            title=best.title,
            source=best.source,
            start=0,
            end=0,
            quote="",
            url=best.url,
            date=best.date,
            author=best.author,
            field=field,
        )
        return Answer(question, value, True, best.score, best.article_id, None, None, (citation,), shown, "")
    start, end = found
    [stretch] = store.stretches([(best.article_id, start, end)])  # the value, with the sentences holding it
    citation = cite(passage_of(stretch, best.chunk_id, best.score), start, end)
    return Answer(question, stretch.text, True, best.score, best.article_id, start, end, (citation,), shown, "")
