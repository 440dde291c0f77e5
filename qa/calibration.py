"""The answer's probability, recalibrated from the reader's own signals: what the shown confidence means.

The span reader ranks candidate answers by their margin over "no answer". A margin alone says
little about how often the answer is right: it ignores whether other passages back the same
answer, how close the runner-up came, and how well the passage was retrieved. A logistic
regression over these signals (fitted on the validation split asked through the pipeline, by
``training/calibrate.py``) turns them into the probability that the answer is right (exact
match); its parameters ship beside the reader as plain JSON (``calibration.json``), loaded in
milliseconds, no pickle.

Features of a candidate (:data:`FEATURES`), computed by :func:`candidate_features`:

- ``margin``, ``score``, ``null_score``: the span's start+end logits, its window's [CLS] score, their difference;
- ``gap``: its margin minus the best margin of a candidate with another (normalised) answer elsewhere (not
  overlapping it), and ``boundary``: minus the best margin of one with another answer overlapping it (the same
  answer cut elsewhere, a miss by exact match);
- ``support``: the sum, over the passages whose best candidate is the same normalised answer, of the
  margin's logistic (a passage counted once), and ``passages_agreeing``, how many such passages;
- ``rank``, ``retrieval``: the passage's retrieval rank (0: best) and fused retrieval score;
- ``words``: the answer's length in words.

A second opinion may follow (``judged`` in the file: :data:`JUDGED_FEATURES`): the first probability's log-odds and
the sentence judge's log-odds that the answer's sentence is evidence for the question (:mod:`qa.judge`), for the
best answer and those shown beside it only (one judge pair each). The reader declines below its threshold.

Example::

    calibrator = Calibrator.load(reader_dir / CALIBRATION_FILE)
    probability = calibrator.probability(candidate_features(candidates)[0])
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ReaderModelError
from qa.metrics import normalize_answer

CALIBRATION_FILE = "calibration.json"
FEATURES = (
    "margin", "score", "null_score", "gap", "boundary", "support", "passages_agreeing", "rank", "retrieval", "words",
)  # fmt: skip
JUDGED_FEATURES = ("calibrated", "judged", "both")
"""The second opinion's features: the first probability's log-odds, the judge's log-odds for the answer's sentence,
and their product (out of fold, the product calibrated the Wikipedia-style split as well as the first fit: ECE 0.017
against 0.020 without it)."""
FORMAT = 1


@dataclass(frozen=True)
class Candidate:
    """A candidate answer as the reader found it: its span, its window's scores, and its passage's retrieval."""

    text: str
    margin: float
    score: float
    null_score: float
    passage_index: int
    retrieval: float
    article_id: str = ""
    start: int = -1
    end: int = -1
    """Its offsets in its article (-1: unknown)."""

    def overlaps(self, other: Candidate) -> bool:
        """Whether the two spans share characters of one article."""
        known = self.start >= 0 and other.start >= 0 and self.article_id == other.article_id
        return known and self.start < other.end and other.start < self.end


def _logistic(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(value, -50.0), 50.0)))


def candidate_features(candidates: Sequence[Candidate]) -> list[dict[str, float]]:
    """The :data:`FEATURES` of each candidate (candidates best first, by margin)."""
    keys = [normalize_answer(c.text) for c in candidates]
    support: dict[str, dict[int, float]] = {}
    for key, candidate in zip(keys, candidates, strict=True):
        passages = support.setdefault(key, {})
        passages[candidate.passage_index] = max(passages.get(candidate.passage_index, 0.0), _logistic(candidate.margin))
    rows = []
    for key, candidate in zip(keys, candidates, strict=True):
        rivals = [other for other, k in zip(candidates, keys, strict=True) if k != key]
        elsewhere = [other.margin for other in rivals if not other.overlaps(candidate)]
        overlapping = [other.margin for other in rivals if other.overlaps(candidate)]
        rows.append(
            {
                "margin": candidate.margin,
                "score": candidate.score,
                "null_score": candidate.null_score,
                "gap": candidate.margin - max(elsewhere) if elsewhere else 10.0,
                "boundary": candidate.margin - max(overlapping) if overlapping else 10.0,
                "support": sum(support[key].values()),
                "passages_agreeing": float(len(support[key])),
                "rank": float(candidate.passage_index),
                "retrieval": candidate.retrieval,
                "words": float(len(candidate.text.split())),
            }
        )
    return rows


def judged_features(probability: float, judged: float) -> dict[str, float]:
    """The :data:`JUDGED_FEATURES` of an answer of this (first) probability whose sentence the judge gives ``judged``
    log-odds of being evidence."""
    clamped = min(max(probability, 1e-6), 1 - 1e-6)
    calibrated = math.log(clamped / (1 - clamped))
    return {"calibrated": calibrated, "judged": judged, "both": calibrated * judged}


@dataclass(frozen=True)
class Calibrator:
    """A logistic regression on standardised :data:`FEATURES`: ``P(right) = σ(w · (x - mean) / scale + b)``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    threshold: float
    judged: Calibrator | None = None
    """The second opinion (over :data:`JUDGED_FEATURES`) when one was fitted; its threshold is the reader's then."""

    def probability(self, features: dict[str, float]) -> float:
        """The calibrated probability that the candidate with these features is right."""
        z = self.intercept
        for name, mean, scale, weight in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            z += weight * (features[name] - mean) / scale
        return _logistic(z)

    def judged_probability(self, probability: float, judged: float) -> float:
        """The second opinion on an answer of this (first) probability whose sentence the judge gives ``judged``
        log-odds of being evidence (:attr:`judged` must be set)."""
        return self.judged.probability(judged_features(probability, judged))

    def to_dict(self) -> dict:
        """The file's content (see :meth:`load`)."""
        content = {
            "format": FORMAT,
            "features": list(self.features),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "weights": list(self.weights),
            "intercept": self.intercept,
            "threshold": self.threshold,
        }
        if self.judged is not None:
            content["judged"] = {k: v for k, v in self.judged.to_dict().items() if k != "format"}
        return content

    @classmethod
    def load(cls, path: Path) -> Calibrator:
        """Read a ``calibration.json``.

        Raises:
            ReaderModelError: the file is unreadable, not this format, or names features this code does not compute.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            judged = data.get("judged")
            return cls._from_dict(data, FEATURES, None if judged is None else cls._from_dict(judged, JUDGED_FEATURES))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ReaderModelError(Path(path), f"is damaged ({exc})") from exc

    @classmethod
    def _from_dict(cls, data: dict, known: tuple[str, ...], judged: Calibrator | None = None) -> Calibrator:
        features = tuple(str(name) for name in data["features"])
        unknown = sorted(set(features) - set(known))
        if unknown:
            raise ValueError(f"unknown features {unknown}")
        values = [tuple(float(v) for v in data[key]) for key in ("mean", "scale", "weights")]
        if any(len(v) != len(features) for v in values) or any(s <= 0 for s in values[1]):
            raise ValueError("mean, scale and weights must have one positive-scale entry per feature")
        calibrator = cls(features, *values, float(data["intercept"]), float(data["threshold"]), judged)
        if not all(math.isfinite(v) for v in (*calibrator.weights, calibrator.intercept, calibrator.threshold)):
            raise ValueError("a weight is not a finite number")
        return calibrator


def expected_calibration_error(probabilities: Sequence[float], correct: Sequence[bool], bins: int = 10) -> float:
    """ECE over ``bins`` equal-width bins: the mean gap between confidence and accuracy, weighted by bin size."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    if not len(p):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() / len(p) * abs(p[inside].mean() - y[inside].mean())
    return float(total)
