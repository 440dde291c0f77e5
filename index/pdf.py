"""PDF files: their text page by page with PDFium (pypdfium2), each offset mapped to its page.

The article's text is the pages' text joined by :data:`PAGE_BREAK`, which the stored text keeps
(and chunks never include), so that every offset falls on one page. Within a page, PDFium's
lines are joined into paragraphs: a line that starts lower than the usual line spacing, higher
than the line before (a new column), or in another font size starts a new paragraph. A word
hyphenated across a line end is joined only where PDFium marks the hyphen as soft. Lines that
repeat at the top or bottom of most pages (running headers, footers, page numbers; digits
ignored) are kept in the text as their own paragraphs and excluded from chunks, as a text
file's boilerplate is.

Every character of a page's text is either one of PDFium's characters (its index on the page,
which gives its box) or a separator this module wrote (a space or a paragraph break, index -1):
:func:`page_characters` gives that map, so that an answer's offsets can be boxed on the page.

Example::

    document = read_pdf(Path("report.pdf"), "report.pdf")
    print(document.title, len(document.pages), document.text[:200])
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from index.errors import BadArticle

PAGE_BREAK = "\n\f\n"
"""Between two pages' text: a form feed on a line of its own (excluded from chunks)."""
MARGIN = 0.12
"""Running headers and footers are looked for in this top and bottom fraction of each page."""
REPEATED_ON = 0.6
"""A top or bottom line is boilerplate when the same line (digits aside) is there on this share of the pages."""
NO_TEXT_LAYER = "has no text layer: scanned page images; OCR is not supported"
PLACEHOLDERS = {"", "untitled", "unknown", "anonymous", "none", "author"}
"""Metadata values that PDF writers fill in when they know nothing (reportlab's author is "anonymous")."""


@dataclass(frozen=True)
class Line:
    """One line of a page: its text, the PDFium index of each character (-1: written here), and its geometry."""

    text: str
    indices: tuple[int, ...]
    top: float
    bottom: float
    left: float
    size: float


@dataclass(frozen=True)
class PdfText:
    """What a PDF gives: its text, where each page starts in it, the excluded ranges, and metadata."""

    text: str
    pages: tuple[int, ...]
    excluded: tuple[tuple[int, int], ...]
    title: str | None
    author: str | None
    date: str | None
    empty_pages: tuple[int, ...] = ()


def open_pdf(path: Path, display: str):
    """The ``PdfDocument`` of ``path``.

    Raises:
        BadArticle: the file is encrypted, damaged or not a PDF.
    """
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        text = str(error).lower()
        if "password" in text or "security" in text:
            raise BadArticle(display, "is an encrypted PDF (it needs a password); it cannot be read") from None
        raise BadArticle(display, "is not a readable PDF (damaged, truncated or not a PDF)") from None


def _lines(textpage) -> list[Line]:
    """The page's lines in PDFium's reading order, soft hyphens at line ends removed."""
    import pypdfium2.raw as raw

    count = textpage.count_chars()
    text = textpage.get_text_range(0, count) if count else ""
    if len(text) != count:  # characters outside the BMP: read them one by one so that indices stay aligned
        text = "".join(chr(raw.FPDFText_GetUnicode(textpage, i) or 32) for i in range(count))
    lines, chars, indices = [], [], []

    def close() -> None:
        if any(not ch.isspace() for ch in chars):
            first = next(i for ch, i in zip(chars, indices, strict=True) if not ch.isspace())
            left, bottom, _, top = textpage.get_charbox(first)
            size = raw.FPDFText_GetFontSize(textpage, first)
            while chars and chars[-1].isspace():
                chars.pop(), indices.pop()
            while chars and chars[0].isspace():
                chars.pop(0), indices.pop(0)
            lines.append(Line("".join(chars), tuple(indices), top, bottom, left, size))
        chars.clear(), indices.clear()

    for index, ch in enumerate(text):
        if ch in "\r\n":
            close()
        elif raw.FPDFText_IsHyphen(textpage, index):
            continue  # a soft hyphen at a line end: PDFium has joined the word's halves already
        else:
            chars.append(" " if ch in "\t\x00" or ch.isspace() else ch)
            indices.append(index)
    close()
    return lines


def _key(line: Line) -> str:
    return re.sub(r"\d+", "#", " ".join(line.text.lower().split()))


def _margin_lines(lines: list[Line], height: float) -> list[Line]:
    """The page's top-most and bottom-most lines, where they lie in the page's margins."""
    if not lines:
        return []
    by_height = sorted(lines, key=lambda line: -line.top)
    found = [by_height[0]] if by_height[0].top >= height * (1 - MARGIN) else []
    if by_height[-1].bottom <= height * MARGIN and by_height[-1] is not by_height[0]:
        found.append(by_height[-1])
    return found


def _paragraphs(lines: list[Line], boilerplate: set[int]) -> list[tuple[list[Line], bool]]:
    """The page's lines grouped into paragraphs; each with whether it is boilerplate (one line then)."""
    paragraphs: list[tuple[list[Line], bool]] = []
    previous = None
    for number, line in enumerate(lines):
        if number in boilerplate:
            paragraphs.append(([line], True))
            previous = None
            continue
        step = previous.bottom - line.bottom if previous else 0.0
        same = (
            previous is not None
            and abs(line.size - previous.size) < 0.5
            and 0 < step <= 1.6 * max(line.size, previous.size)
        )
        if same:
            paragraphs[-1][0].append(line)
        else:
            paragraphs.append(([line], False))
        previous = line
    return paragraphs


def _page_text(lines: list[Line], boilerplate: set[int]) -> tuple[str, list[int], list[tuple[int, int]]]:
    """The page's text, each character's PDFium index (-1: a separator), and its boilerplate ranges."""
    text, indices, excluded = [], [], []
    at = 0
    for number, (group, is_boilerplate) in enumerate(_paragraphs(lines, boilerplate)):
        if number:
            text.append("\n\n"), indices.extend((-1, -1))
            at += 2
        start = at
        for position, line in enumerate(group):
            if position:
                text.append(" "), indices.append(-1)
                at += 1
            text.append(line.text), indices.extend(line.indices)
            at += len(line.text)
        if is_boilerplate:
            excluded.append((start, at))
    return "".join(text), indices, excluded


def _pages(document) -> Iterator[tuple[list[Line], float]]:
    """Each page's lines and height, one page open at a time (bounded memory for long documents)."""
    for number in range(len(document)):
        page = document[number]
        textpage = page.get_textpage()
        try:
            yield _lines(textpage), page.get_height()
        finally:
            textpage.close()
            page.close()


def _boilerplate_lines(lines: list[Line], height: float, keys: set[str]) -> set[int]:
    """The numbers of the page's lines that are running headers or footers (in its margins, with a repeated key)."""
    margins = {id(line) for line in _margin_lines(lines, height) if _key(line) in keys}
    return {n for n, line in enumerate(lines) if id(line) in margins}


def _boilerplate_keys(document) -> set[str]:
    """The (digit-blind) lines that stand at the top or bottom of most pages."""
    pages = len(document)
    if pages < 2:
        return set()
    counts: Counter[str] = Counter()
    for lines, height in _pages(document):
        counts.update({_key(line) for line in _margin_lines(lines, height)})
    return {key for key, seen in counts.items() if seen >= max(2, REPEATED_ON * pages)}


def read_pdf(path: Path, display: str, on_page: Callable[[], None] | None = None) -> PdfText:
    """The text, pages, boilerplate and metadata of a PDF; ``on_page`` is called after each page is read.

    Raises:
        BadArticle: encrypted, damaged, or no page has a text layer (a scanned document).
    """
    document = open_pdf(path, display)
    try:
        keys = _boilerplate_keys(document)
        text, pages, excluded, empty = [], [], [], []
        at, title_line = 0, None
        for number, (lines, height) in enumerate(_pages(document), start=1):
            if number > 1:
                text.append(PAGE_BREAK)
                excluded.append((at, at + len(PAGE_BREAK)))
                at += len(PAGE_BREAK)
            boilerplate = _boilerplate_lines(lines, height, keys)
            page_text, _, page_excluded = _page_text(lines, boilerplate)
            if not page_text.strip():
                empty.append(number)
            if number == 1:
                body = [line for n, line in enumerate(lines) if n not in boilerplate]
                title_line = max(body, key=lambda line: line.size, default=None)
            pages.append(at)
            text.append(page_text)
            excluded += [(at + start, at + end) for start, end in page_excluded]
            at += len(page_text)
            if on_page is not None:
                on_page()
        if len(empty) == len(pages):
            raise BadArticle(display, NO_TEXT_LAYER)
        meta = document.get_metadata_dict()
    finally:
        document.close()
    title = _known(meta.get("Title")) or (title_line.text.strip() if title_line is not None else "")
    return PdfText(
        "".join(text),
        tuple(pages),
        tuple(excluded),
        title or None,
        _known(meta.get("Author")),
        pdf_date(meta.get("CreationDate") or meta.get("ModDate")),
        tuple(empty),
    )


def _known(value: str | None) -> str | None:
    """A metadata value, unless it is empty or a placeholder."""
    value = (value or "").strip()
    return value if value.lower() not in PLACEHOLDERS else None


def pdf_date(value: str | None) -> str | None:
    """``YYYY-MM-DD`` of a PDF date string (``D:20240312093000+01'00'``), or ``None``."""
    match = re.match(r"(?:D:)?(\d{4})(\d{2})?(\d{2})?", value or "")
    if not match:
        return None
    year, month, day = match.group(1), match.group(2) or "01", match.group(3) or "01"
    return f"{year}-{month}-{day}"


@dataclass(frozen=True)
class PageCharacters:
    """One page as :func:`read_pdf` read it, and PDFium's own characters with their boxes.

    ``text[k]`` came from PDFium's character ``indices[k]`` (-1: a space or paragraph break written here);
    ``pdf_chars[i]`` is PDFium's character ``i`` and ``boxes[i]`` its ``(left, bottom, right, top)`` in points.
    """

    text: str
    indices: tuple[int, ...]
    pdf_chars: str
    boxes: tuple[tuple[float, float, float, float], ...]
    width: float
    height: float


_keys_cache: dict[tuple[str, int], set[str]] = {}


def _cached_keys(path: str, modified: int, document) -> set[str]:
    """:func:`_boilerplate_keys` of a file version, read once (each page shown would otherwise read them all)."""
    key = (path, modified)
    if key not in _keys_cache:
        if len(_keys_cache) >= 32:
            _keys_cache.pop(next(iter(_keys_cache)))
        _keys_cache[key] = _boilerplate_keys(document)
    return _keys_cache[key]


def page_characters(path: Path, page: int) -> PageCharacters:
    """One page's text as :func:`read_pdf` wrote it, with the PDF's characters and their boxes (``page``: 1-based)."""
    document = open_pdf(path, str(path))
    try:
        keys = _cached_keys(str(path), path.stat().st_mtime_ns, document)
        pdf_page = document[page - 1]
        textpage = pdf_page.get_textpage()
        try:
            lines = _lines(textpage)
            text, indices, _ = _page_text(lines, _boilerplate_lines(lines, pdf_page.get_height(), keys))
            count = textpage.count_chars()
            pdf_chars = textpage.get_text_range(0, count) if count else ""
            boxes = tuple(textpage.get_charbox(i) for i in range(count))
            width, height = pdf_page.get_size()
        finally:
            textpage.close()
            pdf_page.close()
    finally:
        document.close()
    return PageCharacters(text, tuple(indices), pdf_chars, boxes, width, height)
