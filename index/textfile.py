"""Read text files as a person sees them: the encoding found, line ends made ``\\n``, long files in parts.

UTF-8 (BOM stripped) first, UTF-16 when it has a BOM, Windows-1252 for legacy 8-bit text; binary
files are refused with a named error. Memory holds one part and one block, however large the file.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.config import Config
from index.errors import BadArticle

MAX_TITLE_CHARS = 200
_SNIFF_BYTES = 8192
_BLOCK_BYTES = 1 << 20


def _encoding_of(head: bytes, blocks: Iterable[bytes], path: object) -> str:
    """``utf-16`` (with a BOM), ``utf-8-sig`` if every block is valid UTF-8, else ``cp1252`` (legacy 8-bit)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if b"\x00" in head:
        raise BadArticle(path, "looks like a binary file, not text")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in blocks:
            decoder.decode(block)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8-sig"


def _decode(decoder: codecs.IncrementalDecoder, block: bytes, encoding: str, path: object, final: bool) -> str:
    try:
        return decoder.decode(block, final=final)
    except UnicodeDecodeError as exc:
        raise BadArticle(path, f"not valid {encoding.upper()} text ({exc.reason})") from exc


def _check_not_binary(sample: str, path: object) -> None:
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if sample and controls / len(sample) > 0.05:
        raise BadArticle(path, "looks like a binary file, not text")


def _read_blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        while block := stream.read(_BLOCK_BYTES):
            yield block


def iter_text(path: Path, display: object, part_chars: int | None = Config.part_chars) -> Iterator[str]:
    """A text file's decoded text, line ends made ``\\n``, streamed in parts.

    UTF-8 (BOM stripped) first, UTF-16 when it has a BOM, and Windows-1252 for
    legacy 8-bit text. Memory holds one part and one block, however large the file.

    Args:
        path: the file.
        display: the name to use in errors.
        part_chars: the longest part; ``None`` yields the whole text at once. Parts are
            cut after a blank line, else a line end, else a space, near the limit, and
            ``"".join(parts)`` is the whole text.

    Raises:
        BadArticle: the file looks binary, or its bytes are not valid in its encoding.
    """
    with open(path, "rb") as stream:
        head = stream.read(_SNIFF_BYTES)
    encoding = _encoding_of(head, _read_blocks(path), display)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace" if encoding == "cp1252" else "strict")
    buffer, checked = "", False
    blocks = _read_blocks(path)
    while True:
        block = next(blocks, b"")
        buffer += _decode(decoder, block, encoding, display, final=not block)
        if not checked:
            _check_not_binary(buffer[:_SNIFF_BYTES], display)
            checked = True
        held = "\r" if block and buffer.endswith("\r") else ""  # a CRLF may straddle two blocks
        buffer = normalize_newlines(buffer[: len(buffer) - len(held)])
        while part_chars is not None and len(buffer) > part_chars:
            cut = _cut_point(buffer, part_chars)
            yield buffer[:cut]
            buffer = buffer[cut:]
        buffer += held
        if not block:
            break
    if buffer:
        yield buffer


def _cut_point(text: str, limit: int) -> int:
    """Where to end a part of at most ``limit`` characters: after a paragraph, a line, or a word if possible."""
    floor = limit // 2
    for separator in ("\n\n", "\n", " "):
        found = text.rfind(separator, floor, limit)
        if found >= 0:
            return found + len(separator)
    return limit


def iter_lines(parts: Iterable[str]) -> Iterator[str]:
    """The lines of streamed text (without their line ends); a line longer than a part is joined once."""
    pending: list[str] = []
    for part in parts:
        lines = part.split("\n")
        if len(lines) == 1:
            pending.append(part)
            continue
        lines[0] = "".join([*pending, lines[0]])
        pending = [lines.pop()]
        yield from lines
    tail = "".join(pending)
    if tail:
        yield tail


def normalize_newlines(text: str) -> str:
    """CRLF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def first_line_title(text: str) -> str:
    """The first non-empty line, without Markdown heading marks, as a title."""
    for line in text.split("\n"):
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:MAX_TITLE_CHARS]
    return ""


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``[start, end)`` of ``text`` so it neither starts nor ends with whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
