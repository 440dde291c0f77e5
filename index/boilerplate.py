"""Lines of a saved article that are not its content: repeated titles, share bars, footers, front matter.

Articles saved from web pages as text carry the page's furniture: the title repeated at the top,
"Share this" and "Advertisement" lines, and a footer of links ("Read More News On …", "Download
The … App", "End of Article", "Next Story"). Such lines stay in the stored text, so that every
offset is still the file's, but are excluded from indexing: they are never chunked, embedded,
searched or quoted. :func:`excluded_ranges` says which ``[start, end)`` ranges of a text they cover.

The rules, decided from saved pages (the seed article among them):

- **Repeated title**: a line at the top that repeats the first line (the title) word for word.
- **Furniture lines**: a short line (at most :data:`FURNITURE_MAX_WORDS` words) that is only a share,
  advertisement, subscription, "follow us", "download the app", "click here" or similar prompt.
- **Photo captions**: a line (not the first) of at most :data:`CAPTION_MAX_WORDS` words that ends with a photo
  credit: "(Photo by MANDEL NGAN / AFP)", "(Photo: Reuters)", "Photograph: Jane Doe/Reuters", "... Jane Doe / AFP"
  (the picture's caption, not the story; sharing a chunk with the lead paragraph it pushed the lead down the
  ranking). Prose that mentions a photo ("a photograph by Dorothea Lange.") is not a credit.
- **Footer**: from a footer marker ("Read more news on", "End of article", "Next story", "Related
  stories", "More from …", "Catch all the … news", …) in the last half of the text to the end, when
  every line from there on is short (no line of article prose after it).
- **Front matter**: a YAML block between ``---`` lines at the very top of a Markdown file (read as
  metadata, see :func:`front_matter`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.textfile import strip_span

FURNITURE_MAX_WORDS = 14
"""A furniture line (share bar, advertisement, app prompt) is at most this many words."""
CAPTION_MAX_WORDS = 60
"""A photo caption (a line ending with a photo credit) is at most this many words."""
FOOTER_MAX_WORDS = 30
"""Every line of a footer is at most this many words (a longer line is article prose)."""

_CAPTION = re.compile(
    r"(\((photo|photograph|picture|image|pic|file photo)\b[^()\n]*\)"
    r"|\b(photo|photograph|picture)[ \t]*(by|:)[ \t]*(?-i:[A-Z])[^\n.!?,;/]{0,40}/[ \t]*(?-i:[A-Z])[^\n.!?,;/]{0,30}"
    r"|[A-Za-z)][ \t]*/[ \t]*(?-i:AFP|Reuters|AP|Getty Images|EPA|PA)\b\)?)[^\w\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
_NON_BLANK = re.compile(r"\S")
# These patterns are matched against the whole text (MULTILINE), never across a line break, so that a
# long text costs a few regex scans rather than a Python loop over its lines.
_FURNITURE = re.compile(
    r"^[^\w\n]*(share (this|on|via)\b|share[^\w\n]*$|advertisement[^\w\n]*$|advertising[^\w\n]*$"
    r"|sponsored( content)?[^\w\n]*$|(sign up|subscribe)\b[^\n]*\b(newsletter|updates|alerts)\b"
    r"|subscribe( now| today)?[^\w\n]*$|follow us\b|download (the|our)\b[^\n]*\bapp\b|click here\b|tap here\b"
    r"|(also|must) read\b|read (more|next|also)[^\w\n]*$|(print|email) this (article|story|page)\b"
    r"|skip to (main )?content\b|(tweet|whatsapp|facebook|linkedin|twitter|email|print|copy link)"
    r"([^\w\n]+(tweet|whatsapp|facebook|linkedin|twitter|email|print|copy link))*[^\w\n]*$"
    r"|all rights reserved\b|copyright\b|©)",
    re.IGNORECASE | re.MULTILINE,
)
_FOOTER = re.compile(
    r"^[^\w\n]*(read more (news )?(on|about|from)\b|read more[^\w\n]*$|end of (the )?(article|story)\b"
    r"|next (story|article)\b|previous (story|article)\b|related (stories|articles|news|coverage|topics|links)\b"
    r"|more (stories|news|from|on this)\b|recommended( for you| stories)?[^\w\n]*$"
    r"|trending( now| stories)?[^\w\n]*$|catch all the\b[^\n]*\bnews\b|you may also like\b"
    r"|(comments|leave a comment|join the conversation)[^\w\n]*$|popular (stories|now)\b|most (read|popular)\b"
    r"|tags?:)",
    re.IGNORECASE | re.MULTILINE,
)
_LINE = re.compile(r"[^\n]+")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?\n)?---[ \t]*(?:\n|\Z)", re.DOTALL)
FRONT_MATTER_FIELDS = ("title", "date", "url", "author")


def _words(line: str) -> int:
    return len(line.split())


def excluded_ranges(text: str, title: str | None = "", skip_to: int = 0) -> list[tuple[int, int]]:
    """The ``[start, end)`` ranges of ``text`` that are not article content (see the module), in order.

    ``title`` is the article's title ("": its first line); its repeats at the top are excluded, the first
    line itself kept (``None``: no title rule, for the later parts of a long file). ``skip_to``: everything
    before this offset is excluded too (front matter).
    """
    excluded = [(0, skip_to)] if skip_to > 0 else []
    if title is not None:
        excluded += _repeated_title(text, title, skip_to)
    footer_from = len(text)
    for match in _FOOTER.finditer(text, max(skip_to, len(text) // 2)):
        if _short_lines_from(text, match.start(), FOOTER_MAX_WORDS):
            footer_from = match.start()
            excluded.append((footer_from, len(text)))
            break
    for match in _FURNITURE.finditer(text, skip_to, footer_from):
        end = _line_end(text, match.start())
        if _words(text[match.start() : end]) <= FURNITURE_MAX_WORDS:
            excluded.append(strip_span(text, match.start(), end))
    first = _NON_BLANK.search(text, skip_to)
    first_line = _line_end(text, first.start()) if first else len(text)
    for match in _CAPTION.finditer(text, first_line, footer_from):  # the first line (the title) is kept
        start = max(text.rfind("\n", skip_to, match.start()) + 1, first_line)
        if _words(text[start : match.end()]) <= CAPTION_MAX_WORDS:
            excluded.append(strip_span(text, start, match.end()))
    return _merged(excluded)


def _repeated_title(text: str, title: str, skip_to: int) -> list[tuple[int, int]]:
    """The lines at the top (after ``skip_to``) that repeat the title; the first line itself is kept."""
    found, first, seen_first = [], None, False
    for match in _LINE.finditer(text, skip_to):
        line = match.group().strip()
        if not line:
            continue
        if first is None:
            first = title.strip() or line
            seen_first = line != first  # the first line is the title itself unless a title was given apart
        if line != first:
            break
        if seen_first:
            found.append(strip_span(text, match.start(), match.end()))
        seen_first = True
    return found


def _short_lines_from(text: str, start: int, max_words: int) -> bool:
    """Whether every line from ``start`` to the end of ``text`` has at most ``max_words`` words."""
    return all(_words(line) <= max_words for line in text[start:].split("\n"))


def _line_end(text: str, start: int) -> int:
    end = text.find("\n", start)
    return len(text) if end < 0 else end


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif end > start:
            merged.append((start, end))
    return merged


def included_ranges(length: int, excluded: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The complement of ``excluded`` in ``[0, length)``: the ranges that are indexed."""
    included, at = [], 0
    for start, end in excluded:
        if start > at:
            included.append((at, start))
        at = max(at, end)
    if at < length:
        included.append((at, length))
    return included


def front_matter(text: str) -> tuple[dict[str, str], int]:
    """The metadata of a YAML front-matter block at the top of ``text`` (``title``, ``date``, ``url``,
    ``author``, as strings) and the offset where the block ends (0 when there is none).

    A block that is not valid YAML, or not a mapping, is not front matter: ``({}, 0)``.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, 0
    import yaml

    try:
        data = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError:
        return {}, 0
    if not isinstance(data, dict):
        return {}, 0
    found = {}
    for name in FRONT_MATTER_FIELDS:
        value = data.get(name)
        if isinstance(value, list):  # authors: [a, b]
            value = ", ".join(str(v) for v in value)
        if value not in (None, ""):
            found[name] = str(value).strip()
    return found, match.end()
