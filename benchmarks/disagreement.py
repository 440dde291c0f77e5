"""How often an answer shows another article's different answer beside it, at several odds factors.

Asks every question of a news SQuAD file (default: the news dev part; indexed and cached as ``qa eval`` does)
over the whole collection once for each factor (``qa.read.DISAGREEMENT_ODDS`` set to it), and counts the answers
found, those that show an alternative, the alternatives, and those whose text overlaps a gold answer (the best
answer was another's value). Each question of that file is about one story, so an alternative that is not the
gold answer is noise a user would read.

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
    engine = QA(config=config)
    figures: dict = {"shipped_factor": qa.read.DISAGREEMENT_ODDS}
    for factor in args.factors:
        qa.read.DISAGREEMENT_ODDS = factor
        found = disputed = shown = matching = 0
        for question in questions:
            answer = engine.ask(question.question)
            golds = [normalize_answer(g) for g in question.answers if normalize_answer(g)]
            texts = [normalize_answer(a.text) for a in answer.alternatives]
            found += answer.found
            disputed += bool(texts)
            shown += len(texts)
            matching += sum(any(t in g or g in t for g in golds) for t in texts)
        figures[str(factor)] = {
            "answers": found,
            "answers_with_alternatives": disputed,
            "alternatives": shown,
            "alternatives_matching_gold": matching,
        }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
