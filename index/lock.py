"""The index's writer lock: one writer at a time, released by the OS if the writer dies."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from index.errors import IndexLocked
from index.layout import LOCK, check_index_dir

_held_locks: set[int] = set()


def _release_locks_in_child() -> None:
    # A forked child (spaCy workers) shares the lock's open file; were it to keep it open, the lock
    # would outlive a parent killed outright and block every later writer.
    for fd in _held_locks:
        with contextlib.suppress(OSError):
            os.close(fd)
    _held_locks.clear()


os.register_at_fork(after_in_child=_release_locks_in_child)


@contextlib.contextmanager
def writer_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index's writer lock; the OS releases it if the process dies.

    Raises:
        IndexLocked: another live process holds it.
        NotAnIndex: ``index_dir`` holds other files and is not an index (nothing is written there).
    """
    check_index_dir(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise IndexLocked(
                f"the index at {index_dir} is being updated by process {holder}; try again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held_locks.add(fd)
        yield
    finally:
        _held_locks.discard(fd)
        os.close(fd)
