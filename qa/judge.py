"""The sentence judge: how well a sentence answers a question, and whether it says "yes" or "no" to it.

A small cross-encoder (all-MiniLM-L6-v2 fine-tuned from the span reader's encoder with two outputs; trained by
:mod:`training.train_sentences` on the news training part's open and factoid questions against their articles'
sentences, BoolQ and CondaQA; ``models/sentences``, int8 ONNX, see its model card) reads
``[CLS] question [SEP] sentence [SEP]``. Its first output is the log-odds that the sentence is evidence for the
answer (the why, the how, the fact that settles a yes/no); its second, the log-odds that the evidence says
"yes". :mod:`qa.evidence` ranks the sentences the reader points at with the first; :mod:`qa.yesno` shows a
verdict from the second only at or above the threshold shipped with it (chosen where its verdicts were right
at least 90 % of the time on the news dev questions).

Example::

    judge = SentenceJudge()
    [(relevance, yes)] = judge.judge("Did the union agree?", ["The union rejected the figure."])
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np

from qa.errors import ReaderModelError
from qa.read import onnx_session, require_files

MODEL_FILE = "model-int8.onnx"
SETTINGS_FILE = "sentences.json"
_NAMED = ("sentences", "training.train_sentences")
"""How a missing or damaged file of the judge is named: its folder under ``models/`` and the module that retrains it."""
MAX_PAIR_TOKENS = 256
"""Question and passage tokens read together (the passage is cut to fit)."""


def default_judge_dir() -> Path:
    """The sentence judge shipped with the package (``models/sentences``)."""
    from importlib.resources import files

    return Path(str(files("models") / "sentences"))


def pair_tokenizer(path: str | os.PathLike, max_tokens: int = MAX_PAIR_TOKENS):
    """A ``tokenizers.Tokenizer`` that encodes (question, passage) pairs cut to ``max_tokens`` (the longer one is
    cut: the passage, unless the question is longer) and pads a batch to its longest pair; training and answering
    share it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # the longer of the two is cut first: the passage, or the question too when it alone is longer than the limit
    tokenizer.enable_truncation(max_length=max_tokens, strategy="longest_first")
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function, clipped against overflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0)))


class SentenceJudge:
    """The shipped sentence judge (int8 ONNX), loaded on first use; thread-safe.

    Args:
        model_dir: its folder (default ``models/sentences``).
        threads: ONNX Runtime threads (default: every core).

    Raises:
        ReaderModelError: (on first use) a file of the model is missing or damaged.
    """

    def __init__(self, model_dir: str | os.PathLike | None = None, threads: int | None = None) -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_judge_dir()
        self.threads = threads
        self._lock = threading.Lock()
        self._session = None

    def load(self) -> SentenceJudge:
        """Load the model now (otherwise on the first question)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self

    def _load(self) -> None:
        require_files(self.model_dir, (MODEL_FILE, SETTINGS_FILE, "tokenizer.json"), *_NAMED)
        try:
            settings = json.loads((self.model_dir / SETTINGS_FILE).read_text(encoding="utf-8"))
            self.threshold = float(settings["verdict_threshold"])
            self.max_tokens = int(settings.get("max_tokens", MAX_PAIR_TOKENS))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderModelError(self.model_dir / SETTINGS_FILE, f"is damaged ({exc})", *_NAMED) from exc
        try:
            self.tokenizer = pair_tokenizer(self.model_dir / "tokenizer.json", self.max_tokens)
        except Exception as exc:  # the tokenizers library raises its own exception types
            raise ReaderModelError(self.model_dir / "tokenizer.json", f"is damaged ({exc})", *_NAMED) from exc
        self._session = onnx_session(self.model_dir / MODEL_FILE, self.threads, *_NAMED)

    @property
    def verdict_threshold(self) -> float:
        """The confidence (probability of the verdict given) from which a "Yes" or "No" is shown."""
        self.load()
        return self.threshold

    def judge(self, question: str, sentences: list[str]) -> list[tuple[float, float]]:
        """For each sentence: the log-odds that it is evidence for the answer, and the probability that it says
        "yes" to the question."""
        self.load()
        if not sentences:
            return []
        (logits,) = self._session.run(None, encode_pairs(self.tokenizer, [question] * len(sentences), sentences))
        yes = sigmoid(logits[:, 1])
        return [(float(r), float(y)) for r, y in zip(logits[:, 0], yes, strict=True)]
