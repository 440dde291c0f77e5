"""PDF reading: pages per second, memory on a long report, and a build of PDFs against the same text as .txt files.

    python benchmarks/pdf_reading.py [--runs 3] [--json]

1. Extraction speed: ``index.pdf.read_pdf`` over a generated 200-page report (headers, footers,
   six paragraphs a page; ``tests.documents.long_pdf``), median of ``--runs``.
2. Memory: peak resident memory of a fresh process that reads a 50-page and a 500-page report
   (bounded: one page is open at a time; only the text grows).
3. Build overhead: ``qa index build`` (in process) of a folder of 50 four-page PDFs against a
   folder of the same 50 articles' text as .txt files, median of ``--runs`` each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.pdf import read_pdf  # noqa: E402
from tests.documents import long_pdf  # noqa: E402

PEAK = """
import resource, sys
sys.path.insert(0, {root!r})
from pathlib import Path
from index.pdf import read_pdf
text = read_pdf(Path({path!r}), "x").text
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, len(text))
"""


def extraction(folder: Path, runs: int) -> dict:
    """Pages per second reading a 200-page PDF."""
    path = folder / "report-200.pdf"
    long_pdf(path, 200)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        read_pdf(path, path.name)
        times.append(time.perf_counter() - started)
    return {
        "pages": 200,
        "seconds_median": round(statistics.median(times), 3),
        "pages_per_second": round(200 / statistics.median(times), 1),
    }


def peak_memory(folder: Path) -> list[dict]:
    """Peak RSS of a process reading a 50- and a 500-page PDF."""
    rows = []
    for pages in (50, 500):
        path = folder / f"report-{pages}.pdf"
        long_pdf(path, pages)
        out = subprocess.run(
            [sys.executable, "-c", PEAK.format(root=str(ROOT), path=str(path))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        peak, chars = (int(v) for v in out)
        rows.append(
            {
                "pages": pages,
                "file_mb": round(path.stat().st_size / 2**20, 2),
                "text_chars": chars,
                "peak_rss_mb": round(peak / 1024, 1),
            }
        )
    return rows


def build_overhead(folder: Path, runs: int) -> dict:
    """Build time of 50 PDFs against the same text as .txt files."""
    from index.build import IndexWriter
    from index.embed import make_encoder
    from qa.config import Config

    pdfs, texts = folder / "pdfs", folder / "texts"
    pdfs.mkdir()
    texts.mkdir()
    for number in range(50):
        body = long_pdf(pdfs / f"minutes-{number:02d}.pdf", 4, first=1 + 4 * number)
        (texts / f"minutes-{number:02d}.txt").write_text(f"Market square minutes ({number})\n\n{body}\n")
    encoder = make_encoder(Config().build_model, "onnx")
    encoder.load()
    seconds: dict[str, list[float]] = {"pdf": [], "txt": []}
    for run in range(runs):
        for kind, source in (("txt", texts), ("pdf", pdfs)):
            index_dir = folder / f"index-{kind}-{run}"
            started = time.perf_counter()
            report = IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([source])
            seconds[kind].append(time.perf_counter() - started)
            assert report.articles == 50 and not report.problems, report.summary()
    pdf, txt = statistics.median(seconds["pdf"]), statistics.median(seconds["txt"])
    return {
        "articles": 50,
        "pages_each": 4,
        "pdf_seconds": round(pdf, 2),
        "txt_seconds": round(txt, 2),
        "pdf_over_txt": round(pdf / txt, 2),
    }


def main() -> int:
    """Run the three measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        figures = {
            "extraction": extraction(folder, args.runs),
            "memory": peak_memory(folder),
            "build": build_overhead(folder, args.runs),
        }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    e, b = figures["extraction"], figures["build"]
    print(
        f"extraction: {e['pages']} pages in {e['seconds_median']} s (median of {args.runs}): "
        f"{e['pages_per_second']} pages/s"
    )
    for row in figures["memory"]:
        print(
            f"memory: {row['pages']} pages ({row['file_mb']} MB, {row['text_chars']:,} characters): "
            f"peak RSS {row['peak_rss_mb']} MB"
        )
    print(
        f"build: {b['articles']} PDFs of {b['pages_each']} pages {b['pdf_seconds']} s, the same text as .txt "
        f"{b['txt_seconds']} s: PDF reading costs {b['pdf_over_txt']}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
