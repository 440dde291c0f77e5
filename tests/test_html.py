"""News pages: main text and metadata through trafilatura, the whole page where there is no article."""

from __future__ import annotations

import pytest

from index.ingest import WHOLE_PAGE_NOTE, read_articles
from tests.support import PAGES

EXPECTED = {
    # page: (title, author, date, site, url)
    "ferry-terminal.html": (
        "Harbor council approves ferry terminal",
        "Maria Lindqvist",
        "2024-03-18",
        "Port Alder Gazette",
        "https://gazette.example/news/ferry-terminal",
    ),
    "amp-lighthouse.html": (
        "Ferrybank lighthouse gets a red coat",
        "Peter Okonkwo",
        "2023-07-04",
        "Coast Daily",
        "https://coastdaily.example/2023/07/ferrybank-lighthouse-red",
    ),
    "jsonld-coffee.html": (
        "Coffee prices climb after Brazil drought",
        "Lena Hoffmann",
        "2024-06-02",
        "Markets Weekly",
        None,
    ),
    "meta-date-library.html": ("Dunmore library reopens after flood repairs", None, "2024-01-09", None, None),
}
BOILERPLATE = {
    "ferry-terminal.html": ["cookies", "Related stories", "falling apart", "Subscribe", "Sport"],
    "amp-lighthouse.html": ["Menu", "Advertisement", "newsletter", "Weather"],
    "jsonld-coffee.html": ["inbox", "Log in", "Cocoa"],
    "meta-date-library.html": ["Most read", "Bus timetable", "About"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_title_author_date_site_and_url_come_out_right(name):
    (article,) = read_articles([PAGES / name]).articles
    title, author, date, site, url = EXPECTED[name]
    assert (article.title, article.author, article.date, article.site, article.url) == (title, author, date, site, url)
    assert article.notes == ()


@pytest.mark.parametrize("name", sorted(BOILERPLATE))
def test_the_article_text_leaves_the_page_furniture_out(name):
    (article,) = read_articles([PAGES / name]).articles
    assert len(article.text.split()) > 40
    for furniture in BOILERPLATE[name]:
        assert furniture not in article.text


def test_a_page_that_is_not_an_article_is_read_whole_and_the_build_says_so(build_index):
    (article,) = read_articles([PAGES / "latest-news.html"]).articles
    assert article.notes == (WHOLE_PAGE_NOTE,)
    assert "Lighthouse repainted red" in article.text and "Chess open draws 240 players" in article.text
    assert article.date is None  # "Copyright 2024" in the footer is not a publication date
    _, report = build_index([PAGES / "latest-news.html"])
    assert report.notes == [f"{article.source}: {WHOLE_PAGE_NOTE}"] and "1 with a note" in report.summary()
