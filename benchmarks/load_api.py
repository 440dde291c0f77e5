"""Load test of the HTTP API: N clients asking ``POST /api/ask`` at once, on this machine.

Starts ``qa serve --no-chat`` on a free localhost port over the SQuAD 1.1 dev articles (the
index ``qa eval`` builds and caches, built here if there is none), then for each client count
has that many threads ask SQuAD questions back to back (each waits for its answer before it
asks again) for ``--seconds``. Reports requests per second, latency p50/p95, and errors.

    python benchmarks/load_api.py                         # 1, 8 and 32 clients, 30 s each
    python benchmarks/load_api.py --clients 1 8 --seconds 60 --json
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load_chat import start_server  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import build_eval_index, eval_index_dir, load_squad, percentile  # noqa: E402
from tests.support import free_port  # noqa: E402


def ask(url: str, question: str) -> tuple[bool, float]:
    """(answered with status 200, seconds) of one ``POST /api/ask``."""
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            ok = response.status == 200 and "text" in json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        ok = False
    return ok, time.perf_counter() - started


def load(url: str, questions: list[str], clients: int, seconds: float) -> dict:
    """``clients`` threads asking back to back for ``seconds``; throughput and latency."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    feed = itertools.cycle(questions)
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        nonlocal errors
        while time.perf_counter() < stop_at:
            with lock:
                question = next(feed)
            ok, took = ask(url, question)
            with lock:
                latencies.append(took)
                errors += not ok

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / wall, 2),
        "p50_ms": round(1000 * statistics.median(latencies), 1),
        "p95_ms": round(1000 * percentile(latencies, 95), 1),
    }


def main() -> int:
    """Build or reuse the SQuAD index, start the server, load it at each client count, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "squad" / "dev-v1.1.json")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=int, default=20, help="questions asked before measuring")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    articles, squad_questions, _ = load_squad(args.data)
    config = Config()
    config = config.with_overrides(index_dir=eval_index_dir(args.data, config))
    build_eval_index(articles, config, progress=True)
    questions = [q.question for q in squad_questions]
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        server = start_server(config.index_dir, port, Path(scratch) / "serve.log", ("--no-chat",), "/api/health")
        try:
            url = f"http://127.0.0.1:{port}/api/ask"
            for question in questions[: args.warmup]:
                ask(url, question)
            rows = [load(url, questions, clients, args.seconds) for clients in args.clients]
        finally:
            server.terminate()
            server.wait(timeout=30)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("| clients | requests | errors | requests/s | p50 | p95 |\n|---|---|---|---|---|---|")
        for row in rows:
            print(
                f"| {row['clients']} | {row['requests']} | {row['errors']} | {row['requests_per_s']} | "
                f"{row['p50_ms']} ms | {row['p95_ms']} ms |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
