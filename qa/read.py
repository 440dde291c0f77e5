"""The reader: picks the answer span in the retrieved passages, cites its sentence, or says "not found".

One backend behind the :class:`Reader` interface (:func:`make_reader` sets it up from a
:class:`~qa.config.Config`): :class:`SpanReader`, the trained extractive reader shipped in
``models/reader``, an int8 ONNX model (all-MiniLM-L6-v2 fine-tuned with a start/end head, see
its model card), run by ONNX Runtime on the best ``Config.reader_passages`` passages in one
batch. The answer is the best span across them (see :mod:`qa.spans`); its score is the
calibrated probability that it is right (:mod:`qa.calibration`), with the sentence judge's second
opinion on its sentence where the calibration has one; below ``min_confidence`` the answer is
"not found".

Example::

    reader = SpanReader()                 # loads on first use
    answer = reader.read(question, passages)
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from index.embed import onnx_session_options
from qa.calibration import CALIBRATION_FILE, Calibrator, Candidate, candidate_features
from qa.config import Config
from qa.errors import ReaderModelError
from qa.metrics import normalize_answer, same_value
from qa.spans import (
    MAX_ANSWER_TOKENS,
    Span,
    SpecialTokens,
    best_spans,
    encode_texts,
    load_tokenizer,
    pad_batch,
    paragraph_breaks,
    whole_quantity,
    windows_for,
)
from qa.types import Alternative, Answer, Citation, Passage

if TYPE_CHECKING:
    from qa.judge import SentenceJudge

MODEL_FILE = "model-int8.onnx"
READER_FILE = "reader.json"
READER_FILES = (MODEL_FILE, READER_FILE, "tokenizer.json")
SPANS_PER_PASSAGE = 3
"""Candidate spans kept from each passage (the best one, and others for alternatives)."""
DISAGREEMENT_ODDS = 2.0
"""An answer from another article is shown beside the best when the odds that it is right are within this factor
of the best's (probabilities crowd together near 1, odds do not). News dev (``benchmarks/disagreement.py``): at 2,
7 of 510 answers show an alternative (8 alternatives, 3 of them the gold answer); at 1.3, 5 (1), and the stadium's
two costs in two of our fixture articles, $120 million at 0.80 and $165 million at 0.69, were not both shown."""
MAX_ALTERNATIVES = 2


class ReadSpan(NamedTuple):
    """A candidate answer the span reader found: its calibrated probability, passage, article offsets, signals."""

    probability: float
    passage: Passage
    start: int
    end: int
    candidate: Candidate


def require_files(
    model_dir: Path, names: Sequence[str], model: str = "reader", retrain: str = "training.train_reader"
) -> None:
    """Raise :class:`ReaderModelError` naming the first of a model folder's files that is missing (``model`` and
    ``retrain`` as the error takes them)."""
    for name in names:
        if not (model_dir / name).is_file():
            raise ReaderModelError(model_dir / name, "is missing", model, retrain)


def onnx_session(path: Path, threads: int | None, model: str = "reader", retrain: str = "training.train_reader"):
    """An ONNX Runtime session for a shipped model's graph (on the CPU, ``threads`` as
    :func:`index.embed.onnx_session_options` sets them), or :class:`ReaderModelError` naming the file."""
    import onnxruntime

    try:
        return onnxruntime.InferenceSession(
            str(path), onnx_session_options(threads), providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime's errors are not a public class hierarchy
        raise ReaderModelError(path, "is damaged (ONNX Runtime cannot load it)", model, retrain) from exc


def default_reader_dir() -> Path:
    """The reader shipped with the package (``models/reader``)."""
    from importlib.resources import files

    return Path(str(files("models") / "reader"))


class Reader:
    """The reader interface: the answer to a question from retrieved passages (best first).

    ``depth`` is how many retrieved passages it wants to read; ``calibrated_threshold`` the confidence
    below which it declines unless told otherwise.
    """

    depth: int
    calibrated_threshold: float

    def read(self, question: str, passages: list[Passage], *, context: str = "", k: int | None = None) -> Answer:
        """The answer to ``question`` from ``passages`` (which carry their sentences and their article's
        metadata), or "not found"; keeps the ``k`` best passages. ``context`` is words a follow-up question
        borrows from the conversation."""
        raise NotImplementedError


class SpanReader(Reader):
    """The trained span reader (int8 ONNX), loaded from ``model_dir`` on first use; thread-safe.

    Args:
        model_dir: the reader's folder (default: the one shipped in ``models/reader``).
        min_confidence: answers below this calibrated probability are "not found"
            (default: the threshold calibrated with the model, in its ``reader.json``).
        passages: how many of the best retrieved passages are read.
        threads: ONNX Runtime threads (default: every core; see :func:`index.embed.onnx_session_options`).
        judge: the sentence judge (:class:`qa.judge.SentenceJudge`) that gives the calibration's second opinion on
            the answer's sentence, when the calibration has one (without it: the first probability and threshold).

    Raises:
        ReaderModelError: (on first use) a file of the model is missing or damaged.
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        min_confidence: float | None = None,
        passages: int = Config.reader_passages,
        threads: int | None = None,
        judge: SentenceJudge | None = None,
    ) -> None:
        if min_confidence is not None and not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1]. Currently, min_confidence is {min_confidence}")
        if not isinstance(passages, int) or passages <= 0:
            raise ValueError(f"passages must be a positive integer. Currently, passages is {passages!r}")
        self.model_dir = Path(model_dir) if model_dir is not None else default_reader_dir()
        self._min_confidence = min_confidence
        self.passages = self.depth = passages
        self.threads = threads
        self.judge = judge
        self._lock = threading.Lock()
        self._session = None
        self.calibrator: Calibrator | None = None

    def load(self) -> SpanReader:
        """Load the model now (otherwise on the first question)."""
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._load()
        return self

    def _load(self) -> None:
        require_files(self.model_dir, READER_FILES)
        try:
            meta = json.loads((self.model_dir / READER_FILE).read_text(encoding="utf-8"))
            self.calibration = (float(meta["calibration"]["a"]), float(meta["calibration"]["b"]))
            self.threshold = float(meta["threshold"])
            self.calibrator = None
            self.max_tokens, self.stride = int(meta["max_tokens"]), int(meta["stride"])
            self.max_answer_tokens = int(meta.get("max_answer_tokens", MAX_ANSWER_TOKENS))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ReaderModelError(self.model_dir / READER_FILE, f"is damaged ({exc})") from exc
        if (self.model_dir / CALIBRATION_FILE).exists():  # the recalibration fitted with the model (qa.calibration)
            self.calibrator = Calibrator.load(self.model_dir / CALIBRATION_FILE)
            self.threshold = self.calibrator.threshold
            if self.second_opinion:
                self.threshold = self.calibrator.judged.threshold
        try:
            self.tokenizer = load_tokenizer(self.model_dir / "tokenizer.json")
            self.special = SpecialTokens(self.tokenizer)
        except Exception as exc:  # the tokenizers library raises its own exception types
            raise ReaderModelError(self.model_dir / "tokenizer.json", f"is damaged ({exc})") from exc
        self._session = onnx_session(self.model_dir / MODEL_FILE, self.threads)

    @property
    def second_opinion(self) -> bool:
        """Whether the answer's probability is the calibration's second opinion with the sentence judge."""
        return self.judge is not None and self.calibrator is not None and self.calibrator.judged is not None

    @property
    def calibrated_threshold(self) -> float:
        """The threshold calibrated with the model (its ``reader.json``)."""
        self.load()
        return self.threshold

    @property
    def min_confidence(self) -> float:
        """The probability below which the answer is "not found"."""
        return self.calibrated_threshold if self._min_confidence is None else self._min_confidence

    def probability(self, margin: float) -> float:
        """The calibrated probability that a span with this margin over "no answer" is right."""
        a, b = self.calibration
        return 1.0 / (1.0 + math.exp(-min(max(a * margin + b, -50.0), 50.0)))

    def spans(self, question: str, passages: list[Passage]) -> list[ReadSpan]:
        """The candidate answers in ``passages`` (article offsets), best first by margin, each with its calibrated
        probability (:mod:`qa.calibration` when the reader ships a ``calibration.json``, else the margin's logistic
        from ``reader.json``)."""
        self.load()
        encoded = encode_texts(self.tokenizer, [question, *(p.text for p in passages)])
        question_ids = encoded[0][0]
        windows, owners = [], []  # each window, and its passage (with its rank) and the passage's paragraph breaks
        for index, (passage, (ids, offsets)) in enumerate(zip(passages, encoded[1:], strict=True)):
            if not ids:
                continue
            breaks = paragraph_breaks(passage.text)
            for window in windows_for(question_ids, ids, offsets, self.special, self.max_tokens, self.stride):
                windows.append(window)
                owners.append((index, passage, breaks))
        if not windows:
            return []
        start_logits, end_logits = self._session.run(None, pad_batch(windows))
        found: dict[tuple[str, int, int], tuple[Span, int, Passage]] = {}
        for window, (index, passage, breaks), starts, ends in zip(
            windows, owners, start_logits, end_logits, strict=True
        ):
            for span in best_spans(window, starts, ends, SPANS_PER_PASSAGE, self.max_answer_tokens, breaks):
                start, end = whole_quantity(passage.text, span.start, span.end)  # "about 210,000", not "210,000"
                key = (passage.article_id, passage.start + start, passage.start + end)
                if key not in found or span.margin > found[key][0].margin:
                    found[key] = (span, index, passage)
        ranked = sorted(found.items(), key=lambda item: (-item[1][0].margin, item[0][0], item[0][1]))
        candidates = [
            Candidate(
                _span_text(passage, start, end),
                span.margin,
                span.score,
                span.null_score,
                index,
                passage.score,
                passage.article_id,
                start,
                end,
            )
            for (_, start, end), (span, index, passage) in ranked
        ]
        if self.calibrator is not None:
            probabilities = [self.calibrator.probability(f) for f in candidate_features(candidates)]
        else:
            probabilities = [self.probability(c.margin) for c in candidates]
        return [
            ReadSpan(probability, passage, start, end, candidate)
            for probability, ((_, start, end), (_, _, passage)), candidate in zip(
                probabilities, ranked, candidates, strict=True
            )
        ]

    def read(self, question: str, passages: list[Passage], *, context: str = "", k: int | None = None) -> Answer:
        """The best span of the best ``self.passages`` passages, cited to its sentence (see the module doc);
        ``context`` is read with the question."""
        read = passages[: self.passages]
        asked = f"{question} {context}".strip()
        candidates = self.spans(asked, read)
        if not candidates:
            return Answer.not_found(question, 0.0, tuple(passages[:k]))
        _, passage, start, end = candidates[0][:4]
        citation = cite(passage, start, end)
        probability, alternatives = self._second_opinion(asked, candidates, citation)
        if probability < self.min_confidence:
            return Answer.not_found(question, round(probability, 4), tuple(passages[:k]))
        shown = [passage, *(p for p in passages if p is not passage)][:k]
        return Answer(
            question=question,
            text=_span_text(passage, start, end),
            found=True,
            score=round(probability, 4),
            article_id=passage.article_id,
            start=start,
            end=end,
            citations=(citation,),
            passages=tuple(shown),
            message="",
            alternatives=tuple(alternatives),
        )

    def _second_opinion(
        self, asked: str, candidates: list[ReadSpan], citation: Citation
    ) -> tuple[float, list[Alternative]]:
        """The best candidate's probability and the alternatives shown beside it: the sentence judge's second
        opinion on their sentences (each read alone) where the calibration has one, else as the first calibration
        gives them."""
        if not self.second_opinion:
            return candidates[0].probability, [a for _, a in self._alternatives(candidates, self.min_confidence)]
        found = self._alternatives(candidates, 0.0)  # chosen by the first odds, kept by the second opinion
        alternatives = [a for _, a in found]
        first = [candidates[0].probability, *(p for p, _ in found)]  # unrounded, as the calibration was fitted
        # each sentence alone, as the calibration was fitted: the int8 judge quantises a batch's activations together,
        # so a sentence read beside one or two others moved by up to 0.68 log-odds (median 0.06, 1 in 10 by 0.3 or
        # more; benchmarks/judge_batches.py)
        judged = [
            self.judge.judge(asked, [quote])[0] for quote in (citation.quote, *(a.citation.quote for a in alternatives))
        ]
        second = [self.calibrator.judged_probability(p, j) for p, (j, _) in zip(first, judged, strict=True)]
        kept = [
            replace(a, score=round(p, 4))
            for a, p in zip(alternatives, second[1:], strict=True)
            if p >= self.min_confidence and _odds(second[0]) <= DISAGREEMENT_ODDS * _odds(p)
        ]
        return second[0], kept

    def _alternatives(self, candidates, floor: float) -> list[tuple[float, Alternative]]:
        """Different answers from other articles that score nearly as well as the best, at least ``floor`` (the
        articles disagree), each with its probability unrounded."""
        best_probability, best_passage, best_start, best_end = candidates[0][:4]
        best_text = normalize_answer(_span_text(best_passage, best_start, best_end))
        seen = {best_passage.article_id}
        alternatives: list[tuple[float, Alternative]] = []
        for probability, passage, start, end, _ in candidates[1:]:
            if probability < floor or _odds(best_probability) > DISAGREEMENT_ODDS * _odds(probability):
                break
            if passage.article_id in seen or len(alternatives) >= MAX_ALTERNATIVES:
                continue
            text = _span_text(passage, start, end)
            if same_value(normalize_answer(text), best_text):
                continue
            seen.add(passage.article_id)
            alternatives.append(
                (probability, Alternative(text, round(probability, 4), start, end, cite(passage, start, end)))
            )
        return alternatives


def _span_text(passage: Passage, start: int, end: int) -> str:
    """The text of ``[start, end)`` (article offsets) inside ``passage``."""
    return passage.text[start - passage.start : end - passage.start]


def _odds(probability: float) -> float:
    return probability / max(1.0 - probability, 1e-12)


def cite(passage: Passage, start: int, end: int) -> Citation:
    """The sentence(s) of the passage's article holding ``[start, end)``, as a citation (from the passage alone)."""
    holding = [(s, e) for s, e, _ in passage.sentences if s < end and e > start]
    quote_start = min((s for s, _ in holding), default=start)
    quote_end = max((e for _, e in holding), default=end)
    return Citation(
        article_id=passage.article_id,
        title=passage.title,
        source=passage.source,
        start=quote_start,
        end=quote_end,
        quote=passage.excerpt(quote_start, quote_end),
        url=passage.url,
        date=passage.date,
        author=passage.author,
        page=passage.page_of(quote_start),
    )


def make_reader(config: Config, min_confidence: float | None = None, judge: SentenceJudge | None = None) -> Reader:
    """The reader set up from ``config`` (its folder, threshold and passages), with the sentence judge that gives
    its calibration's second opinion.

    ``min_confidence`` overrides ``config.min_confidence`` (``qa eval`` reads with 0 and applies thresholds itself).
    """
    threshold = config.min_confidence if min_confidence is None else min_confidence
    return SpanReader(config.reader_dir, threshold, config.reader_passages, judge=judge)
