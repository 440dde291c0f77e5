"""Embedding batch size against time, for the build's one forward pass per chunk.

Chunks the first N SQuAD articles as a build does and times ``Encoder.encode_with_spans`` (chunk
vectors and one pooled span per chunk) at several batch sizes, alternating, median of the repeats.

    python benchmarks/batch_size.py ../shared/data/squad/dev-v1.1.json --backend onnx
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
from index.embed import Encoder  # noqa: E402
from qa.config import BACKENDS, Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a SQuAD JSON file")
    parser.add_argument("--articles", type=int, default=6, help="first N articles (default: %(default)s)")
    parser.add_argument("--backend", choices=BACKENDS, default="onnx", help="(default: %(default)s)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64], help="batch sizes to time")
    parser.add_argument("--repeats", type=int, default=3, help="(default: %(default)s)")
    args = parser.parse_args()
    articles = load_squad(args.file)[0][: args.articles]
    encoder, config = Encoder(backend=args.backend), Config()
    chunker = Chunker(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap, encoder.max_tokens)
    texts = [chunk.text for article in articles for chunk in chunker.split(article)]
    spans = [[(0, min(40, len(text)))] for text in texts]
    encoder.encode_with_spans(texts[:32], spans[:32])  # load and warm up
    seconds: dict[int, list[float]] = {size: [] for size in args.sizes}
    for _ in range(args.repeats):
        for size in args.sizes:
            started = time.perf_counter()
            encoder.encode_with_spans(texts, spans, size)
            seconds[size].append(time.perf_counter() - started)
    report = {
        "backend": encoder.backend,
        "chunks": len(texts),
        "median_seconds": {size: round(statistics.median(times), 2) for size, times in seconds.items()},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
