"""Read an HTML page: its main text and metadata with trafilatura, or all its visible text.

A news page is mostly furniture: navigation, cookie notices, share bars, "related stories",
newsletter boxes, comments. :func:`read_page` keeps what trafilatura (the field's standard
main-text extractor) finds to be the article, with its title, author, date, site name and
canonical URL (htmldate looks harder for a date where trafilatura finds none). A page in which
trafilatura finds no main text (a listing, a page that is not an article) is read as all its
visible text instead (:func:`html_to_text`, one pass by lxml's parser with no tree, so any
nesting reads in linear time), and the :class:`Page` says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from index.textfile import MAX_TITLE_CHARS, first_line_title

MIN_ARTICLE_WORDS = 25
"""Main text shorter than this is not an article (a listing page's heading, a login box): the page is read whole."""
DATE_SEARCH = {"extensive_search": False, "original_date": True}
"""htmldate's settings: the publication date (not the last update), found in the markup's elements and
attributes only: in the running text a copyright year or a related story's date would pass for it."""
MAX_TREE_DEPTH = 200
"""Pages nested deeper than this are read by :func:`html_to_text` alone: a tree parser (libxml2's limit
is 256 levels) would lose what lies deeper."""

# Elements whose text is not part of the article a reader sees.
_HTML_DROP = ["script", "style", "noscript", "template", "nav", "aside", "footer", "form", "iframe", "svg"]
_HTML_DROP_SET = frozenset(_HTML_DROP)
_HTML_BLOCKS = [
    "p", "div", "section", "article", "main", "header", "li", "ul", "ol", "dl", "dt", "dd",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "tr", "br", "hr",
    "figure", "figcaption", "td", "th",
]  # fmt: skip
_HTML_BLOCK_SET = frozenset(_HTML_BLOCKS)


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


@dataclass(frozen=True)
class Page:
    """What was read from an HTML page: the article text (paragraphs separated by blank lines) and metadata.

    ``main_text`` is False when no article was found in the page and ``text`` is all its visible text.
    """

    text: str
    title: str
    author: str | None = None
    date: str | None = None
    site: str | None = None
    url: str | None = None
    main_text: bool = True


def read_page(markup: str) -> Page:
    """The main text and metadata of a page (see the module); all its visible text when it has no main text."""
    tree_safe = _depth_at_most(markup, MAX_TREE_DEPTH)
    document = _extract(markup) if tree_safe else None
    text = _paragraphs(document.text) if document is not None and document.text else ""
    main_text = len(text.split()) >= MIN_ARTICLE_WORDS
    if not main_text:
        text, visible_title = html_to_text(markup)
    meta = document or (_metadata(markup) if tree_safe else None)
    title = _clean(getattr(meta, "title", None)) or (first_line_title(text) if main_text else visible_title)
    date = getattr(meta, "date", None) or _find_date(markup)
    return Page(
        text=text,
        title=title[:MAX_TITLE_CHARS],
        author=_clean(getattr(meta, "author", None)),
        date=date,
        site=_clean(getattr(meta, "sitename", None)),
        url=_clean(getattr(meta, "url", None)),
        main_text=main_text,
    )


def _extract(markup: str):
    """trafilatura's document (main text and metadata), or ``None`` when it finds no main text."""
    import trafilatura

    _quiet()
    try:
        return trafilatura.bare_extraction(
            markup,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_precision=True,
            date_extraction_params=DATE_SEARCH,
        )
    except Exception:  # trafilatura's failures on odd markup are not a public class; the fallback reads it
        return None


def _metadata(markup: str):
    """trafilatura's metadata of a page it finds no article in (title, author, date, site, URL)."""
    from trafilatura.metadata import extract_metadata

    _quiet()
    try:
        return extract_metadata(markup, date_config=DATE_SEARCH)
    except Exception:  # as in _extract
        return None


def _find_date(markup: str) -> str | None:
    """The publication date htmldate finds (see :data:`DATE_SEARCH`), as ``YYYY-MM-DD``."""
    from htmldate import find_date

    try:
        return find_date(markup, **DATE_SEARCH, outputformat="%Y-%m-%d")
    except Exception:  # as in _extract
        return None


def _quiet() -> None:
    # trafilatura and htmldate log each page they find wanting at WARNING; the build reports that itself.
    for name in ("trafilatura", "htmldate"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _paragraphs(text: str) -> str:
    """trafilatura's lines as paragraphs separated by blank lines, whitespace collapsed."""
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n\n".join(line for line in lines if line)


def _clean(value: str | None) -> str | None:
    value = " ".join(str(value).split()) if value else ""
    return value or None


class _Depth:
    """An lxml parser target that measures how deep elements nest, with no tree."""

    def __init__(self) -> None:
        self.depth = self.deepest = 0

    def start(self, tag, attrib) -> None:
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)

    def end(self, tag) -> None:
        self.depth -= 1

    def data(self, text) -> None:
        return None

    def close(self) -> int:
        return self.deepest


def _depth_at_most(markup: str, limit: int) -> bool:
    """Whether the page's elements nest at most ``limit`` deep (counted by lxml's parser, no tree built)."""
    from lxml import etree

    parser = etree.HTMLParser(target=_Depth(), recover=True)
    parser.feed(markup)
    return parser.close() <= limit
