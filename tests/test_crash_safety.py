"""The index survives writers killed at any moment, refuses a second writer, and names any damage."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import faiss
import numpy as np
import pytest

from index.build import IndexWriter
from index.store import IndexStore
from qa import QA
from qa.cli import main
from qa.config import Config
from qa.errors import IndexCorrupt, IndexLocked
from tests.support import ARTICLES, ROOT, ForkedQa, write_bulletins

QUESTION = "Where is Kestrel Works based?"


def counts(index_dir: Path) -> tuple[int, int, int]:
    manifest = IndexStore.open(index_dir).manifest
    return manifest.articles, manifest.chunks, manifest.sentences


@pytest.fixture
def live_index(tmp_path, fixture_index) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(fixture_index, index_dir)
    return index_dir


def answer_of(index_dir: Path, encoder) -> tuple[str, str]:
    answer = QA(index_dir, encoder=encoder).ask(QUESTION)
    return answer.text, answer.citations[0].article_id


def start_writer(kind: str, paths: list[Path], index_dir: Path) -> ForkedQa:
    return ForkedQa("index", kind, *map(str, paths), "--index", str(index_dir))


def wait_for_generation(index_dir: Path, writer: ForkedQa) -> float:
    """When the writer started its new generation (after loading the model)."""
    while not any(p.name.endswith(f"-{writer.pid}") for p in index_dir.iterdir()):
        assert writer.poll() is None, "the writer ended before it started writing"
        time.sleep(0.01)
    return time.monotonic()


def test_writer_killed_at_any_moment_leaves_the_index_as_before_or_after(tmp_path, live_index, encoder):
    bulletins = write_bulletins(tmp_path / "bulletins", 300)
    before_counts, before_answer = counts(live_index), answer_of(live_index, encoder)
    assert before_answer[0] == "Bristol"

    # One undisturbed run, on a copy, gives the "after" state and how long the writing part takes.
    finished, pristine = tmp_path / "finished", tmp_path / "before"
    shutil.copytree(live_index, finished)
    shutil.copytree(live_index, pristine)
    writer = start_writer("add", [bulletins], finished)
    writing_from = wait_for_generation(finished, writer)
    assert writer.wait() == 0
    writing = time.monotonic() - writing_from
    after_counts = counts(finished)
    assert after_counts[0] == before_counts[0] + 300

    # Kill adds and full rebuilds (of the same articles) at points spread over the writing, start to end.
    plan = [("add", 0.0), ("build", 0.2), ("add", 0.4), ("build", 0.6), ("add", 0.8), ("build", 0.95), ("add", 1.0)]
    for kind, fraction in plan:
        writer = start_writer(kind, [bulletins] if kind == "add" else [ARTICLES, bulletins], live_index)
        wait_for_generation(live_index, writer)
        time.sleep(writing * fraction)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert IndexStore.open(live_index).verify() == [], f"{kind} killed at {fraction:.0%}"
        assert counts(live_index) in (before_counts, after_counts), f"{kind} killed at {fraction:.0%}"
        assert answer_of(live_index, encoder) == before_answer
        if counts(live_index) == after_counts:  # the write had finished: start the next one from before again
            shutil.rmtree(live_index)
            shutil.copytree(pristine, live_index)

    # Ctrl-C or `kill` (SIGTERM): the writer removes its unfinished generation and says the index is unchanged.
    for stop in (signal.SIGINT, signal.SIGTERM):
        writer = ForkedQa("index", "add", str(bulletins), "--index", str(live_index), stderr_path=tmp_path / "err")
        wait_for_generation(live_index, writer)
        writer.send_signal(stop)
        assert writer.wait() == 130 and "the index is as it was" in writer.stderr
        assert not any(p.name.endswith(f"-{writer.pid}") for p in live_index.iterdir())
        assert counts(live_index) == before_counts

    # The lock died with the last writer: the next one runs, and leaves no half-written generation.
    assert main(["index", "add", str(bulletins), "--index", str(live_index)]) == 0
    assert counts(live_index) == after_counts
    assert len([p for p in live_index.iterdir() if p.name.startswith("gen-")]) <= 2


def test_second_writer_is_told_which_process_holds_the_index(tmp_path, live_index, encoder):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from index.lock import writer_lock; from pathlib import Path\n"
            "with writer_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(600)",
            str(live_index),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        writer = IndexWriter(Config(index_dir=live_index), encoder=encoder)
        with pytest.raises(IndexLocked, match=f"being updated by process {holder.pid}"):
            writer.remove(["kestrel-rail"])
    finally:
        holder.kill()  # killed, not stopped: the lock must not outlive it
        holder.wait()
    assert writer.remove(["kestrel-rail"]).removed == ["kestrel-rail"]


def test_failed_write_says_so_and_leaves_the_index_unchanged(live_index, monkeypatch, capsys, tmp_path):
    import index.generation

    before = counts(live_index)
    generations = sorted(p.name for p in live_index.iterdir())

    def disk_full(path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(index.generation, "_fsync_tree", disk_full)
    extra = tmp_path / "extra.txt"
    extra.write_text("Ferry news\n\nThe new ferry entered service in 2020.")
    assert main(["index", "add", str(extra), "--index", str(live_index)]) == 1
    error = capsys.readouterr().err
    assert "No space left on device" in error and "the index is unchanged" in error and "Traceback" not in error
    assert counts(live_index) == before and sorted(p.name for p in live_index.iterdir()) == generations


def test_index_path_that_cannot_be_made_is_a_one_line_error(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["index", "build", str(ARTICLES), "--index", str(blocker / "index")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: ") and str(blocker) in error and "Traceback" not in error


def generation_of(index_dir: Path) -> Path:
    return IndexStore.open(index_dir).generation


def truncate_vectors(gen: Path) -> None:
    path = gen / "vectors.faiss"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def drop_one_vector(gen: Path) -> None:
    vectors = faiss.read_index(str(gen / "vectors.faiss"))
    vectors.remove_ids(np.array([faiss.vector_to_array(vectors.id_map)[0]], dtype=np.int64))
    faiss.write_index(vectors, str(gen / "vectors.faiss"))


def swap_one_vector_id(gen: Path) -> None:
    vectors = faiss.read_index(str(gen / "vectors.faiss"))
    first = faiss.vector_to_array(vectors.id_map)[0]
    vector = vectors.reconstruct(int(first)).reshape(1, -1)
    vectors.remove_ids(np.array([first], dtype=np.int64))
    vectors.add_with_ids(vector, np.array([999_999], dtype=np.int64))
    faiss.write_index(vectors, str(gen / "vectors.faiss"))


def set_manifest(gen: Path, **values) -> None:
    manifest = json.loads((gen / "manifest.json").read_text())
    (gen / "manifest.json").write_text(json.dumps(manifest | values))


def delete_chunk_row(gen: Path) -> None:
    import sqlite3

    with sqlite3.connect(gen / "store.sqlite") as db:
        db.execute("DELETE FROM chunks WHERE id = (SELECT MIN(id) FROM chunks)")


DAMAGE = {
    "truncated vector file": (truncate_vectors, "damaged vector file"),
    "missing vector file": (lambda g: (g / "vectors.faiss").unlink(), "no vector file"),
    "missing database": (lambda g: (g / "store.sqlite").unlink(), "no database"),
    "corrupt database": (lambda g: (g / "store.sqlite").write_bytes(b"not a database" * 500), "damaged database"),
    "other format version": (lambda g: set_manifest(g, format_version=99), "format version 99"),
    "unreadable manifest": (lambda g: (g / "manifest.json").write_text("{"), "unreadable manifest"),
    "fewer vectors than chunks": (drop_one_vector, "vectors of dimension"),
    "fewer chunks than the manifest says": (delete_chunk_row, "disagrees with itself"),
    "missing lexical index": (lambda g: shutil.rmtree(g / "bm25"), "damaged lexical index"),
    "missing generation": (lambda g: shutil.rmtree(g), "missing its data"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damaged_index_says_what_is_wrong_and_how_to_rebuild(live_index, capsys, damage):
    harm, expected = DAMAGE[damage]
    harm(generation_of(live_index))
    with pytest.raises(IndexCorrupt, match=expected):
        QA(live_index)
    assert main(["index", "verify", "--index", str(live_index)]) == 1
    error = capsys.readouterr().err
    assert expected in error and f"qa index build [PATH ...] --index {live_index}" in error
    assert main(["ask", QUESTION, "--index", str(live_index)]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_verify_finds_what_opening_does_not(live_index, capsys):
    assert main(["index", "verify", "--index", str(live_index)]) == 0
    assert capsys.readouterr().out.startswith("ok: ")
    swap_one_vector_id(generation_of(live_index))  # same count, so the index still opens
    assert main(["index", "verify", "--index", str(live_index)]) == 1
    assert "1 vectors without a chunk, 1 chunks without a vector" in capsys.readouterr().err


def test_index_files_are_never_unpickled(live_index, tmp_path):
    witness = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    gen = generation_of(live_index)
    np.save(gen / "bm25_ids.npy", np.array([Payload()], dtype=object), allow_pickle=True)
    with pytest.raises(IndexCorrupt, match="damaged lexical index"):
        IndexStore.open(live_index)
    assert not witness.exists()
