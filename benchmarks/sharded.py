"""Sharded indexes and the Ray build, on SQuAD's articles: build time, query latency, updates.

build      the same articles built by this process (an ordinary index) and by ``--engine ray`` with 1 and
           2 embedding actors (Ray started on this machine for each build, as ``qa index build`` does;
           its start-up counts); median seconds and chunks/s over ``--repeats``
latency    question latency (embed, retrieve, read) over the same articles in 1, 4 and 16 shards
           (built by this process), p50 / p95 over ``--questions`` evenly spaced questions
update     adding one new article to a 4-shard index (``QA.add``: only its shard is rewritten)
           against rebuilding the 4-shard index

  python benchmarks/sharded.py ../shared/data/squad/dev-v1.1.json --repeats 3 --questions 1000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import QA  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import load_squad, percentile, sample_questions  # noqa: E402


def timed_build(articles, config: Config) -> tuple[float, int]:
    """Seconds to build ``articles`` with ``config`` (models loaded afresh), and the chunks made."""
    from index.sharded_build import make_writer

    started = time.perf_counter()
    report = make_writer(config).build_articles(articles)
    return time.perf_counter() - started, report.chunks


def build_figures(articles, scratch: Path, repeats: int) -> dict:
    import ray

    figures = {}
    runs = {
        "local (ordinary index)": {},
        "ray, 1 worker (4 shards)": {"engine": "ray", "workers": 1, "shards": 4},
        "ray, 2 workers (4 shards)": {"engine": "ray", "workers": 2, "shards": 4},
    }
    for name, settings in runs.items():
        seconds = []
        for repeat in range(repeats):
            took, chunks = timed_build(articles, Config(index_dir=scratch / f"{name}-{repeat}", **settings))
            seconds.append(took)
            ray.shutdown()  # each Ray build starts its own Ray, as the CLI does
        median = statistics.median(seconds)
        figures[name] = {"seconds": [round(s, 1) for s in seconds], "median_s": round(median, 1)}
        figures[name]["chunks_per_second"] = round(chunks / median, 1)
        print(name, figures[name], file=sys.stderr)
    return figures


def latency_figures(articles, questions, scratch: Path) -> dict:
    figures = {}
    for shards in (1, 4, 16):
        index_dir = scratch / f"latency-{shards}"
        timed_build(articles, Config(index_dir=index_dir, shards=shards))
        engine = QA(index_dir)
        engine.ask(questions[0].question)  # warm
        totals, retrieval = [], []
        for question in questions:
            started = time.perf_counter()
            _, timings = engine.ask_timed(question.question)
            totals.append((time.perf_counter() - started) * 1000)
            retrieval.append(timings["retrieve"])
        figures[f"{shards} shards"] = {
            "p50_ms": round(percentile(totals, 0.5), 1),
            "p95_ms": round(percentile(totals, 0.95), 1),
            "retrieve_p50_ms": round(percentile(retrieval, 0.5), 2),
            "retrieve_p95_ms": round(percentile(retrieval, 0.95), 2),
        }
        print(shards, figures[f"{shards} shards"], file=sys.stderr)
    return figures


def update_figures(articles, scratch: Path, repeats: int) -> dict:
    index_dir = scratch / "update"
    rebuild = [timed_build(articles, Config(index_dir=index_dir, shards=4))[0] for _ in range(repeats)]
    engine = QA(index_dir)
    adds = []
    for repeat in range(repeats):
        folder = scratch / f"new-{repeat}"
        folder.mkdir()
        (folder / f"bulletin-{repeat}.txt").write_text(
            f"Harbour bulletin {repeat}\n\nThe ferry on route {repeat} carried {repeat * 7 + 3} passengers on Monday, "
            "the harbour office said, and the new timetable starts in June.\n",
            encoding="utf-8",
        )
        started = time.perf_counter()
        engine.add([folder])
        adds.append(time.perf_counter() - started)
    return {
        "add one article, s (median)": round(statistics.median(adds), 2),
        "rebuild 4 shards, s (median)": round(statistics.median(rebuild), 1),
        "ratio": round(statistics.median(rebuild) / statistics.median(adds), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a SQuAD JSON file (its articles are indexed)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--only", choices=("build", "latency", "update"), action="append")
    args = parser.parse_args()
    articles, questions, _ = load_squad(args.file)
    questions = sample_questions(questions, args.questions)
    wanted = args.only or ["build", "latency", "update"]
    results = {"articles": len(articles), "questions": len(questions)}
    with tempfile.TemporaryDirectory(prefix="sharded-bench-") as scratch:
        scratch = Path(scratch)
        if "build" in wanted:
            results["build"] = build_figures(articles, scratch, args.repeats)
        if "latency" in wanted:
            results["latency"] = latency_figures(articles, questions, scratch)
        if "update" in wanted:
            results["update"] = update_figures(articles, scratch, args.repeats)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
