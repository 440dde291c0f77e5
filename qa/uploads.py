"""Uploaded files into the index: the one door the chat and the HTTP API share.

An upload is kept in the index folder's ``uploads/`` under a cleaned version of its own name
(never a path that leaves that folder, never longer than :data:`MAX_NAME_BYTES`), then added to the
index like any other file. Files of a type the index cannot read, or larger than ``Config.max_upload_mb``,
are refused by name; a file the index could not read is named in ``UploadResult.unread``. Nothing that
was not indexed stays behind in ``uploads/``.

Example::

    from qa.uploads import keep_uploads
    result = keep_uploads(engine, [("notes.txt", b"Kestrel Works ...")])
    print(result.refused, result.report.added)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.build import BuildReport
from qa.engine import QA, SUPPORTED_SUFFIXES
from qa.errors import BadArticle

UPLOADS = "uploads"
"""Uploaded files are kept in this folder of the index directory, under their own names."""
MAX_NAME_BYTES = 200
"""The longest name an upload is kept under, in UTF-8 bytes (file systems allow 255; room is left for the
" (2)" that tells two uploads of the same name apart)."""


@dataclass(frozen=True)
class Refused:
    """An uploaded file that was not indexed, and why (``too_large``: over the size limit)."""

    name: str
    reason: str
    too_large: bool = False

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class UploadResult:
    """What became of an upload: the files refused, the index's report on the rest (``None``: none kept), and
    the problems of the files kept but not indexed because they could not be read (removed again)."""

    refused: tuple[Refused, ...]
    report: BuildReport | None
    unread: tuple[BadArticle, ...] = ()


def safe_name(name: str) -> str:
    """A file name with no directories (``/`` or ``\\``), no ``..`` and no odd characters, keeping its extension."""
    name = re.split(r"[\\/]", name)[-1]
    suffix = Path(name).suffix if re.fullmatch(r"\.\w+", Path(name).suffix) else ""
    stem = re.sub(r"[^\w.\-() ]+", "_", name[: len(name) - len(suffix)])
    stem = re.sub(r"\.{2,}", ".", stem).strip(" ._")
    suffix = suffix or ".txt"
    room = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" ._")
    return f"{stem or 'upload'}{suffix}"


def free_target(folder: Path, name: str, data: bytes) -> Path:
    """Where to keep an upload: its own name, unless another file already has it ("notes (2).txt").

    The same content under the same name goes to the same file, so uploading twice changes nothing;
    a different article that happens to share a name never replaces the one already indexed.
    """
    target, number = folder / name, 1
    while target.exists() and target.read_bytes() != data:
        number += 1
        target = folder / f"{Path(name).stem} ({number}){Path(name).suffix}"
    return target


def check_upload(name: str, size: int, limit_mb: float) -> Refused | None:
    """Why a file of this name and size (bytes) is refused, or ``None`` if it may be indexed."""
    name = safe_name(name)
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return Refused(name, f"not a supported type (use {', '.join(sorted(SUPPORTED_SUFFIXES))})")
    if size > limit_mb * 1024 * 1024:
        return Refused(name, f"larger than the {limit_mb:g} MB limit", too_large=True)
    return None


_KEEPING = threading.Lock()
"""One upload at a time in a process (the chat and the API share it): two uploads of the same name never both
take the same free name, and one upload's clean-up never removes a file another has just indexed."""


def keep_uploads(engine: QA, files: Sequence[tuple[str, bytes]]) -> UploadResult:
    """Keep each acceptable ``(name, content)`` under ``uploads/`` and add them to ``engine``'s index.

    Raises:
        IndexLocked: another writer holds the index (nothing is added).
        OSError: the upload folder cannot be written (a full disk).
        QAError: what :meth:`QA.add` raises.
    """
    limit = engine.config.max_upload_mb
    refused, accepted = [], []
    for name, data in files:
        problem = check_upload(name, len(data), limit)
        if problem:
            refused.append(problem)
        else:
            accepted.append((safe_name(name), data))
    if not accepted:
        return UploadResult(tuple(refused), None)
    with _KEEPING:
        return _keep(engine, accepted, tuple(refused))


def _keep(engine: QA, accepted: list[tuple[str, bytes]], refused: tuple[Refused, ...]) -> UploadResult:
    folder = engine.config.index_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    targets, written = [], []
    try:
        for name, data in accepted:
            target = free_target(folder, name, data)
            if not target.exists():
                target.write_bytes(data)
                written.append(target)
            targets.append(target)
        report = engine.add(targets)
    except BaseException:  # a locked index, a full disk: nothing of this upload stays behind
        for target in written:
            target.unlink(missing_ok=True)
        raise
    unread = []
    for problem in report.problems:
        target = _named(problem, targets)
        if target is not None:
            unread.append(problem)
            if target in written:  # a file that was there before belongs to an earlier upload
                target.unlink(missing_ok=True)
    return UploadResult(refused, report, tuple(unread))


def _named(problem: BadArticle, targets: Sequence[Path]) -> Path | None:
    """The file a build problem says could not be read at all (it names files as the build shows paths), if it
    is one of ``targets``; ``None`` for a problem with one record (a line) of a file, the rest indexed."""
    if problem.line is not None:
        return None
    named = Path(str(problem.path)).resolve()
    return next((target for target in targets if target.resolve() == named), None)
