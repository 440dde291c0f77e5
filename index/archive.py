"""Bounds on what a compressed input (a ``.docx`` is a zip package) may inflate to, checked before it is parsed.

A few megabytes of zip can inflate to gigabytes ("zip bombs"): a Word file whose ``word/document.xml``
inflates to 1 GB drove a build past 12 GB of memory. :func:`check_zip` reads the package's directory
(nothing is inflated but ``[Content_Types].xml``, at most 1 MB) and refuses, by name, a package whose parts
together would inflate to more than :data:`MAX_RATIO` times the file (or :data:`MAX_TOTAL_BYTES`), or whose
parsed XML parts would exceed :data:`MAX_XML_PART_BYTES` each or :data:`MAX_XML_BYTES` together.

A directory can lie (declare 2 KB for a part that inflates to a gigabyte), and ``zipfile``'s whole-part
``read()`` inflates everything the part's compressed bytes hold before it cuts at the declared size. So
:func:`bounded_copy` inflates each part a megabyte at a time, never past its declared size (a part that
holds more fails its CRC check there), and gives the parser an uncompressed copy of the package to read.

Example::

    document = docx.Document(bounded_copy(Path("memo.docx"), "memo.docx"))  # BadArticle for a bomb
"""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from pathlib import Path

from index.errors import BadArticle

MAX_RATIO = 50
"""A package's parts may inflate to at most this many times the file's own size, all together."""
MIN_ALLOWED_BYTES = 4 * 2**20
"""Below this total the ratio is not applied (a tiny, highly compressible document is not a bomb)."""
MAX_TOTAL_BYTES = 128 * 2**20
"""A package's parts may never inflate to more than this, whatever its size (pictures included)."""
MAX_XML_PART_BYTES = 16 * 2**20
"""The largest XML part parsed (the text of a 500-page report is about 5 MB of ``document.xml``)."""
MAX_XML_BYTES = 32 * 2**20
"""The most XML parsed from one package, all parts together (parsing costs several times the text's size)."""
MAX_CONTENT_TYPES_BYTES = 2**20
"""The largest ``[Content_Types].xml`` read (it names which parts are XML; a real one is a few KB)."""
COMPRESSIONS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
"""The only ways a part may be compressed (all Word writes). ``zipfile`` inflates bzip2 and LZMA parts whole,
however small the read asked for, so a few KB of either could still fill the memory."""
MAX_PARTS = 10_000
"""The most entries a package's directory may list."""
READ_BYTES = 2**20
"""Parts are inflated this many bytes at a time (``zipfile`` then inflates no more than this at once)."""


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MB" if size >= 2**20 else f"{max(size, 1024) / 1024:,.0f} KB"


def check_zip(package: zipfile.ZipFile, size: int, display: str) -> None:
    """Refuse an open zip package (of ``size`` bytes) that would inflate beyond the bounds above, naming the file.

    Which parts are XML (and parsed) is read from the package's ``[Content_Types].xml``, as the parser decides
    it, not from the parts' names: a part named ``.bin`` but typed as XML is parsed, and counted as XML.

    Raises:
        BadArticle: it would inflate too far, or its ``[Content_Types].xml`` is too large or not XML.
    """
    entries = package.infolist()
    content_types = _content_types(package, display)
    if len(entries) > MAX_PARTS:
        raise BadArticle(display, f"lists {len(entries):,} parts (at most {MAX_PARTS:,} are read); skipped")
    odd = next((e for e in entries if e.compress_type not in COMPRESSIONS or e.flag_bits & 0x1), None)
    if odd is not None:
        how = "encrypted" if odd.flag_bits & 0x1 else f"compressed with method {odd.compress_type}"
        raise BadArticle(display, f"its part {odd.filename} is {how} (Word files are only stored or deflated); skipped")
    names = [entry.filename for entry in entries]
    if len(set(names)) != len(names):
        raise BadArticle(display, "lists the same part twice; skipped")
    size = max(size, 1)
    total = sum(entry.file_size for entry in entries)
    allowed = min(MAX_TOTAL_BYTES, max(MIN_ALLOWED_BYTES, MAX_RATIO * size))
    if total > allowed:
        raise BadArticle(
            display,
            f"would inflate to {_megabytes(total)} from {_megabytes(size)} (at most {_megabytes(allowed)} is read: "
            f"{MAX_RATIO}x the file, never over {_megabytes(MAX_TOTAL_BYTES)}); skipped as a possible zip bomb",
        )
    xml = [entry for entry in entries if _parsed_as_xml(entry.filename, content_types)]
    largest = max(xml, key=lambda entry: entry.file_size, default=None)
    if largest is not None and largest.file_size > MAX_XML_PART_BYTES:
        raise BadArticle(
            display,
            f"its part {largest.filename} would inflate to {_megabytes(largest.file_size)} of XML "
            f"(at most {_megabytes(MAX_XML_PART_BYTES)} a part is parsed); skipped",
        )
    xml_total = sum(entry.file_size for entry in xml)
    if xml_total > MAX_XML_BYTES:
        raise BadArticle(
            display,
            f"would inflate to {_megabytes(xml_total)} of XML (at most {_megabytes(MAX_XML_BYTES)} is parsed); skipped",
        )


def bounded_copy(path: Path, display: str) -> io.BytesIO:
    """The package, checked by :func:`check_zip`, as an uncompressed zip in memory, each part inflated in
    bounded steps up to its declared size (and its CRC checked). The file is opened once, for both.

    Raises:
        BadArticle: the file is not a zip package, would inflate too far, or a part is damaged or not what its
            directory says.
    """
    copy = io.BytesIO()
    with open(path, "rb") as file:
        try:
            package = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise BadArticle(display, "is not a Word document (not a zip package)") from None
        try:
            with package, zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as out:
                check_zip(package, os.fstat(file.fileno()).st_size, display)
                for entry in package.infolist():
                    if entry.is_dir():
                        continue
                    with package.open(entry) as part, out.open(entry.filename, "w", force_zip64=True) as kept:
                        while chunk := part.read(READ_BYTES):
                            kept.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as error:
            raise BadArticle(display, f"has a damaged part ({error}); skipped") from None
    copy.seek(0)
    return copy


def _content_types(package: zipfile.ZipFile, display: str) -> tuple[dict[str, str], dict[str, str]]:
    """``(by extension, by part name)``: the content types ``[Content_Types].xml`` declares (lower case)."""
    from lxml import etree

    try:
        entry = package.getinfo("[Content_Types].xml")
    except KeyError:
        return {}, {}
    if entry.file_size > MAX_CONTENT_TYPES_BYTES or entry.compress_type not in COMPRESSIONS:
        raise BadArticle(display, "has a [Content_Types].xml too large to be a Word file's; skipped")
    with package.open(entry) as part:
        data = part.read(MAX_CONTENT_TYPES_BYTES + 1)
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.LxmlError as error:
        raise BadArticle(display, f"has XML that cannot be parsed ([Content_Types].xml: {error}); skipped") from None
    defaults, overrides = {}, {}
    for element in root:
        tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
        kind = (element.get("ContentType") or "").lower()
        if tag == "Default":
            defaults[(element.get("Extension") or "").lower()] = kind
        elif tag == "Override":
            overrides[(element.get("PartName") or "").lstrip("/").lower()] = kind
    return defaults, overrides


def _parsed_as_xml(name: str, content_types: tuple[dict[str, str], dict[str, str]]) -> bool:
    """Whether the parser reads a part as XML: its declared content type is XML, or it is named so."""
    defaults, overrides = content_types
    lowered = name.lower()
    kind = overrides.get(lowered) or defaults.get(lowered.rsplit(".", 1)[-1] if "." in lowered else "", "")
    return kind.endswith(("xml", "+xml")) or lowered.endswith((".xml", ".rels"))
