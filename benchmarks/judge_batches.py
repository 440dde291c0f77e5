"""How much the sentence judge's reading of a sentence moves with the sentences read beside it in one batch.

The int8 judge quantises a batch's activations together, so a sentence's log-odds of being evidence depend a little
on its neighbours in the batch. For each news dev open question (``open.jsonl``), three sentences of its own story
(chosen with a fixed seed) are judged alone, then as the first of a pair and of a triple; the absolute differences
in log-odds are summarised.

    python benchmarks/judge_batches.py
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.annotate import Annotator  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402
from qa.judge import SentenceJudge  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Judge, compare, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=Path, default=ROOT.parent / "shared" / "data" / "news" / "dev" / "open.jsonl")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    articles, _, _ = load_squad(next(args.open.parent.glob("news-*.json")))
    sentences = {
        article.title: [article.text[s.start : s.end] for s in found]
        for article, found in zip(articles, Annotator().annotate(articles), strict=True)
    }
    judge = SentenceJudge(threads=1).load()
    rng = random.Random(args.seed)
    differences = []
    for line in args.open.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        own = sentences.get(row["article"], [])
        if len(own) < 3:
            continue
        first, second, third = rng.sample(own, 3)
        alone = judge.judge(row["question"], [first])[0][0]
        for batch in ([first, second], [first, second, third]):
            differences.append(abs(judge.judge(row["question"], batch)[0][0] - alone))
    differences.sort()
    print(
        json.dumps(
            {
                "comparisons": len(differences),
                "median": round(statistics.median(differences), 3),
                "p90": round(differences[int(0.9 * len(differences))], 3),
                "max": round(differences[-1], 3),
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
