"""Scores of a reader on the validation split, given each question's own paragraph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.metrics import exact_match, f1_score
from qa.spans import best_spans, pad_batch
from training.data import Example, Feature

Logits = Callable[[dict[str, np.ndarray]], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Prediction:
    """The reader's best span for one example and how far it beats "no answer"."""

    text: str
    margin: float


def predict(logits: Logits, examples: list[Example], features: list[list[Feature]], batch_size: int = 64):
    """The best span of each example across its windows (highest margin over "no answer")."""
    flat = [(n, f.window) for n, rows in enumerate(features) for f in rows]
    best: dict[int, tuple[float, str]] = {}
    for first in range(0, len(flat), batch_size):
        part = flat[first : first + batch_size]
        starts, ends = logits(pad_batch([w for _, w in part]))
        for (n, window), start, end in zip(part, starts, ends, strict=True):
            spans = best_spans(window, start, end)
            if spans and (n not in best or spans[0].margin > best[n][0]):
                best[n] = (spans[0].margin, examples[n].context[spans[0].start : spans[0].end])
    return [Prediction(best[n][1], best[n][0]) if n in best else Prediction("", -1e9) for n in range(len(examples))]


def score(example: Example, text: str) -> tuple[float, float]:
    """(EM, F1) of an answer text ("" = no answer) against an example's gold answers."""
    if not example.answerable:
        return float(not text), float(not text)
    if not text:
        return 0.0, 0.0
    golds = [gold for gold, _ in example.answers]
    return max(exact_match(text, g) for g in golds), max(f1_score(text, g) for g in golds)


def best_threshold(
    scores: np.ndarray,
    answered: np.ndarray,
    declined: np.ndarray,
    thresholds,
    start: tuple[float, np.ndarray],
    inclusive: bool = False,
) -> tuple[float, np.ndarray]:
    """The threshold with the best mean F1, and the mean (EM, F1) there, answering where ``scores`` exceed
    it (or reach it, ``inclusive``) and declining elsewhere; ``start`` is the (threshold, mean) to beat.

    ``answered`` and ``declined`` hold each example's (EM, F1) when answered and when declined.
    """
    best_at, best = start
    for threshold in thresholds:
        answering = scores >= threshold if inclusive else scores > threshold
        mean = np.where(answering[:, None], answered, declined).mean(axis=0)
        if mean[1] > best[1]:
            best_at, best = float(threshold), mean
    return best_at, best


def kind(example: Example) -> str:
    """What kind of example: answerable, a question over another paragraph, an entity swapped, or
    a question written to be unanswerable (SQuAD 2.0)."""
    if example.answerable:
        return "answerable"
    return next((k for k in ("other", "swap") if example.qid.endswith(f"-{k}")), "impossible")


def validate(logits: Logits, examples: list[Example], features: list[list[Feature]]) -> dict[str, float]:
    """EM/F1 on the answerable examples (best span always given), and on all at the best margin threshold.

    ``f1`` (the checkpoint selection score) is the F1 over every example, answerable or not,
    with "no answer" given below the margin threshold that maximises it.
    """
    predictions = predict(logits, examples, features)
    answered = np.array([score(e, p.text) for e, p in zip(examples, predictions, strict=True)])
    declined = np.array([score(e, "") for e in examples])
    margins = np.array([p.margin for p in predictions])
    forced = answered[[e.answerable for e in examples]]
    threshold, best = best_threshold(
        margins, answered, declined, np.unique(np.round(margins, 2)), (-1e9, answered.mean(axis=0))
    )
    kinds = np.array([kind(e) for e in examples])
    at_threshold = np.where((margins > threshold)[:, None], answered, declined)[:, 1]
    by_kind = {f"f1_{k}": round(float(at_threshold[kinds == k].mean()), 4) for k in sorted(set(kinds))}
    return by_kind | {
        "has_ans_em": round(float(forced[:, 0].mean()), 4),
        "has_ans_f1": round(float(forced[:, 1].mean()), 4),
        "em": round(float(best[0]), 4),
        "f1": round(float(best[1]), 4),
        "threshold": round(float(threshold), 3),
        "questions": len(examples),
        "unanswerable": len(examples) - len(forced),
    }


def main(argv: list[str] | None = None) -> int:
    """Score exported reader folders on the validation split (each question over its own paragraph), by kind."""
    import argparse
    import json
    from pathlib import Path

    import onnxruntime

    from qa.read import MODEL_FILE, READER_FILE
    from qa.spans import load_tokenizer
    from training.data import make_features
    from training.train_reader import parse_args, validation_examples

    parser = argparse.ArgumentParser(prog="python -m training.validate", description=main.__doc__)
    parser.add_argument("readers", nargs="+", type=Path, help="reader folders (models/reader, an export)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"))
    args = parser.parse_args(argv)
    examples = validation_examples(parse_args(["--data", str(args.data)]))
    for reader in args.readers:
        meta = json.loads((reader / READER_FILE).read_text(encoding="utf-8"))
        tokenizer = load_tokenizer(reader / "tokenizer.json")
        features = make_features(examples, tokenizer, meta["max_tokens"], meta["stride"])
        session = onnxruntime.InferenceSession(str(reader / MODEL_FILE), providers=["CPUExecutionProvider"])
        scores = validate(lambda inputs, run=session.run: tuple(run(None, inputs)), examples, features)
        print(json.dumps({"reader": str(reader)} | scores))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
