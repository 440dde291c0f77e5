"""A sharded index: several ordinary indexes (shards) under one folder, read as one.

A sharded index folder holds ``SHARDS.json`` (the shard manifest: the shard folders, in shard
order) and the shard folders, each an ordinary index (its own ``CURRENT`` and generations, see
:mod:`index.layout`). An article lives in shard ``shard_of(article.id, n)``, a stable hash of its
id, so an update or a removal touches only its own shard. A build writes a whole new set of shard
folders and switches ``SHARDS.json`` with an atomic rename: a build killed at any moment leaves
the index as it was before or as it is after; an update switches only its shards' ``CURRENT``.

:class:`ShardedStore` answers the same calls as :class:`~index.store.IndexStore`: dense and BM25
searches run on every shard (in threads) and are merged into one ranked list; chunk ids carry their
shard in their top bits (:func:`pack`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from index.errors import IndexCorrupt, IndexNotFound
from index.layout import SHARDS, Manifest, current_generation, rebuild_hint
from index.scope import Scope
from index.store import ArticleRecord, IndexStore, SentenceRecord, Stretch

SHARDS_FORMAT = 1
SHARD_PREFIX = "shard-"
SHARD_BITS = 40
"""A chunk id of a sharded index is ``shard << SHARD_BITS | chunk id in the shard`` (FAISS ids are 64-bit)."""
MAX_SHARDS = 1 << 16
AGREEING = ("format_version", "model", "dimension", "max_tokens", "chunk_tokens", "chunk_overlap", "backend")
"""Manifest fields every shard of one index must share."""


def shard_of(article_id: str, shards: int) -> int:
    """The shard an article belongs to: a stable hash of its id (the same on every machine and run)."""
    digest = hashlib.blake2b(article_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def pack(shard: int, chunk_ids: np.ndarray | Sequence[int]) -> np.ndarray:
    """Chunk ids of one shard as ids of the whole sharded index."""
    return (np.int64(shard) << SHARD_BITS) | np.asarray(chunk_ids, dtype=np.int64)


def unpack(chunk_id: int) -> tuple[int, int]:
    """``(shard, chunk id in the shard)`` of a sharded index's chunk id."""
    return int(chunk_id) >> SHARD_BITS, int(chunk_id) & ((1 << SHARD_BITS) - 1)


def is_sharded(index_dir: str | os.PathLike) -> bool:
    """Whether ``index_dir`` holds a sharded index."""
    return (Path(index_dir).expanduser() / SHARDS).is_file()


@dataclass(frozen=True)
class ShardSet:
    """What ``SHARDS.json`` says: the shard folders (in shard order) and how they were built."""

    shards: tuple[str, ...]
    engine: str
    built_at: str
    format: int = SHARDS_FORMAT

    @classmethod
    def read(cls, index_dir: Path) -> ShardSet:
        """Read and check the shard manifest.

        Raises:
            IndexCorrupt: it is unreadable, of another format, or names a folder that is not a shard.
        """
        try:
            data = json.loads((index_dir / SHARDS).read_text(encoding="utf-8"))
            shards = tuple(data["shards"])
            found = cls(shards, str(data.get("engine", "local")), str(data.get("built_at", "")), data.get("format"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise IndexCorrupt(
                f"the sharded index at {index_dir} has an unreadable {SHARDS} ({exc}). {rebuild_hint(index_dir)}"
            ) from exc
        if found.format != SHARDS_FORMAT:
            raise IndexCorrupt(
                f"the sharded index at {index_dir} has shard format {found.format}; this version of Article QA "
                f"reads {SHARDS_FORMAT}. {rebuild_hint(index_dir)}"
            )
        if not shards or len(shards) > MAX_SHARDS:
            raise IndexCorrupt(f"{index_dir / SHARDS} lists {len(shards)} shards. {rebuild_hint(index_dir)}")
        for name in shards:
            if not isinstance(name, str) or not name.startswith(SHARD_PREFIX) or "/" in name:
                raise IndexCorrupt(f"{index_dir / SHARDS} names {name!r}, not a shard. {rebuild_hint(index_dir)}")
        return found

    def write(self, index_dir: Path) -> None:
        """Make this the index's shard set, atomically (readers see the old set or the new one)."""
        pointer = index_dir / f"{SHARDS}.tmp-{os.getpid()}"
        with open(pointer, "w", encoding="utf-8") as out:
            out.write(json.dumps(asdict(self) | {"shards": list(self.shards)}, indent=2))
            out.flush()
            os.fsync(out.fileno())
        os.replace(pointer, index_dir / SHARDS)
        descriptor = os.open(index_dir, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def remove_unlisted_shards(index_dir: Path, keep: Sequence[str]) -> None:
    """Remove shard folders the shard manifest no longer lists (an old build's, or a failed one's)."""
    for entry in index_dir.iterdir():
        if entry.name.startswith(SHARD_PREFIX) and entry.name not in keep and entry.is_dir():
            if (entry / "CURRENT").exists() or not any(entry.iterdir()):
                shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f"{SHARDS}.tmp-"):
            entry.unlink(missing_ok=True)


def combined_manifest(manifests: Sequence[Manifest], index_dir: Path) -> Manifest:
    """One manifest for the whole index: the shards' shared settings and summed counts.

    Raises:
        IndexCorrupt: the shards disagree on the model, the format or the chunking.
    """
    first = manifests[0]
    for number, manifest in enumerate(manifests[1:], start=1):
        for name in AGREEING:
            if getattr(manifest, name) != getattr(first, name):
                raise IndexCorrupt(
                    f"the shards of the index at {index_dir} disagree: shard {number} has {name} "
                    f"{getattr(manifest, name)!r}, shard 0 has {getattr(first, name)!r}. {rebuild_hint(index_dir)}"
                )
    return replace(
        first,
        articles=sum(m.articles for m in manifests),
        chunks=sum(m.chunks for m in manifests),
        sentences=sum(m.sentences for m in manifests),
        updated_at=max(m.updated_at for m in manifests),
    )


class ShardedStore:
    """A read-only view of a sharded index, with the calls of :class:`~index.store.IndexStore`.

    Use :meth:`open`. Safe to share between threads.
    """

    def __init__(self, index_dir: Path, shard_set: ShardSet, stores: list[IndexStore]) -> None:
        self.index_dir = index_dir
        self.shard_set = shard_set
        self.shards = stores
        self.manifest = combined_manifest([s.manifest for s in stores], index_dir)
        self.generation = (shard_set.shards, tuple(s.generation for s in stores))
        self.n_sentences = sum(s.n_sentences for s in stores)
        self._pool = ThreadPoolExecutor(max_workers=min(len(stores), os.cpu_count() or 1, 8))

    @classmethod
    def open(cls, index_dir: str | os.PathLike, model: str | None = None) -> ShardedStore:
        """Open every shard of the sharded index at ``index_dir``.

        Raises:
            IndexNotFound: a shard has no index.
            IndexCorrupt: the shard manifest or a shard is damaged, or the shards disagree.
            ModelMismatch: ``model`` differs from the index's model.
        """
        index_dir = Path(index_dir).expanduser()
        shard_set = ShardSet.read(index_dir)
        stores = []
        for name in shard_set.shards:
            try:
                stores.append(IndexStore.open(index_dir / name, model=model))
            except IndexNotFound as exc:
                raise IndexCorrupt(
                    f"the sharded index at {index_dir} lacks its shard {name}. {rebuild_hint(index_dir)}"
                ) from exc
        return cls(index_dir, shard_set, stores)

    def stale(self) -> bool:
        """Whether a writer has switched the shard set or a shard's generation since this view was opened."""
        try:
            shard_set = ShardSet.read(self.index_dir)
        except IndexCorrupt:
            return True
        if shard_set.shards != self.shard_set.shards:
            return True
        return any(current_generation(store.index_dir) != store.generation for store in self.shards)

    def shard_for(self, article_id: str) -> IndexStore:
        """The shard that holds (or would hold) an article."""
        return self.shards[shard_of(article_id, len(self.shards))]

    def _each(self, call: Callable[[int, IndexStore], object]) -> list:
        """``call(shard number, shard)`` on every shard, in threads; the results in shard order."""
        if len(self.shards) == 1:
            return [call(0, self.shards[0])]
        return list(self._pool.map(lambda item: call(*item), enumerate(self.shards)))

    def _within(self, within: np.ndarray | None, shard: int) -> np.ndarray | None:
        if within is None:
            return None
        within = np.asarray(within, dtype=np.int64)
        mine = within[(within >> SHARD_BITS) == shard]
        return mine & ((1 << SHARD_BITS) - 1)

    def _merged(self, search: Callable, n: int, within: np.ndarray | None) -> list[tuple[int, float]]:
        def one(shard: int, store: IndexStore) -> list[tuple[int, float]]:
            mine = self._within(within, shard)
            if mine is not None and not len(mine):
                return []
            hits = search(store, mine)
            return [(int(pack(shard, [chunk_id])[0]), score) for chunk_id, score in hits]

        hits = [hit for found in self._each(one) for hit in found]
        hits.sort(key=lambda hit: (-hit[1], hit[0]))
        return hits[:n]

    def set_probes(self, probes: int) -> None:
        """Set how many IVF lists each shard's approximate vector index searches."""
        for store in self.shards:
            store.set_probes(probes)

    def chunks_in(self, scope: Scope) -> np.ndarray:
        """The ids of every chunk of the articles ``scope`` matches, on every shard."""
        found = self._each(lambda shard, store: pack(shard, store.chunks_in(scope)))
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def dense_search(self, vector: np.ndarray, n: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` chunks nearest ``vector`` over all shards (inner products compare across shards: one model)."""
        return self._merged(lambda store, mine: store.dense_search(vector, n, mine), n, within)

    def lexical_search(self, query: str, n: int, within: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The ``n`` best BM25 chunks over all shards, merged by score.

        Scores compare across shards: every shard weighs the query's terms by the whole corpus's
        document frequencies (summed over the shards first), as one index would; only the average
        chunk length in BM25's length normalisation stays each shard's own.
        """
        if len(self.shards) == 1:
            return self._merged(lambda store, mine: store.lexical_search(query, n, mine), n, within)
        parts = self._each(lambda shard, store: store.lexical_statistics(query))
        corpus_df: dict[str, int] = {}
        for _, df in parts:
            for term, count in df.items():
                corpus_df[term] = corpus_df.get(term, 0) + count
        statistics = (sum(size for size, _ in parts), corpus_df)
        return self._merged(lambda store, mine: store.lexical_search(query, n, mine, statistics), n, within)

    def chunk_stretches(self, chunk_ids: list[int]) -> dict[int, Stretch]:
        """``chunk_id -> Stretch`` for the given chunks of any shards."""
        by_shard: dict[int, list[int]] = {}
        for chunk_id in chunk_ids:
            shard, local = unpack(chunk_id)
            by_shard.setdefault(shard, []).append(local)
        found: dict[int, Stretch] = {}
        for shard, local_ids in by_shard.items():
            if shard < len(self.shards):
                for local, stretch in self.shards[shard].chunk_stretches(local_ids).items():
                    found[int(pack(shard, [local])[0])] = stretch
        return found

    def stretches(self, ranges: list[tuple[str, int, int]]) -> list[Stretch]:
        """A :class:`Stretch` for each ``(article_id, start, end)`` range, in order."""
        return [self.shard_for(r[0]).stretches([r])[0] for r in ranges]

    def article_text(self, article_id: str) -> str:
        """The full text of an article."""
        return self.shard_for(article_id).article_text(article_id)

    def article_file(self, article_id: str) -> Path | None:
        """See :meth:`IndexStore.article_file`."""
        return self.shard_for(article_id).article_file(article_id)

    def locate(self, article_id: str, needles: list[str]) -> tuple[int, int] | None:
        """See :meth:`IndexStore.locate`."""
        return self.shard_for(article_id).locate(article_id, needles)

    def sentences(self, article_id: str, start: int, end: int) -> list[SentenceRecord]:
        """See :meth:`IndexStore.sentences`."""
        return self.shard_for(article_id).sentences(article_id, start, end)

    def article(self, article_id: str) -> ArticleRecord | None:
        """One article's metadata, or ``None`` if it is not indexed."""
        return self.shard_for(article_id).article(article_id)

    def articles(self, article_id: str | None = None) -> list[ArticleRecord]:
        """Metadata of every indexed article (or of one), ordered by source."""
        if article_id is not None:
            return self.shard_for(article_id).articles(article_id)
        found = [record for store in self.shards for record in store.articles()]
        return sorted(found, key=lambda record: (record.source, record.id))

    def lookup(self, article) -> tuple[str, str | None]:
        """How an incoming article relates to the index (see :meth:`IndexStore.lookup`), over all shards:
        its id is looked up in its own shard, its content and its source in every shard."""
        status, found = self.shard_for(article.id).lookup(article)
        if status != "new":
            return status, found
        for store in self.shards:
            status, found = store.lookup(article)
            if status != "new":
                return status, found
        return "new", None

    def verify(self) -> list[str]:
        """Check every shard (see :meth:`IndexStore.verify`); the problems found, each naming its shard."""
        named = zip(self.shard_set.shards, self.shards, strict=True)
        return [f"{name}: {problem}" for name, store in named for problem in store.verify()]


def open_store(index_dir: str | os.PathLike, model: str | None = None) -> IndexStore | ShardedStore:
    """Open the index at ``index_dir``, sharded or not."""
    if is_sharded(index_dir):
        return ShardedStore.open(index_dir, model=model)
    return IndexStore.open(index_dir, model=model)
