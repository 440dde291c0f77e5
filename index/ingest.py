"""Read articles from files and folders.

Supported: ``.txt`` and ``.md`` (the text as a person sees it), ``.html``/``.htm``
(visible text), ``.json`` (an object or a list of objects) and ``.jsonl`` (one
object per line). Bad files are reported with their path (and line) and
skipped, or, with ``strict=True``, raised.

Reading streams: a text file longer than :data:`PART_CHARS` becomes consecutive
parts (cut at paragraph, line or word boundaries), each one article, and JSONL
is read line by line, so memory does not grow with the file. HTML and JSON must
be parsed whole and are refused above :data:`MAX_PARSED_BYTES`.

Example::

    report = read_articles(["seeds/"])
    for article in report.articles:
        print(article.id, article.title)
"""

from __future__ import annotations

import codecs
import hashlib
import itertools
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import BadArticle

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES

TEXT_FIELDS = ("text", "body", "content")
DATE_FIELDS = ("date", "published")
MAX_TITLE_CHARS = 200
_SNIFF_BYTES = 8192
_BLOCK_BYTES = 1 << 20
PART_CHARS = 250_000
"""A text file longer than this (in characters) is indexed as consecutive parts of at most this size."""
MAX_PARSED_BYTES = 64 << 20
"""HTML and JSON files are parsed whole; larger ones are refused (JSONL and text files stream)."""

# Elements whose text is not part of the article a reader sees.
_HTML_DROP = ["script", "style", "noscript", "template", "nav", "aside", "footer", "form", "iframe", "svg"]
_HTML_DROP_SET = frozenset(_HTML_DROP)
_HTML_BLOCKS = [
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "br", "hr",
    "figure", "figcaption", "td", "th",
]  # fmt: skip
_HTML_BLOCK_SET = frozenset(_HTML_BLOCKS)


@dataclass(frozen=True)
class Article:
    """One article, ready to be chunked and indexed.

    Attributes:
        id: stable id: the record's own ``id``, else derived from its path and content.
        title: the title (``<title>``, first line, or the record's ``title``).
        text: the article text; every offset in the index points into it.
        source: where it was read from, as the user named it (``path`` or ``path:line``).
        origin: a key for "the same article, maybe changed": resolved path plus record.
        content_hash: SHA-1 of ``text``.
        url: the record's URL, if any.
        date: the record's date, if any.
    """

    id: str
    title: str
    text: str
    source: str
    origin: str
    content_hash: str
    url: str | None = None
    date: str | None = None


@dataclass
class IngestReport:
    """What :func:`read_articles` found: articles to index, and problems skipped."""

    articles: list[Article] = field(default_factory=list)
    problems: list[BadArticle] = field(default_factory=list)
    duplicates: int = 0


def content_hash(text: str) -> str:
    """SHA-1 hex digest of the UTF-8 text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


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


def iter_text(path: Path, display: object, part_chars: int | None = PART_CHARS) -> Iterator[str]:
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


def _lines(parts: Iterable[str]) -> Iterator[str]:
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


class _VisibleText:
    """An lxml parser target that keeps the visible text of a page, in one pass, with no tree.

    No tree means no limit on nesting and time linear in the page: a page of 100,000 nested
    ``<div>`` elements reads in a fraction of a second.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.title: list[str] = []
        self.heading: list[str] | None = None
        self._hidden = 0  # depth inside elements whose text is not shown
        self._in_title = False
        self._in_h1 = False

    def start(self, tag: str, attrib) -> None:
        tag = tag.lower()
        if self._hidden or tag in _HTML_DROP_SET or tag == "head" or attrib.get("role") == "navigation":
            self._hidden += 1
        if tag == "title":
            self._in_title = True
        elif tag == "h1" and self.heading is None:
            self.heading, self._in_h1 = [], True
        if tag in _HTML_BLOCK_SET:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        tag = tag.lower()
        if self._hidden:
            self._hidden -= 1
        if tag == "title":
            self._in_title = False
        elif tag == "h1":
            self._in_h1 = False
        if tag in _HTML_BLOCK_SET:
            self.parts.append("\n")

    def data(self, text: str) -> None:
        if self._in_title:
            self.title.append(text)
        if self._in_h1:
            self.heading.append(text)
        if not self._hidden:
            self.parts.append(text)

    def close(self) -> None:
        return None


def html_to_text(markup: str) -> tuple[str, str]:
    """The visible text of an HTML page, one block per paragraph, and its title.

    Scripts, styles, navigation, asides, footers and forms are dropped. Parsed by lxml's
    HTML parser, which reads broken markup as browsers do.
    """
    from lxml import etree

    target = _VisibleText()
    parser = etree.HTMLParser(target=target, recover=True)
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(target.parts).split("\n"))
    text = "\n\n".join(line for line in lines if line)
    title = " ".join("".join(target.title).split()) or " ".join("".join(target.heading or []).split())
    return text, (title or first_line_title(text))[:MAX_TITLE_CHARS]


class ArticleStream:
    """The articles under files and folders, read lazily, one file at a time.

    Iterate it once for the articles (each content only once); :attr:`problems`
    and :attr:`duplicates` fill as it goes. Memory holds one file (one part of a
    long text file), plus the id and hash of every article seen.

    Args:
        paths: files and folders; folders are walked recursively. Paths named here are read as
            given; links found inside a folder are read only if their target is inside it too,
            unless ``follow_links``.
        strict: raise the first problem instead of skipping the bad item.
        follow_links: also read links in a folder that point outside it.

    Raises:
        BadArticle: while iterating, with ``strict=True``, for the first bad file or record.
    """

    def __init__(self, paths: Iterable[str | os.PathLike], strict: bool = False, follow_links: bool = False) -> None:
        self.paths = list(paths)
        self.strict = strict
        self.follow_links = follow_links
        self.problems: list[BadArticle] = []
        self.duplicates = 0
        self._sources_by_id: dict[str, tuple[str, str]] = {}
        self._hashes: set[str] = set()

    def __iter__(self) -> Iterator[Article]:
        for given in self.paths:
            root = Path(given)
            if root.is_dir():
                for file in iter_files(root, on_error=self.problem, follow_links=self.follow_links):
                    key = _text(file.relative_to(root).as_posix())
                    yield from self._unique(self._read_file(file, _display(file), key))
            elif root.exists():
                yield from self._unique(self._read_file(root, _display(root), _text(root.name)))
            else:
                self.problem(BadArticle(str(given), "does not exist"))

    def problem(self, error: BadArticle) -> None:
        """Raise (strict) or record a bad item."""
        if self.strict:
            raise error
        self.problems.append(error)

    def _unique(self, articles: Iterable[Article]) -> Iterator[Article]:
        for article in articles:
            seen = self._sources_by_id.get(article.id)
            if seen is not None and seen[0] != article.content_hash:
                self.problem(
                    BadArticle(
                        article.source,
                        f"duplicate id '{article.id}' with different content (first seen in {seen[1]}); skipped",
                    )
                )
            elif seen is not None or article.content_hash in self._hashes:
                self.duplicates += 1
            else:
                self._sources_by_id[article.id] = (article.content_hash, article.source)
                self._hashes.add(article.content_hash)
                yield article

    def _read_file(self, path: Path, display: str, key: str) -> Iterator[Article]:
        suffix = path.suffix.lower()
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise BadArticle(display, "is not a regular file (a device, pipe or socket); skipped")
            if suffix in (HTML_SUFFIXES | {".json"}) and info.st_size > MAX_PARSED_BYTES:
                raise BadArticle(
                    display,
                    f"is {info.st_size / 2**20:.0f} MB; HTML and JSON files over {MAX_PARSED_BYTES >> 20} MB "
                    "are not read (JSON Lines and text files of any size are)",
                )
            origin = _text(str(path.resolve()))
            if suffix in TEXT_SUFFIXES:
                yield from self._text_articles(iter_text(path, display, PART_CHARS), display, origin, key)
            elif suffix in HTML_SUFFIXES:
                text, title = html_to_text("".join(iter_text(path, display, None)))
                if not text.strip():
                    raise BadArticle(display, "has no visible text (only markup or scripts)")
                yield self._article(text, title, display, origin, key)
            elif suffix == ".json":
                yield from self._json_articles("".join(iter_text(path, display, None)), path, display, key)
            elif suffix == ".jsonl":
                yield from self._jsonl_articles(_lines(iter_text(path, display, PART_CHARS)), path, display, key)
            else:
                raise BadArticle(
                    display, f"unsupported file type '{suffix}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
        except BadArticle as error:
            self.problem(error)
        except OSError as exc:
            self.problem(BadArticle(display, f"cannot be read ({exc.strerror or exc})"))

    def _text_articles(self, parts: Iterator[str], display: str, origin: str, key: str) -> Iterator[Article]:
        """One article for a short file; one per part for a long one, each titled and sourced by its part."""
        first = next(parts, "")
        second = next(parts, None)
        title = first_line_title(first)
        if second is None:
            yield self._article(first, title, display, origin, key)
            return
        offset = 0
        for number, part in enumerate(itertools.chain([first, second], parts), start=1):
            if part.strip():
                yield self._article(
                    part,
                    f"{title} (part {number})"[:MAX_TITLE_CHARS],
                    f"{display}, part {number} (from character {offset:,})",
                    f"{origin}#part-{number}",
                    f"{key}#part-{number}",
                )
            offset += len(part)

    def _article(
        self,
        text: str,
        title: str,
        source: str,
        origin: str,
        key: str,
        *,
        given_id: str | None = None,
        url: str | None = None,
        date: str | None = None,
        line: int | None = None,
    ) -> Article:
        if not text.strip():
            raise BadArticle(source, "is empty (no text to index)", line)
        digest = content_hash(text)
        article_id = given_id or hashlib.sha1(f"{key}\n{digest}".encode()).hexdigest()[:16]
        source = f"{source}:{line}" if line is not None else source
        return Article(article_id, title, text, source, origin, digest, url, date)

    def _json_articles(self, text: str, path: Path, display: str, key: str) -> Iterator[Article]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadArticle(display, f"is not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from exc
        except RecursionError as exc:
            raise BadArticle(display, "is JSON nested too deeply to read") from exc
        records = data if isinstance(data, list) else [data]
        for number, record in enumerate(records, start=1):
            # For a single object the "line" is meaningless; for a list it is the item number.
            yield from self._record(record, path, display, key, number if isinstance(data, list) else None, "item")

    def _jsonl_articles(self, lines: Iterable[str], path: Path, display: str, key: str) -> Iterator[Article]:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem(BadArticle(display, f"is not valid JSON ({exc.msg} at column {exc.colno})", number))
                continue
            except RecursionError:
                self.problem(BadArticle(display, "is JSON nested too deeply to read", number))
                continue
            yield from self._record(record, path, display, key, number, "line")

    def _record(
        self, record: object, path: Path, display: str, key: str, number: int | None, unit: str
    ) -> Iterator[Article]:
        try:
            if not isinstance(record, dict):
                raise BadArticle(display, f"expected a JSON object, found {type(record).__name__}", number)
            body = next((record[f] for f in TEXT_FIELDS if isinstance(record.get(f), str)), None)
            if body is None:
                raise BadArticle(display, "has no text field ('text', 'body' or 'content')", number)
            body = normalize_newlines(body)
            given_id = record.get("id")
            given_id = str(given_id) if given_id not in (None, "") else None
            title = record.get("title")
            title = str(title)[:MAX_TITLE_CHARS] if title else first_line_title(body)
            date = next((str(record[f]) for f in DATE_FIELDS if record.get(f)), None)
            url = str(record["url"]) if record.get("url") else None
            where = f"{unit} {number}" if number is not None else "record"
            origin = f"{_text(str(path.resolve()))}#{given_id or where}"
            yield self._article(
                body, title, display, origin, f"{key}#{where}", given_id=given_id, url=url, date=date, line=number
            )
        except BadArticle as error:
            self.problem(error)


def _text(name: str) -> str:
    """A file name as text that can be printed and stored: bytes that are not UTF-8 become U+FFFD."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _display(path: Path) -> str:
    """The path as the user would recognize it: relative to the working directory when inside it."""
    try:
        return _text(os.path.relpath(path))
    except ValueError:
        return _text(str(path))


def _inside(path: str, folder: str) -> bool:
    """Whether the real path ``path`` is ``folder`` or lies under it (both already resolved)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def iter_files(
    root: Path, on_error: Callable[[BadArticle], None] | None = None, follow_links: bool = False
) -> Iterator[Path]:
    """Supported files under ``root``, recursively, in a stable order.

    Hidden files and folders are skipped. A symlink (to a file or a folder) whose target
    lies outside ``root`` is skipped and passed to ``on_error``, unless ``follow_links``:
    naming a folder must not index what a link in it points to elsewhere (``/etc/passwd``).
    Links that stay inside are followed once (a symlink loop does not hang the walk). A
    folder that cannot be listed is passed to ``on_error`` as a :class:`BadArticle`.
    """

    def report(error: BadArticle) -> None:
        if on_error is not None:
            on_error(error)

    def unreadable(error: OSError) -> None:
        report(BadArticle(_display(Path(error.filename or root)), f"cannot be read ({error.strerror or error})"))

    def outside(dirpath: str, name: str) -> bool:
        path = os.path.join(dirpath, name)
        if follow_links or not os.path.islink(path) or _inside(os.path.realpath(path), top):
            return False
        report(
            BadArticle(
                _display(Path(path)),
                "is a link to outside the folder being indexed; skipped (--follow-links to read it)",
            )
        )
        return True

    top = os.path.realpath(root)
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=unreadable):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames.clear()
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not outside(dirpath, d))
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if not outside(dirpath, name):
                yield Path(dirpath) / name


def read_articles(paths: Iterable[str | os.PathLike], strict: bool = False, follow_links: bool = False) -> IngestReport:
    """Read every supported article under the given files and folders, all at once.

    Builds stream with :class:`ArticleStream` instead; this is for small inputs and tests.

    Args:
        paths: files and folders; folders are walked recursively.
        strict: raise the first problem instead of skipping the bad item.
        follow_links: also read links in a folder that point outside it.

    Returns:
        The articles (the same content only once) and the problems skipped.

    Raises:
        BadArticle: with ``strict=True``, for the first bad file or record.
    """
    stream = ArticleStream(paths, strict, follow_links)
    articles = list(stream)
    return IngestReport(articles, stream.problems, stream.duplicates)
