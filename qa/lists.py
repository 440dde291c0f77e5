"""Lists: every item the passages give, each cited, without repeats.

"Which libraries are going to close?" The span reader points at the enumeration ("Heathcote, Cobb's Lane
and Tennant Street") or at one of its items; the enumeration around its span is cut into items at commas and
semicolons, and its last piece at its "and" or "or" (never inside "1971 and 1975"); an item that runs on into
the sentence is cut to a few words. Items also come from the other sentences the reader points at almost as
confidently, when they hold an enumeration of their own (a list spread over several sentences, or articles),
each cited to its own sentence; items said twice are kept once.

Example::

    answer = answer_list(asking)
    [part.text for part in answer.parts]   # ["Heathcote", "Cobb's Lane", "Tennant Street"]
"""

from __future__ import annotations

import re

from qa.evidence import Asking, Evidence, answered, evidence, quoted_answer
from qa.metrics import normalize_answer
from qa.types import Part

MAX_SENTENCES = 4
"""Sentences items are taken from."""
CLOSE_ENOUGH = 0.1
"""Another sentence's items are taken when its confidence is at least this fraction of the best one's (the judge's
probability that it is evidence; the reader's span probability without a judge)."""
MAX_ITEM_WORDS = 8
"""An item longer than this is cut here (it runs on into the rest of the sentence)."""
_COMMA = re.compile(r"\s*[,;]\s*")
_AND = re.compile(r"(?<!\d)\s+(?:and|or|as well as)\s+(?!\d)")
_COUNT = re.compile(r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|some|all|both")
_LEADING_AND = re.compile(r"^(?:and|or)\s+")
_OPENING = re.compile(
    r".*(?::|\b(?:including|such as|namely|are|were|is|was|include|includes|included|"
    r"to|in|from|for|by|at|on|with|of))\s+"
)


def _a_count(item: str, asked: set[str]) -> bool:
    """Whether a (normalized) item only counts what the question asks for: "four", "four countries"."""
    words = item.split()
    return bool(words) and bool(_COUNT.fullmatch(words[0])) and all(w in asked for w in words[1:])


def _comma_pieces(text: str) -> list[tuple[int, int]]:
    """``text`` cut at commas and semicolons, as (start, end) offsets in it, blanks dropped."""
    pieces, at = [], 0
    for match in _COMMA.finditer(text):
        pieces.append((at, match.start()))
        at = match.end()
    pieces.append((at, len(text)))
    return [(s, e) for s, e in pieces if e > s]


def _trimmed(text: str, start: int, end: int, keep_end: bool = False) -> tuple[int, int]:
    """``[start, end)`` of ``text`` without a leading "and"/"or", cut to :data:`MAX_ITEM_WORDS` words (its last
    words when ``keep_end``: the item ends a clause that opens the list)."""
    piece = text[start:end]
    lead = _LEADING_AND.match(piece)
    if lead:
        start, piece = start + lead.end(), piece[lead.end() :]
    words = list(re.finditer(r"\S+", piece))
    if len(words) > MAX_ITEM_WORDS:
        if keep_end:
            start += words[-MAX_ITEM_WORDS].start()
        else:
            end = start + words[MAX_ITEM_WORDS - 1].end()
    return start, end


def _items(found: Evidence) -> list[tuple[int, int]]:
    """The items of one sentence, in article offsets: the enumeration the reader's span sits in, or the span alone
    when it is in none.

    An enumeration is a run of comma-separated pieces that ends with a piece opening with "and"/"or", or with a
    piece holding one (split there) unless that piece is a short item ("hiring and training") that a piece opening
    with "and" follows. The first item starts where the reader's
    span starts; pieces before it are taken back to the word that opens the list (a colon, "including", "such as").
    """
    sentence = found.citation
    text, offset = sentence.quote, sentence.start
    span_start, span_end = found.start - offset, found.end - offset
    pieces = _comma_pieces(text)
    if not pieces:  # a "sentence" of separators only
        return [(found.start, found.end)]
    at = next((i for i, (s, e) in enumerate(pieces) if e > span_start), len(pieces) - 1)
    until = next((i for i, (s, e) in enumerate(pieces) if e >= span_end), len(pieces) - 1)

    def words(i: int) -> int:
        return len(text[pieces[i][0] : pieces[i][1]].split())

    def holds_and(i: int) -> bool:
        start = max(pieces[i][0], span_end) if i == until else pieces[i][0]
        return bool(_AND.search(text, start, pieces[i][1]))

    def opens_with_and(i: int) -> bool:
        return i < len(pieces) and bool(_LEADING_AND.match(text[pieces[i][0] : pieces[i][1]]))

    last = None
    if _AND.search(text, span_start, span_end):  # the span is the whole enumeration
        last, pieces[until] = until, (pieces[until][0], span_end)
    for i in range(until, min(len(pieces), until + 8)) if last is None else ():
        if i > until and words(i) > 2 * MAX_ITEM_WORDS:
            break
        if i > at and opens_with_and(i):
            last = i
            break
        if holds_and(i) and (words(i) > MAX_ITEM_WORDS or not opens_with_and(i + 1)):
            last = i  # "Cobb's Lane and Tennant Street libraries will close ...": the list ends inside it
            break
    if last is None:
        return [(found.start, found.end)]
    first = at
    run = [[max(pieces[at][0], span_start), pieces[at][1]], *(list(p) for p in pieces[at + 1 : last + 1])]
    if text[pieces[at][0] : span_start].strip() == "":  # the span opens its piece: items may come before it
        while first > 0 and words(first - 1) <= MAX_ITEM_WORDS:
            first -= 1
            piece = list(pieces[first])
            opened = _OPENING.match(text[piece[0] : piece[1]])
            if opened:
                piece[0] += opened.end()
            run.insert(0, piece)
            if opened:
                break
    items = []
    for i, (start, end) in enumerate(run):
        conjunction = _AND.search(text, start, end) if i == len(run) - 1 else None
        if conjunction and not _LEADING_AND.match(text[start:end]):
            items.append(_trimmed(text, start, conjunction.start()))
            items.append(_trimmed(text, conjunction.end(), end))
        else:
            items.append(_trimmed(text, start, end))
    return [(offset + s, offset + e) for s, e in items if e > s]


def answer_list(asking: Asking):
    """Every item the reader's sentences give (see the module); ``None`` when the reader finds nothing."""
    found = evidence(asking)
    if not answered(found):
        return None
    # items are cut around the reader's spans: sentences where it found none give none
    chosen = [
        f for f in found[:MAX_SENTENCES] if f.probability > 0 and f.confidence >= CLOSE_ENOUGH * found[0].confidence
    ]
    parts, seen = [], set()
    asked = set(normalize_answer(asking.question).split())
    for rank, sentence in enumerate(chosen):
        items = _items(sentence)
        if rank and len(items) < 2:  # beyond the best sentence, only enumerations: a lone span there is noise
            continue
        for start, end in items:
            text = sentence.citation.quote[start - sentence.citation.start : end - sentence.citation.start].strip(
                " ,;:."
            )
            start = sentence.citation.quote.find(text, start - sentence.citation.start) + sentence.citation.start
            key = normalize_answer(text)
            if not key or key in seen or _a_count(key, asked):  # "Four countries have ...": a count, not an item
                continue
            seen.add(key)
            parts.append(Part(text, start, start + len(text), sentence.citation))
    if not parts:  # nothing but counts ("Four countries ..."): the reader's span answers
        return None
    # the answer's own text, offsets and confidence are the reader's best span, as for a factoid question (its
    # probability means what a span's means, and "What are the two ...?" often wants one span); the items are the parts
    reader_best = max(found, key=lambda f: f.probability)
    span = reader_best.span
    quotes = list({(c.article_id, c.start): c for c in [span.citation, *(p.citation for p in parts)]}.values())
    return quoted_answer(
        asking.question,
        "list",
        quotes,
        reader_best.probability,
        asking.passages,
        asking.k,
        parts=tuple(parts),
        text=span.text,
        span=(span.start, span.end),
    )
