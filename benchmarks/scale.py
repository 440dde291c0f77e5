"""A synthetic index of a million chunks: build time, memory, size on disk, open time, query latency.

The text is generated (Zipf-distributed pseudo-words, ten one-sentence paragraphs per article) and
the chunk and sentence vectors are random unit vectors: spaCy and the embedding model, whose cost
grows linearly and is measured on real text by build_speed.py, are replaced by stand-ins. Everything
else is the product's own code: the builder's batches, SQLite, the FAISS index ``auto`` chooses for
the size (converted and trained at commit), the BM25 index, ``IndexStore.open`` and ``QA.ask`` with
the real int8 ONNX model embedding each question.

The build runs in a child process (its peak memory is its own); the parent then opens the index and
asks generated questions.

    python benchmarks/scale.py --chunks 1000000 --questions 200
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ask_latency import ask_milliseconds  # noqa: E402
from index.annotate import Sentence  # noqa: E402
from index.chunk import Chunk  # noqa: E402
from index.ingest import Article  # noqa: E402
from index.vectors import choose_index  # noqa: E402
from qa.config import Config  # noqa: E402

PARAGRAPHS = 10
WORDS = (18, 40)


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    """Pronounceable pseudo-words."""
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    return np.array(["".join(rng.choice(syllables, rng.integers(1, 4))) for _ in range(size)])


def articles(n_articles: int, seed: int = 0):
    """Generated articles of :data:`PARAGRAPHS` one-sentence paragraphs each."""
    rng = np.random.default_rng(seed)
    words = vocabulary(20_000, rng)
    ranks = np.arange(1, len(words) + 1)
    weights = (1 / ranks) / (1 / ranks).sum()
    for number in range(n_articles):
        paragraphs = []
        for _ in range(PARAGRAPHS):
            picked = words[rng.choice(len(words), rng.integers(*WORDS), p=weights)]
            paragraphs.append(" ".join(picked).capitalize() + ".")
        text = "\n\n".join(paragraphs)
        yield Article(
            id=f"a{number}",
            title=paragraphs[0][:60],
            text=text,
            source=f"synthetic/{number}.txt",
            origin=f"synthetic/{number}.txt",
            content_hash=hashlib.sha1(text.encode()).hexdigest(),
        )


class ParagraphChunker:
    """Stand-in for the token chunker: one chunk per paragraph."""

    def split(self, article: Article) -> list[Chunk]:
        """The article's paragraphs as chunks."""
        chunks, start = [], 0
        for paragraph in article.text.split("\n\n"):
            chunks.append(Chunk(article.id, start, start + len(paragraph), paragraph))
            start += len(paragraph) + 2
        return chunks


class ParagraphAnnotator:
    """Stand-in for spaCy's sentencizer: every paragraph is one sentence."""

    def annotate(self, batch):
        """One sentence per paragraph of each article."""
        for article in batch:
            yield [Sentence(c.start, c.end) for c in ParagraphChunker().split(article)]

    def load(self) -> None:
        """Nothing to load."""


class RandomEncoder:
    """Stand-in for the embedding model at build time: random unit vectors of the model's size."""

    name, backend, dimension, max_tokens = "all-MiniLM-L6-v2", "onnx", 384, 256

    def __init__(self) -> None:
        self.rng = np.random.default_rng(1)

    def unit(self, n: int) -> np.ndarray:
        """``n`` random unit vectors."""
        vectors = self.rng.standard_normal((n, self.dimension), dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def encode(self, texts, batch_size=32):
        """Random vectors for the texts."""
        return self.unit(len(texts))


def synthetic_writer(index_dir: Path):
    """An ``IndexWriter`` with the stand-ins for spaCy, the chunker and the model."""
    import index.build as build_module

    build_module.IndexWriter._chunker = staticmethod(lambda encoder, fields: ParagraphChunker())
    return build_module.IndexWriter(
        Config(index_dir=index_dir, workers=1), encoder=RandomEncoder(), annotator=ParagraphAnnotator()
    )


def build(index_dir: Path, n_articles: int, result) -> None:
    """Build the synthetic index (runs in a child process)."""
    started = time.perf_counter()
    report = synthetic_writer(index_dir).build_articles(articles(n_articles))
    result.update(
        seconds=time.perf_counter() - started,
        chunks=report.chunks,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def add_one(index_dir: Path, result) -> None:
    """Add one new article to the built index (runs in a child process): the cost of an update."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "new.txt").write_text(next(articles(1, seed=99)).text)
        started = time.perf_counter()
        synthetic_writer(index_dir).add([folder])
        result.update(add_seconds=time.perf_counter() - started)


def rss_mb() -> float:
    """This process's resident memory now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="chunks to index (default: %(default)s)")
    parser.add_argument("--questions", type=int, default=200, help="questions to time (default: %(default)s)")
    parser.add_argument("--keep", metavar="DIR", help="build into DIR and keep it (default: a temporary folder)")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="qa-scale-"))
    try:
        with multiprocessing.get_context("spawn").Manager() as manager:
            result = manager.dict()
            child = multiprocessing.get_context("spawn").Process(
                target=build, args=(folder, args.chunks // PARAGRAPHS, result)
            )
            child.start()
            child.join()
            if child.exitcode != 0:
                print(f"error: the build failed (exit {child.exitcode})", file=sys.stderr)
                return 1
            built = dict(result)
            child = multiprocessing.get_context("spawn").Process(target=add_one, args=(folder, result))
            child.start()
            child.join()
            built |= dict(result)
        generation = folder / (folder / "CURRENT").read_text().strip()
        disk = {p.name: p.stat().st_size for p in generation.iterdir() if p.is_file()}
        disk["bm25/"] = sum(p.stat().st_size for p in (generation / "bm25").iterdir())

        from index.embed import OnnxEncoder
        from index.store import IndexStore
        from qa import QA

        encoder = OnnxEncoder()
        encoder.encode(["warm the model up"])
        before = rss_mb()
        started = time.perf_counter()
        IndexStore.open(folder)
        open_seconds = time.perf_counter() - started
        started = time.perf_counter()
        engine = QA(config=Config(index_dir=folder), encoder=encoder)
        engine_seconds = time.perf_counter() - started
        store = engine.store
        rng = np.random.default_rng(2)
        questions = []
        for number in rng.choice(built["chunks"] // PARAGRAPHS, args.questions, replace=False):
            words = store.article_text(f"a{number}").split()
            questions.append("What is " + " ".join(rng.choice(words, 4)) + "?")
        times = ask_milliseconds(engine, questions, 10)
        ordered = sorted(times)
        report = {
            "chunks": built["chunks"],
            "vector_index": type(store.vectors).__name__,
            "vector_index_factory": choose_index("auto", built["chunks"]),
            "build_seconds": round(built["seconds"], 1),
            "build_peak_rss_mb": round(built["peak_rss_mb"]),
            "add_one_article_seconds": round(built.get("add_seconds", float("nan")), 1),
            "disk_mb": {name: round(size / 2**20, 1) for name, size in sorted(disk.items())},
            "disk_total_mb": round(sum(disk.values()) / 2**20),
            "open_seconds": round(open_seconds, 2),
            "open_with_engine_seconds": round(engine_seconds, 2),
            "rss_after_queries_mb": round(rss_mb()),
            "rss_index_mb": round(rss_mb() - before),
            "query_p50_ms": round(statistics.median(times), 1),
            "query_p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        }
        print(json.dumps(report, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
