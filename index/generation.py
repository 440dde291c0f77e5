"""A generation of the index being written beside the live one, and the switch that makes it live.

A writer fills a new ``gen-*`` folder (its database, vectors, lexical index and manifest, in the
layout :mod:`index.store` reads), flushes it to disk and renames ``CURRENT`` to point at it: a
process killed at any moment leaves the index as it was before or as it is after. Only folders
this tool wrote (marked with :data:`~index.store.GENERATION_MARKER`) are ever removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.annotate import Annotator, Sentence
from index.chunk import Chunk, Chunker
from index.config import Config
from index.embed import Encoder
from index.errors import IndexWriteError
from index.ingest import Article
from index.layout import (
    BM25_DIR,
    BM25_IDS,
    CURRENT,
    DATABASE,
    FORMAT_VERSION,
    GENERATION_MARKER,
    MANIFEST,
    SCHEMA,
    VECTORS,
    Manifest,
    add_pages_column,
    bm25_tokens,
    connect,
    current_generation,
    drop_retired_tables,
    is_own_generation,
)
from index.vectors import choose_index, convert, exact_index, is_exact


def now() -> str:
    """The time now, UTC, ISO 8601 to the second (as manifests record it)."""
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


class Generation:
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
                add_pages_column(self.db)
                drop_retired_tables(self.db)
                self.vectors = faiss.read_index(str(base / VECTORS))
        except BaseException:
            self.discard()
            raise

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        """Delete articles with their chunks, vectors and sentences."""
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
            for table, column in (
                ("chunks", "article_id"),
                ("sentences", "article_id"),
                ("articles", "id"),
            ):
                self.db.execute(f"DELETE FROM {table} WHERE {column} = ?", (article_id,))

    def write(self, prepared: PreparedArticles) -> int:
        """Store articles already chunked, split into sentences and embedded; returns the number of chunks."""
        added_at = now()
        articles, chunks = prepared.articles, prepared.chunks
        self.db.executemany(
            "INSERT INTO articles(id, title, text, source, origin, content_hash, url, date, added_at,"
            " author, site, excluded, excluded_chars, pages) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [_article_row(article, added_at) for article in articles],
        )
        ids = []
        for chunk in chunks:
            cursor = self.db.execute(
                "INSERT INTO chunks(article_id, start, end) VALUES (?,?,?)", (chunk.article_id, chunk.start, chunk.end)
            )
            ids.append(cursor.lastrowid)
        if chunks:
            self.vectors.add_with_ids(prepared.chunk_vectors, np.array(ids, dtype=np.int64))
        self.db.executemany(
            "INSERT INTO sentences(article_id, start, end) VALUES (?,?,?)",
            [
                (article.id, sentence.start, sentence.end)
                for article, sentences in zip(articles, prepared.sentences, strict=True)
                for sentence in sentences
            ],
        )
        return len(chunks)

    def commit(self, manifest_fields: dict, approximate_from: int = Config.approximate_from) -> Manifest:
        """Write the lexical index, vectors and manifest, then make this generation live.

        An exact vector index that has grown past what its ``vector_index`` setting allows is moved
        into the approximate index the setting chooses (see ``index.vectors``).
        """
        import bm25s
        import faiss

        factory = choose_index(manifest_fields["vector_index"], self.vectors.ntotal, approximate_from)
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
        manifest = Manifest(format_version=FORMAT_VERSION, updated_at=now(), **manifest_fields, **counts)
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
        """Throw away an unfinished generation and its pointer file (a second Ctrl-C waits until they are gone);
        one that an interrupted :meth:`commit` already made live is kept (the index is then as after)."""
        stops = {signal.SIGINT, signal.SIGTERM}
        blocked = threading.current_thread() is threading.main_thread()
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        try:
            with contextlib.suppress(Exception):
                self.db.close()
            with contextlib.suppress(OSError):
                (self.index_dir / f"{CURRENT}.tmp-{os.getpid()}").unlink(missing_ok=True)
            live = False
            with contextlib.suppress(Exception):
                live = current_generation(self.index_dir) == self.path
            if not live:
                shutil.rmtree(self.path, ignore_errors=True)
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)


@dataclass(frozen=True)
class PreparedArticles:
    """Articles with everything a generation stores about them, computed apart from any index
    (in this process, or in a Ray actor: see ``index.ray_build``)."""

    articles: list[Article]
    sentences: list[list[Sentence]]
    """Per article: its sentences."""
    chunks: list[Chunk]
    chunk_vectors: np.ndarray

    def only(self, wanted: Sequence[int]) -> PreparedArticles:
        """The same, for the articles at these positions only (e.g. those of one shard)."""
        keep = sorted(set(wanted))
        ids = {self.articles[i].id for i in keep}
        rows = [j for j, chunk in enumerate(self.chunks) if chunk.article_id in ids]
        return PreparedArticles(
            [self.articles[i] for i in keep],
            [self.sentences[i] for i in keep],
            [self.chunks[j] for j in rows],
            self.chunk_vectors[rows],
        )


def prepare_articles(
    articles: Sequence[Article], chunker: Chunker, encoder: Encoder, annotator: Annotator, batch_size: int
) -> PreparedArticles:
    """Split articles into sentences and chunks and embed the chunks, as a generation stores them."""
    articles = list(articles)
    sentences = list(annotator.annotate(articles))
    chunks = [chunk for article in articles for chunk in chunker.split(article)]
    return PreparedArticles(articles, sentences, chunks, encoder.encode([c.text for c in chunks], batch_size))


def _article_row(a: Article, added_at: str) -> tuple:
    """The ``articles`` table's row of an article, in the column order of the INSERT above."""
    excluded = json.dumps(a.excluded)
    return (
        a.id,
        a.title,
        a.text,
        a.source,
        a.origin,
        a.content_hash,
        a.url,
        a.date,
        added_at,
        a.author,
        a.site,
        excluded,
        a.excluded_chars,
        json.dumps(a.pages) if a.pages else None,
    )


def collect_garbage(index_dir: Path, keep: Path, previous: Path | None) -> None:
    """Remove dead generations; the previous one stays for readers still using it."""
    for entry in index_dir.iterdir():
        if entry not in (keep, previous) and is_own_generation(entry):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f"{CURRENT}.tmp-"):
            entry.unlink(missing_ok=True)
