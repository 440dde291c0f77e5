"""Many questions at once on one engine, and readers while another process writes the index."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from index.store import IndexStore
from qa import QA
from tests.support import FACTOIDS, HARDER, UNANSWERABLE, write_bulletins

QUESTIONS = [q for q, _ in FACTOIDS + HARDER] + UNANSWERABLE + ["When was it started?"]


def test_32_threads_get_the_same_answers_as_serial_calls(engine):
    questions = (QUESTIONS * 2)[:32]
    history = [("Where is Kestrel Works based?", "Bristol")]
    serial = [engine.ask(q, history=history).to_dict() for q in questions]
    start = threading.Barrier(32)

    def ask(question: str) -> dict:
        start.wait()  # all 32 ask at the same moment
        return engine.ask(question, history=history).to_dict()

    with ThreadPoolExecutor(max_workers=32) as pool:
        parallel = list(pool.map(ask, questions))
    assert parallel == serial
    assert sum(a["found"] for a in parallel) >= 20


def test_readers_see_a_whole_index_while_another_process_writes_it(tmp_path, fixture_index, encoder):
    index_dir = tmp_path / "index"
    shutil.copytree(fixture_index, index_dir)
    bulletins = write_bulletins(tmp_path / "bulletins", 200)
    before = IndexStore.open(index_dir).manifest.articles
    engine = QA(index_dir, encoder=encoder)
    seen_articles = set()
    # Two writes in a row (an update, then a full rebuild): the second removes the generation
    # the reader opened first, while the reader keeps asking.
    for command in (("add", str(bulletins)), ("build", str(bulletins))):
        # a fresh interpreter, not a fork of this one: a fork of a process whose ONNX Runtime thread pool is running
        # can wait forever for threads it does not have (a CI run hung here on a forked writer)
        with (tmp_path / "err").open("wb") as err:
            writer = subprocess.Popen(
                [sys.executable, "-m", "qa.cli", "index", *command, "--index", str(index_dir)],
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 300
        while writer.poll() is None:
            if time.monotonic() > deadline:
                writer.kill()
                raise AssertionError(f"the writer ({' '.join(command)}) did not finish in 300 s")
            store = IndexStore.open(index_dir)  # opening checks that vectors, chunks and articles agree
            seen_articles.add(store.manifest.articles)
            answer = engine.ask("How many passengers did the ferry on route 12 carry?")
            if answer.found:  # whatever generation answered, its answer and quote agree with each other
                quote = answer.citations[0]
                assert quote.quote[answer.start - quote.start : answer.end - quote.start] == answer.text
        assert writer.returncode == 0, (tmp_path / "err").read_text()
    assert seen_articles <= {before, before + 200, 200} and len(seen_articles) >= 2
    # After the rebuild only the bulletins are indexed: the answer is a bulletin's. (Which bulletin is the
    # reader's business: among 200 near-identical ones it can take route 168's number for route 12's.)
    final = engine.ask("How many passengers did the ferry on route 12 carry?")
    assert final.found and final.article_id.startswith("b") and final.text.isdigit()
    assert json.loads(json.dumps(IndexStore.open(index_dir).verify())) == []
