"""Build an index, add articles to it, remove them.

Every write happens in a new generation directory beside the live one, under a
lock file, and is switched in with an atomic rename of ``CURRENT``: a process
killed at any moment leaves the index as it was before or as it is after.

Example::

    writer = IndexWriter(Config(index_dir="my-index"))
    report = writer.build(["articles/"])
    print(report.summary())
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from index.annotate import Annotator
from index.chunk import Chunker, chunk_limit
from index.config import Config
from index.embed import Encoder, make_encoder, resolve_backend
from index.errors import BadArticle, IndexWriteError, NoArticles
from index.generation import Generation, collect_garbage, now, prepare_articles
from index.ingest import Article, ArticleStream
from index.layout import Manifest, current_generation
from index.lock import writer_lock
from index.store import IndexStore
from index.vectors import choose_index, make_index

BUILD_METHOD = 3
"""Bumped when a build computes the same index contents differently (2: sentence vectors pooled from
the chunk pass; 3: and averaged with their own encoding); cached evaluation indexes are keyed on it."""
ARTICLES_PER_BATCH = 32
CHARS_PER_BATCH = 1_000_000
"""A batch (read, annotated, embedded and written together) ends at this many articles or characters."""


@dataclass
class BuildReport:
    """What a build, add or remove did."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    duplicates: int = 0
    missing: list[str] = field(default_factory=list)
    problems: list[BadArticle] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What a user should know about how some inputs were read (``source: note``)."""
    chunks_embedded: int = 0
    articles: int = 0
    chunks: int = 0
    seconds: float = 0.0

    @property
    def chunks_per_second(self) -> float:
        """Chunks embedded per second of the whole operation."""
        return self.chunks_embedded / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One paragraph for people: what changed, what was skipped, how fast."""
        parts = [f"{len(self.added)} added"]
        if self.updated:
            parts.append(f"{len(self.updated)} updated")
        if self.removed:
            parts.append(f"{len(self.removed)} removed")
        if self.unchanged:
            parts.append(f"{self.unchanged} unchanged")
        if self.duplicates:
            parts.append(f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''} skipped")
        if self.problems:
            parts.append(f"{len(self.problems)} bad input{'s' if len(self.problems) != 1 else ''} skipped")
        if self.notes:
            parts.append(f"{len(self.notes)} with a note")
        if self.missing:
            parts.append(f"not in the index: {', '.join(self.missing)}")
        rate = f" ({self.chunks_per_second:.1f} chunks/s)" if self.chunks_embedded else ""
        return (
            f"{', '.join(parts)}. Index: {self.articles} articles, {self.chunks} chunks. "
            f"Took {self.seconds:.1f} s, {self.chunks_embedded} chunks embedded{rate}."
        )


def _unchanged(error: BaseException, index_dir: Path) -> BaseException:
    """The error to raise for a failed write, whose generation is already discarded: a failure to
    write (disk full, permissions) becomes an :class:`IndexWriteError` that says the index is unchanged."""
    if isinstance(error, (OSError, sqlite3.Error)):
        return IndexWriteError(f"could not write the index at {index_dir} ({error}); the index is unchanged")
    return error


def _take_problems(report: BuildReport, articles: Iterable) -> None:
    """Copy the bad inputs and duplicates a stream (:class:`ArticleStream`, or one like it) met into the report."""
    if hasattr(articles, "problems") and hasattr(articles, "duplicates"):
        report.problems += articles.problems
        report.duplicates += articles.duplicates


def _carried_fields(manifest: Manifest) -> dict:
    """The settings an update keeps from the index it changes."""
    names = ("model", "dimension", "max_tokens", "chunk_tokens", "chunk_overlap", "built_at", "backend")
    names += ("vector_index",)
    return {name: getattr(manifest, name) for name in names}


class IndexWriter:
    """Builds and updates the index at ``config.index_dir``.

    Args:
        config: settings (index directory, model, chunking, strictness).
        encoder: the embedding model; by default loaded from ``config`` (or the index's manifest).
        annotator: the sentence finder; by default spaCy's rule-based sentencizer.
        progress: show progress bars on the terminal.
    """

    def __init__(
        self,
        config: Config | None = None,
        encoder: Encoder | None = None,
        annotator: Annotator | None = None,
        progress: bool = False,
    ) -> None:
        self.config = config or Config()
        self._encoder = encoder
        self.annotator = annotator or Annotator()
        self.progress = progress

    def _encoder_for(self, model: str, backend: str) -> Encoder:
        backend = resolve_backend(model, backend)
        if self._encoder is None or self._encoder.backend != backend:  # an index is embedded one way only
            self._encoder = make_encoder(model, backend, self.config.workers)
            # Sessions of its own, not the shared pool a question's models run on (index.embed.onnx_session_options):
            # a build's batches, run at once, were 15 % slower on that pool.
            self._encoder.limit_threads(os.cpu_count() or 1)
        return self._encoder

    def _load_models(self, encoder: Encoder) -> None:
        # Everything is imported and loaded before a generation is started, so that a Ctrl-C
        # while writing always ends with exit code 130: CPython ends the process with SIGINT
        # instead when a KeyboardInterrupt, even a handled one, was raised in code that
        # ``exec`` compiled from a string, as dataclasses do during imports.
        encoder.load()
        self.annotator.load()

    def build(self, paths: Sequence[str | os.PathLike]) -> BuildReport:
        """Build the index from scratch from files and folders; the old index stays live until the new one is whole.

        Files are read as the build goes (see :class:`~index.ingest.ArticleStream`): memory does not grow
        with the size of the input, and bad files are skipped with a warning in ``report.problems``.

        Raises:
            NoArticles: nothing indexable was found (the old index is untouched).
            BadArticle: with ``config.strict``, the first bad input (the old index is untouched).
            IndexLocked: another process is writing the index.
        """
        stream = ArticleStream(
            paths, strict=self.config.strict, follow_links=self.config.follow_links, part_chars=self.config.part_chars
        )
        return self.build_articles(stream, described=", ".join(map(str, paths)))

    def build_articles(self, articles: Iterable[Article], described: str = "the input") -> BuildReport:
        """Build the index from scratch from articles (a list, or a stream read as it goes); see :meth:`build`."""
        started = time.perf_counter()
        encoder = self._encoder_for(self.config.build_model, self.config.backend)
        approximate = choose_index(self.config.vector_index, self.config.approximate_from)
        make_index(approximate, encoder.dimension)  # refuse a bad setting now
        index_dir = self.config.index_dir
        self._load_models(encoder)
        with writer_lock(index_dir):
            previous = current_generation(index_dir)
            generation = Generation(index_dir, None, encoder.dimension)
            try:
                report = BuildReport()
                fields = self._fields(encoder)
                chunker = self._chunker(encoder, fields)
                for batch in self._batches(articles, articles if isinstance(articles, ArticleStream) else None):
                    report.chunks_embedded += generation.write(
                        prepare_articles(batch, chunker, encoder, self.annotator, self.config.batch_size)
                    )
                    report.added += [a.id for a in batch]
                    report.notes += [f"{a.source}: {note}" for a in batch for note in a.notes]
                _take_problems(report, articles)
                if not report.added:
                    raise NoArticles(f"no articles could be read from {described}")
                manifest = generation.commit(fields, self.config.approximate_from)
            except BaseException as exc:
                generation.discard()
                raise _unchanged(exc, index_dir) from exc
            collect_garbage(index_dir, generation.path, previous)
        return self._finish(report, manifest, started)

    def add(self, paths: Sequence[str | os.PathLike]) -> BuildReport:
        """Add new and changed articles; unchanged ones are not embedded again.

        An article replaces an indexed one with the same id, or read from the
        same file (or record), whose content differs. Files are read as the update goes.

        Raises:
            IndexNotFound: there is no index yet (build one first).
            ModelMismatch: ``config.model`` differs from the index's model.
            BadArticle: with ``config.strict``, the first bad input (the index is untouched).
            IndexLocked: another process is writing the index.
        """
        started = time.perf_counter()
        stream = ArticleStream(
            paths, strict=self.config.strict, follow_links=self.config.follow_links, part_chars=self.config.part_chars
        )
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            store = IndexStore.open(index_dir, model=self.config.model)
            report = BuildReport()
            generation = None
            try:
                for batch in self._batches(self._changes(stream, store, report, self.config.strict), stream):
                    if generation is None:  # made only once there is something to change
                        encoder = self._encoder_for(store.manifest.model, store.manifest.backend)
                        chunker = self._chunker(encoder, _carried_fields(store.manifest))
                        self._load_models(encoder)
                        generation = Generation(index_dir, store.generation, store.manifest.dimension)
                    generation.remove_articles([old_id for _, old_id in batch if old_id is not None])
                    report.chunks_embedded += generation.write(
                        prepare_articles(
                            [article for article, _ in batch],
                            chunker,
                            encoder,
                            self.annotator,
                            self.config.batch_size,
                        )
                    )
                _take_problems(report, stream)
                if generation is None:
                    return self._finish(report, store.manifest, started)
                manifest = generation.commit(_carried_fields(store.manifest), self.config.approximate_from)
            except BaseException as exc:
                if generation is not None:
                    generation.discard()
                raise _unchanged(exc, index_dir) from exc
            collect_garbage(index_dir, generation.path, store.generation)
        return self._finish(report, manifest, started)

    @staticmethod
    def _changes(
        articles: Iterable[Article], store: IndexStore, report: BuildReport, strict: bool
    ) -> Iterator[tuple[Article, str | None]]:
        """The articles an update must embed, each with the indexed article it replaces (or ``None``).

        An article whose id belongs to another source is a conflict: reported (raised with
        ``strict``) and left out, so that no file or upload can take over another's article.
        """
        for article in articles:
            status, old = store.lookup(article)
            if status in ("new", "changed"):
                report.notes += [f"{article.source}: {note}" for note in article.notes]
            if status == "new":
                report.added.append(article.id)
                yield article, None
            elif status == "unchanged":
                report.unchanged += 1
            elif status == "duplicate":
                report.duplicates += 1
            elif status == "conflict":
                problem = BadArticle(
                    article.source,
                    f"id '{article.id}' belongs to an article from {old}; skipped, the indexed article is unchanged "
                    f"(to replace it, first run: qa index remove {article.id})",
                )
                if strict:
                    raise problem
                report.problems.append(problem)
            else:
                report.updated.append(article.id)
                yield article, old

    def remove(self, article_ids: Sequence[str]) -> BuildReport:
        """Remove articles by id; ids not in the index are reported in ``missing``.

        Raises:
            IndexNotFound: there is no index.
            IndexLocked: another process is writing the index.
        """
        started = time.perf_counter()
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            store = IndexStore.open(index_dir)
            report = BuildReport()
            for article_id in dict.fromkeys(article_ids):
                (report.removed if store.article(article_id) else report.missing).append(article_id)
            if not report.removed:
                return self._finish(report, store.manifest, started)
            generation = Generation(index_dir, store.generation, store.manifest.dimension)
            try:
                generation.remove_articles(report.removed)
                manifest = generation.commit(_carried_fields(store.manifest), self.config.approximate_from)
            except BaseException as exc:
                generation.discard()
                raise _unchanged(exc, index_dir) from exc
            collect_garbage(index_dir, generation.path, store.generation)
        return self._finish(report, manifest, started)

    def _fields(self, encoder: Encoder) -> dict:
        """The manifest fields of a new index built with ``encoder`` and this writer's settings."""
        return {
            "model": encoder.name,
            "dimension": encoder.dimension,
            "max_tokens": encoder.max_tokens,
            "chunk_tokens": chunk_limit(self.config.chunk_tokens, encoder.max_tokens),
            "chunk_overlap": self.config.chunk_overlap,
            "built_at": now(),
            "backend": encoder.backend,
            "vector_index": self.config.vector_index,
        }

    @staticmethod
    def _chunker(encoder: Encoder, fields: dict) -> Chunker:
        return Chunker(encoder.tokenizer, fields["chunk_tokens"], fields["chunk_overlap"], encoder.max_tokens)

    def _batches(self, items: Iterable, stream: ArticleStream | None = None) -> Iterator[list]:
        """Items (articles, or ``(article, replaced id)`` pairs) in batches bounded in count and text size.

        The progress bar counts articles, and the pages of PDFs as ``stream`` reads them (a long report moves it).
        """
        from tqdm import tqdm

        batch, chars = [], 0
        with tqdm(unit=" articles", desc="indexing", disable=not self.progress or None) as bar:
            if stream is not None:
                pages = itertools.count(1)
                stream.on_page = lambda: bar.set_postfix_str(f"{next(pages)} PDF pages read")
            for item in items:
                batch.append(item)
                chars += len((item[0] if isinstance(item, tuple) else item).text)
                if len(batch) >= ARTICLES_PER_BATCH or chars >= CHARS_PER_BATCH:
                    yield batch
                    bar.update(len(batch))
                    batch, chars = [], 0
            if batch:
                yield batch
                bar.update(len(batch))

    @staticmethod
    def _finish(report: BuildReport, manifest: Manifest, started: float) -> BuildReport:
        report.articles = manifest.articles
        report.chunks = manifest.chunks
        report.seconds = time.perf_counter() - started
        return report
