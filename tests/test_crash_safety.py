"""The index survives writers killed at any moment, refuses a second writer, and names any damage."""

from __future__ import annotations

import itertools
import json
import os
import pickle
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
from index.layout import BM25_DIR, BM25_IDS
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
    deadline = time.monotonic() + 300  # a forked writer can hang (see tests/test_concurrency.py): fail, not wait
    while not any(p.name.endswith(f"-{writer.pid}") for p in index_dir.iterdir()):
        assert writer.poll() is None, "the writer ended before it started writing"
        if time.monotonic() > deadline:
            writer.send_signal(signal.SIGKILL)
            raise AssertionError("the writer did not start writing in 300 s")
        time.sleep(0.01)
    return time.monotonic()


MARKS = (
    "generation made",  # its folder, marker and database exist; no article stored yet
    "articles stored",  # a batch's articles, chunks and sentences inserted (not committed), vectors in memory
    "commit begun",  # every batch stored; the lexical index, vectors and manifest still to write
    "lexical index and vectors written",  # and the database committed and closed
    "manifest written",  # not yet flushed to disk
    "flushed to disk",  # CURRENT about to be switched
    "switched",  # CURRENT names the new generation; the old ones are still there, the lock still held
)
"""The points a writer passes, in order: a kill before "switched" must leave the index as before, a kill
from "switched" on as after."""
SWITCHED = MARKS.index("switched")


class WriterPhases:
    """Hooks at the write phases (:data:`MARKS`), live in forked writers only: each writer appends the marks
    it passes to a log of its own, and stops itself (SIGSTOP) at the mark named by ``stop_at``, to be killed
    right there."""

    def __init__(self, folder: Path, monkeypatch) -> None:
        import index.build
        import index.generation

        self.folder, self.parent, self.stop_at = folder, os.getpid(), None
        generation = index.generation.Generation
        hooks = [
            (generation, "__init__", None, "generation made"),
            (generation, "write", None, "articles stored"),
            (generation, "commit", "commit begun", None),
            (index.generation, "Manifest", "lexical index and vectors written", None),
            (index.generation, "_fsync_tree", "manifest written", "flushed to disk"),
            (index.build, "collect_garbage", "switched", None),
        ]
        for owner, name, before, after in hooks:
            monkeypatch.setattr(owner, name, self._hooked(getattr(owner, name), before, after))

    def _hooked(self, function, before: str | None, after: str | None):
        def hooked(*args, **kwargs):
            if before:
                self._reached(before)
            result = function(*args, **kwargs)
            if after:
                self._reached(after)
            return result

        return hooked

    def _reached(self, mark: str) -> None:
        if os.getpid() == self.parent:  # the test's own writes (and reads) are not hooked
            return
        with open(self.folder / f"marks-{os.getpid()}", "a") as log:
            log.write(mark + "\n")
        if mark == self.stop_at:
            os.kill(os.getpid(), signal.SIGSTOP)

    def passed(self, writer: ForkedQa) -> list[str]:
        log = self.folder / f"marks-{writer.pid}"
        return log.read_text().splitlines() if log.exists() else []

    def landed(self, writer: ForkedQa) -> str:
        """Where a writer was when it ended: the last mark it passed, or "finished" if it was not killed."""
        if writer.wait() == 0:
            return "finished"
        return (self.passed(writer) or ["making the generation"])[-1]


def test_writer_killed_at_any_moment_leaves_the_index_as_before_or_after(tmp_path, live_index, encoder, monkeypatch):
    bulletins = write_bulletins(tmp_path / "bulletins", 300)
    before_counts, before_answer = counts(live_index), answer_of(live_index, encoder)
    assert before_answer[0] == "Bristol"
    phases = WriterPhases(tmp_path, monkeypatch)

    # One undisturbed run, on a copy, gives the "after" state, how long the writing part takes, and the marks
    # a whole write passes (every one, in order; "articles stored" once a batch).
    finished, pristine = tmp_path / "finished", tmp_path / "before"
    shutil.copytree(live_index, finished)
    shutil.copytree(live_index, pristine)
    writer = start_writer("add", [bulletins], finished)
    writing_from = wait_for_generation(finished, writer)
    assert writer.wait() == 0
    writing = time.monotonic() - writing_from
    assert list(dict.fromkeys(phases.passed(writer))) == list(MARKS)
    after_counts = counts(finished)
    assert after_counts[0] == before_counts[0] + 300

    def check_after_kill(what: str, landed: str, after: tuple[int, int, int], stopped: bool = False) -> None:
        """The index is whole and answers as before; as before or as after by where the writer was killed
        (a writer killed after "flushed to disk", and not stopped there, may or may not have switched)."""
        state = f"{what}, killed at '{landed}'"
        try:
            assert IndexStore.open(live_index).verify() == [], state
        except IndexCorrupt as exc:
            pytest.fail(f"{state}: {exc}")
        if landed in ("finished", "switched"):
            assert counts(live_index) == after, f"{state}: the index must be as after"
        elif stopped or landed != "flushed to disk":
            assert counts(live_index) == before_counts, f"{state}: the index must be as before"
        else:
            assert counts(live_index) in (before_counts, after), state
        assert answer_of(live_index, encoder) == before_answer, state
        if counts(live_index) == after:  # the write had finished: start the next one from before again
            shutil.rmtree(live_index)
            shutil.copytree(pristine, live_index)

    def start(kind: str, articles: Path) -> ForkedQa:
        return start_writer(kind, [articles] if kind == "add" else [ARTICLES, articles], live_index)

    # Kill adds and full rebuilds (of the same articles) at points spread over the writing, start to end.
    plan = [("add", 0.0), ("build", 0.2), ("add", 0.4), ("build", 0.6), ("add", 0.8), ("build", 0.95), ("add", 1.0)]
    landed = []
    for kind, fraction in plan:
        writer = start(kind, bulletins)
        wait_for_generation(live_index, writer)
        time.sleep(writing * fraction)
        writer.send_signal(signal.SIGKILL)
        landed.append(phases.landed(writer))
        check_after_kill(f"{kind} at {fraction:.0%} of the writing", landed[-1], after_counts)

    # Each mark no timed kill reached (the commit's steps take milliseconds): a writer stops itself there and
    # is killed. Adds and builds take turns, of fewer articles, whose "after" this process gives.
    few = write_bulletins(tmp_path / "few", 40)
    shutil.copytree(pristine, tmp_path / "few-added")
    IndexWriter(Config(index_dir=tmp_path / "few-added"), encoder=encoder).add([few])
    few_after = counts(tmp_path / "few-added")
    missed = [mark for mark in MARKS if mark not in landed]
    for mark, kind in zip(missed, itertools.cycle(("build", "add"))):
        phases.stop_at = mark
        writer = start(kind, few)
        deadline = time.monotonic() + 120
        try:
            while phases.passed(writer)[-1:] != [mark]:
                assert writer.poll() is None, f"{kind} ended without stopping at '{mark}': {phases.passed(writer)}"
                assert time.monotonic() < deadline, f"{kind} never reached '{mark}': {phases.passed(writer)}"
                time.sleep(0.01)
        finally:
            if writer.returncode is None:
                writer.send_signal(signal.SIGKILL)
        landed.append(phases.landed(writer))
        assert landed[-1] == mark
        check_after_kill(f"{kind} stopped", mark, few_after, stopped=True)
    phases.stop_at = None
    assert set(MARKS) <= set(landed), f"kills landed at {landed}"

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


def test_an_interrupt_after_the_switch_keeps_the_new_generation_and_leaves_no_pointer_file(live_index, encoder):
    # Ctrl-C or SIGTERM during commit's last steps: the pointer file is written, or CURRENT already names the new
    # generation (its final directory fsync); the writer then discards its generation, which must not take the live
    # index with it, nor leave the pointer file behind
    from index.build import _carried_fields
    from index.generation import Generation
    from index.layout import CURRENT, current_generation

    store = IndexStore.open(live_index)
    generation = Generation(live_index, store.generation, store.manifest.dimension)
    generation.commit(_carried_fields(store.manifest))
    assert current_generation(live_index) == generation.path
    (live_index / f"{CURRENT}.tmp-{os.getpid()}").write_text(generation.path.name)
    generation.discard()
    assert current_generation(live_index) == generation.path and generation.path.is_dir()
    assert IndexStore.open(live_index).verify() == []
    assert not (live_index / f"{CURRENT}.tmp-{os.getpid()}").exists()


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
        with pytest.raises(IndexLocked, match=f"being updated by process {holder.pid}"):
            writer.build([ARTICLES])
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
    """A pickle planted in any file of the lexical index, as an object array in a .npy file or bare, is refused
    as damage (with the way to rebuild), never run."""
    witness = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {witness}",))

    def object_array(path: Path) -> None:
        with open(path, "wb") as out:  # a path would get ".npy" appended
            np.save(out, np.array([Payload()], dtype=object), allow_pickle=True)

    def bare_pickle(path: Path) -> None:
        path.write_bytes(pickle.dumps(Payload()))

    pristine = tmp_path / "pristine"
    shutil.copytree(live_index, pristine)
    gen = generation_of(pristine)
    files = [(gen / BM25_IDS).relative_to(gen), *(p.relative_to(gen) for p in sorted((gen / BM25_DIR).iterdir()))]
    assert len(files) > 2 and all((gen / f).is_file() for f in files), files
    for relative in files:
        for plant in (object_array, bare_pickle):
            shutil.rmtree(live_index)
            shutil.copytree(pristine, live_index)
            plant(generation_of(live_index) / relative)
            where = f"{plant.__name__} in {relative}"
            error = None
            try:
                IndexStore.open(live_index)
            except Exception as exc:  # which one is checked below
                error = exc
            assert not witness.exists(), f"{where}: the payload ran"
            assert isinstance(error, IndexCorrupt), f"{where}: {error!r} (None: the index opened)"
            assert "damaged lexical index" in str(error), f"{where}: {error}"
            assert f"qa index build [PATH ...] --index {live_index}" in str(error), f"{where}: {error}"
