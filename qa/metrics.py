"""The official SQuAD answer metrics (normalization, exact match, token F1) and the news figures' "right"."""

from __future__ import annotations

import collections
import re
import string

_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """The official SQuAD normalization: lower case, no punctuation, no articles, single spaces."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def f1_score(prediction: str, gold: str) -> float:
    """Token-overlap F1 between normalized prediction and gold (the official SQuAD metric)."""
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = collections.Counter(predicted) & collections.Counter(expected)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(predicted), overlap / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when prediction and gold are equal after normalization, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def is_right(prediction: str, gold: str) -> bool:
    """Whether an answer is right as the news figures are scored: after normalization it equals the gold answer,
    or contains it while being at most three times its length plus ten characters ("65 seconds" for "65";
    not a whole sentence that happens to hold it)."""
    predicted, expected = normalize_answer(prediction), normalize_answer(gold)
    if not predicted or not expected:
        return False
    return predicted == expected or (expected in predicted and len(predicted) <= 3 * len(expected) + 10)


COVER = 0.6
"""A quoted sentence covers a gold sentence when it holds this share of the gold sentence's normalized words (the
news data's README scores open questions so)."""


def covers(quote: str, gold: str) -> bool:
    """Whether ``quote`` holds at least :data:`COVER` of ``gold``'s normalized words (as the open questions are
    scored)."""
    wanted, held = normalize_answer(gold).split(), set(normalize_answer(quote).split())
    return bool(wanted) and sum(w in held for w in wanted) / len(wanted) >= COVER


def same_value(value: str, other: str) -> bool:
    """Whether two normalized answers state the same value: equal, empty, or one holding the other as whole
    words ("2021" / "march 2021"). Used to keep a different-looking copy of an answer out of its alternatives."""
    return not value or f" {value} " in f" {other} " or f" {other} " in f" {value} "
