"""The span reader's pre- and post-processing, shared by answering and by training.

A question and a context are read in *windows*: ``[CLS] question [SEP] context part [SEP]``,
the context cut into overlapping parts of at most ``max_tokens`` tokens in all, so that an
answer cut by one window's edge lies whole inside the next. The model scores every token as
the answer's start and as its end; the best span is the pair (start ≤ end, inside the
context, at most ``max_answer_tokens`` long) with the highest sum, and the window's
"no answer" score is the same sum at ``[CLS]``.

Example::

    windows = make_windows(tokenizer, "Who founded it?", context)
    start_logits, end_logits = model(windows)   # one row per window
    spans = best_spans(windows[0], start_logits[0], end_logits[0])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SPACE = r"[^\S\n]+"  # on one line: a widened answer never crosses a line, let alone a paragraph
_DIGITS = r"\d[\d,.]{0,20}"
_NUMBER = (
    rf"(?:{_DIGITS}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|"
    r"sixty|seventy|eighty|ninety|hundred)"
)
_CURRENCY = "$£€¥"
_AMOUNT = rf"[$£€¥]?{_NUMBER}"
_QUALIFIER = re.compile(
    rf"\b(?:about|around|roughly|approximately|nearly|almost|some|(?:just|well|slightly){_SPACE}(?:over|under)"
    rf"|up{_SPACE}to|more{_SPACE}than|less{_SPACE}than|fewer{_SPACE}than|at{_SPACE}least|at{_SPACE}most"
    rf"|close{_SPACE}to|an{_SPACE}estimated){_SPACE}$",
    re.IGNORECASE,
)
# "went up to £12" is the new price, not a cap
_MOVED_UP = re.compile(
    rf"\b(?:went|goes|go|gone|going|moved?|moves|came|comes?|rose|risen|rises?|climbed|jumped){_SPACE}up", re.I
)
# a year ("a book about 1968") or a name ("close to 10 Downing Street") is not a quantity a qualifier belongs to
_NOT_AN_AMOUNT = re.compile(rf"(?:1[5-9]\d\d|20\d\d)(?![\d%]|[,.]\d|{_SPACE}[a-z])|\d+/\d|{_DIGITS}{_SPACE}[A-Z]")
_DURATION = r"(?:years?|months?|weeks?|days?|hours?|minutes?)"
_RANGE_OPENER = rf"\b(?:of|at|between|aged|for|costing|costs?|estimated|expected|ranging){_SPACE}"
"""The words a range follows ("guidance of 420,000 to 440,000 tonnes"); after others "X to Y" is more often a change
("rose by 12 to 340", "fell 20,000 to 1.2 million", "from about 10 to 12")."""
_AFTER_RANGE_OPENER = re.compile(rf"{_RANGE_OPENER}$", re.IGNORECASE)
_RANGE_START = re.compile(
    rf"{_RANGE_OPENER}(?P<to>{_AMOUNT}){_SPACE}to{_SPACE}$"
    rf"|\bbetween{_SPACE}(?P<between>{_AMOUNT}){_SPACE}and{_SPACE}$"
    rf"|(?<![\w.,$£€¥])(?P<dash>[$£€¥]?{_DIGITS})[-–]$",
    re.IGNORECASE,
)
_DURATION_START = re.compile(rf"(?<![\w.,])({_NUMBER}{_SPACE}{_DURATION}){_SPACE}and{_SPACE}$", re.IGNORECASE)
_A_DURATION = re.compile(rf"{_NUMBER}{_SPACE}{_DURATION}\b", re.IGNORECASE)
_TO_END = re.compile(rf"{_SPACE}to{_SPACE}[$£€¥]?{_DIGITS}\b")
_DASH_END = re.compile(rf"[-–]{_DIGITS}\b")
_DAY = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December)"
    rf"{_SPACE}(\d{{1,2}})$"
)
# "on February 18 and 19, with gusts", not "on March 3 and 12 people died"
_SECOND_DAY = re.compile(
    rf"{_SPACE}and{_SPACE}(\d{{1,2}})\b"
    r"(?=[^\S\n]*(?:[,.;:)]|\d{4}|$|(?:with|in|at|on|when|as|after|before|but|while|during|from|to)\b))"
)
_AGE_REST = re.compile(r"-(?:year|month|week|day)s?-old\b", re.IGNORECASE)
_QUANTITY = re.compile(
    r"[\d$£€¥]|(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a dozen|dozens|hundreds|thousands"
    r"|millions|half|a third|a quarter)\b",
    re.IGNORECASE,
)

MAX_TOKENS = 256
"""Tokens per window, question and special tokens included: the most all-MiniLM-L6-v2 reads, and what the
reader was trained on."""
STRIDE = 96
"""Context tokens two consecutive windows share, so that an answer up to this long is whole in one."""
MAX_QUESTION_TOKENS = 64
"""Longer questions are cut (the context needs the room)."""
MAX_ANSWER_TOKENS = 30
"""The longest answer span considered, in tokens."""


@dataclass(frozen=True)
class Window:
    """One model input: the question and a part of the context.

    Attributes:
        input_ids: ``[CLS] question [SEP] context part [SEP]`` token ids.
        token_type_ids: 0 for the question part, 1 for the context part.
        context_from: index of the first context token in ``input_ids``.
        offsets: character offsets ``(start, end)`` in the context of each context token of the window.
    """

    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    context_from: int
    offsets: tuple[tuple[int, int], ...]

    @property
    def char_start(self) -> int:
        """Offset of the window's first context character."""
        return self.offsets[0][0]

    @property
    def char_end(self) -> int:
        """Offset one past the window's last context character."""
        return self.offsets[-1][1]


@dataclass(frozen=True)
class Span:
    """A candidate answer in one window: character offsets in the context and its scores.

    ``score`` is the start logit plus the end logit; ``null_score`` is the window's "no answer"
    score (the same sum at ``[CLS]``); ``margin = score - null_score`` says how much the model
    prefers this answer to none, and is comparable across windows and passages.
    """

    start: int
    end: int
    score: float
    null_score: float

    @property
    def margin(self) -> float:
        """How far the span's score is above the window's "no answer" score."""
        return self.score - self.null_score


class SpecialTokens:
    """The ids a window is built with, read from a ``tokenizers.Tokenizer``."""

    def __init__(self, tokenizer) -> None:
        self.cls = tokenizer.token_to_id("[CLS]")
        self.sep = tokenizer.token_to_id("[SEP]")
        if self.cls is None or self.sep is None:
            raise ValueError("the reader's tokenizer has no [CLS] or [SEP] token")


def encode_texts(tokenizer, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """Token ids and character offsets of each text, without special tokens."""
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    return [(list(e.ids), list(e.offsets)) for e in encodings]


def windows_for(
    question_ids: list[int],
    context_ids: list[int],
    context_offsets: list[tuple[int, int]],
    special: SpecialTokens,
    max_tokens: int = MAX_TOKENS,
    stride: int = STRIDE,
) -> list[Window]:
    """Cut a tokenized context into overlapping windows after the question (see the module doc).

    Raises:
        ValueError: ``max_tokens`` leaves no room for the context, or ``stride`` is not below it.
    """
    question_ids = question_ids[:MAX_QUESTION_TOKENS]
    room = max_tokens - len(question_ids) - 3
    if room <= 0:
        raise ValueError(f"max_tokens must leave room for the context. Currently, max_tokens is {max_tokens}")
    if not 0 <= stride < room:
        raise ValueError(f"stride must be at least 0 and below {room}. Currently, stride is {stride}")
    head = [special.cls, *question_ids, special.sep]
    windows = []
    first = 0
    while True:
        part = context_ids[first : first + room]
        windows.append(
            Window(
                input_ids=tuple(head + part + [special.sep]),
                token_type_ids=tuple([0] * len(head) + [1] * (len(part) + 1)),
                context_from=len(head),
                offsets=tuple(context_offsets[first : first + room]),
            )
        )
        if first + room >= len(context_ids):
            return windows
        first += room - stride


def make_windows(tokenizer, question: str, context: str, max_tokens: int = MAX_TOKENS, stride: int = STRIDE):
    """The windows of one question over one context (tokenizing both)."""
    (question_ids, _), (context_ids, offsets) = encode_texts(tokenizer, [question, context])
    if not context_ids:
        return []
    return windows_for(question_ids, context_ids, offsets, SpecialTokens(tokenizer), max_tokens, stride)


def pad_batch(windows: list[Window], multiple: int = 1) -> dict[str, np.ndarray]:
    """The model's inputs for a batch of windows, padded to the longest (int64 arrays).

    ``multiple`` rounds the width up (fewer distinct shapes for kernels that are prepared per shape).
    """
    width = -(-max(len(w.input_ids) for w in windows) // multiple) * multiple
    input_ids = np.zeros((len(windows), width), dtype=np.int64)
    token_type_ids = np.zeros_like(input_ids)
    attention_mask = np.zeros_like(input_ids)
    for row, window in enumerate(windows):
        n = len(window.input_ids)
        input_ids[row, :n] = window.input_ids
        token_type_ids[row, :n] = window.token_type_ids
        attention_mask[row, :n] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids}


def answer_tokens(window: Window, start: int, end: int) -> tuple[int, int]:
    """The (start, end) token positions of the character span ``[start, end)`` in ``window``.

    ``(0, 0)`` (the ``[CLS]`` token, "no answer") when the span is not whole inside the window.
    """
    if not window.offsets or start < window.char_start or end > window.char_end:
        return 0, 0
    first = last = None
    for i, (token_start, token_end) in enumerate(window.offsets):
        if first is None and token_end > start:
            first = i
        if token_start < end:
            last = i
    if first is None or last is None or last < first:
        return 0, 0
    return window.context_from + first, window.context_from + last


@lru_cache(maxsize=64)
def _band(n: int, max_answer_tokens: int) -> np.ndarray:
    """Where ``end - start`` lies in ``[0, max_answer_tokens)`` for an ``n`` by ``n`` matrix of pairs."""
    upper = np.triu(np.ones((n, n), dtype=bool))
    band = upper & ~np.triu(upper, k=max_answer_tokens)
    band.flags.writeable = False  # shared by every window of this size: never changed in place
    return band


def best_spans(
    window: Window,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    top: int = 1,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
    paragraph_breaks: Sequence[int] = (),
) -> list[Span]:
    """The ``top`` best valid spans of one window, best first.

    A valid span starts and ends inside the context part of the window, its end is not
    before its start, it is at most ``max_answer_tokens`` tokens long, and no paragraph break
    (character offsets in ``paragraph_breaks``, e.g. of each blank line) lies inside it: an answer
    never runs from a headline into the story below it.
    """
    n = len(window.offsets)
    if n == 0:
        return []
    first = window.context_from
    starts = np.asarray(start_logits[first : first + n], dtype=np.float32)
    ends = np.asarray(end_logits[first : first + n], dtype=np.float32)
    valid = _band(n, max_answer_tokens)
    if len(paragraph_breaks):
        paragraph = np.searchsorted(np.asarray(paragraph_breaks), [start for start, _ in window.offsets], side="right")
        valid = valid & (paragraph[:, None] == paragraph[None, :])
    pairs = np.where(valid, starts[:, None] + ends[None, :], -np.inf)
    flat = pairs.ravel()
    top = min(top, int(np.isfinite(flat).sum()))
    best = np.argpartition(-flat, top - 1)[:top] if top < flat.size else np.arange(flat.size)
    best = best[np.argsort(-flat[best], kind="stable")][:top]
    null_score = float(start_logits[0] + end_logits[0])
    spans = []
    for index in best:
        i, j = divmod(int(index), n)
        spans.append(Span(window.offsets[i][0], window.offsets[j][1], float(flat[index]), null_score))
    return spans


def whole_quantity(text: str, start: int, end: int) -> tuple[int, int]:
    """The span ``[start, end)`` of ``text`` with the rest of the quantity it cuts: the words just before a quantity
    that qualify it ("about 210,000 pairs", "up to 2%", "more than one million"), the first end of a range it is
    the second of ("guidance of 420,000 to 440,000 tonnes", "between $5 and $10", "5-10%", "seven years and six
    months"), the second end of one it ends with the first of, and the rest of an age it ends inside ("a
    20-month-old heifer"). An answer without them says more, or less, than the story does. Never across a line,
    never a change ("rose by 12 to 340"), a year or a name ("about 1968", "close to 10 Downing Street")."""
    lead = start
    if _QUANTITY.match(text, start):
        opened = _RANGE_START.search(text, max(0, start - 60), start)
        if opened:
            first = opened.start(opened.lastgroup)
            same_kind = (text[first] in _CURRENCY) == (text[start] in _CURRENCY)  # not "from £3m in 2015 to £2.6m"
            second = re.match(r"[$£€¥]?(\d[\d,.]*)", text[start:end])
            score = opened.lastgroup == "dash" and not (second and _ascends(opened.group("dash"), second.group(1)))
            lead = first if same_kind and not score else lead  # a score ("4-1") is not a range
        elif _A_DURATION.match(text, start):
            opened = _DURATION_START.search(text, max(0, start - 40), start)
            lead = opened.start(1) if opened else lead
        qualifier = None if _NOT_AN_AMOUNT.match(text, lead) else _QUALIFIER.search(text, max(0, lead - 24), lead)
        if qualifier and not (
            qualifier.group().lower().startswith("up")
            and _MOVED_UP.search(text, max(0, qualifier.start() - 12), qualifier.start() + 2)
        ):
            lead = qualifier.start()
    if end and text[end - 1 : end].isdigit():
        day = _DAY.search(text, max(0, end - 14), end)
        if day:
            second = _SECOND_DAY.match(text, end)
            if second and int(day.group(1)) < int(second.group(1)) <= 31:
                end = second.end()
        elif start == lead and _AFTER_RANGE_OPENER.search(text, max(0, start - 12), start):
            closed = _TO_END.match(text, end) or _DASH_END.match(text, end)
            end = closed.end() if closed else end
        else:
            closed = _DASH_END.match(text, end)
            end = closed.end() if closed and _ascends(text[lead:end], closed.group()[1:]) else end
    age = _AGE_REST.match(text, end) if end and text[end - 1 : end].isdigit() else None
    return lead, age.end() if age else end


def _ascends(span: str, second: str) -> bool:
    """Whether ``second`` after a dash continues the number that ends ``span`` upwards, as a range does ("5-10",
    "1990-91"); a score ("4-1") does not."""
    first = re.search(r"\d[\d,.]*$", span)
    if not first:
        return False
    low, high = first.group().replace(",", ""), second.replace(",", "")
    try:
        return float(low[-len(high) :] if len(high) < len(low) else low) < float(high)
    except ValueError:
        return False


def paragraph_breaks(text: str) -> list[int]:
    """Where each blank line (a paragraph break) of ``text`` starts: answers do not cross them."""
    return [match.start() for match in _BLANK_LINE.finditer(text)]


def load_tokenizer(path):
    """A ``tokenizers.Tokenizer`` from a ``tokenizer.json``, with its own truncation and padding off
    (windows are cut by :func:`windows_for`)."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer
