"""Peak memory of a build over hostile Word files: the probe's zip bombs and damaged XML, beside a good memo.

Each build runs in a fresh process (``qa index build`` with the real model), so that its peak resident
memory (ru_maxrss) is its own, after a first build that fills the embedder's export cache: first over the
good memo alone (the baseline: models, spaCy, FAISS), then over the memo with every hostile file of
``tests/documents.py`` and the probe's own bomb (a file of a few MB whose ``word/document.xml`` inflates to
``--bomb-mb`` MB), also with a directory that lies about its size. The hostile files must be skipped by name.

    python benchmarks/docx_bombs.py --bomb-mb 1150
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import documents  # noqa: E402  (the fixture makers, so that the benchmark builds what the tests build)

BUILD = """
import json, resource, sys, time
from qa.cli import main
started = time.perf_counter()
code = main(['index', 'build', sys.argv[1], '--index', sys.argv[2]])
print(json.dumps({'code': code, 'seconds': time.perf_counter() - started,
                  'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build(folder: Path, index_dir: Path) -> tuple[dict, str]:
    """Build an index over ``folder`` in a fresh process: its figures, and what it printed."""
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(folder), str(index_dir)], capture_output=True, text=True, cwd=ROOT
    )
    lines = done.stdout.strip().splitlines()
    return json.loads(lines[-1]), done.stdout + done.stderr


def main() -> int:
    """Print the baseline's and the hostile build's peak memory, and which files the build skipped."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bomb-mb", type=int, default=1150, help="what the probe's bomb inflates to")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        good, hostile = scratch / "good", scratch / "hostile"
        good.mkdir()
        hostile.mkdir()
        documents.memo_docx(good / "memo.docx")
        documents.memo_docx(hostile / "memo.docx")
        for name, make in documents.HOSTILE_DOCX.items():
            make(hostile / name)
        documents.zip_bomb_docx(hostile / "probe-bomb.docx", inflated_mb=args.bomb_mb)
        documents.lying_zip_bomb_docx(hostile / "probe-lying-bomb.docx", inflated_mb=args.bomb_mb)
        sizes = {p.name: p.stat().st_size for p in sorted(hostile.iterdir())}
        build(good, scratch / "index-warm-up")  # the first build exports the embedder to its cache (torch)
        baseline, _ = build(good, scratch / "index-good")
        started = time.perf_counter()
        figures, printed = build(hostile, scratch / "index-hostile")
        skipped = sorted(name for name in sizes if name != "memo.docx" and f"{name}:" in printed)
        print(json.dumps({"files_bytes": sizes, "baseline": baseline, "hostile": figures}, indent=2))
        wall = time.perf_counter() - started
        print(f"skipped by name: {skipped} ({len(skipped)} of {len(sizes) - 1}); wall {wall:.1f} s")
        print(f"peak: {baseline['peak_mb']:.0f} MB good memo alone, {figures['peak_mb']:.0f} MB with the hostile files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
