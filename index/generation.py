"""A generation of the index being written beside the live one, and the switch that makes it live.

A writer fills a new ``gen-*`` folder (its database, vectors, lexical index and manifest, in the
layout :mod:`index.store` reads), flushes it to disk and renames ``CURRENT`` to point at it: a
process killed at any moment leaves the index as it was before or as it is after. Only folders
this tool wrote (marked with :data:`~index.store.GENERATION_MARKER`) are ever removed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from index.annotate import Annotator, Sentence, Span
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
    is_own_generation,
)
from index.terms import terms
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

    def write(self, prepared: PreparedArticles) -> int:
        """Store articles already chunked, annotated and embedded; returns the number of chunks."""
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
        full = prepared.full
        sentence_blobs = iter(prepared.sentence_vectors) if full else itertools.repeat(b"")
        df = Counter()
        for article, (sentences, spans) in zip(articles, prepared.annotations, strict=True):
            rows = []
            for sentence in sentences:
                sentence_terms = set(terms(article.text[sentence.start : sentence.end])) if full else set()
                df.update(sentence_terms)
                rows.append(
                    (article.id, sentence.start, sentence.end, " ".join(sorted(sentence_terms)), next(sentence_blobs))
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


@dataclass(frozen=True)
class PreparedArticles:
    """Articles with everything a generation stores about them, computed apart from any index
    (in this process, or in a Ray actor: see ``index.ray_build``)."""

    articles: list[Article]
    annotations: list[tuple[list[Sentence], list[Span]]]
    """Per article: its sentences, and its entity and noun-phrase spans (none unless ``full``)."""
    chunks: list[Chunk]
    chunk_vectors: np.ndarray
    sentence_vectors: list[bytes]
    """One float32 vector per sentence, in order (``full`` only; else empty)."""
    full: bool

    def only(self, wanted: Sequence[int]) -> PreparedArticles:
        """The same, for the articles at these positions only (e.g. those of one shard)."""
        keep = sorted(set(wanted))
        blobs: list[bytes] = []
        if self.full:  # each article's sentence vectors follow the previous article's
            first = np.cumsum([0] + [len(sentences) for sentences, _ in self.annotations])
            blobs = [blob for i in keep for blob in self.sentence_vectors[first[i] : first[i + 1]]]
        ids = {self.articles[i].id for i in keep}
        rows = [j for j, chunk in enumerate(self.chunks) if chunk.article_id in ids]
        return PreparedArticles(
            [self.articles[i] for i in keep],
            [self.annotations[i] for i in keep],
            [self.chunks[j] for j in rows],
            self.chunk_vectors[rows],
            blobs,
            self.full,
        )


def prepare_articles(
    articles: Sequence[Article],
    chunker: Chunker,
    encoder: Encoder,
    annotator: Annotator,
    batch_size: int,
    settings: dict,
) -> PreparedArticles:
    """Chunk, annotate and embed articles, as a generation stores them.

    ``settings`` are the index's (its manifest's fields): ``annotations`` says whether entities,
    noun phrases, sentence terms and sentence vectors (for the heuristic reader) are made, and
    ``sentence_vectors`` how.
    """
    articles = list(articles)
    full = settings.get("annotations", "full") == "full"
    annotations = list(annotator.annotate(articles, full=full))
    chunks: list[Chunk] = []
    placed: list[tuple[int, int, int]] = []  # each sentence's (chunk, start, end) in that chunk's text
    for article, (sentences, _) in zip(articles, annotations, strict=True):
        article_chunks = list(chunker.split(article))
        if full:  # sentence vectors are pooled from the chunk pass
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
    blobs: list[bytes] = []
    if full:
        zeros = np.zeros(chunk_vectors.shape[1], dtype=np.float32)
        sentence_vectors = [span_vectors[at[0]][at[1]] if at else zeros for at in where]
        mixed = settings.get("sentence_vectors") == "mixed"
        sentence_vectors = _fill_missing(sentence_vectors, articles, annotations, encoder, batch_size, mixed)
        blobs = [vector.tobytes() for vector in sentence_vectors]
    return PreparedArticles(articles, annotations, chunks, chunk_vectors, blobs, full)


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


def collect_garbage(index_dir: Path, keep: Path, previous: Path | None) -> None:
    """Remove dead generations; the previous one stays for readers still using it."""
    for entry in index_dir.iterdir():
        if entry not in (keep, previous) and is_own_generation(entry):
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f"{CURRENT}.tmp-"):
            entry.unlink(missing_ok=True)
