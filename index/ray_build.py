"""The build's compute on Ray: a Ray Data pipeline that reads, chunks, annotates and embeds articles.

Stages: files are read into articles by Ray tasks (``index.ingest``'s readers, one file each), then
actors that load the encoder, the chunker and the sentencizer once turn batches of articles into
:class:`~index.generation.PreparedArticles` (``map_batches`` over an actor pool). The caller (the
sharded writer, ``index.sharded_build``) receives them in input order and writes each article into
its shard. The same code runs on this machine (Ray started for the build) or on a cluster
(``ray_address``, as ``ray start --head`` prints it).

Rows carry pickled records between Ray's processes (Ray pickles what it moves anyway); nothing is
pickled into the index.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from index.config import Config
from index.errors import BadSetting, IndexWriteError
from index.ingest import Article, ArticleStream

INSTALL_HINT = "--engine ray needs Ray; install it with: pip install -e '.[distributed]'"
CONNECT_TIMEOUT_S = 10
"""How long to wait for a cluster named by ``ray_address`` to answer before saying it cannot be reached
(``ray.init`` itself would retry for ever)."""
ARTICLES_PER_TASK = 4
"""Articles an actor prepares per call: small, so that the work spreads evenly over the actors (a news
article makes about 10 chunks, a SQuAD one about 80)."""
MAX_BLOCKS = 10_000
"""Input blocks at most (a block per batch of articles, or per file, below that)."""
TASK_RETRIES = 2
"""A read task or an embedding actor that dies is retried (restarted) this many times; then the build fails."""


def _ray():
    try:
        import ray
        import ray.data  # the Data library is a separate part of the extra
    except ImportError as exc:
        raise BadSetting(INSTALL_HINT) from exc
    return ray


def start_ray(address: str | None, cpus: int | None = None):
    """Connect to the Ray cluster at ``address``, or start Ray on this machine (no dashboard, loopback only).

    Raises:
        BadSetting: Ray is not installed, or the cluster cannot be reached.
    """
    ray = _ray()
    if ray.is_initialized():
        return ray
    if address:
        _check_reachable(address)
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_BACKEND_LOG_LEVEL", "fatal")  # Ray's own notes would bury the build's messages
    try:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level="ERROR")
        else:
            ray.init(
                num_cpus=cpus or os.cpu_count() or 1,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                log_to_driver=False,
                logging_level="ERROR",
                configure_logging=True,
            )
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "Ray on this machine"
        raise BadSetting(f"cannot start or reach {where} ({str(exc).strip().splitlines()[0]})") from exc
    return ray


def _check_reachable(address: str) -> None:
    """Raise :class:`BadSetting` unless something listens at the cluster address (``host:port`` or
    ``ray://host:port``; ``auto`` is left to Ray)."""
    host_port = address.removeprefix("ray://")
    if address == "auto":
        return
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise BadSetting(f"--address must be HOST:PORT (as 'ray start --head' prints it), not {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise BadSetting(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "'ray start --head' and pass the address it prints, or leave out --address to run Ray on this machine"
        ) from exc


def _read_files(batch: dict[str, np.ndarray], part_chars: int) -> dict[str, np.ndarray]:
    """Ray task: the articles (and problems) of a batch of files, as pickled ``(kind, record)`` rows."""
    rows = []
    for path, display, key in zip(batch["path"], batch["display"], batch["key"], strict=True):
        reader = ArticleStream([], part_chars=part_chars)
        rows += [pickle.dumps(("article", article)) for article in reader.read_file(Path(path), display, key)]
        rows += [pickle.dumps(("problem", problem)) for problem in reader.problems]
    return {"item": np.array(rows, dtype=object)}


class _Prepare:
    """Ray actor: holds the encoder, chunker and sentencizer; prepares a batch of articles for the index."""

    def __init__(self, settings: dict, batch_size: int, threads: int) -> None:
        from index.annotate import Annotator
        from index.chunk import Chunker
        from index.embed import make_encoder

        self.settings = settings
        self.batch_size = batch_size
        self.encoder = make_encoder(settings["model"], settings["backend"], workers=1)
        self.encoder.limit_threads(threads)
        self.encoder.load()
        self.annotator = Annotator()
        self.annotator.load()
        self.chunker = Chunker(
            self.encoder.tokenizer, settings["chunk_tokens"], settings["chunk_overlap"], self.encoder.max_tokens
        )

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from index.generation import prepare_articles

        items = [pickle.loads(row) for row in batch["item"]]
        articles = [record for kind, record in items if kind == "article"]
        problems = [record for kind, record in items if kind == "problem"]
        prepared = (
            prepare_articles(articles, self.chunker, self.encoder, self.annotator, self.batch_size)
            if articles
            else None
        )
        return {"item": np.array([pickle.dumps((problems, prepared))], dtype=object)}


class RayPrepared:
    """Articles prepared by a Ray Data pipeline, in input order; iterate once.

    Like :class:`~index.ingest.ArticleStream`, it records :attr:`problems` (raising the first with
    ``strict``) and counts :attr:`duplicates` as it goes.

    Args:
        source: files and folders to read (in Ray tasks), or articles already read.
        config: ``workers`` embedding actors, ``batch_size``, ``strict``, ``part_chars``, ``follow_links``,
            ``ray_address``.
        progress: show Ray Data's progress bars.
        settings: the index's settings (model, backend, chunking, annotations: a manifest's fields).
    """

    prepare: type = _Prepare
    """The actor class (a test swaps in one whose workers die)."""

    def __init__(
        self,
        source: Iterable[str | os.PathLike] | Iterable[Article],
        config: Config,
        settings: dict,
        progress: bool = False,
    ):
        self.source = list(source)
        self.progress = progress
        self.config = config
        self.settings = settings
        self.stream = ArticleStream([], strict=config.strict, follow_links=config.follow_links)
        self.problems = self.stream.problems

    @property
    def duplicates(self) -> int:
        """Articles left out because their content (or id) was already read."""
        return self.stream.duplicates

    def _dataset(self, ray):
        read_articles = self.source and isinstance(self.source[0], Article)
        if read_articles:
            rows = [{"item": pickle.dumps(("article", article))} for article in self.source]
            # One block per batch: blocks are what Ray hands out to the actors (one block would go to one).
            dataset = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), ARTICLES_PER_TASK))
        else:
            self.stream.paths = self.source
            files = [{"path": str(path), "display": display, "key": key} for path, display, key in self.stream.files()]
            if not files:
                return None
            dataset = ray.data.from_items(files, override_num_blocks=_blocks(len(files), 1)).map_batches(
                _read_files,
                batch_size=1,
                fn_kwargs={"part_chars": self.config.part_chars},
                num_cpus=0,  # reading is light; the embedding actors hold the CPUs
                max_retries=TASK_RETRIES,
            )
        return dataset.map_batches(
            self.prepare,
            batch_size=ARTICLES_PER_TASK,
            fn_constructor_kwargs={"settings": self.settings, "batch_size": self.config.batch_size, "threads": 1},
            compute=ray.data.ActorPoolStrategy(size=self.config.workers),
            num_cpus=1,
            # Ray Data restarts a dead actor forever by default: a worker that always dies would hang the build.
            max_restarts=TASK_RETRIES,
            max_task_retries=TASK_RETRIES,
        )

    def __iter__(self) -> Iterator:
        """Each batch's :class:`~index.generation.PreparedArticles`, duplicates left out."""
        ray = start_ray(self.config.ray_address, self.config.workers + 1)
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = self.progress
        with warnings.catch_warnings():
            # Retry limits are "remote args", deprecated in Ray 2.60 with no named replacement yet
            # (the extra pins Ray below 2.64, where they go).
            warnings.simplefilter("ignore", category=DeprecationWarning)
            dataset = self._dataset(ray)
        if dataset is None:
            return
        try:
            for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
                for row in batch["item"]:
                    problems, prepared = pickle.loads(row)
                    for problem in problems:
                        self.stream.problem(problem)
                    if prepared is None:
                        continue
                    seen = {article.id: i for i, article in enumerate(prepared.articles)}
                    kept = [seen[article.id] for article in self.stream.unique(prepared.articles)]
                    if kept:
                        yield prepared if len(kept) == len(prepared.articles) else prepared.only(kept)
        except ray.exceptions.RayError as exc:
            raise IndexWriteError(f"the Ray build failed: {_first_line(exc)}; the index is unchanged") from exc


def _blocks(rows: int, per_block: int) -> int:
    return max(1, min(MAX_BLOCKS, -(-rows // per_block)))


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__
