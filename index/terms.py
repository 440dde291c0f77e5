"""How text is cut into terms for lexical matching, the same at build and question time.

Terms are lower-cased, Snowball-stemmed words with English stop words removed,
each with its character offsets.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"\w+(?:['’]\w+)*")


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words (spaCy's list)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS)


def stem(word: str) -> str:
    """The Snowball stem of one lower-cased word."""
    return _stemmer().stemWord(word.lower())


def term_spans(text: str, keep_stop_words: bool = False) -> list[tuple[str, int, int]]:
    """``(term, start, end)`` for each word of ``text``, stop words dropped unless asked."""
    stops = stop_words()
    out = []
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if not keep_stop_words and word in stops:
            continue
        out.append((stem(word), match.start(), match.end()))
    return out


def terms(text: str) -> list[str]:
    """The content terms of ``text``, in order, with repeats."""
    return [term for term, _, _ in term_spans(text)]
