"""Factoid answers read with more of each story around the passages: a prototype, measured and not shipped.

Before the reader reads its best ``--reader-passages`` passages, each of the best ``--widened`` is widened by
``--widen`` characters on either side, to whole sentences of its article (passages of one article that then
overlap are merged into one). Everything else is as ``qa eval`` does: the same index, retrieval, reader and
calibration (fitted on passages as retrieved). BENCHMARKS.md ("How much of the story the reader reads") has the
figures beside larger chunks (``qa eval --chunk-tokens``) and more passages (``--reader-passages``).

    python benchmarks/reading_context.py ../shared/data/news/dev/news-dev.json --widen 80 --widened 4
    python benchmarks/reading_context.py --latency --widen 80 --widened 4     # time against the shipped reading

``--latency`` asks 200 questions over news-sized stories (as ``benchmarks/news_latency.py``), each asked of the
shipped reading and of the widened one in turn (the machine's noise falls on both), and prints both p50s and
their ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from qa.config import Config  # noqa: E402

_store = [None]  # the index the question being asked reads (set around each ask)
_widening = {"chars": 0, "passages": 0}


def widened(passages: list, store, chars: int, count: int) -> list:
    """The best ``count`` passages widened by ``chars`` either side to whole sentences, overlaps merged; then the
    rest as they were."""
    ranges: list[list] = []  # [article_id, start, end, passage]
    for passage in passages[:count]:
        start, end = max(0, passage.start - chars), passage.end + chars
        for known in ranges:
            if known[0] == passage.article_id and start < known[2] and end > known[1]:
                known[1], known[2] = min(known[1], start), max(known[2], end)
                break
        else:
            ranges.append([passage.article_id, start, end, passage])
    found = store.stretches([(a, s, min(e, len(store.article_text(a)))) for a, s, e, _ in ranges])
    out = []
    for (article, start, end, passage), stretch in zip(ranges, found, strict=True):
        # whole sentences: those that start after the widened start and end before the widened end
        first = min([s for s, _, _ in stretch.sentences if start <= s <= passage.start] + [passage.start])
        last = max([e for _, e, _ in stretch.sentences if passage.end <= e <= end] + [passage.end])
        text = store.article_text(article)
        sentences = tuple(x for x in stretch.sentences if x[0] < last and x[1] > first)
        out.append(replace(passage, start=first, end=last, text=text[first:last], sentences=sentences))
    return out + list(passages[count:])


def _patch() -> None:
    """The reader reads widened passages while ``_widening`` says so (the engine's store is noted at each ask)."""
    import qa.engine
    import qa.read

    ask_timed, read = qa.engine.QA.ask_timed, qa.read.SpanReader.read

    def noting_ask_timed(self, *args, **kwargs):
        _store[0] = self.store
        return ask_timed(self, *args, **kwargs)

    def widening_read(self, question, passages, **kwargs):
        if _widening["chars"]:
            passages = widened(passages, _store[0], _widening["chars"], _widening["passages"])
        return read(self, question, passages, **kwargs)

    qa.engine.QA.ask_timed, qa.read.SpanReader.read = noting_ask_timed, widening_read


def _latency(args: argparse.Namespace) -> dict:
    from news_latency import news_sized

    from index.build import IndexWriter
    from qa import QA

    articles, questions = news_sized(ROOT.parent / "shared" / "data" / "qa-train", 4000, ("squad11-train-part",))
    asked = questions[:: max(1, len(questions) // 200)][:200]
    with tempfile.TemporaryDirectory() as folder:
        config = Config(index_dir=Path(folder) / "index")
        IndexWriter(config).build_articles(articles)
        engines = {  # the shipped reading, and the widened one (over as many passages as asked)
            "shipped": (QA(config=config), 0),
            "widened": (QA(config=config.with_overrides(reader_passages=args.reader_passages)), args.widen),
        }
        times: dict[str, list[float]] = {name: [] for name in engines}
        for number, question in enumerate(asked):
            for name, (engine, chars) in engines.items():
                _widening["chars"] = chars
                started = time.perf_counter()
                engine.ask(question)
                if number >= 10:  # the first ones warm up
                    times[name].append((time.perf_counter() - started) * 1000)
    p50 = {name: round(statistics.median(values), 1) for name, values in times.items()}
    return {"p50_ms": p50, "ratio": round(p50["widened"] / p50["shipped"], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="a SQuAD-format file (news dev, SQuAD dev)")
    parser.add_argument("--widen", type=int, default=80, help="characters added on either side (default: 80)")
    parser.add_argument("--widened", type=int, default=4, help="best passages widened (default: 4)")
    parser.add_argument("--reader-passages", type=int, default=Config.reader_passages)
    parser.add_argument("--limit", type=int, default=None, help="questions, evenly spaced (default: all)")
    parser.add_argument("--latency", action="store_true", help="time it against the shipped reading instead")
    args = parser.parse_args()
    _patch()
    _widening.update(chars=args.widen, passages=args.widened)
    if args.latency:
        print(json.dumps(_latency(args), indent=2))
        return 0
    if args.file is None:
        parser.error("a file to evaluate on, or --latency")
    from qa.evaluate import eval_index_dir, evaluate

    config = Config(reader_passages=args.reader_passages)
    config = config.with_overrides(index_dir=eval_index_dir(args.file, config))
    report = evaluate(args.file, config, limit=args.limit).to_dict()
    keys = ("f1", "f1_never_abstaining", "right", "right_never_declining", "declined_unanswerable", "ece")
    print(json.dumps({key: report[key] for key in keys} | {"p50_ms": report["latency_ms"]["p50"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
