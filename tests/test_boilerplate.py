"""Boilerplate in saved articles: kept in the stored text (offsets stay the file's), never indexed or answered."""

from __future__ import annotations

import pytest

from index.boilerplate import excluded_ranges, front_matter, included_ranges
from index.ingest import read_articles
from index.store import IndexStore
from qa import QA
from tests.support import PAGES, ROOT

SEED = ROOT / "seeds" / "sensetime-postpones-hong-kong-ipo.txt"


def excluded_text(text: str, ranges) -> list[str]:
    return [" ".join(text[start:end].split()) for start, end in ranges]


def test_the_seed_loses_its_repeated_titles_its_photo_caption_and_its_footer_and_nothing_else():
    (article,) = read_articles([SEED]).articles
    text = article.text
    title = "China’s SenseTime postpones Hong Kong IPO after US blacklisting"
    assert excluded_text(text, article.excluded)[:2] == [title, title]
    caption = excluded_text(text, article.excluded)[2]
    assert caption.startswith("US President Joe Biden meets") and caption.endswith("(Photo by MANDEL NGAN / AFP)")
    footer = excluded_text(text, article.excluded)[3]
    assert footer.startswith("Read More News On") and footer.endswith("Next Story") and len(article.excluded) == 4
    kept = " ".join(text[start:end] for start, end in included_ranges(len(text), article.excluded))
    assert kept.count(title) == 1 and "Founded in 2014 by academic Tang Xiao’ou" in kept
    assert "planned $767 million initial public offering" in kept
    assert article.excluded_chars == sum(end - start for start, end in article.excluded)


def test_share_bars_adverts_and_app_prompts_are_excluded_but_prose_that_mentions_them_is_not():
    text = (
        "Harbour news\n\nShare this article\n\nThe council said the share of ferry users rose to 40 percent.\n\n"
        "Advertisement\n\nDownload the Harbour Times app for alerts\n\n"
        "Readers were asked to download the council's app to report broken lights, said the mayor.\n"
    )
    assert excluded_text(text, excluded_ranges(text)) == [
        "Share this article",
        "Advertisement",
        "Download the Harbour Times app for alerts",
    ]


def test_photo_captions_are_excluded_but_prose_about_a_photo_is_not():
    text = (
        "Photo: Storm Ciara batters the coast\n\nFirefighters at the quay on Tuesday. Photograph: Jane Doe/Reuters\n\n"
        "The fire was captured in a photo by a neighbour.\n\nResidents queue for water. (Photo: Reuters)\n\n"
        "The picture: a town in decline, said the report.\n\nTax credits: the council said they would rise.\n\n"
        "The museum's best-known work is a photograph by Dorothea Lange.\n\nThe vote was 12/PA\n\n"
        "Visitors were urged to take a photo\nBy Jane Doe, our reporter, at the pier.\n"
    )
    assert excluded_text(text, excluded_ranges(text)) == [
        "Firefighters at the quay on Tuesday. Photograph: Jane Doe/Reuters",
        "Residents queue for water. (Photo: Reuters)",
    ]


def test_a_footer_marker_followed_by_prose_is_not_a_footer():
    text = "Title\n\n" + "Plenty of article prose here. " * 20 + "\n\nRelated stories\n\n" + "More prose. " * 40 + "\n"
    assert excluded_text(text, excluded_ranges(text)) == []


def test_front_matter_gives_metadata_and_is_not_indexed():
    (article,) = read_articles([PAGES / "solar-notes.md"]).articles
    meta, end = front_matter(article.text)
    assert meta == {
        "title": "Greenfield Energy doubles its solar output",
        "date": "2024-09-12",
        "url": "https://energy.example/greenfield-doubles",
        "author": "Samira Haddad",
    }
    assert (article.title, article.date, article.url, article.author) == tuple(meta[k] for k in meta)
    assert article.excluded[0] == (0, end) and article.text[end:].startswith("# Greenfield Energy")


@pytest.mark.parametrize("text", ["---\nnot: [valid\n---\nBody.", "---\n- a list\n---\nBody.", "No front matter."])
def test_what_is_not_a_yaml_mapping_is_not_front_matter(text):
    assert front_matter(text) == ({}, 0)


def test_no_chunk_or_sentence_touches_the_boilerplate_and_only_it_answers_nothing(build_index, encoder):
    index_dir, _ = build_index([PAGES / "scraped-ferry-fares.txt", PAGES / "solar-notes.md", SEED])
    store = IndexStore.open(index_dir)
    excluded = {a.source: a.excluded for a in read_articles([PAGES, SEED]).articles}
    for record in store.articles():
        text = store.article_text(record.id)
        ranges = excluded[record.source]
        assert record.excluded_chars == sum(end - start for start, end in ranges) > 0
        for stretch in store.stretches([(record.id, 0, len(text))]):
            for start, end, _ in stretch.sentences:
                assert not any(start < e and end > s for s, e in ranges), text[start:end]
    for chunk_id, _ in store.lexical_search("download app google news catch breaking", 20):
        [(article_id, start, end)] = store.chunk_spans([chunk_id]).values()
        assert "Download The" not in store.article_text(article_id)[start:end]
    engine = QA(index_dir, encoder=encoder)
    assert not engine.ask("Which app should readers download for the daily news update?").found
    fares = engine.ask("How much will a season ticket cost?")
    assert fares.text == "$375" and store.article_text(fares.article_id)[fares.start : fares.end] == fares.text
