"""Build and update a sharded index (see :mod:`index.shards`), here or on Ray.

A build reads, chunks, annotates and embeds articles (in this process, or in a Ray Data pipeline:
``index.ray_build``), writes each article into the new generation of its shard, commits every
shard and then switches ``SHARDS.json``: the old index stays live until the new one is whole. An
update or a removal changes only the shards of the articles it touches, each switched as an
ordinary index is.

Example::

    writer = make_writer(Config(index_dir="my-index", shards=4))
    print(writer.build(["articles/"]).summary())
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from index.build import BuildReport, IndexWriter, _carried_fields, _take_problems, _unchanged
from index.config import Config
from index.embed import Encoder
from index.errors import NoArticles
from index.generation import Generation, PreparedArticles, collect_garbage, now, prepare_articles
from index.ingest import Article, ArticleStream
from index.layout import CURRENT, Manifest, current_generation, is_own_generation
from index.lock import writer_lock
from index.shards import (
    SHARD_PREFIX,
    ShardedStore,
    ShardSet,
    combined_manifest,
    is_sharded,
    remove_unlisted_shards,
    shard_of,
)
from index.vectors import choose_index, make_index


def make_writer(config: Config, encoder: Encoder | None = None, progress: bool = False) -> IndexWriter:
    """The writer for ``config``'s index: sharded when ``config`` asks for shards or Ray, or the index is
    sharded already; an ordinary :class:`~index.build.IndexWriter` otherwise."""
    if config.engine == "ray" or config.shards is not None or is_sharded(config.index_dir):
        return ShardedWriter(config, encoder=encoder, progress=progress)
    return IndexWriter(config, encoder=encoder, progress=progress)


class ShardedWriter(IndexWriter):
    """Builds and updates the sharded index at ``config.index_dir`` (arguments as :class:`IndexWriter`).

    A build makes ``config.shards`` shards (default: as many as the index has, else 1), computed by
    ``config.engine``; updates and removals run here, shard by shard.
    """

    def _shard_count(self) -> int:
        if self.config.shards is not None:
            return self.config.shards
        if is_sharded(self.config.index_dir):
            return len(ShardSet.read(self.config.index_dir).shards)
        return 1

    def build(self, paths: Sequence[str | os.PathLike]) -> BuildReport:
        """Build the sharded index from files and folders (see :meth:`IndexWriter.build`)."""
        if self.config.engine == "ray":
            return self._build_sharded(list(paths), ", ".join(map(str, paths)))
        stream = ArticleStream(
            paths, strict=self.config.strict, follow_links=self.config.follow_links, part_chars=self.config.part_chars
        )
        return self._build_sharded(stream, ", ".join(map(str, paths)))

    def build_articles(self, articles: Iterable[Article], described: str = "the input") -> BuildReport:
        """Build the sharded index from articles already read."""
        return self._build_sharded(articles, described)

    def _prepared(self, source: Iterable, encoder: Encoder, fields: dict) -> Iterable[PreparedArticles]:
        """The articles (or files, for Ray) as :func:`prepare_articles` makes them, batch by batch, in order."""
        if self.config.engine == "ray":
            from index.ray_build import RayPrepared

            return RayPrepared(source, self.config, fields, self.progress)
        self._load_models(encoder)
        chunker = self._chunker(encoder, fields)
        return (
            prepare_articles(batch, chunker, encoder, self.annotator, self.config.batch_size)
            for batch in self._batches(source)
        )

    def _build_sharded(self, source: Iterable, described: str) -> BuildReport:
        started = time.perf_counter()
        encoder = self._encoder_for(self.config.build_model, self.config.backend)
        make_index(choose_index(self.config.vector_index, self.config.approximate_from), encoder.dimension)
        encoder.load()
        fields = self._fields(encoder)
        count = self._shard_count()
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            old = ShardSet.read(index_dir).shards if is_sharded(index_dir) else ()
            token = f"{time.time_ns():x}"
            names = tuple(f"{SHARD_PREFIX}{token}-{i:03d}" for i in range(count))
            generations: list[Generation] = []
            try:
                for name in names:
                    (index_dir / name).mkdir()
                    generations.append(Generation(index_dir / name, None, encoder.dimension))
                report = BuildReport()
                prepared_batches = self._prepared(source, encoder, fields)
                for prepared in prepared_batches:
                    report.chunks_embedded += self._write_by_shard(prepared, generations)
                    report.added += [a.id for a in prepared.articles]
                    report.notes += [f"{a.source}: {note}" for a in prepared.articles for note in a.notes]
                _take_problems(report, prepared_batches)
                _take_problems(report, source)
                if not report.added:
                    raise NoArticles(f"no articles could be read from {described}")
                manifests = [generation.commit(fields, self.config.approximate_from) for generation in generations]
                ShardSet(names, self.config.engine, now()).write(index_dir)
            except BaseException as exc:
                for generation in generations:
                    generation.discard()
                for name in names:
                    shutil.rmtree(index_dir / name, ignore_errors=True)
                raise _unchanged(exc, index_dir) from exc
            remove_unlisted_shards(index_dir, names + old)
            _remove_unsharded(index_dir)
        return self._finish_sharded(report, started, manifests)

    @staticmethod
    def _write_by_shard(prepared: PreparedArticles, generations: Sequence[Generation]) -> int:
        """Write each prepared article into its shard's generation; the chunks written."""
        by_shard: dict[int, list[int]] = {}
        for position, article in enumerate(prepared.articles):
            by_shard.setdefault(shard_of(article.id, len(generations)), []).append(position)
        written = 0
        for shard, positions in sorted(by_shard.items()):
            part = prepared if len(positions) == len(prepared.articles) else prepared.only(positions)
            written += generations[shard].write(part)
        return written

    def add(self, paths: Sequence[str | os.PathLike]) -> BuildReport:
        """Add new and changed articles (see :meth:`IndexWriter.add`); each touched shard is switched whole."""
        started = time.perf_counter()
        stream = ArticleStream(
            paths, strict=self.config.strict, follow_links=self.config.follow_links, part_chars=self.config.part_chars
        )
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            store = ShardedStore.open(index_dir, model=self.config.model)
            carried = _carried_fields(store.manifest)
            report = BuildReport()
            generations: dict[int, Generation] = {}
            try:
                changes = self._changes(stream, store, report, self.config.strict)
                for batch in self._batches(changes):
                    if not generations:  # models are loaded only once there is something to change
                        encoder = self._encoder_for(store.manifest.model, store.manifest.backend)
                        chunker = self._chunker(encoder, carried)
                        self._load_models(encoder)
                    for old_id in [old_id for _, old_id in batch if old_id is not None]:
                        self._generation(store, generations, old_id).remove_articles([old_id])
                    by_shard: dict[int, list[Article]] = {}
                    for article, _ in batch:
                        by_shard.setdefault(shard_of(article.id, len(store.shards)), []).append(article)
                    for articles in by_shard.values():
                        generation = self._generation(store, generations, articles[0].id)
                        report.chunks_embedded += generation.write(
                            prepare_articles(articles, chunker, encoder, self.annotator, self.config.batch_size)
                        )
                _take_problems(report, stream)
                manifests = self._commit(store, generations, carried)
            except BaseException as exc:
                for generation in generations.values():
                    generation.discard()
                raise _unchanged(exc, index_dir) from exc
        return self._finish_sharded(report, started, manifests)

    @staticmethod
    def _generation(store: ShardedStore, generations: dict[int, Generation], article_id: str) -> Generation:
        """The new generation of the shard of ``article_id``, started on first use."""
        shard = shard_of(article_id, len(store.shards))
        if shard not in generations:
            live = store.shards[shard]
            generations[shard] = Generation(live.index_dir, live.generation, live.manifest.dimension)
        return generations[shard]

    def _commit(self, store: ShardedStore, generations: dict[int, Generation], carried: dict) -> list[Manifest]:
        """Commit each changed shard (each switched whole, one after another), then drop its old generations;
        returns every shard's manifest, in shard order."""
        committed = {
            shard: generation.commit(carried, self.config.approximate_from)
            for shard, generation in sorted(generations.items())
        }
        for shard, generation in generations.items():
            collect_garbage(store.shards[shard].index_dir, generation.path, store.shards[shard].generation)
        return [committed.get(shard, live.manifest) for shard, live in enumerate(store.shards)]

    def remove(self, article_ids: Sequence[str]) -> BuildReport:
        """Remove articles by id (see :meth:`IndexWriter.remove`); only their shards change."""
        started = time.perf_counter()
        index_dir = self.config.index_dir
        with writer_lock(index_dir):
            store = ShardedStore.open(index_dir)
            report = BuildReport()
            for article_id in dict.fromkeys(article_ids):
                (report.removed if store.article(article_id) else report.missing).append(article_id)
            generations: dict[int, Generation] = {}
            try:
                for article_id in report.removed:
                    self._generation(store, generations, article_id).remove_articles([article_id])
                manifests = self._commit(store, generations, _carried_fields(store.manifest))
            except BaseException as exc:
                for generation in generations.values():
                    generation.discard()
                raise _unchanged(exc, index_dir) from exc
        return self._finish_sharded(report, started, manifests)

    def _finish_sharded(self, report: BuildReport, started: float, manifests: list[Manifest]) -> BuildReport:
        return self._finish(report, combined_manifest(manifests, self.config.index_dir), started)


def _remove_unsharded(index_dir: Path) -> None:
    """Remove what an ordinary index left in the folder, now that a sharded one replaced it."""
    if current_generation(index_dir) is None:
        return
    (index_dir / CURRENT).unlink(missing_ok=True)
    for entry in index_dir.iterdir():
        if is_own_generation(entry):
            shutil.rmtree(entry, ignore_errors=True)
