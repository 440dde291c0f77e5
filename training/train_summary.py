"""Fit the key-sentence model of :mod:`qa.summary` (``models/summary/weights.json``) on the news training part.

    .venv/bin/python -m training.train_summary --data ../shared/data/news

For every "about" question of ``train/open.jsonl``, each sentence of its article's prose
(:func:`qa.summary.story_sentences`, the article split into sentences as the index splits it) is labelled
by whether it covers a gold key sentence (holds 60 % of its normalized words, as the benchmark scores), and a
logistic regression (scikit-learn) is fitted over :func:`qa.summary.sentence_features`. The report gives how
often at least min(2, n) key sentences are among the 4 chosen, on train and on the dev part (never trained on).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from qa.metrics import covers

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "models" / "summary" / "weights.json"


def about_questions(part: Path) -> list[tuple[str, list[tuple[int, int, str]], str, list[str]]]:
    """(question, its article's prose sentences, the headline, gold key sentences) of a news part's "about"
    questions, the sentences as the index splits them (:func:`training.news_index.indexed_stories`)."""
    from qa.summary import story_sentences
    from training.news_index import indexed_stories

    stories = indexed_stories(part)
    rows = [json.loads(line) for line in (part / "open.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [
        (row["question"], story_sentences(stories[row["article"]]), row["article"], row["key_sentences"])
        for row in rows
        if row["kind"] == "about"
    ]


def right_share(questions, n: int = 4) -> float:
    """How often at least min(2, n) gold key sentences are among the ``n`` that :func:`qa.summary.key_sentences`
    chooses."""
    from qa.summary import key_sentences

    right = 0
    for question, sentences, title, keys in questions:
        chosen = key_sentences(sentences, question, title, n)
        right += sum(any(covers(c[2], gold) for c in chosen) for gold in keys) >= min(2, len(keys))
    return round(right / len(questions), 4)


def main(argv: list[str] | None = None) -> int:
    """Fit, write the weights, report."""
    parser = argparse.ArgumentParser(prog="python -m training.train_summary", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/news"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    args = parser.parse_args(argv)
    from sklearn.linear_model import LogisticRegression

    from qa.summary import _weights, sentence_features

    train = about_questions(args.data / "train")
    x, y = [], []
    for question, sentences, title, keys in train:
        x += sentence_features(sentences, question, title)
        y += [any(covers(text, gold) for gold in keys) for _, _, text in sentences]
    model = LogisticRegression(C=args.c, max_iter=3000).fit(x, y)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    weights = {"weights": [round(float(w), 4) for w in model.coef_[0]], "bias": round(float(model.intercept_[0]), 4)}
    args.out.write_text(json.dumps(weights) + "\n", encoding="utf-8")
    _weights.cache_clear()
    report = {"sentences": len(y), "train": right_share(train), "dev": right_share(about_questions(args.data / "dev"))}
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
