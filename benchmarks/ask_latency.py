"""``QA.ask`` wall time over the questions of a SQuAD file, on its ``qa eval`` index: p50 and p95.

Opens (building if need be) the index ``qa eval`` caches for the file, asks ``--questions`` of its
questions evenly spaced, after 20 untimed warm-up questions, with the default settings or another
reader folder. Run it from two checkouts, alternating, to compare two versions of the code.

    python benchmarks/ask_latency.py ../shared/data/squad/dev-v1.1.json --questions 300 [--reader-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import Config  # noqa: E402
from qa.evaluate import build_eval_index, eval_index_dir, load_squad, percentile, sample_questions  # noqa: E402

WARMUP = 20


def ask_milliseconds(engine, questions: list[str], warmup: int) -> list[float]:
    """Wall milliseconds of ``engine.ask`` for each question, after asking the first ``warmup`` untimed."""
    for question in questions[:warmup]:
        engine.ask(question)
    times = []
    for question in questions:
        started = time.perf_counter()
        engine.ask(question)
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="a SQuAD JSON file")
    parser.add_argument("--questions", type=int, default=300, help="(default: %(default)s)")
    parser.add_argument("--reader-dir", type=Path, help="the reader's folder (default: the shipped one)")
    args = parser.parse_args()
    from qa import QA

    articles, questions, _ = load_squad(args.file)
    config = Config(reader_dir=args.reader_dir)
    config = config.with_overrides(index_dir=eval_index_dir(args.file, config))
    build_eval_index(articles, config)
    engine = QA(config=config)
    asked = [q.question for q in sample_questions(questions, args.questions)]
    times = ask_milliseconds(engine, asked, WARMUP)
    report = {
        "questions": len(asked),
        "p50_ms": round(percentile(times, 0.5), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
