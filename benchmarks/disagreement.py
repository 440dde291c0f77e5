"""How often an answer shows another article's different answer beside it, at several odds factors.

Asks every question of a news SQuAD file (default: the news dev part; indexed and cached as ``qa eval`` does)
over the whole collection with every alternative kept (``qa.read.DISAGREEMENT_ODDS`` lifted), and counts, for
each factor, the answers that would show an alternative, the alternatives, and those whose text overlaps a gold
answer (the best answer was another's value). Each question of that file is about one story, so an alternative
that is not the gold answer is noise a user would read.

    python benchmarks/disagreement.py                      # news dev; factors 1.3 1.5 2 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import qa.read  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import build_eval_index, eval_index_dir, load_squad  # noqa: E402
from qa.metrics import normalize_answer  # noqa: E402


def _odds(probability: float) -> float:
    return probability / max(1.0 - probability, 1e-12)


def main(argv: list[str] | None = None) -> int:
    """Ask, count, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "file", type=Path, nargs="?", default=ROOT.parent / "shared" / "data" / "news" / "dev" / "news-dev.json"
    )
    parser.add_argument("--factors", type=float, nargs="*", default=[1.3, 1.5, 2.0, 3.0])
    args = parser.parse_args(argv)
    from qa.engine import QA

    articles, questions, _ = load_squad(args.file)
    config = Config()
    config = config.with_overrides(index_dir=eval_index_dir(args.file, config))
    build_eval_index(articles, config)
    shipped, qa.read.DISAGREEMENT_ODDS = qa.read.DISAGREEMENT_ODDS, float("inf")
    engine = QA(config=config)
    answered = []
    for question in questions:
        answer = engine.ask(question.question)
        if not answer.found:
            continue
        golds = [normalize_answer(g) for g in question.answers if normalize_answer(g)]
        answered.append(
            (
                answer.score,
                [
                    (a.score, any(normalize_answer(a.text) in g or g in normalize_answer(a.text) for g in golds))
                    for a in answer.alternatives
                ],
            )
        )
    figures: dict = {"answers": len(answered), "shipped_factor": shipped}
    for factor in args.factors:
        shown = [
            [gold for p, gold in alternatives if _odds(best) <= factor * _odds(p)] for best, alternatives in answered
        ]
        figures[str(factor)] = {
            "answers_with_alternatives": sum(bool(s) for s in shown),
            "alternatives": sum(len(s) for s in shown),
            "alternatives_matching_gold": sum(sum(s) for s in shown),
        }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
