"""Word files (``.docx``) with python-docx: paragraphs and tables' cell text in reading order.

Each paragraph is a paragraph of the article's text; a table is one paragraph of lines, a row
per line, its cells' text joined by `` | `` (a cell's own paragraphs by spaces). Title, author
and date come from the document's core properties (the title falls back to the first paragraph
styled as a title or heading, else the first line).

Example::

    document = read_docx(Path("memo.docx"), "memo.docx")
    print(document.title, document.text[:200])
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from index.archive import bounded_copy
from index.errors import BadArticle


@dataclass(frozen=True)
class WordText:
    """What a Word file gives: its text and metadata."""

    text: str
    title: str | None
    author: str | None
    date: str | None


def _cell_text(cell) -> str:
    return " ".join(" ".join(p.text.split()) for p in cell.paragraphs if p.text.strip())


def read_docx(path: Path, display: str) -> WordText:
    """The text and metadata of a ``.docx`` file.

    Raises:
        BadArticle: the file is not a Word document (not a zip package, or no document part in it), would
            inflate too far (:func:`index.archive.check_zip`), or its XML cannot be parsed (malformed, an
            entity expansion the parser stops, a text node over the parser's limit).
    """
    from docx.opc.exceptions import OpcError
    from lxml.etree import LxmlError

    package = bounded_copy(path, display)
    try:
        return _read_document(package)
    except (OpcError, zipfile.BadZipFile, KeyError, ValueError, EOFError, zlib.error, NotImplementedError) as error:
        raise BadArticle(display, f"is not a Word document (no readable document part: {error})") from None
    except LxmlError as error:
        reason = " ".join(str(error).split()) or type(error).__name__
        raise BadArticle(display, f"has XML that cannot be parsed ({reason}); skipped") from None


def _read_document(package) -> WordText:
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    document = docx.Document(package)
    blocks, heading = [], None
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph):
            text = " ".join(block.text.split())
            if not text:
                continue
            style = (block.style.name if block.style is not None else "") or ""
            if heading is None and style.lower().startswith(("title", "heading")):
                heading = text
            blocks.append(text)
        elif isinstance(block, Table):
            rows = []
            for row in block.rows:
                cells = list(dict.fromkeys(_cell_text(cell) for cell in row.cells))  # merged cells repeat
                if any(cells):
                    rows.append(" | ".join(cells))
            if rows:
                blocks.append("\n".join(rows))
    properties = document.core_properties
    created = properties.created or properties.modified
    return WordText(
        "\n\n".join(blocks),
        (properties.title or "").strip() or heading,
        (properties.author or "").strip() or None,
        created.date().isoformat() if created else None,
    )
