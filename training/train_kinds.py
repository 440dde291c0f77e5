"""Train the word model of :mod:`qa.kinds` (``models/kinds/words.json``) on the news training part's questions.

    .venv/bin/python -m training.train_kinds --data ../shared/data/news

The questions no rule of :func:`qa.kinds.question_kind` places (most factoid, list and "about" questions that
open with "What" or "Which") are read as words and word pairs (:func:`qa.kinds.question_words`) by a multinomial
logistic regression (scikit-learn), trained on ``train/open.jsonl`` and ``train/news-train.json`` (their kinds;
every SQuAD-style question is "factoid"). Weights under ``--min-weight`` are dropped (a small file). The report
gives the whole classifier's accuracy and confusion on the dev part (``dev/``: measured, never trained on).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

from qa.kinds import _word_model, question_kind, question_words

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models" / "kinds" / "words.json"


def labelled_questions(part: Path) -> list[tuple[str, str]]:
    """(question, kind) of a news part: its open questions, and its SQuAD-style ones as "factoid"."""
    rows = [json.loads(line) for line in (part / "open.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    labelled = [(r["question"], r["kind"]) for r in rows]
    [squad] = part.glob("news-*.json")
    data = json.loads(squad.read_text(encoding="utf-8"))["data"]
    return labelled + [(q["question"], "factoid") for a in data for p in a["paragraphs"] for q in p["qas"]]


def confusion(questions: list[tuple[str, str]]) -> dict:
    """Accuracy and the confused pairs ("list -> factoid": count) of :func:`question_kind` on labelled questions."""
    pairs = collections.Counter((kind, question_kind(q)) for q, kind in questions)
    right = sum(n for (gold, got), n in pairs.items() if gold == got)
    by_kind = collections.Counter(kind for _, kind in questions)
    return {
        "questions": len(questions),
        "accuracy": round(right / len(questions), 4),
        "recall": {k: round(pairs[(k, k)] / n, 4) for k, n in sorted(by_kind.items())},
        "confused": {f"{g} -> {p}": n for (g, p), n in sorted(pairs.items()) if g != p},
    }


def main(argv: list[str] | None = None) -> int:
    """Train, write the model, report train and dev confusion."""
    parser = argparse.ArgumentParser(prog="python -m training.train_kinds", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/news"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--min-weight", type=float, default=0.05)
    parser.add_argument("--threshold", type=float, default=0.5, help="a kind other than factoid needs this probability")
    args = parser.parse_args(argv)
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    train = labelled_questions(args.data / "train")
    args.out.unlink(missing_ok=True)
    _word_model.cache_clear()
    # only what the rules leave to the model is its to learn
    left = [(q, kind) for q, kind in train if question_kind(q) == "factoid"]
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([dict.fromkeys(question_words(q), 1) for q, _ in left])
    y = [kind for _, kind in left]
    model = LogisticRegression(C=args.c, max_iter=2000, class_weight="balanced").fit(x, y)
    names = vectorizer.get_feature_names_out()
    kinds = {}
    for index, kind in enumerate(model.classes_):
        row = model.coef_[index] if len(model.classes_) > 2 else (model.coef_[0] if index else -model.coef_[0])
        words = {str(n): round(float(w), 3) for n, w in zip(names, row, strict=True) if abs(w) >= args.min_weight}
        bias = float(model.intercept_[index] if len(model.classes_) > 2 else (model.intercept_[0] if index else 0))
        kinds[str(kind)] = {"bias": round(bias, 4), "words": words}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"threshold": args.threshold, "kinds": kinds}, sort_keys=True) + "\n", encoding="utf-8"
    )
    _word_model.cache_clear()
    report = {
        "trained_on": len(left),
        "train": confusion(train),
        "dev": confusion(labelled_questions(args.data / "dev")),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
