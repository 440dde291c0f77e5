"""Reading an index: the live generation of an index folder (see ``index.layout``), searched and read.

Example::

    store = IndexStore.open("~/.local/share/article-qa/index")
    hits = store.dense_search(vector, 10)
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.errors import IndexCorrupt, IndexNotFound, ModelMismatch
from index.layout import (
    BM25_DIR,
    BM25_IDS,
    DATABASE,
    MANIFEST,
    VECTORS,
    Manifest,
    connect,
    current_generation,
    has_pages_column,
    rebuild_hint,
)
from index.scope import Scope
from index.terms import terms
from index.vectors import set_probes
from index.vectors import vector_ids as stored_vector_ids


@dataclass(frozen=True)
class ArticleRecord:
    """An indexed article's metadata (its text is read with :meth:`IndexStore.article_text`)."""

    id: str
    title: str
    source: str
    url: str | None
    date: str | None
    content_hash: str
    added_at: str
    chunks: int
    author: str | None = None
    site: str | None = None
    excluded_chars: int = 0
    """Characters of its text that are not indexed (front matter, boilerplate)."""


@dataclass(frozen=True)
class SentenceRecord:
    """A stored sentence: ``article_text(article_id)[start:end]``."""

    article_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Stretch:
    """A stretch of an article (a chunk, or any range) with all that reading and citing it need.

    ``text`` is ``article_text[start:end]``; ``sentences`` are ``(start, end, text)`` of the article's
    sentences that overlap the stretch, whole (the first and last may reach outside it).
    """

    article_id: str
    start: int
    end: int
    text: str
    title: str
    source: str
    url: str | None
    date: str | None
    sentences: tuple[tuple[int, int, str], ...]
    author: str | None = None
    pages: tuple[int, ...] = ()


class IndexStore:
    """A read-only view of the live generation of an index.

    Use :meth:`open`. Safe to share between threads.
    """

    def __init__(self, index_dir: Path, generation: Path, manifest: Manifest) -> None:
        import faiss

        self.index_dir = index_dir
        self.generation = generation
        self.manifest = manifest
        self._local = threading.local()
        self._texts: OrderedDict[str, str] = OrderedDict()
        self._texts_lock = threading.Lock()
        self._bm25_lock = threading.Lock()
        db_path = generation / DATABASE
        if not db_path.is_file():
            raise IndexCorrupt(f"the index at {index_dir} has no database ({db_path.name}). {rebuild_hint(index_dir)}")
        if not (generation / VECTORS).is_file():
            raise IndexCorrupt(f"the index at {index_dir} has no vector file ({VECTORS}). {rebuild_hint(index_dir)}")
        try:  # exact (flat) vectors are memory-mapped: no copy, the OS pages in what searches touch
            self.vectors = faiss.read_index(str(generation / VECTORS), faiss.IO_FLAG_MMAP_IFC)
        except RuntimeError as exc:
            raise IndexCorrupt(
                f"the index at {index_dir} has a damaged vector file ({VECTORS}). {rebuild_hint(index_dir)}"
            ) from exc
        if self.vectors.ntotal != manifest.chunks or self.vectors.d != manifest.dimension:
            raise IndexCorrupt(
                f"the index at {index_dir} holds {self.vectors.ntotal} vectors of dimension {self.vectors.d}, "
                f"but its manifest says {manifest.chunks} of dimension {manifest.dimension}. {rebuild_hint(index_dir)}"
            )
        self._bm25, self._bm25_ids = self._load_bm25()
        try:
            counts = {
                "articles": self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0],
                "chunks": self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0],
                "sentences": self._db.execute("SELECT COUNT(*) FROM sentences").fetchone()[0],
            }
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(
                f"the index at {index_dir} has a damaged database ({exc}). {rebuild_hint(index_dir)}"
            ) from exc
        counts["lexical rows"] = len(self._bm25_ids)
        for name, found in counts.items():
            expected = manifest.chunks if name == "lexical rows" else getattr(manifest, name)
            if found != expected:
                raise IndexCorrupt(
                    f"the index at {index_dir} disagrees with itself: its database holds {found} {name}, "
                    f"its manifest says {expected}. {rebuild_hint(index_dir)}"
                )
        self.n_sentences = counts["sentences"]

    @classmethod
    def open(cls, index_dir: str | os.PathLike, model: str | None = None) -> IndexStore:
        """Open the live index at ``index_dir``.

        Args:
            index_dir: the index directory.
            model: the embedding model the caller will query with; ``None`` accepts the index's own.

        Raises:
            IndexNotFound: there is no index there.
            IndexCorrupt: the index is damaged or from another format version.
            ModelMismatch: ``model`` differs from the model the index was built with.
        """
        from index.embed import canonical_model_name

        index_dir = Path(index_dir).expanduser()
        for _ in range(3):
            generation = current_generation(index_dir)
            if generation is None:
                raise IndexNotFound(index_dir)
            if generation.is_dir() or current_generation(index_dir) == generation:
                break
            # A writer switched generations and removed this one between our two reads: read CURRENT again.
        if not generation.is_dir():
            raise IndexCorrupt(
                f"the index at {index_dir} is missing its data ({generation.name}). {rebuild_hint(index_dir)}"
            )
        manifest = Manifest.read(generation / MANIFEST, index_dir)
        if model is not None and canonical_model_name(model) != manifest.model:
            raise ModelMismatch(index_dir, manifest.model, canonical_model_name(model))
        return cls(index_dir, generation, manifest)

    def stale(self) -> bool:
        """Whether a writer has switched the index to another generation since this view was opened."""
        return current_generation(self.index_dir) != self.generation

    def _load_bm25(self):
        """The lexical index and its row-to-chunk ids; never unpickles anything."""
        import bm25s

        try:
            ids = np.load(self.generation / BM25_IDS, allow_pickle=False, mmap_mode="r")
            if ids.dtype != np.int64 or ids.ndim != 1:
                raise ValueError(f"{BM25_IDS} holds {ids.dtype} values, not chunk ids")
            if len(ids) == 0:
                return None, ids
            return bm25s.BM25.load(str(self.generation / BM25_DIR), allow_pickle=False, mmap=True), ids
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise IndexCorrupt(
                f"the index at {self.index_dir} has a damaged lexical index ({exc}). {rebuild_hint(self.index_dir)}"
            ) from exc

    def verify(self) -> list[str]:
        """Check the whole index, beyond what opening it checks; returns the problems found (none: sound).

        Checks SQLite's integrity, that the vector ids, lexical rows and stored chunks are the same
        set, and that every chunk and sentence lies inside its article.
        """
        problems = []
        db = self._db
        try:
            integrity = [row[0] for row in db.execute("PRAGMA quick_check")]
            if integrity != ["ok"]:
                problems.append(f"the database fails SQLite's integrity check: {'; '.join(integrity[:3])}")
            chunk_ids = {row[0] for row in db.execute("SELECT id FROM chunks")}
            outside = db.execute(
                "SELECT COUNT(*) FROM chunks c LEFT JOIN articles a ON a.id = c.article_id"
                " WHERE a.id IS NULL OR c.start < 0 OR c.end > length(a.text) OR c.start >= c.end"
            ).fetchone()[0]
            stray = db.execute(
                "SELECT COUNT(*) FROM sentences s LEFT JOIN articles a ON a.id = s.article_id"
                " WHERE a.id IS NULL OR s.start < 0 OR s.end > length(a.text) OR s.start >= s.end"
            ).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            return [f"the database is damaged ({exc})"]
        if outside:
            problems.append(f"{outside} chunks point outside their article")
        if stray:
            problems.append(f"{stray} sentences point outside their article")
        vector_ids = set(stored_vector_ids(self.vectors).tolist())
        if vector_ids != chunk_ids:
            problems.append(
                f"the vectors and the chunks disagree: {len(vector_ids - chunk_ids)} vectors without a chunk, "
                f"{len(chunk_ids - vector_ids)} chunks without a vector"
            )
        if set(self._bm25_ids.tolist()) != chunk_ids:
            problems.append("the lexical index and the chunks disagree")
        return problems

    @functools.cached_property
    def _has_pages(self) -> bool:
        return has_pages_column(self._db)

    @property
    def _db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.generation / DATABASE, readonly=True)
            self._local.conn = conn
        return conn

    def set_probes(self, probes: int) -> None:
        """Lists an approximate (inverted-file) vector index searches per question; no effect on exact ones."""
        set_probes(self.vectors, probes)

    def chunks_in(self, scope: Scope) -> np.ndarray:
        """The ids of the chunks of the articles ``scope`` matches (sorted)."""
        condition, values = scope.sql()
        rows = self._db.execute(
            f"SELECT c.id FROM chunks c JOIN articles a ON a.id = c.article_id WHERE {condition} ORDER BY c.id", values
        )
        return np.array([row[0] for row in rows], dtype=np.int64)

    def dense_search(self, vector: np.ndarray, n: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` chunks closest to a unit vector: ``(chunk_id, cosine)``, best first; only chunks whose
        ids are in ``within`` (from :meth:`chunks_in`) when it is given."""
        import faiss

        total = self.vectors.ntotal if within is None else len(within)
        if total == 0 or self.vectors.ntotal == 0:
            return []
        query = vector.reshape(1, -1).astype(np.float32)
        if within is None:
            scores, ids = self.vectors.search(query, min(n, total))
        else:
            selector = faiss.IDSelectorBatch(within)
            ivf = faiss.try_extract_index_ivf(self.vectors)
            if ivf is not None:  # the parameters replace the index's own, so they carry its probes
                params = faiss.SearchParametersIVF(sel=selector, nprobe=ivf.nprobe)
            else:
                params = faiss.SearchParameters(sel=selector)
            scores, ids = self.vectors.search(query, min(n, total), params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=False) if i >= 0]

    def lexical_statistics(self, query: str) -> tuple[int, dict[str, int]]:
        """The lexical index's size (chunks) and the document frequency of each of the query's terms it
        holds: what a sharded index sums to score every shard with the whole corpus's statistics."""
        return len(self._bm25_ids), self._document_frequencies(terms(query))

    def _document_frequencies(self, query_terms: list[str]) -> dict[str, int]:
        """Chunks of the lexical index holding each of these terms (those it holds at all)."""
        if self._bm25 is None:
            return {}
        vocabulary, starts = self._bm25.vocab_dict, self._bm25.scores["indptr"]
        found = {term: vocabulary[term] for term in set(query_terms) if term in vocabulary}
        return {term: int(starts[i + 1] - starts[i]) for term, i in found.items()}

    def lexical_search(
        self,
        query: str,
        n: int,
        within: np.ndarray | None = None,
        statistics: tuple[int, dict[str, int]] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``n`` best BM25 chunks for a query: ``(chunk_id, score)``, best first; no zero scores; only
        chunks whose ids are in ``within`` when it is given (BM25's statistics stay the whole index's).

        ``statistics`` (a corpus size and document frequencies, see :meth:`lexical_statistics`) replace
        this index's own in each term's inverse document frequency: a shard then scores as a part of
        the whole corpus would (its average chunk length stays its own).
        """
        query_terms = terms(query)
        if self._bm25 is None or not query_terms:
            return []
        mask = None if within is None else np.isin(self._bm25_ids, within).astype(np.float32)
        if statistics is not None:
            return self._lexical_search_as_part(query_terms, n, mask, statistics)
        with self._bm25_lock:  # n_threads=0: in this thread (1 starts a thread pool for each question)
            rows, scores = self._bm25.retrieve(
                [query_terms], k=min(n, len(self._bm25_ids)), show_progress=False, n_threads=0, weight_mask=mask
            )
        return [(int(self._bm25_ids[r]), float(s)) for r, s in zip(rows[0], scores[0], strict=False) if s > 0]

    def _lexical_search_as_part(
        self, query_terms: list[str], n: int, mask: np.ndarray | None, statistics: tuple[int, dict[str, int]]
    ) -> list[tuple[int, float]]:
        total, corpus_df = statistics
        size, own_df = len(self._bm25_ids), self._document_frequencies(query_terms)
        scores = np.zeros(len(self._bm25_ids), dtype=np.float32)
        with self._bm25_lock:
            for term in query_terms:  # each term's weights, stored with this index's idf, rescaled to the corpus's
                if term in own_df:
                    weight = _idf(corpus_df[term], total) / _idf(own_df[term], size)
                    scores += weight * self._bm25.get_scores([term])
        if mask is not None:
            scores *= mask
        best = np.argsort(-scores, kind="stable")[:n]
        return [(int(self._bm25_ids[r]), float(scores[r])) for r in best if scores[r] > 0]

    def chunk_spans(self, chunk_ids: list[int]) -> dict[int, tuple[str, int, int]]:
        """``chunk_id -> (article_id, start, end)`` for the given chunks."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        rows = self._db.execute(f"SELECT id, article_id, start, end FROM chunks WHERE id IN ({marks})", chunk_ids)
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def chunk_stretches(self, chunk_ids: list[int]) -> dict[int, Stretch]:
        """``chunk_id -> Stretch`` for the given chunks: everything a question needs from the index, in one call."""
        spans = self.chunk_spans(chunk_ids)
        found = self.stretches([spans[chunk_id] for chunk_id in chunk_ids if chunk_id in spans])
        return dict(zip([chunk_id for chunk_id in chunk_ids if chunk_id in spans], found, strict=True))

    def stretches(self, ranges: list[tuple[str, int, int]]) -> list[Stretch]:
        """A :class:`Stretch` for each ``(article_id, start, end)`` range, in order."""
        if not ranges:
            return []
        ids = sorted({article_id for article_id, _, _ in ranges})
        marks = ",".join("?" * len(ids))
        pages = "pages" if self._has_pages else "NULL"
        meta = {
            row[0]: row[1:]
            for row in self._db.execute(
                f"SELECT id, title, source, url, date, author, {pages} FROM articles WHERE id IN ({marks})", ids
            )
        }
        where = " OR ".join(["(article_id = ? AND start < ? AND end > ?)"] * len(ranges))
        rows = self._db.execute(
            f"SELECT article_id, start, end FROM sentences WHERE {where} ORDER BY article_id, start",
            [value for article_id, start, end in ranges for value in (article_id, end, start)],
        )
        sentences: dict[str, list[tuple[int, int]]] = {}
        for article_id, start, end in rows:
            sentences.setdefault(article_id, []).append((start, end))
        found = []
        for article_id, start, end in ranges:
            text = self.article_text(article_id)
            title, source, url, date, author, page_starts = meta.get(article_id, ("", "", None, None, None, None))
            overlapping = tuple(
                (s, e, text[s:e]) for s, e in dict.fromkeys(sentences.get(article_id, ())) if s < end and e > start
            )
            page_starts = tuple(json.loads(page_starts)) if page_starts else ()
            stretch = Stretch(
                article_id, start, end, text[start:end], title, source, url, date, overlapping, author, page_starts
            )
            found.append(stretch)
        return found

    def article_text(self, article_id: str) -> str:
        """The full text of an article (recently used texts are cached)."""
        with self._texts_lock:
            if article_id in self._texts:
                self._texts.move_to_end(article_id)
                return self._texts[article_id]
        row = self._db.execute("SELECT text FROM articles WHERE id = ?", (article_id,)).fetchone()
        if row is None:
            raise KeyError(article_id)
        with self._texts_lock:
            self._texts[article_id] = row[0]
            while len(self._texts) > 256:
                self._texts.popitem(last=False)
        return row[0]

    def article_file(self, article_id: str) -> Path | None:
        """The file an article was read from, as resolved when it was indexed (``None``: not indexed)."""
        row = self._db.execute("SELECT origin FROM articles WHERE id = ?", (article_id,)).fetchone()
        return Path(row[0]) if row else None

    def current_file(self, article_id: str) -> Path | None:
        """The file an article was read from, if it is still that file: a regular file at the path recorded
        when it was indexed, not a link put there since and not reached through one (``None`` otherwise)."""
        path = self.article_file(article_id)
        if path is None or path.is_symlink() or not path.is_file() or path.resolve() != path:
            return None
        return path

    def locate(self, article_id: str, needles: list[str]) -> tuple[int, int] | None:
        """``(start, end)`` of the first place in an article's text where one of ``needles`` is written
        (case-insensitive, whole words), or ``None``."""
        text = self.article_text(article_id)
        found = []
        for needle in needles:
            match = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", text, re.IGNORECASE)
            if match:
                found.append((match.start(), match.end()))
        return min(found, default=None)

    def article(self, article_id: str) -> ArticleRecord | None:
        """One article's metadata, or ``None`` if it is not indexed."""
        found = self.articles(article_id)
        return found[0] if found else None

    def articles(self, article_id: str | None = None) -> list[ArticleRecord]:
        """Metadata of every indexed article (or of one), ordered by source."""
        query = (
            "SELECT a.id, a.title, a.source, a.url, a.date, a.content_hash, a.added_at,"
            " (SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id), a.author, a.site, a.excluded_chars"
            " FROM articles a"
        )
        if article_id is None:
            rows = self._db.execute(query + " ORDER BY a.source, a.id")
        else:
            rows = self._db.execute(query + " WHERE a.id = ?", (article_id,))
        return [ArticleRecord(*row) for row in rows]

    def lookup(self, article) -> tuple[str, str | None]:
        """How an incoming article relates to the index.

        An article's id belongs to the source (file, or file and record) that first brought it:
        another source cannot replace it.

        Returns:
            ``("unchanged", id)`` same id and content; ``("changed", old_id)`` same id and
            source, or same source, with other content; ``("conflict", source)`` same id,
            other content, from another source (named); ``("duplicate", id)`` the same
            content under another id; ``("new", None)`` otherwise.
        """
        row = self._db.execute(
            "SELECT content_hash, origin, source FROM articles WHERE id = ?", (article.id,)
        ).fetchone()
        if row is not None:
            if row[0] == article.content_hash:
                return "unchanged", article.id
            return ("changed", article.id) if row[1] == article.origin else ("conflict", row[2])
        row = self._db.execute("SELECT id FROM articles WHERE content_hash = ?", (article.content_hash,)).fetchone()
        if row is not None:
            return "duplicate", row[0]
        row = self._db.execute("SELECT id FROM articles WHERE origin = ?", (article.origin,)).fetchone()
        if row is not None:
            return "changed", row[0]
        return "new", None

    def sentences(self, article_id: str, start: int, end: int) -> list[SentenceRecord]:
        """Sentences of an article that overlap ``[start, end)``, in order."""
        rows = self._db.execute(
            "SELECT start, end FROM sentences WHERE article_id = ? AND start < ? AND end > ? ORDER BY start",
            (article_id, end, start),
        )
        return [SentenceRecord(article_id, s, e) for s, e in rows]


def _idf(df: int, total: int) -> float:
    """BM25's inverse document frequency, as bm25s's default ("lucene") method computes it."""
    return math.log(1 + (total - df + 0.5) / (df + 0.5))
