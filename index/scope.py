"""Scoping a question to part of an archive: a site, an author, a date range, chosen articles.

A :class:`Scope` is applied inside retrieval (the store searches only the chunks of the articles it
matches), so that a narrow scope still gets its own best passages.

Example::

    scope = Scope(site="gazette", since="2024-01-01")
    answer = qa.ask("How much will the terminal cost?", where=scope)
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_ISO_DATE = re.compile(r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?")


@dataclass(frozen=True)
class Scope:
    """Which articles a question is asked of; every field that is set must match (``None``: any).

    Attributes:
        site: part of the article's site name or URL, case-insensitive ("gazette", "example.com").
        author: part of the article's byline, case-insensitive.
        since: the earliest publication date, ISO (``2024``, ``2024-03`` or ``2024-03-18``), inclusive.
        until: the latest publication date, ISO, inclusive (``2024`` means up to the end of 2024).
            An article without a known date is outside any date range.
        articles: article ids; the article must be one of them.
    """

    site: str | None = None
    author: str | None = None
    since: str | None = None
    until: str | None = None
    articles: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and not _is_iso_date(value):
                raise ValueError(f"{name} must be an ISO date such as 2024-03-18. Currently, {name} is {value!r}")
        object.__setattr__(self, "articles", tuple(self.articles))

    @property
    def is_everything(self) -> bool:
        """Whether the scope matches every article (nothing is set)."""
        return not (self.site or self.author or self.since or self.until or self.articles)

    def describe(self) -> str:
        """The scope in words, for messages ("site 'gazette', since 2024-01-01")."""
        parts = []
        if self.site:
            parts.append(f"site {self.site!r}")
        if self.author:
            parts.append(f"author {self.author!r}")
        if self.since:
            parts.append(f"since {self.since}")
        if self.until:
            parts.append(f"until {self.until}")
        if self.articles:
            parts.append(f"articles {', '.join(self.articles)}")
        return ", ".join(parts) or "all articles"

    def sql(self) -> tuple[str, list]:
        """A condition on the ``articles`` table (aliased ``a``) and its parameters."""
        conditions, values = [], []
        if self.site:
            conditions.append("(instr(lower(coalesce(a.site, '')), ?) > 0 OR instr(lower(coalesce(a.url, '')), ?) > 0)")
            values += [self.site.lower(), self.site.lower()]
        if self.author:
            conditions.append("instr(lower(coalesce(a.author, '')), ?) > 0")
            values.append(self.author.lower())
        if self.since:
            conditions.append("a.date IS NOT NULL AND substr(a.date, 1, ?) >= ?")
            values += [len(self.since), self.since]
        if self.until:
            conditions.append("a.date IS NOT NULL AND substr(a.date, 1, ?) <= ?")
            values += [len(self.until), self.until]
        if self.articles:
            conditions.append(f"a.id IN ({','.join('?' * len(self.articles))})")
            values += list(self.articles)
        return " AND ".join(conditions) or "1", values


def _is_iso_date(value: str) -> bool:
    """Whether ``value`` is a real date written ``2024``, ``2024-03`` or ``2024-03-18`` (not ``2024-13-45``)."""
    if not _ISO_DATE.fullmatch(value):
        return False
    year, month, day = ([*map(int, value.split("-")), 1, 1])[:3]
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True
