"""The yes/no classifier: whether a quoted passage says "yes" or "no" to a question.

A small cross-encoder (all-MiniLM-L6-v2 fine-tuned with a two-way head on BoolQ, CondaQA and the news
training part's yes/no questions; ``models/yesno``, int8 ONNX, see its model card) reads
``[CLS] question [SEP] passage [SEP]`` and gives the probability of "yes". :mod:`qa.yesno` shows its
verdict only at or above the threshold chosen with it (where it was measured right at least 90 % of the
time on the news dev questions); below it, the reply only quotes the sentence.

Example::

    verdicts = VerdictModel()
    verdicts.yes_probability("Did the union agree?", "The union rejected the figure.")  # about 0.1
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from index.embed import onnx_session_options
from qa.errors import ReaderModelError

MODEL_FILE = "model-int8.onnx"
SETTINGS_FILE = "yesno.json"
MAX_PAIR_TOKENS = 256
"""Question and passage tokens read together (the passage is cut to fit)."""


def default_verdict_dir() -> Path:
    """The yes/no classifier shipped with the package (``models/yesno``)."""
    from importlib.resources import files

    return Path(str(files("models") / "yesno"))


def pair_tokenizer(path: str | os.PathLike, max_tokens: int = MAX_PAIR_TOKENS):
    """A ``tokenizers.Tokenizer`` that encodes (question, passage) pairs cut to ``max_tokens`` (the passage is
    cut, never the question) and pads a batch to its longest pair; training and answering share it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_tokens, strategy="only_second")
    tokenizer.enable_padding()
    return tokenizer


def encode_pairs(tokenizer, questions: list[str], passages: list[str]) -> dict[str, np.ndarray]:
    """The model's inputs for (question, passage) pairs: ids, attention mask and token types, int64."""
    encoded = tokenizer.encode_batch(list(zip(questions, passages, strict=True)))
    return {
        "input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64),
    }


class VerdictModel:
    """The shipped yes/no classifier (int8 ONNX), loaded on first use; thread-safe.

    Args:
        model_dir: its folder (default ``models/yesno``).
        threads: ONNX Runtime threads (default: every core).

    Raises:
        ReaderModelError: (on first use) a file of the model is missing or damaged.
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, threads: int | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_verdict_dir()
        self.threads = threads
        self._lock = threading.Lock()
        self._session = None

    def load(self) -> VerdictModel:
        """Load the model now (otherwise on the first question)."""
        with self._lock:
            if self._session is None:
                self._load()
        return self

    def _load(self) -> None:
        import onnxruntime

        for name in (MODEL_FILE, SETTINGS_FILE, "tokenizer.json"):
            if not (self.model_dir / name).is_file():
                raise ReaderModelError(self.model_dir / name, "is missing")
        try:
            settings = json.loads((self.model_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
            self.threshold = float(settings["threshold"])
            self.max_tokens = int(settings.get("max_tokens", MAX_PAIR_TOKENS))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderModelError(self.model_dir / SETTINGS_FILE, f"is damaged ({exc})") from exc
        try:
            self.tokenizer = pair_tokenizer(self.model_dir / "tokenizer.json", self.max_tokens)
        except Exception as exc:  # the tokenizers library raises its own exception types
            raise ReaderModelError(self.model_dir / "tokenizer.json", f"is damaged ({exc})") from exc
        try:
            self._session = onnxruntime.InferenceSession(
                str(self.model_dir / MODEL_FILE), onnx_session_options(self.threads), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime's errors are not a public class hierarchy
            raise ReaderModelError(self.model_dir / MODEL_FILE, "is damaged (ONNX Runtime cannot load it)") from exc

    @property
    def shown_from(self) -> float:
        """The confidence (probability of the verdict shown) from which a "Yes" or "No" is shown."""
        self.load()
        return self.threshold

    def yes_probability(self, question: str, passage: str) -> float:
        """The probability that ``passage`` answers ``question`` with "yes"."""
        self.load()
        (logits,) = self._session.run(None, encode_pairs(self.tokenizer, [question], [passage]))
        shifted = logits[0] - logits[0].max()
        odds = np.exp(shifted)
        return float(odds[1] / odds.sum())
