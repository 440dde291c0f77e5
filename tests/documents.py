"""Fixture PDFs and Word files, made with reportlab and python-docx so that their text and layout are known.

    python -m tests.documents OUT_DIR        # writes them into OUT_DIR

``report.pdf``: three pages with a running header and a "Page N of 3" footer, a title in large
type, a word hyphenated across a line end, a two-column page and a table. ``encrypted.pdf``
needs a password; ``scanned.pdf`` is one page of image only; ``truncated.pdf`` is the first
part of ``report.pdf``. ``memo.docx``: a heading, paragraphs and a table, with core properties;
``not-a-zip.docx`` is plain text under a Word name. :func:`long_pdf` writes an N-page report.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

HEADER = "Port Alder Council - Harbour Review"
REPORT_TITLE = "Harbour bridge approved"
HYPHENATED = ("The bridge will carry 18,000 vehicles a day across the inter-", "national shipping channel.")
LEFT_COLUMN = (
    "The bridge will cost $45 million,",
    "paid by the regional transport",
    "fund over five years.",
)
RIGHT_COLUMN = (
    "Construction starts in June and",
    "takes three years, the council",
    "engineers said.",
)
TABLE = (("Year", "Ferry passengers"), ("2022", "310,000"), ("2023", "284,000"))
FERRY = "Mayor Elena Voss said the harbour ferry service will end in 2027."
MEMO_TABLE = (("Item", "Detail"), ("Seats", "1,400"), ("Cost", "$12 million"))


def _page_furniture(canvas, number: int, pages: int, width: float, height: float) -> None:
    canvas.setFont("Helvetica", 9)
    canvas.drawString(72, height - 40, HEADER)
    canvas.drawString(width / 2 - 30, 30, f"Page {number} of {pages}")


def report_pdf(path: Path, encrypt: str | None = None, metadata: bool = True) -> None:
    """The three-page report (``encrypt``: a user password; ``metadata=False``: no title or author in it)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as pdf_canvas

    width, height = A4
    canvas = pdf_canvas.Canvas(str(path), pagesize=A4, invariant=True, encrypt=encrypt)
    if metadata:
        canvas.setTitle("Port Alder Harbour Review 2024")
        canvas.setAuthor("Port Alder Council")
    # page 1: title in large type, a hyphenated line end
    _page_furniture(canvas, 1, 3, width, height)
    canvas.setFont("Helvetica-Bold", 20)
    canvas.drawString(72, height - 110, REPORT_TITLE)
    canvas.setFont("Helvetica", 11)
    y = height - 150
    opening = ("The city council of Port Alder voted on 12 March 2024 to approve", "a new bridge across the harbour.")
    for line in opening:
        canvas.drawString(72, y, line)
        y -= 14
    y -= 14
    for line in HYPHENATED:
        canvas.drawString(72, y, line)
        y -= 14
    canvas.showPage()
    # page 2: two columns, then a table
    _page_furniture(canvas, 2, 3, width, height)
    canvas.setFont("Helvetica", 11)
    for x, column in ((72, LEFT_COLUMN), (width / 2 + 20, RIGHT_COLUMN)):
        y = height - 110
        for line in column:
            canvas.drawString(x, y, line)
            y -= 14
    y = height - 260
    for row in TABLE:
        canvas.drawString(72, y, row[0])
        canvas.drawString(200, y, row[1])
        y -= 28
    canvas.showPage()
    # page 3
    _page_furniture(canvas, 3, 3, width, height)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(72, height - 110, FERRY)
    canvas.drawString(72, height - 124, "The last crossing is planned for the first week of May.")
    canvas.showPage()
    canvas.save()


def scanned_pdf(path: Path) -> None:
    """One page holding an image of text and no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas as pdf_canvas

    image = Image.new("RGB", (600, 200), "white")
    ImageDraw.Draw(image).text((20, 80), "A scanned page of the council minutes", fill="black")
    canvas = pdf_canvas.Canvas(str(path), pagesize=A4, invariant=True)
    canvas.drawImage(ImageReader(image), 72, 500, width=450, height=150)
    canvas.showPage()
    canvas.save()


def long_pdf(path: Path, pages: int, first: int = 1) -> str:
    """An N-page report, a few paragraphs a page with headers and footers, its items numbered from page ``first``
    (so that reports differ); returns its body text (for a .txt twin)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas as pdf_canvas

    width, height = A4
    canvas = pdf_canvas.Canvas(str(path), pagesize=A4, invariant=True)
    canvas.setTitle(f"Market square minutes ({pages} pages)")
    body = []
    for number in range(first, first + pages):
        _page_furniture(canvas, number - first + 1, pages, width, height)
        canvas.setFont("Helvetica", 11)
        y = height - 100
        for paragraph in range(6):
            lines = [
                f"Item {number}.{paragraph}: the market committee reviewed stall {number * 7 + paragraph} and",
                f"agreed a rent of {100 + number + paragraph} pounds a month for the coming season.",
            ]
            for line in lines:
                canvas.drawString(72, y, line)
                y -= 14
            body.append(" ".join(lines))
            y -= 14
        canvas.showPage()
    canvas.save()
    return "\n\n".join(body)


def memo_docx(path: Path) -> None:
    """A Word memo: a heading, two paragraphs, a table, core properties."""
    import docx

    document = docx.Document()
    document.add_heading("Lantern Hall opens", level=1)
    document.add_paragraph("The Lantern Hall concert venue opened on 2 February 2024 in Port Alder.")
    document.add_paragraph("It was designed by the architect Marisol Ortega and paid for by the city.")
    table = document.add_table(rows=len(MEMO_TABLE), cols=2)
    for row, values in zip(table.rows, MEMO_TABLE, strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Tickets for the opening season go on sale in March.")
    properties = document.core_properties
    properties.title = "Lantern Hall memo"
    properties.author = "Marisol Ortega"
    properties.created = datetime.datetime(2024, 2, 1, 9, 30)
    document.save(str(path))


def _docx_with_document_part(path: Path, write_part) -> None:
    """A real Word file (the memo) whose ``word/document.xml`` is replaced by what ``write_part(stream)`` writes."""
    import zipfile

    memo = path.with_name(path.name + ".memo")
    memo_docx(memo)
    with zipfile.ZipFile(memo) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                part = zipfile.ZipInfo(item.filename)
                part.compress_type = zipfile.ZIP_DEFLATED
                with out.open(part, "w", force_zip64=True) as stream:
                    write_part(stream)
            else:
                out.writestr(item, source.read(item.filename))
    memo.unlink()


DOCUMENT_XML_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
)


def _bomb_block() -> bytes:
    return (b"<w:p><w:r><w:t>" + b"A" * 4000 + b"</w:t></w:r></w:p>") * 256


def zip_bomb_docx(path: Path, inflated_mb: int = 200) -> None:
    """A Word file of about a few hundred KB whose document part inflates to ``inflated_mb`` MB of XML (a zip bomb)."""
    block = _bomb_block()

    def write(stream) -> None:
        stream.write(DOCUMENT_XML_HEAD)
        for _ in range(inflated_mb * 2**20 // len(block)):
            stream.write(block)
        stream.write(b"</w:body></w:document>")

    _docx_with_document_part(path, write)


LIE_BYTES = 2048


def lying_zip_bomb_docx(path: Path, inflated_mb: int = 50) -> None:
    """A zip bomb whose directory claims its document part is 2 KB, with the CRC of those first 2 KB (so that
    ``zipfile`` finds nothing wrong when it stops there), while the part inflates to ``inflated_mb`` MB."""
    import struct
    import zlib

    zip_bomb_docx(path, inflated_mb=inflated_mb)
    crc = zlib.crc32((DOCUMENT_XML_HEAD + _bomb_block())[:LIE_BYTES])
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_length]) == b"word/document.xml":
            struct.pack_into("<I", data, central + 16, crc)
            struct.pack_into("<I", data, central + 24, LIE_BYTES)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 14, crc)
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def bzip2_bomb_docx(path: Path) -> None:
    """A Word file whose document part is compressed with bzip2 (which ``zipfile`` inflates whole on any read)
    and inflates to 100 MB from a few hundred bytes."""
    import zipfile

    memo = path.with_name(path.name + ".memo")
    memo_docx(memo)
    with zipfile.ZipFile(memo) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            if item.filename == "word/document.xml":
                part = zipfile.ZipInfo(item.filename)
                part.compress_type = zipfile.ZIP_BZIP2
                with out.open(part, "w") as stream:
                    stream.write(DOCUMENT_XML_HEAD + b"<w:p><w:r><w:t>")
                    for _ in range(100):
                        stream.write(b"A" * 2**20)
                    stream.write(b"</w:t></w:r></w:p></w:body></w:document>")
            else:
                out.writestr(item, source.read(item.filename))
    memo.unlink()


def malformed_docx(path: Path) -> None:
    """A Word file whose document part is not well-formed XML (an attribute value never closed)."""
    _docx_with_document_part(path, lambda stream: stream.write(DOCUMENT_XML_HEAD + b"<w:p w:rsidR='00A1><w:r/></w:p>"))


def entity_bomb_docx(path: Path) -> None:
    """A Word file whose document part declares "billion laughs" entities (each ten of the one before)."""
    entities = b'<!ENTITY a0 "lol">' + b"".join(
        b'<!ENTITY a%d "%s">' % (n, b"&a%d;" % (n - 1) * 10) for n in range(1, 10)
    )
    head = DOCUMENT_XML_HEAD.replace(b"<w:document", b"<!DOCTYPE w:document [" + entities + b"]><w:document", 1)
    _docx_with_document_part(
        path, lambda stream: stream.write(head + b"<w:p><w:r><w:t>&a9;</w:t></w:r></w:p></w:body></w:document>")
    )


def long_text_docx(path: Path) -> None:
    """A Word file whose one text node is 10.5 MB of varied words (over the XML parser's 10 MB limit on a
    single node; varied, so that it compresses like text, not like a bomb: about 3 MB)."""
    import random

    words = [b"port", b"bridge", b"mayor", b"council", b"harbor", b"ferry", b"budget", b"vote", b"tide", b"crane"]
    rng = random.Random(7)

    def write(stream) -> None:
        stream.write(DOCUMENT_XML_HEAD + b"<w:p><w:r><w:t>")
        for _ in range(21):
            stream.write(b" ".join(rng.choice(words) for _ in range(2**19 // 6)).ljust(2**19, b" "))
        stream.write(b"</w:t></w:r></w:p></w:body></w:document>")

    _docx_with_document_part(path, write)


HOSTILE_DOCX = {
    "bomb.docx": zip_bomb_docx,
    "lying-bomb.docx": lying_zip_bomb_docx,
    "bzip2-bomb.docx": bzip2_bomb_docx,
    "malformed.docx": malformed_docx,
    "laughs.docx": entity_bomb_docx,
    "long-text.docx": long_text_docx,
}
"""The Word files a hostile probe built, each of which must be skipped by name (never parsed whole)."""


def make_documents(folder: Path) -> Path:
    """Write every fixture document into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    report_pdf(folder / "report.pdf")
    report_pdf(folder / "encrypted.pdf", encrypt="s3cret")
    scanned_pdf(folder / "scanned.pdf")
    data = (folder / "report.pdf").read_bytes()
    (folder / "truncated.pdf").write_bytes(data[: len(data) // 3])
    memo_docx(folder / "memo.docx")
    (folder / "not-a-zip.docx").write_text("This is plain text under a Word file's name.\n")
    return folder


if __name__ == "__main__":
    print(make_documents(Path(sys.argv[1])))
