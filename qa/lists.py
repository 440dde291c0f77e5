"""Lists: every item the passages give, each cited, without repeats.

"Which libraries are going to close?" The span reader points at the enumeration ("Heathcote, Cobb's Lane
and Tennant Street") or at one of its items, its last one included ("... Ashby Lane and Tolgate Park"); the
enumeration around its span is cut into items at commas (not those of "20,000") and semicolons, and its last
piece at its "and" or "or" (never inside "1971 and 1975"). The list opens after a colon or "including"; items
that open with the same word as the last one ("that ..., that ... and that ...") are clauses kept whole; an
item that runs on into the sentence is cut to a dozen words. Items also come from the other sentences of the
same story that the reader points at almost as confidently, when they hold an enumeration of their own or the
judge is sure of them (a list spread over several sentences), each cited to its own sentence; items said twice
are kept once. A list is one story's: another story's enumeration ("Norway, Egypt and Vietnam lifted their bans
on pork" beside a story of poultry bans) is not its items. The reader reads one passage more than for a factoid
(:data:`LIST_DEPTH`). A question read as a factoid ("What will the community receive?") whose span opens an
enumeration of noun phrases (or of verb phrases) is answered with the whole list
(:func:`list_around_span`).

Example::

    answer = answer_list(asking)
    [part.text for part in answer.parts]   # ["Heathcote", "Cobb's Lane", "Tennant Street"]
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.evidence import Asking, Evidence, answered, evidence, quoted_answer
from qa.metrics import normalize_answer
from qa.types import Answer, Citation, Part

LIST_DEPTH = 5
"""Passages read (the news training part's list questions: items named 0.34 with 4, 0.41 with 5, 0.43 with 8 at
twice the time)."""
MAX_SENTENCES = 4
"""Sentences items are taken from."""
CLOSE_ENOUGH = 0.1
"""Another sentence's items are taken when its confidence is at least this fraction of the best one's (the judge's
probability that it is evidence; the reader's span probability without a judge)."""
LONE_ITEM_CONFIDENCE = 0.8
"""Another sentence's lone span (no enumeration around it) is an item when the confidence in the sentence is at least
this (the judge's; the reader's span probability without a judge): "The biggest absence is fly-half Rhodri
Mathias ..." (0.5 and 0.8 measured alike)."""
MAX_ITEM_WORDS = 12
"""An item longer than this is cut here (it runs on into the rest of the sentence)."""
_COMMA = re.compile(r"(?<!\s)\s*(?:;|,(?!(?<=\d,)\d))\s*")  # not the comma of "20,000"
_AND = re.compile(r"(?<=\S)\s+(?:and|or|as well as)\s+")
_BETWEEN = re.compile(r"\bbetween\s+(?:\S+\s+){0,3}\S*$", re.IGNORECASE)
_AFTER_A_NUMBER = re.compile(r"[\d$£€]|(?:under|over|older|younger|above|below)\b")
_COUNT = re.compile(r"\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|many|some|all|both")
_LEADING_AND = re.compile(r"^(?:and|or)\s+")
_LAST_ITEM = re.compile(r"\b(?:and|or)\s+(?:\S+\s+){0,2}$")
_ATTRIBUTION = re.compile(r"\b(?:said|says|according|told|added)\b")
_VERBS = r"are|were|is|was|include|includes|included"
_LEADING_VERB = re.compile(rf"\s*(?:\S+\s+)?(?:{_VERBS})\s+")
_ITEM_OPENING = re.compile(r"\s*(?:an?|the|\d[\d,.]*)\s+(?:[\w'-]+\s+){0,3}?(?:of|for|on|in|to|with|from|at)\s+")
_INTRODUCES = r":|\b(?:including|such as|namely)"
_INTRODUCED = re.compile(rf".*(?:{_INTRODUCES})\s+")
_OPENING = re.compile(rf".*(?:{_INTRODUCES}|\b(?:{_VERBS}|to|in|from|for|by|at|on|with|of))\s+")


def _a_count(item: str, asked: set[str]) -> bool:
    """Whether a (normalized) item only counts what the question asks for: "four", "four countries"."""
    words = item.split()
    return bool(words) and bool(_COUNT.fullmatch(words[0])) and all(w in asked for w in words[1:])


def _first_word(piece: str) -> str:
    """The first word of a piece of an enumeration, after a leading "and"/"or" ("that" in "and that his ...")."""
    words = _LEADING_AND.sub("", piece.strip()).split(maxsplit=1)
    return words[0].lower() if words else ""


def _comma_pieces(text: str) -> list[tuple[int, int]]:
    """``text`` cut at commas and semicolons, as (start, end) offsets in it, blanks dropped."""
    pieces, at = [], 0
    for match in _COMMA.finditer(text):
        pieces.append((at, match.start()))
        at = match.end()
    pieces.append((at, len(text)))
    return [(s, e) for s, e in pieces if e > s]


def _conjunction(text: str, start: int, end: int) -> re.Match | None:
    """The first "and"/"or" in ``text[start:end]`` that joins items: not the "and" of a range ("between 1971 and
    1975", "between March 2019 and June 2020", "children aged 5 and under")."""
    for match in _AND.finditer(text, start, end):
        before = text[max(0, match.start() - 60) : match.start()]
        if _BETWEEN.search(before) or (before[-1:].isdigit() and _AFTER_A_NUMBER.match(text, match.end())):
            continue
        return match
    return None


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
        return bool(_conjunction(text, start, pieces[i][1]))

    def opens_with_and(i: int) -> bool:
        return i < len(pieces) and bool(_LEADING_AND.match(text[pieces[i][0] : pieces[i][1]]))

    last = None
    closing = 0 < at == until and _LAST_ITEM.search(text, pieces[at][0], span_start)  # pieces before it: a list
    # "... declared an emergency and promised 35 water tankers, 60 new boreholes and ...": the span opens a list
    # that runs on after it, not the last item of one before it
    if (
        closing
        and closing.group().split()[1:]  # a word between the "and" and the span: "and promised", not "and"
        and until + 1 < len(pieces)
        and not _ATTRIBUTION.search(text, *pieces[until + 1])
        and any(opens_with_and(i) or holds_and(i) for i in range(until + 1, min(len(pieces), until + 4)))
    ):
        closing = None
    if at > 0 and _ITEM_OPENING.fullmatch(text, pieces[at][0], span_start):
        span_start = pieces[at][0]  # "..., a one-off payment of $1,000 for ...": the item is the whole piece
    # the span is the list's last item, which ends with it ("... Rathwick Bay and Tolcarne all had ..."), or the
    # whole enumeration
    if closing or _conjunction(text, span_start, span_end):
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
    run = [[pieces[at][0] if closing else max(pieces[at][0], span_start), pieces[at][1]]]
    run += [list(p) for p in pieces[at + 1 : last + 1]]
    if closing or text[pieces[at][0] : span_start].strip() == "":  # the span opens its piece: items may precede it
        while first > 0 and words(first - 1) <= 2 * MAX_ITEM_WORDS:
            first -= 1
            piece = list(pieces[first])
            # a colon or "including" opens the list; a verb or preposition only in the clause that starts the
            # sentence or runs long ("... stopped imports from Japan"), not inside an item ("jobs out of the capital")
            opened = _INTRODUCED.match(text[piece[0] : piece[1]])
            parallel = _first_word(text[piece[0] : piece[1]]) == _first_word(text[run[-1][0] : run[-1][1]])
            if not opened and not parallel and (first == 0 or words(first) > MAX_ITEM_WORDS):
                opened = _OPENING.match(text[piece[0] : piece[1]])
            elif not opened and not parallel:  # "..., included a 3.5 percent rise, ...": the verb opens the list
                opened = _LEADING_VERB.match(text[piece[0] : piece[1]])
            if opened:
                piece[0] += opened.end()
            run.insert(0, piece)
            if opened:
                break
    opened = _INTRODUCED.match(text, run[0][0], run[0][1])
    if opened and len(run) > 1:  # "... three changes: exempting the child element ...": the list starts after it
        run[0][0] = opened.end()
    items = []
    for i, (start, end) in enumerate(run):
        conjunction = _conjunction(text, start, end) if i == len(run) - 1 else None
        if conjunction and not _LEADING_AND.match(text[start:end]):
            items.append(_trimmed(text, start, conjunction.start()))
            items.append(_trimmed(text, conjunction.end(), end))
        else:
            items.append(_trimmed(text, start, end))
    return [(offset + s, offset + e) for s, e in items if e > s]


def _item_parts(found: Evidence, items: list[tuple[int, int]]) -> list[Part]:
    """The items (article offsets) of one sentence as parts cited to it, without the punctuation around them."""
    sentence = found.citation
    parts = []
    for start, end in items:
        text = sentence.quote[start - sentence.start : end - sentence.start].strip(" ,;:.—–")
        if text:
            start = sentence.quote.find(text, start - sentence.start) + sentence.start
            parts.append(Part(text, start, start + len(text), sentence))
    return parts


def answer_list(asking: Asking):
    """Every item the reader's sentences give (see the module); ``None`` when the reader finds nothing."""
    found = evidence(asking, depth=LIST_DEPTH)
    if not answered(found):
        return None
    # the story of the sentence the judge likes best; items are cut around the reader's spans: sentences where it
    # found none give none
    story = [f for f in found if f.citation.article_id == found[0].citation.article_id]
    chosen = [
        f for f in story[:MAX_SENTENCES] if f.probability > 0 and f.confidence >= CLOSE_ENOUGH * found[0].confidence
    ]
    parts, seen = [], set()
    asked = set(normalize_answer(asking.question).split())
    for rank, sentence in enumerate(chosen):
        items = _items(sentence)
        if rank and len(items) < 2 and sentence.confidence < LONE_ITEM_CONFIDENCE:  # a lone span there is noise
            continue
        for part in _item_parts(sentence, items):
            key = normalize_answer(part.text)
            if not key or key in seen or _a_count(key, asked):  # "Four countries have ...": a count, not an item
                continue
            seen.add(key)
            parts.append(part)
    if not parts:  # nothing but counts ("Four countries ..."): the reader's span answers
        return None
    # the answer's own text, offsets and confidence are the reader's best span, as for a factoid question (its
    # probability means what a span's means, and "What are the two ...?" often wants one span); the items are the parts
    reader_best = max(story, key=lambda f: f.probability)
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


LISTED_MIN_ITEMS = 3
"""A factoid answer becomes a list only when its sentence enumerates at least this many items (two are as often a
pair named together: "Smith and Jones")."""
PARSED_BEFORE = 300
"""Characters of the sentence before its enumeration that the tagger reads with it (the verb that opens it)."""
LISTED_MAX_ITEMS = 12
"""Nor when it enumerates more (a run of commas is not a list a factoid question asks for)."""
_FINITE = frozenset(("VBD", "VBZ", "VBP", "MD"))
_NOT_AN_ITEM_OPENING = frozenset(("WDT", "WP", "WP$", "WRB", "CC", "IN", "RB", "RBR", "TO", "$", "PRP", "EX"))
_EXAMPLES = frozenset(("such", "including", "especially", "particularly", "mainly", "notably"))
_NOMINAL = frozenset(("NOUN", "PROPN", "NUM"))


def _item_shape(tokens) -> str | None:
    """The shape of an item: "noun" for a noun phrase, the verb's tag for a verb phrase ("VB": "close a kitchen",
    "VBG": "dimming streetlights"); ``None`` for anything else: a clause with a finite verb ("it was shared ...",
    "will be built on ..."), a piece opening with a preposition, conjunction, adverb or pronoun ("up from its estimate
    ...", "as repair bills ...", "which is ..."), examples of the item before ("such as price discrimination"), an
    adjective alone ("smaller, weaker swimmers ..."), a number alone."""
    words = [t for t in tokens if not t.is_punct]
    if not words or any(t.tag_ in _FINITE for t in words) or words[0].tag_ in _NOT_AN_ITEM_OPENING:
        return None
    first = words[0]
    if first.lower_ in _EXAMPLES:
        return None
    if first.tag_ in ("VB", "VBG"):
        return first.tag_
    if first.dep_ == "conj" and first.head.tag_ in ("VB", "VBG"):
        # the tagger often takes a later verb of a list for a noun or an adjective ("fine its owner"); the parse
        # still joins it to the verb before it
        return first.head.tag_
    if all(t.pos_ == "NUM" for t in words):  # "Smith, 45, Jones, 52": ages, not items
        return None
    return "noun" if any(t.pos_ in _NOMINAL for t in words) else None


def _parallel(sentence: Citation, parts: list[Part]) -> bool:
    """Whether the parts are items of one enumeration: all noun phrases, or all verb phrases of one form (spaCy's
    tagger and parser, reading the whole sentence); not "45 pounds to 58 pounds, dimming streetlights ... and
    halving ...", nor "evacuate the cylinder, choking it ..."."""
    from index.annotate import load_spacy  # loaded on first use only: most questions never need the tagger

    # only the enumeration and a little before it are parsed: a "sentence" of an unpunctuated upload may be long
    at = max(0, min(p.start for p in parts) - sentence.start - PARSED_BEFORE)
    doc = load_spacy()(sentence.quote[at : max(p.end for p in parts) - sentence.start])
    items = [[t for t in doc if p.start - sentence.start <= at + t.idx < p.end - sentence.start] for p in parts]
    shapes = {_item_shape(tokens) for tokens in items}
    return len(shapes) == 1 and None not in shapes


def list_around_span(answer: Answer) -> Answer | None:
    """A factoid answer whose span opens an enumeration in its sentence, answered as that list ("What will
    the community receive?" -> "2.5 percent of the project's annual sales revenue", "priority for hiring and
    training", "seats on a water monitoring committee ..."): its first item holds the span; at least
    :data:`LISTED_MIN_ITEMS` and at most :data:`LISTED_MAX_ITEMS` items, each a noun phrase or each a verb phrase.
    The answer's text, offsets and score stay the span's (as a list answer's do); ``None`` when the span opens no
    such enumeration."""
    if not answer.found or not answer.citations or not answer.passages:
        return None
    sentence = answer.citations[0]
    if not (sentence.start <= answer.start and answer.end <= sentence.end):
        return None
    found = Evidence(answer.score, answer.passages[0], sentence, answer.start, answer.end)
    parts = _item_parts(found, _items(found))
    # the span opens the list: items cut back from a span inside it may lose their heads ("gold in 2012, silver in
    # 2016 ..." read from "silver" gives "2012"), and a list beside the span is not its answer
    if not LISTED_MIN_ITEMS <= len(parts) <= LISTED_MAX_ITEMS or not (
        parts[0].start < answer.end and answer.start < parts[0].end
    ):
        return None
    if not _parallel(sentence, parts):
        return None
    return replace(answer, kind="list", parts=tuple(parts))
