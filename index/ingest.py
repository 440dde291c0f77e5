"""Read articles from files and folders.

Supported: ``.txt`` and ``.md`` (the text as a person sees it), ``.html``/``.htm``
(visible text), ``.json`` (an object or a list of objects) and ``.jsonl`` (one
object per line). Bad files are reported with their path (and line) and
skipped, or, with ``strict=True``, raised.

Example::

    report = read_articles(["seeds/"])
    for article in report.articles:
        print(article.id, article.title)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from qa.errors import BadArticle

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES

TEXT_FIELDS = ("text", "body", "content")
DATE_FIELDS = ("date", "published")
MAX_TITLE_CHARS = 200
_SNIFF_BYTES = 8192

# Elements whose text is not part of the article a reader sees.
_HTML_DROP = ["script", "style", "noscript", "template", "nav", "aside", "footer", "form", "iframe", "svg"]
_HTML_BLOCKS = [
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "br", "hr",
    "figure", "figcaption", "td", "th",
]  # fmt: skip


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


def decode_text(data: bytes, path: object) -> str:
    """Decode file bytes as a person would see them.

    UTF-8 (BOM stripped) first, UTF-16 when it has a BOM, and Windows-1252 for
    legacy 8-bit text. Line ends become ``\\n``.

    Raises:
        BadArticle: the bytes look binary (NUL bytes or many control characters).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BadArticle(path, f"not valid UTF-16 text ({exc.reason})") from exc
    else:
        head = data[:_SNIFF_BYTES]
        if b"\x00" in head:
            raise BadArticle(path, "looks like a binary file, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = data.decode("cp1252", errors="replace")
        sample = text[:_SNIFF_BYTES]
        controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
        if sample and controls / len(sample) > 0.05:
            raise BadArticle(path, "looks like a binary file, not text")
    return normalize_newlines(text)


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


def html_to_text(markup: str) -> tuple[str, str]:
    """The visible text of an HTML page, one block per paragraph, and its title.

    Scripts, styles, navigation, asides, footers and forms are dropped.
    """
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(markup, "lxml")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if not title:
        h1 = soup.find("h1")
        title = h1.get_text(" ", strip=True) if h1 else ""
    for tag in soup(_HTML_DROP):
        tag.decompose()
    for tag in soup.find_all(attrs={"role": "navigation"}):
        tag.decompose()
    if soup.head is not None:
        soup.head.decompose()
    for tag in soup.find_all(_HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().split("\n"))
    text = "\n\n".join(line for line in lines if line)
    return text, (title or first_line_title(text))[:MAX_TITLE_CHARS]


class _Reader:
    """Turns one input file into articles, collecting or raising problems."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self.report = IngestReport()
        self._by_hash: dict[str, Article] = {}
        self._by_id: dict[str, Article] = {}

    def problem(self, error: BadArticle) -> None:
        if self.strict:
            raise error
        self.report.problems.append(error)

    def add(self, article: Article) -> None:
        seen = self._by_id.get(article.id)
        if seen is not None and seen.content_hash != article.content_hash:
            self.problem(
                BadArticle(
                    article.source,
                    f"duplicate id '{article.id}' with different content (first seen in {seen.source}); skipped",
                )
            )
            return
        if seen is not None or article.content_hash in self._by_hash:
            self.report.duplicates += 1
            return
        self._by_id[article.id] = article
        self._by_hash[article.content_hash] = article
        self.report.articles.append(article)

    def read_file(self, path: Path, display: str, key: str) -> None:
        suffix = path.suffix.lower()
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.problem(BadArticle(display, f"cannot be read ({exc.strerror or exc})"))
            return
        try:
            if suffix in TEXT_SUFFIXES:
                text = decode_text(data, display)
                self.add_text(text, first_line_title(text), display, str(path.resolve()), key)
            elif suffix in HTML_SUFFIXES:
                text, title = html_to_text(decode_text(data, display))
                self.add_text(text, title, display, str(path.resolve()), key)
            elif suffix == ".json":
                self.read_json(decode_text(data, display), path, display, key)
            elif suffix == ".jsonl":
                self.read_jsonl(decode_text(data, display), path, display, key)
            else:
                raise BadArticle(
                    display, f"unsupported file type '{suffix}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
        except BadArticle as error:
            self.problem(error)

    def add_text(
        self,
        text: str,
        title: str,
        display: str,
        origin: str,
        key: str,
        *,
        given_id: str | None = None,
        url: str | None = None,
        date: str | None = None,
        line: int | None = None,
    ) -> None:
        if not text.strip():
            raise BadArticle(display, "is empty (no text to index)", line)
        digest = content_hash(text)
        article_id = given_id or hashlib.sha1(f"{key}\n{digest}".encode()).hexdigest()[:16]
        source = f"{display}:{line}" if line is not None else display
        self.add(Article(article_id, title, text, source, origin, digest, url, date))

    def read_json(self, text: str, path: Path, display: str, key: str) -> None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadArticle(display, f"is not valid JSON ({exc.msg} at column {exc.colno})", exc.lineno) from exc
        records = data if isinstance(data, list) else [data]
        for number, record in enumerate(records, start=1):
            # For a single object the "line" is meaningless; for a list it is the item number.
            self.read_record(record, path, display, key, number if isinstance(data, list) else None, "item")

    def read_jsonl(self, text: str, path: Path, display: str, key: str) -> None:
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                self.problem(BadArticle(display, f"is not valid JSON ({exc.msg} at column {exc.colno})", number))
                continue
            self.read_record(record, path, display, key, number, "line")

    def read_record(self, record: object, path: Path, display: str, key: str, number: int | None, unit: str) -> None:
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
            origin = f"{path.resolve()}#{given_id or where}"
            self.add_text(
                body, title, display, origin, f"{key}#{where}", given_id=given_id, url=url, date=date, line=number
            )
        except BadArticle as error:
            self.problem(error)


def _display(path: Path) -> str:
    """The path as the user would recognize it: relative to the working directory when inside it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def iter_files(root: Path) -> Iterator[Path]:
    """Supported files under ``root``, recursively, in a stable order.

    Hidden files and folders are skipped; symlinked folders are followed once
    (a symlink loop does not hang the walk).
    """
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames.clear()
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                yield Path(dirpath) / name


def read_articles(paths: Iterable[str | os.PathLike], strict: bool = False) -> IngestReport:
    """Read every supported article under the given files and folders.

    Args:
        paths: files and folders; folders are walked recursively.
        strict: raise the first problem instead of skipping the bad item.

    Returns:
        The articles (the same content only once) and the problems skipped.

    Raises:
        BadArticle: with ``strict=True``, for the first bad file or record.
    """
    reader = _Reader(strict)
    for given in paths:
        root = Path(given)
        if root.is_dir():
            for file in iter_files(root):
                reader.read_file(file, _display(file), file.relative_to(root).as_posix())
        elif root.exists():
            reader.read_file(root, _display(root), root.name)
        else:
            reader.problem(BadArticle(str(given), "does not exist"))
    return reader.report
