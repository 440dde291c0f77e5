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

import contextlib
import errno
import fcntl
import os
import shutil
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.annotate import Annotator, Sentence
from index.chunk import Chunk, Chunker
from index.config import Config
from index.embed import Encoder, resolve_backend
from index.errors import BadArticle, IndexLocked, IndexWriteError, NoArticles
from index.ingest import Article, ArticleStream
from index.store import (
    BM25_DIR,
    BM25_IDS,
    CURRENT,
    DATABASE,
    FORMAT_VERSION,
    GENERATION_MARKER,
    LOCK,
    MANIFEST,
    SCHEMA,
    VECTORS,
    IndexStore,
    Manifest,
    bm25_tokens,
    check_index_dir,
    connect,
    current_generation,
    is_own_generation,
)
from index.terms import terms
from index.vectors import APPROXIMATE_FROM, choose_index, convert, exact_index, is_exact, make_index

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
        if self.missing:
            parts.append(f"not in the index: {', '.join(self.missing)}")
        rate = f" ({self.chunks_per_second:.1f} chunks/s)" if self.chunks_embedded else ""
        return (
            f"{', '.join(parts)}. Index: {self.articles} articles, {self.chunks} chunks. "
            f"Took {self.seconds:.1f} s, {self.chunks_embedded} chunks embedded{rate}."
        )


_held_locks: set[int] = set()


def _release_locks_in_child() -> None:
    # A forked child (spaCy workers) shares the lock's open file; were it to keep it open, the lock
    # would outlive a parent killed outright and block every later writer.
    for fd in _held_locks:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_release_locks_in_child)


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock; the OS releases it if the process dies.

    Raises:
        IndexLocked: another live process holds it.
        NotAnIndex: ``index_dir`` holds other files and is not an index (nothing is written there).
    """
    check_index_dir(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise IndexLocked(
                f"the index at {index_dir} is being updated by process {holder}; try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held_locks.add(fd)
        yield
    finally:
        _held_locks.discard(fd)
        os.close(fd)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fsync(path: str | Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    """Flush every file and folder under ``path`` to disk."""
    for root, _, files in os.walk(path):
        for name in files:
            _fsync(os.path.join(root, name))
        _fsync(root)


class _Generation:
    """A generation being written: its database and its vectors, not yet live."""

    def __init__(self, index_dir: Path, base: Path | None, dimension: int) -> None:
        import faiss

        self.index_dir = index_dir
        self.path = index_dir / f"gen-{time.time_ns()}-{os.getpid()}"
        try:  # an interruption here (Ctrl-C, SIGTERM, a full disk) must not leave the folder behind
            self.path.mkdir()
            (self.path / GENERATION_MARKER).touch()
            self.db = connect(self.path / DATABASE, readonly=False)
            if base is None:
                self.db.executescript(SCHEMA)
                self.vectors = exact_index(dimension)
            else:
                source = connect(base / DATABASE, readonly=True)
                source.backup(self.db)
                source.close()
                self.vectors = faiss.read_index(str(base / VECTORS))
        except BaseException:
            self.discard()
            raise

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        """Delete articles with their chunks, vectors, sentences and spans."""
        for article_id in article_ids:
            chunk_ids = [r[0] for r in self.db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))]
            if chunk_ids:
                try:
                    self.vectors.remove_ids(np.array(chunk_ids, dtype=np.int64))
                except RuntimeError as exc:  # HNSW, for one, cannot remove vectors
                    raise IndexWriteError(
                        f"the index at {self.index_dir} keeps its vectors in a FAISS index that cannot remove "
                        f"them; rebuild it (qa index build) to change or remove articles; the index is unchanged"
                    ) from exc
            df = Counter()
            for (sentence_terms,) in self.db.execute("SELECT terms FROM sentences WHERE article_id = ?", (article_id,)):
                df.update(sentence_terms.split())
            self.db.executemany("UPDATE term_df SET df = df - ? WHERE term = ?", [(n, t) for t, n in df.items()])
            for table, column in (
                ("chunks", "article_id"),
                ("sentences", "article_id"),
                ("spans", "article_id"),
                ("articles", "id"),
            ):
                self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (article_id,))
        self.db.execute("DELETE FROM term_df WHERE df <= 0")

    def add_articles(
        self,
        articles: Sequence[Article],
        chunker: Chunker,
        encoder: Encoder,
        annotator: Annotator,
        batch_size: int,
        sentence_vectors_setting: str = "mixed",
    ) -> int:
        """Chunk, annotate and embed articles into this generation; returns the number of chunks."""
        added_at = _now()
        annotations = list(annotator.annotate(articles))
        chunks: list[Chunk] = []
        placed: list[tuple[int, int, int]] = []  # each sentence's (chunk, start, end) in that chunk's text
        for article, (sentences, _) in zip(articles, annotations, strict=True):
            article_chunks = list(chunker.split(article))
            placed += [
                (len(chunks) + i if i >= 0 else -1, start, end)
                for i, start, end in _place_sentences(sentences, article_chunks)
            ]
            chunks += article_chunks
        spans: list[list[tuple[int, int]]] = [[] for _ in chunks]
        where = []  # each sentence's (chunk, row among that chunk's spans), or None
        for i, start, end in placed:
            where.append((i, len(spans[i])) if i >= 0 else None)
            if i >= 0:
                spans[i].append((start, end))
        chunk_vectors, span_vectors = encoder.encode_with_spans([c.text for c in chunks], spans, batch_size)
        zeros = np.zeros(chunk_vectors.shape[1], dtype=np.float32)
        sentence_vectors = [span_vectors[at[0]][at[1]] if at else zeros for at in where]
        mixed = sentence_vectors_setting == "mixed"
        sentence_vectors = iter(_fill_missing(sentence_vectors, articles, annotations, encoder, batch_size, mixed))
        self.db.executemany(
            "INSERT INTO articles(id, title, text, source, origin, content_hash, url, date, added_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [(a.id, a.title, a.text, a.source, a.origin, a.content_hash, a.url, a.date, added_at) for a in articles],
        )
        ids = []
        for chunk in chunks:
            cursor = self.db.execute(
                "INSERT INTO chunks(article_id, start, end) VALUES (?,?,?)", (chunk.article_id, chunk.start, chunk.end)
            )
            ids.append(cursor.lastrowid)
        if chunks:
            self.vectors.add_with_ids(chunk_vectors, np.array(ids, dtype=np.int64))
        df = Counter()
        for article, (sentences, spans) in zip(articles, annotations, strict=True):
            rows = []
            for sentence in sentences:
                sentence_terms = set(terms(article.text[sentence.start : sentence.end]))
                df.update(sentence_terms)
                rows.append(
                    (
                        article.id,
                        sentence.start,
                        sentence.end,
                        " ".join(sorted(sentence_terms)),
                        next(sentence_vectors).tobytes(),
                    )
                )
            self.db.executemany("INSERT INTO sentences(article_id, start, end, terms, vector) VALUES (?,?,?,?,?)", rows)
            self.db.executemany(
                "INSERT INTO spans(article_id, start, end, label) VALUES (?,?,?,?)",
                [(article.id, s.start, s.end, s.label) for s in spans],
            )
        self.db.executemany(
            "INSERT INTO term_df(term, df) VALUES (?, ?) ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            list(df.items()),
        )
        return len(chunks)

    def commit(self, manifest_fields: dict) -> Manifest:
        """Write the lexical index, vectors and manifest, then make this generation live.

        An exact vector index that has grown past what its ``vector_index`` setting allows is moved
        into the approximate index the setting chooses (see ``index.vectors``).
        """
        import bm25s
        import faiss

        factory = choose_index(manifest_fields["vector_index"], self.vectors.ntotal)
        if is_exact(self.vectors):  # convert() leaves it as it is when the setting still says exact
            self.vectors = convert(self.vectors, factory)

        rows = self.db.execute(
            "SELECT c.id, substr(a.text, c.start + 1, c.end - c.start)"
            " FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id"
        ).fetchall()
        if rows:
            retriever = bm25s.BM25()
            retriever.index(bm25_tokens([text for _, text in rows]), show_progress=False)
            retriever.save(str(self.path / BM25_DIR), allow_pickle=False)
        np.save(self.path / BM25_IDS, np.array([chunk_id for chunk_id, _ in rows], dtype=np.int64), allow_pickle=False)
        try:
            faiss.write_index(self.vectors, str(self.path / VECTORS))
        except RuntimeError as exc:  # faiss reports I/O failures (a full disk) this way
            raise OSError(f"cannot write {VECTORS}: {str(exc).strip().splitlines()[-1]}") from exc
        counts = {
            "articles": self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
            "chunks": len(rows),
            "sentences": self.db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0],
        }
        self.db.commit()
        self.db.close()
        manifest = Manifest(format_version=FORMAT_VERSION, updated_at=_now(), **manifest_fields, **counts)
        (self.path / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
        _fsync_tree(self.path)
        pointer = self.index_dir / f"{CURRENT}.tmp-{os.getpid()}"
        with open(pointer, "w", encoding="utf-8") as out:
            out.write(self.path.name)
            out.flush()
            os.fsync(out.fileno())
        os.replace(pointer, self.index_dir / CURRENT)
        _fsync(self.index_dir)
        return manifest

    def discard(self) -> None:
        """Throw away an unfinished generation (a second Ctrl-C waits until it is gone)."""
        stops = {signal.SIGINT, signal.SIGTERM}
        blocked = threading.current_thread() is threading.main_thread()
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        try:
            with contextlib.suppress(Exception):
                self.db.close()
            shutil.rmtree(self.path, ignore_errors=True)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)


def _place_sentences(sentences: Sequence[Sentence], chunks: Sequence[Chunk]) -> list[tuple[int, int, int]]:
    """For each sentence, the chunk whose forward pass gives its vector, and its range in that chunk's text.

    The chunk is the one that holds the whole sentence nearest its middle (the most context on
    both sides); a sentence no chunk holds whole takes the chunk it overlaps most, and ``(-1, 0, 0)``
    stands for a sentence no chunk overlaps.
    """
    placed = []
    for sentence in sentences:
        middle = sentence.start + sentence.end
        best, best_key = -1, None
        for i, chunk in enumerate(chunks):
            overlap = min(chunk.end, sentence.end) - max(chunk.start, sentence.start)
            if overlap <= 0:
                continue
            whole = chunk.start <= sentence.start and sentence.end <= chunk.end
            key = (whole, overlap if not whole else 0, -abs(chunk.start + chunk.end - middle))
            if best_key is None or key > best_key:
                best, best_key = i, key
        if best < 0:
            placed.append((-1, 0, 0))
        else:
            chunk = chunks[best]
            placed.append(
                (best, max(sentence.start, chunk.start) - chunk.start, min(sentence.end, chunk.end) - chunk.start)
            )
    return placed


def _fill_missing(
    vectors: list[np.ndarray],
    articles: Sequence[Article],
    annotations: Sequence[tuple[list[Sentence], list]],
    encoder: Encoder,
    batch_size: int,
    mixed: bool,
) -> list[np.ndarray]:
    """Sentence vectors, those no chunk pass gave (zeros) encoded on their own; with ``mixed``, every
    pooled vector averaged with the sentence's own encoding (see ``Config.sentence_vectors``)."""
    pairs = zip(articles, annotations, strict=True)
    texts = [article.text[s.start : s.end] for article, (found, _) in pairs for s in found]
    if mixed:
        for i, alone in enumerate(encoder.encode(texts, batch_size=batch_size)):
            if vectors[i].any():  # the sentence read in its chunk and read alone, averaged
                both = vectors[i] + alone
                vectors[i] = both / max(float(np.linalg.norm(both)), 1e-12)
            else:
                vectors[i] = alone
        return vectors
    missing = [i for i, vector in enumerate(vectors) if not vector.any()]
    if not missing:
        return vectors
    for i, vector in zip(missing, encoder.encode([texts[i] for i in missing], batch_size=batch_size), strict=True):
        vectors[i] = vector
    return vectors


def _collect_garbage(index_dir: Path, keep: Path, previous: Path | None) -> None:
    """Remove dead generations; the previous one stays for readers still using it."""
    for entry in index_dir.iterdir():
        if entry not in (keep, previous) and is_own_generation(entry):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f"{CURRENT}.tmp-"):
            entry.unlink(missing_ok=True)


def _unchanged(error: BaseException, index_dir: Path) -> BaseException:
    """The error to raise for a failed write, whose generation is already discarded: a failure to
    write (disk full, permissions) becomes an :class:`IndexWriteError` that says the index is unchanged."""
    if isinstance(error, (OSError, sqlite3.Error)):
        return IndexWriteError(f"could not write the index at {index_dir} ({error}); the index is unchanged")
    return error


def _take_problems(report: BuildReport, articles: Iterable[Article]) -> None:
    """Copy the bad inputs and duplicates a stream met into the report."""
    if isinstance(articles, ArticleStream):
        report.problems += articles.problems
        report.duplicates += articles.duplicates


def _carried_fields(manifest: Manifest) -> dict:
    """The settings an update keeps from the index it changes."""
    names = ("model", "dimension", "max_tokens", "chunk_tokens", "chunk_overlap", "built_at", "backend")
    names += ("vector_index", "sentence_vectors")
    return {name: getattr(manifest, name) for name in names}


class IndexWriter:
    """Builds and updates the index at ``config.index_dir``.

    Args:
        config: settings (index directory, model, chunking, strictness).
        encoder: the embedding model; by default loaded from ``config`` (or the index's manifest).
        annotator: the sentence/entity finder; by default spaCy's English pipeline.
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
        self.annotator = annotator or Annotator(workers=self.config.workers)
        self.progress = progress

    def _encoder_for(self, model: str, backend: str) -> Encoder:
        backend = resolve_backend(model, backend)
        if self._encoder is None or self._encoder.backend != backend:  # an index is embedded one way only
            self._encoder = Encoder(model, backend=backend, workers=self.config.workers)
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
        stream = ArticleStream(paths, strict=self.config.strict, follow_links=self.config.follow_links)
        return self.build_articles(stream, described=", ".join(map(str, paths)))

    def build_articles(self, articles: Iterable[Article], described: str = "the input") -> BuildReport:
        """Build the index from scratch from articles (a list, or a stream read as it goes); see :meth:`build`."""
        try:
            return self._build_articles(articles, described)
        finally:
            self.annotator.close()  # its worker processes, if the build started any

    def _build_articles(self, articles: Iterable[Article], described: str) -> BuildReport:
        started = time.perf_counter()
        encoder = self._encoder_for(self.config.build_model, self.config.backend)
        make_index(choose_index(self.config.vector_index, APPROXIMATE_FROM), encoder.dimension)  # refuse a bad one now
        index_dir = self.config.index_dir
        self._load_models(encoder)
        with writer_lock(index_dir):
            previous = current_generation(index_dir)
            generation = _Generation(index_dir, None, encoder.dimension)
            try:
                report = BuildReport()
                fields = {
                    "model": encoder.name,
                    "dimension": encoder.dimension,
                    "max_tokens": encoder.max_tokens,
                    "chunk_tokens": min(self.config.chunk_tokens, encoder.max_tokens - 2),
                    "chunk_overlap": self.config.chunk_overlap,
                    "built_at": _now(),
                    "backend": encoder.backend,
                    "vector_index": self.config.vector_index,
                    "sentence_vectors": self.config.sentence_vectors,
                }
                chunker = self._chunker(encoder, fields)
                for batch in self._batches(articles):
                    report.chunks_embedded += generation.add_articles(
                        batch, chunker, encoder, self.annotator, self.config.batch_size, fields["sentence_vectors"]
                    )
                    report.added += [a.id for a in batch]
                _take_problems(report, articles)
                if not report.added:
                    raise NoArticles(f"no articles could be read from {described}")
                manifest = generation.commit(fields)
            except BaseException as exc:
                generation.discard()
                raise _unchanged(exc, index_dir) from exc
            _collect_garbage(index_dir, generation.path, previous)
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
        try:
            return self._add(paths)
        finally:
            self.annotator.close()

    def _add(self, paths: Sequence[str | os.PathLike]) -> BuildReport:
        started = time.perf_counter()
        stream = ArticleStream(paths, strict=self.config.strict, follow_links=self.config.follow_links)
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            store = IndexStore.open(index_dir, model=self.config.model)
            report = BuildReport()
            generation = None
            try:
                for batch in self._batches(self._changes(stream, store, report, self.config.strict)):
                    if generation is None:  # made only once there is something to change
                        encoder = self._encoder_for(store.manifest.model, store.manifest.backend)
                        chunker = self._chunker(encoder, _carried_fields(store.manifest))
                        self._load_models(encoder)
                        generation = _Generation(index_dir, store.generation, store.manifest.dimension)
                    generation.remove_articles([old_id for _, old_id in batch if old_id is not None])
                    report.chunks_embedded += generation.add_articles(
                        [article for article, _ in batch],
                        chunker,
                        encoder,
                        self.annotator,
                        self.config.batch_size,
                        store.manifest.sentence_vectors,
                    )
                _take_problems(report, stream)
                if generation is None:
                    return self._finish(report, store.manifest, started)
                manifest = generation.commit(_carried_fields(store.manifest))
            except BaseException as exc:
                if generation is not None:
                    generation.discard()
                raise _unchanged(exc, index_dir) from exc
            _collect_garbage(index_dir, generation.path, store.generation)
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
            generation = _Generation(index_dir, store.generation, store.manifest.dimension)
            try:
                generation.remove_articles(report.removed)
                manifest = generation.commit(_carried_fields(store.manifest))
            except BaseException as exc:
                generation.discard()
                raise _unchanged(exc, index_dir) from exc
            _collect_garbage(index_dir, generation.path, store.generation)
        return self._finish(report, manifest, started)

    @staticmethod
    def _chunker(encoder: Encoder, fields: dict) -> Chunker:
        return Chunker(encoder.tokenizer, fields["chunk_tokens"], fields["chunk_overlap"], encoder.max_tokens)

    def _batches(self, items: Iterable) -> Iterator[list]:
        """Items (articles, or ``(article, replaced id)`` pairs) in batches bounded in count and text size."""
        from tqdm import tqdm

        batch, chars = [], 0
        with tqdm(unit=" articles", desc="indexing", disable=not self.progress or None) as bar:
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
