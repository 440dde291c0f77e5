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
- **Footer**: from a footer marker ("Read more news on", "End of article", "Next story", "Related
  stories", "More from …", "Catch all the … news", …) in the last half of the text to the end, when
  every line from there on is short (no line of article prose after it).
- **Front matter**: a YAML block between ``---`` lines at the very top of a Markdown file (read as
  metadata, see :func:`front_matter`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

FURNITURE_MAX_WORDS = 14
"""A furniture line (share bar, advertisement, app prompt) is at most this many words."""
FOOTER_MAX_WORDS = 30
"""Every line of a footer is at most this many words (a longer line is article prose)."""

_FURNITURE = re.compile(
    r"^\W*(share (this|on|via)\b|share\W*$|advertisement\W*$|advertising\W*$|sponsored( content)?\W*$"
    r"|(sign up|subscribe)\b.*\b(newsletter|updates|alerts)\b|subscribe( now| today)?\W*$"
    r"|follow us\b|download (the|our)\b.*\bapp\b|click here\b|tap here\b|(also|must) read\b"
    r"|read (more|next|also)\W*$|(print|email) this (article|story|page)\b|skip to (main )?content\b"
    r"|(tweet|whatsapp|facebook|linkedin|twitter|email|print|copy link)(\W+(tweet|whatsapp|facebook|linkedin"
    r"|twitter|email|print|copy link))*\W*$|all rights reserved\b|copyright\b|©)",
    re.IGNORECASE,
)
_FOOTER = re.compile(
    r"^\W*(read more (news )?(on|about|from)\b|read more\W*$|end of (the )?(article|story)\b|next (story|article)\b"
    r"|previous (story|article)\b|related (stories|articles|news|coverage|topics|links)\b"
    r"|more (stories|news|from|on this)\b|recommended( for you| stories)?\W*$|trending( now| stories)?\W*$"
    r"|catch all the\b.*\bnews\b|you may also like\b|(comments|leave a comment|join the conversation)\W*$"
    r"|popular (stories|now)\b|most (read|popular)\b|tags?:)",
    re.IGNORECASE,
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
    lines = [(m.start(), m.end(), m.group().strip()) for m in _LINE.finditer(text) if m.group().strip()]
    lines = [(start, end, line) for start, end, line in lines if start >= skip_to]
    excluded = [(0, skip_to)] if skip_to > 0 else []
    if not lines:
        return excluded
    first = lines[0][2] if not title else title.strip()
    seen_first = lines[0][2] != first  # the first line is the title itself unless a title was given apart
    top = title is not None
    footer_from = None  # where the footer starts, if there is one
    half = len(text) // 2
    for i, (start, end, line) in enumerate(lines):
        if top and line == first:
            if seen_first:
                excluded.append((start, end))
            seen_first = True
            continue
        top = False
        footer = start >= half and _FOOTER.match(line)
        if footer and all(_words(rest) <= FOOTER_MAX_WORDS for _, _, rest in lines[i:]):
            footer_from = start
            break
        if _words(line) <= FURNITURE_MAX_WORDS and _FURNITURE.match(line):
            excluded.append((start, end))
    if footer_from is not None:
        excluded.append((footer_from, len(text)))
    return _merged(excluded)


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
