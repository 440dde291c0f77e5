"""Uploaded files into the index: the one door the chat and the HTTP API share.

An upload is kept in the index folder's ``uploads/`` under a cleaned version of its own name
(never a path that leaves that folder), then added to the index like any other file. Files of
a type the index cannot read, or larger than ``Config.max_upload_mb``, are refused by name.

Example::

    from qa.uploads import keep_uploads
    result = keep_uploads(engine, [("notes.txt", b"Kestrel Works ...")])
    print(result.refused, result.report.added)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.build import BuildReport
from qa.engine import QA, SUPPORTED_SUFFIXES

UPLOADS = "uploads"
"""Uploaded files are kept in this folder of the index directory, under their own names."""


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
    """What became of an upload: the files refused, and the index's report on the rest (``None``: none kept)."""

    refused: tuple[Refused, ...]
    report: BuildReport | None


def safe_name(name: str) -> str:
    """A file name with no directories (``/`` or ``\\``), no ``..`` and no odd characters, keeping its extension."""
    name = re.split(r"[\\/]", name)[-1]
    suffix = Path(name).suffix if re.fullmatch(r"\.\w+", Path(name).suffix) else ""
    stem = re.sub(r"[^\w.\-() ]+", "_", name[: len(name) - len(suffix)])
    stem = re.sub(r"\.{2,}", ".", stem).strip(" ._")
    return f"{stem or 'upload'}{suffix or '.txt'}"


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
    folder = engine.config.index_dir / UPLOADS
    folder.mkdir(parents=True, exist_ok=True)
    targets = []
    for name, data in accepted:
        target = free_target(folder, name, data)
        target.write_bytes(data)
        targets.append(target)
    return UploadResult(tuple(refused), engine.add(targets))
