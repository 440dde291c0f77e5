"""Load test of the chat: N people chatting at once with ``qa serve`` on this machine.

Starts ``qa serve`` on a free localhost port (over an index of the test fixture articles,
or ``--index``), opens N separate browser sessions in Debian's headless Chromium, and has
them all ask the same short conversation at the same moment (a question, a follow-up,
another topic). Reports errors, wrong answers, and the time from pressing Enter to the
reply appearing. Bounded in time by ``--timeout``.

    python benchmarks/load_chat.py                 # 20 chats, 3 questions each
    python benchmarks/load_chat.py --chats 40 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.evaluate import percentile  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"]  # fmt: skip
CONVERSATION = [
    ("Where is Kestrel Works based?", "Bristol"),
    ("When was it started?", "1998"),
    ("How much did the solar farm cost?", "$210 million"),
]
FAILURE_MARKS = ("Something went wrong", "Traceback", "Error")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fixture_index(folder: Path) -> Path:
    """An index of the test fixture articles, built in ``folder``."""
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = folder / "index"
    IndexWriter(Config(index_dir=index_dir)).build([ROOT / "tests" / "fixtures" / "articles"])
    return index_dir


def start_server(
    index_dir: Path, port: int, log: Path, options: tuple[str, ...] = ("--no-examples",), ready: str = "/"
) -> subprocess.Popen:
    """``qa serve`` over ``index_dir`` with ``options``, once ``ready`` (a path) answers."""
    command = [sys.executable, "-m", "qa.cli", "serve", "--index", str(index_dir), "--port", str(port)]
    process = subprocess.Popen(
        [*command, *options],
        cwd=ROOT,
        stdout=open(log, "w"),  # noqa: SIM115 (the server writes to it until it is stopped)
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{ready}", timeout=2)
            return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"qa serve did not start:\n{log.read_text()}") from None
            time.sleep(0.5)


async def open_chat(browser, url: str):
    """A page of the chat in its own browser session (its own Gradio session and conversation)."""
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(url, timeout=120_000)
    await page.wait_for_selector("#question textarea", timeout=120_000)
    return page


async def chat(page) -> list[dict]:
    """One person's conversation; one record per question."""
    records = []
    for question, expected in CONVERSATION:
        replies = page.locator("#chat .qa-reply")
        before = await replies.count()
        await page.fill("#question textarea", question)
        asked = time.perf_counter()
        await page.keyboard.press("Enter")
        try:
            await page.wait_for_function(
                f"document.querySelectorAll('#chat .qa-reply').length > {before}", timeout=120_000
            )
            seconds = time.perf_counter() - asked
            reply = await replies.nth(before).inner_text()
            error = any(mark in reply for mark in FAILURE_MARKS)
            records.append({"question": question, "seconds": seconds, "error": error, "right": expected in reply})
        except Exception as exc:  # a timeout counts as an error, and ends this conversation
            records.append({"question": question, "seconds": None, "error": True, "right": False, "why": str(exc)})
            break
    await page.context.close()
    return records


async def load(url: str, chats: int) -> tuple[list[dict], float]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        pages = [await open_chat(browser, url) for _ in range(chats)]  # one by one: page loads are not measured
        began = time.perf_counter()
        results = await asyncio.gather(*(chat(page) for page in pages))  # all ask at once
        wall = time.perf_counter() - began
        await browser.close()
    return [record for records in results for record in records], wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=20, help="simultaneous conversations (default: %(default)s)")
    parser.add_argument("--index", help="index directory to serve (default: one built from the fixture articles)")
    parser.add_argument("--timeout", type=float, default=300, help="give up after this many seconds")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        index_dir = Path(args.index) if args.index else fixture_index(scratch)
        port, log = free_port(), scratch / "serve.log"
        server = start_server(index_dir, port, log)
        try:
            records, wall = asyncio.run(asyncio.wait_for(load(f"http://127.0.0.1:{port}", args.chats), args.timeout))
        finally:
            server.terminate()
            server.wait(timeout=30)
        server_log = log.read_text()
    seconds = sorted(r["seconds"] for r in records if r["seconds"] is not None)
    report = {
        "chats": args.chats,
        "questions": len(CONVERSATION) * args.chats,
        "answered": len(seconds),
        "errors": sum(r["error"] for r in records),
        "wrong": sum(not r["right"] for r in records),
        "server_tracebacks": server_log.count("Traceback"),
        "wall_s": round(wall, 1),
        "reply_p50_ms": round(1000 * statistics.median(seconds)) if seconds else None,
        "reply_p95_ms": round(1000 * percentile(seconds, 95)) if seconds else None,
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")
    ok = report["errors"] == 0 and report["server_tracebacks"] == 0 and report["answered"] == report["questions"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
