"""HTML reading time per page: trafilatura's main text and metadata (``index.html.read_page``) against
the visible-text pass it falls back to (``index.html.html_to_text``), on the fixture news pages and on
one of them padded to a real page's size with related links and comments.

Each page is read ``--repeats`` times after one warm-up read of every page (imports and first-call
set-up excluded); the table gives the median milliseconds per page.

    python benchmarks/html_extraction.py --repeats 20
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

from index.html import html_to_text, read_page  # noqa: E402

PAGES = ROOT / "tests" / "fixtures" / "pages"


def median_ms(read, markup: str, repeats: int) -> float:
    """The median milliseconds of ``read(markup)`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        read(markup)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20, help="reads of each page (default: %(default)s)")
    args = parser.parse_args()
    pages = {path.name: path.read_text(encoding="utf-8") for path in sorted(PAGES.glob("*.html"))}
    # A page of a real news site's size: the fixture article inside 300 related links and 300 comments.
    links = "".join(f'<li><a href="/s{i}">Related story number {i} about the harbor</a></li>' for i in range(300))
    comments = "".join(f"<div class='c'><p>Comment {i}: I think the council is wrong.</p></div>" for i in range(300))
    padded = pages["ferry-terminal.html"].replace("<footer>", f"<ul>{links}</ul>{comments}<footer>")
    pages["ferry-terminal.html, padded"] = padded
    for markup in pages.values():  # imports and first-call set-up
        read_page(markup)
    rows = {
        name: {
            "bytes": len(markup.encode()),
            "read_page_ms": median_ms(read_page, markup, args.repeats),
            "visible_text_ms": median_ms(html_to_text, markup, args.repeats),
            "main_text": read_page(markup).main_text,
        }
        for name, markup in pages.items()
    }
    print(json.dumps({"repeats": args.repeats, "pages": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
