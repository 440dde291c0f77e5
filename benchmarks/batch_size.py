"""Embedding batch size and batches at once (``--workers``) against time, for a build's chunk pass.

Chunks the first N SQuAD articles as a build does, then times the chunk pass (``Encoder.encode``
of every chunk) for each batch size and number of workers, alternating, median of the repeats.

    python benchmarks/batch_size.py ../shared/data/squad/dev-v1.1.json --backend onnx --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.chunk import Chunker  # noqa: E402
from index.embed import make_encoder  # noqa: E402
from qa.config import BACKENDS, Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a SQuAD JSON file")
    parser.add_argument("--articles", type=int, default=6, help="first N articles (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default="onnx", help="(default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64], help="batch sizes to time")
    parser.add_argument("--workers", type=int, nargs="+", default=[Config().workers], help="batches at once to time")
    parser.add_argument("--repeats", type=int, default=3, help="(default: %(default)s)")
    args = parser.parse_args()
    articles = load_squad(args.file)[0][: args.articles]
    config = Config()
    encoders = {workers: make_encoder(backend=args.backend, workers=workers) for workers in args.workers}
    tokenizer, max_tokens = encoders[args.workers[0]].tokenizer, encoders[args.workers[0]].max_tokens
    chunker = Chunker(tokenizer, config.chunk_tokens, config.chunk_overlap, max_tokens)
    texts = [chunk.text for article in articles for chunk in chunker.split(article)]
    passes = {"chunk pass": lambda encoder, size: encoder.encode(texts, batch_size=size)}
    for encoder in encoders.values():
        encoder.encode(texts[:32], batch_size=8)  # load and warm up
    seconds = {(name, workers, size): [] for name in passes for workers in args.workers for size in args.sizes}
    for _ in range(args.repeats):
        for name, workers, size in seconds:
            started = time.perf_counter()
            passes[name](encoders[workers], size)
            seconds[name, workers, size].append(time.perf_counter() - started)
    report = {
        "backend": args.backend,
        "chunks": len(texts),
        "median_seconds": {
            f"{name}, workers {workers}, batch {size}": round(statistics.median(times), 2)
            for (name, workers, size), times in seconds.items()
        },
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
