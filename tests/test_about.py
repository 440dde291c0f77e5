"""Questions about an article (when published, who wrote it) answered from its date and byline, cited."""

from __future__ import annotations

import pytest

from qa import QA
from qa.about import date_spellings, metadata_field
from tests.support import PAGES


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("When was the article about the ferry terminal published?", "date"),
        ("What date was the coffee story posted?", "date"),
        ("Who wrote the piece on coffee prices?", "author"),
        ("Who is the author of the lighthouse story?", "author"),
        ("When will the ferry terminal open?", None),
        ("Who founded Greenfield Energy?", None),
        ("When did the library reopen?", None),
        ("When was the Book of Mormon published?", None),
        ("Who wrote Hamlet?", None),
        ("Who wrote the letter to the council?", None),
    ],
)
def test_questions_about_the_article_are_told_from_questions_about_its_content(question, field):
    assert metadata_field(question) == field


def test_a_date_is_looked_for_as_articles_write_it():
    assert {"2024-03-18", "18 March 2024", "March 18, 2024", "Mar 18, 2024"} <= set(date_spellings("2024-03-18"))


@pytest.fixture(scope="module")
def pages_engine(tmp_path_factory, encoder):
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path_factory.mktemp("pages") / "index"
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([PAGES])
    return QA(index_dir, encoder=encoder)


def test_the_date_and_byline_come_from_the_metadata_when_the_text_does_not_show_them(pages_engine):
    answer = pages_engine.ask("When was the article about the ferry terminal published?")
    assert answer.found and answer.text == "2024-03-18" and answer.start is None
    citation = answer.citations[0]
    assert citation.field == "date" and citation.quote == "" and citation.source.endswith("ferry-terminal.html")
    byline = pages_engine.ask("Who wrote the article about the Ferrybank lighthouse?")
    assert byline.text == "Peter Okonkwo" and byline.citations[0].field == "author"


def test_a_byline_the_text_shows_is_quoted_with_exact_offsets(pages_engine):
    answer = pages_engine.ask("Who wrote the article about Greenfield's solar output?")
    text = pages_engine.store.article_text(answer.article_id)
    assert answer.text == "Samira Haddad" == text[answer.start : answer.end]
    citation = answer.citations[0]
    assert citation.field is None and citation.quote == text[citation.start : citation.end]


def test_an_article_without_a_date_is_read_for_one(pages_engine):
    # The scraped story has no date of its own; the listing page says "Ferry fares to rise 2 hours ago". The
    # reader's span there, "2 hours ago", is declined since the sentence judge's second opinion (0.139 < 0.26):
    # either way the answer comes from the text, never made up from metadata the article does not have.
    answer = pages_engine.ask("When was the article about ferry fares rising published?")
    assert answer.citations or not answer.found
    for citation in answer.citations:
        text = pages_engine.store.article_text(citation.article_id)
        assert citation.field is None and citation.quote == text[citation.start : citation.end]
        assert "fares" in citation.quote.lower() and answer.text in citation.quote
    assert answer.found or answer.message == "Not found in the indexed articles."


def test_answers_show_the_date_and_author_of_their_article(pages_engine):
    answer = pages_engine.ask("How much will the ferry terminal cost?")
    assert answer.text == "$31 million"
    citation = answer.citations[0]
    assert (citation.date, citation.author, citation.url) == (
        "2024-03-18",
        "Maria Lindqvist",
        "https://gazette.example/news/ferry-terminal",
    )


def test_no_article_about_the_topic_means_no_date_from_the_least_bad_match(pages_engine):
    answer = pages_engine.ask("When was the article about the volcano eruption in Iceland published?")
    assert not answer.found, "no article is about the topic"
    assert all(c.field is None for c in answer.citations), "nor is a date read from another article's metadata"
