"""Peak memory of reading and indexing one very large text file.

Writes a text file of N MB (generated news-like paragraphs, all different) and runs, each
in a fresh process so that its peak resident memory (ru_maxrss) is its own:

- ``read``: Article QA's streaming reader over the whole file (the parts a build consumes);
- ``read-whole``: for comparison, the naive way: the whole file read and decoded at once;
- ``build``: ``qa index build`` of the file (real model, spaCy and FAISS), timed.

    python benchmarks/large_file.py --mb 100 --stages read read-whole
    python benchmarks/large_file.py --mb 1 --stages build
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = [
    "council", "harbor", "bridge", "budget", "ferry", "museum", "library", "school", "hospital", "market",
    "river", "station", "company", "workers", "union", "court", "minister", "mayor", "festival", "storm",
    "flood", "drought", "harvest", "election", "report", "survey", "contract", "airport", "tunnel",
    "stadium", "orchestra", "gallery", "factory", "port", "railway", "village",
]  # fmt: skip

STAGES = {
    "read": "from index.ingest import ArticleStream\nsum(len(a.text) for a in ArticleStream([path]))",
    "read-whole": "len(open(path, encoding='utf-8').read())",
    "build": "from qa.cli import main\nmain(['index', 'build', path, '--index', index_dir])",
}


def write_file(path: Path, megabytes: float) -> None:
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as out:
        number = 0
        while out.tell() < megabytes * 2**20:
            paragraphs = []
            for _ in range(1000):
                number += 1
                a, b, c = rng.sample(WORDS, 3)
                paragraphs.append(
                    f"Report {number}: the {a} and the {b} agreed on {rng.randint(2, 900)} new {c} plans. "
                    f"Officials said the {c} work would cost ${rng.randint(1, 99)} million and take "
                    f"{rng.randint(2, 30)} months.\n\n"
                )
            out.write("".join(paragraphs))


def run_stage(stage: str, path: Path, scratch: Path) -> dict:
    """Run one stage in a fresh interpreter; its time and its own peak resident memory."""
    code = (
        f"import json, resource\npath, index_dir = {str(path)!r}, {str(scratch / 'index')!r}\n{STAGES[stage]}\n"
        "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))"
    )
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - started
    peak_kb = json.loads(output.strip().splitlines()[-1])
    return {"stage": stage, "seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=100, help="size of the file (default: %(default)s)")
    parser.add_argument("--stages", nargs="+", choices=list(STAGES), default=["read", "read-whole"])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        path = scratch / "large.txt"
        write_file(path, args.mb)
        size_mb = path.stat().st_size / 2**20
        for stage in args.stages:
            results.append({"file_mb": round(size_mb, 1), **run_stage(stage, path, scratch)})
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
