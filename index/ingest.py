"""Read articles from files and folders.

Supported: ``.txt`` and ``.md`` (the text as a person sees it; Markdown front matter as
metadata), ``.html``/``.htm`` (the article's main text and metadata, see ``index.html``),
``.json`` (an object or a list of objects) and ``.jsonl`` (one object per line). Lines that
are not article content (repeated titles, share bars, footers) are kept in the text but
excluded from indexing (``index.boilerplate``). Bad files are reported with their path (and line) and
skipped, or, with ``strict=True``, raised.

Reading streams: a text file longer than ``Config.part_chars`` becomes consecutive
parts (cut at paragraph, line or word boundaries), each one article, and JSONL
is read line by line, so memory does not grow with the file. HTML and JSON must
be parsed whole and are refused above :data:`MAX_PARSED_BYTES`.

Example::

    report = read_articles(["seeds/"])
    for article in report.articles:
        print(article.id, article.title)
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from index.boilerplate import excluded_ranges, front_matter, included_ranges
from index.config import Config
from index.errors import BadArticle
from index.html import read_page
from index.pdf import NO_TEXT_LAYER, read_pdf
from index.textfile import MAX_TITLE_CHARS, first_line_title, iter_lines, iter_text, normalize_newlines
from index.word import read_docx

TEXT_SUFFIXES = {".txt", ".md"}
HTML_SUFFIXES = {".html", ".htm"}
JSON_SUFFIXES = {".json", ".jsonl"}
DOCUMENT_SUFFIXES = {".pdf", ".docx"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES | DOCUMENT_SUFFIXES

TEXT_FIELDS = ("text", "body", "content")
DATE_FIELDS = ("date", "published")
AUTHOR_FIELDS = ("author", "byline")
WHOLE_PAGE_NOTE = "no article found in the page; indexed all its visible text"
MAX_PARSED_BYTES = 64 << 20
"""HTML and JSON files are parsed whole; larger ones are refused (JSONL and text files stream)."""


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
        url: the article's URL, if known (a record's ``url``, front matter, a page's canonical URL).
        date: the publication date, if known (ISO ``YYYY-MM-DD`` when it could be read as a date).
        author: the byline, if known.
        site: the site's name, if known (from a page's metadata).
        excluded: ``[start, end)`` ranges of ``text`` that are not article content (front matter,
            repeated titles, share bars, footers; see ``index.boilerplate``): stored, never indexed.
        notes: what a user should know about how it was read (e.g. a page read as full visible text).
        pages: where each page starts in ``text`` (a PDF's pages; empty for formats without pages).
    """

    id: str
    title: str
    text: str
    source: str
    origin: str
    content_hash: str
    url: str | None = None
    date: str | None = None
    author: str | None = None
    site: str | None = None
    excluded: tuple[tuple[int, int], ...] = ()
    notes: tuple[str, ...] = ()
    pages: tuple[int, ...] = ()

    @property
    def excluded_chars(self) -> int:
        """How many characters of the text are not indexed."""
        return sum(end - start for start, end in self.excluded)


@dataclass
class IngestReport:
    """What :func:`read_articles` found: articles to index, and problems skipped."""

    articles: list[Article] = field(default_factory=list)
    problems: list[BadArticle] = field(default_factory=list)
    duplicates: int = 0


def content_hash(text: str) -> str:
    """SHA-1 hex digest of the UTF-8 text."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


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
        part_chars: a text or JSON Lines file is read in parts of this many characters (a text file's
            parts are articles of their own; see ``Config.part_chars``).

    Raises:
        BadArticle: while iterating, with ``strict=True``, for the first bad file or record.
    """

    def __init__(
        self,
        paths: Iterable[str | os.PathLike],
        strict: bool = False,
        follow_links: bool = False,
        part_chars: int = Config.part_chars,
    ) -> None:
        self.paths = list(paths)
        self.strict = strict
        self.follow_links = follow_links
        self.part_chars = part_chars
        self.problems: list[BadArticle] = []
        self.duplicates = 0
        self._sources_by_id: dict[str, tuple[str, str]] = {}
        self._hashes: set[str] = set()
        self.on_page: Callable[[], None] | None = None
        """Called after each page of a PDF is read (a build's progress bar moves page by page)."""

    def __iter__(self) -> Iterator[Article]:
        for path, display, key in self.files():
            yield from self.unique(self.read_file(path, display, key))

    def files(self) -> Iterator[tuple[Path, str, str]]:
        """Each file to read, as ``(path, name shown in messages, key its article ids derive from)``;
        paths that do not exist and links that are skipped are recorded as problems."""
        for given in self.paths:
            root = Path(given)
            if root.is_dir():
                for file in iter_files(root, on_error=self.problem, follow_links=self.follow_links):
                    yield file, _display(file), _text(file.relative_to(root).as_posix())
            elif root.exists():
                yield root, _display(root), _text(root.name)
            else:
                self.problem(BadArticle(str(given), "does not exist"))

    def problem(self, error: BadArticle) -> None:
        """Raise (strict) or record a bad item."""
        if self.strict:
            raise error
        self.problems.append(error)

    def unique(self, articles: Iterable[Article]) -> Iterator[Article]:
        """The articles not seen before in this stream (the same content only once; an id reused for
        other content is a problem)."""
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

    def read_file(self, path: Path, display: str, key: str) -> Iterator[Article]:
        """The articles of one file (see :meth:`files`); a bad file or record is recorded as a problem."""
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
                parts = iter_text(path, display, self.part_chars)
                yield from self._text_articles(parts, display, origin, key, markdown=suffix == ".md")
            elif suffix in HTML_SUFFIXES:
                page = read_page("".join(iter_text(path, display, None)))
                if not page.text.strip():
                    raise BadArticle(display, "has no visible text (only markup or scripts)")
                notes = () if page.main_text else (WHOLE_PAGE_NOTE,)
                yield self._article(
                    page.text,
                    page.title,
                    display,
                    origin,
                    key,
                    url=page.url,
                    date=normalize_date(page.date),
                    author=page.author,
                    site=page.site,
                    notes=notes,
                )
            elif suffix == ".pdf":
                yield self._pdf_article(path, display, origin, key)
            elif suffix == ".docx":
                document = read_docx(path, display)
                title = document.title or first_line_title(document.text) or path.stem
                yield self._article(
                    document.text, title, display, origin, key, date=document.date, author=document.author
                )
            elif suffix == ".json":
                yield from self._json_articles("".join(iter_text(path, display, None)), path, display, key)
            elif suffix == ".jsonl":
                yield from self._jsonl_articles(
                    iter_lines(iter_text(path, display, self.part_chars)), path, display, key
                )
            else:
                raise BadArticle(
                    display, f"unsupported file type '{suffix}' (supported: {', '.join(sorted(SUPPORTED_SUFFIXES))})"
                )
        except BadArticle as error:
            self.problem(error)
        except OSError as exc:
            self.problem(BadArticle(display, f"cannot be read ({exc.strerror or exc})"))

    def _pdf_article(self, path: Path, display: str, origin: str, key: str) -> Article:
        """A PDF as one article, its pages kept (``Article.pages``) and its running headers and footers excluded."""
        document = read_pdf(path, display, self.on_page)
        notes = ()
        if document.empty_pages:
            listed = ", ".join(str(n) for n in document.empty_pages)
            notes = (f"page{'s' if len(document.empty_pages) > 1 else ''} {listed} {NO_TEXT_LAYER}",)
        title = document.title or first_line_title(document.text) or path.stem
        article = self._article(
            document.text,
            title,
            display,
            origin,
            key,
            date=document.date,
            author=document.author,
            excluded=list(document.excluded),
            notes=notes,
        )
        return dataclasses.replace(article, pages=document.pages)

    def _text_articles(
        self, parts: Iterator[str], display: str, origin: str, key: str, markdown: bool = False
    ) -> Iterator[Article]:
        """One article for a short file; one per part for a long one, each titled and sourced by its part.

        Markdown front matter gives metadata; boilerplate lines are excluded (``index.boilerplate``).
        """
        first = next(parts, "")
        second = next(parts, None)
        meta, body_start = front_matter(first) if markdown else ({}, 0)
        title = meta.get("title") or first_line_title(first[body_start:])
        fields = {"url": meta.get("url"), "date": normalize_date(meta.get("date")), "author": meta.get("author")}
        # The title rule applies at the top of the file only; a title from front matter is not the first line.
        first_excluded = excluded_ranges(first, title if "title" in meta else "", body_start)
        if second is None:
            yield self._article(first, title, display, origin, key, excluded=first_excluded, **fields)
            return
        offset = 0
        for number, part in enumerate(itertools.chain([first, second], parts), start=1):
            if part.strip():
                excluded = first_excluded if number == 1 else excluded_ranges(part, None)
                yield self._article(
                    part,
                    f"{title} (part {number})"[:MAX_TITLE_CHARS],
                    f"{display}, part {number} (from character {offset:,})",
                    f"{origin}#part-{number}",
                    f"{key}#part-{number}",
                    excluded=excluded,
                    **fields,
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
        author: str | None = None,
        site: str | None = None,
        excluded: list[tuple[int, int]] | None = None,
        notes: tuple[str, ...] = (),
    ) -> Article:
        if not text.strip():
            raise BadArticle(source, "is empty (no text to index)", line)
        excluded = tuple(excluded if excluded is not None else excluded_ranges(text, title))
        if all(not text[start:end].strip() for start, end in included_ranges(len(text), excluded)):
            raise BadArticle(source, "has no article text (only front matter or boilerplate lines)", line)
        digest = content_hash(text)
        article_id = given_id or hashlib.sha1(f"{key}\n{digest}".encode()).hexdigest()[:16]
        source = f"{source}:{line}" if line is not None else source
        return Article(article_id, title, text, source, origin, digest, url, date, author, site, excluded, notes)

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
            date = normalize_date(next((str(record[f]) for f in DATE_FIELDS if record.get(f)), None))
            url = str(record["url"]) if record.get("url") else None
            author = next((str(record[f]) for f in AUTHOR_FIELDS if record.get(f)), None)
            where = f"{unit} {number}" if number is not None else "record"
            origin = f"{_text(str(path.resolve()))}#{given_id or where}"
            yield self._article(
                body,
                title,
                display,
                origin,
                f"{key}#{where}",
                given_id=given_id,
                url=url,
                date=date,
                line=number,
                author=author,
                site=str(record["site"]) if record.get("site") else None,
            )
        except BadArticle as error:
            self.problem(error)


_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d", "%d/%m/%Y", "%B %d %Y", "%b. %d, %Y")


def normalize_date(value: str | None) -> str | None:
    """A publication date as ISO ``YYYY-MM-DD`` when it reads as one (ISO 8601 with or without a time,
    or a written date such as "May 14, 2024"); otherwise the value as given, stripped; ``None`` stays."""
    if value is None or not str(value).strip():
        return None
    value = str(value).strip()
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return value


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


def read_articles(
    paths: Iterable[str | os.PathLike],
    strict: bool = False,
    follow_links: bool = False,
    part_chars: int = Config.part_chars,
) -> IngestReport:
    """Read every supported article under the given files and folders, all at once.

    Builds stream with :class:`ArticleStream` instead; this is for small inputs and tests.

    Args:
        paths: files and folders; folders are walked recursively.
        strict: raise the first problem instead of skipping the bad item.
        follow_links: also read links in a folder that point outside it.
        part_chars: see :class:`ArticleStream`.

    Returns:
        The articles (the same content only once) and the problems skipped.

    Raises:
        BadArticle: with ``strict=True``, for the first bad file or record.
    """
    stream = ArticleStream(paths, strict, follow_links, part_chars)
    articles = list(stream)
    return IngestReport(articles, stream.problems, stream.duplicates)
