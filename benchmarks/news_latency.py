"""``QA.ask`` latency over news-sized articles: p50 and p95 of the whole call, and of its stages.

SQuAD's articles are long Wikipedia pages; a news story is a few thousand characters. This cuts the
articles of the reader's validation split (qa-train, never the SQuAD evaluation files; by default its
SQuAD 1.1 train articles, Wikipedia prose) into stories of about ``--chars`` characters at paragraph
breaks, indexes them in a temporary folder with the default build, and asks ``--questions`` of their
questions (evenly spaced) with the default settings, as ``qa ask`` does, after 10 untimed warm-up
questions. Timings are wall-clock milliseconds on this machine; the stages come from ``QA.ask_timed``.

    python benchmarks/news_latency.py --questions 200
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

from index.ingest import Article, content_hash  # noqa: E402
from qa.evaluate import percentile  # noqa: E402

WARMUP = 10


def news_sized(data: Path, chars: int, sources: tuple[str, ...]) -> tuple[list[Article], list[str]]:
    """Stories of about ``chars`` characters cut from the validation split's articles, and their questions."""
    from training.data import load_examples

    _, examples = load_examples(data, 0.05, 13)
    paragraphs: dict[str, dict[str, list[str]]] = {}
    for example in examples:
        if example.source.startswith(sources) and example.answerable:
            paragraphs.setdefault(example.article, {}).setdefault(example.context, []).append(example.question)
    articles, questions = [], []
    for title, by_paragraph in paragraphs.items():
        story: list[str] = []
        for context, asked in by_paragraph.items():
            story.append(context)
            questions += asked
            if sum(map(len, story)) >= chars:
                articles.append(_article(title, len(articles), story))
                story = []
        if story:
            articles.append(_article(title, len(articles), story))
    return articles, questions


def _article(title: str, number: int, paragraphs: list[str]) -> Article:
    text = "\n\n".join(paragraphs)
    name = f"{title.split('/')[-1]} ({number})"
    return Article(f"story-{number:04d}", name, text, name, f"news-sized#{number}", content_hash(text))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "qa-train")
    parser.add_argument("--questions", type=int, default=200, help="(default: %(default)s)")
    parser.add_argument("--reader-dir", type=Path, help="the reader's folder (default: the shipped one)")
    parser.add_argument("--chars", type=int, default=4000, help="characters per story (default: %(default)s)")
    parser.add_argument(
        "--sources", nargs="+", default=["squad11-train-part"], help="qa-train files the stories come from"
    )
    args = parser.parse_args()
    from index.build import IndexWriter
    from qa import QA
    from qa.config import Config

    articles, questions = news_sized(args.data, args.chars, tuple(args.sources))
    step = max(1, len(questions) // args.questions)
    asked = questions[::step][: args.questions]
    with tempfile.TemporaryDirectory() as folder:
        config = Config(index_dir=Path(folder) / "index", reader_dir=args.reader_dir)
        IndexWriter(config).build_articles(articles)
        engine = QA(config=config)
        for question in asked[:WARMUP]:
            engine.ask(question)
        total, stages = [], {}
        for question in asked:
            started = time.perf_counter()
            _, timing = engine.ask_timed(question)
            total.append((time.perf_counter() - started) * 1000)
            for stage, milliseconds in timing.items():
                stages.setdefault(stage, []).append(milliseconds)
    report = {
        "stories": len(articles),
        "median_story_chars": statistics.median(len(a.text) for a in articles),
        "questions": len(asked),
        "ask_ms": {"p50": round(percentile(total, 0.5), 1), "p95": round(percentile(total, 0.95), 1)},
        "stages_ms": {
            stage: {"p50": round(percentile(values, 0.5), 1), "p95": round(percentile(values, 0.95), 1)}
            for stage, values in stages.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
