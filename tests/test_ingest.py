"""Reading articles: formats, offsets as a person sees the file, ids, bad input."""

from __future__ import annotations

import pytest

from index.ingest import read_articles
from qa.errors import BadArticle
from tests.support import ARTICLES


def by_title(report):
    return {a.title: a for a in report.articles}


def test_reads_every_fixture_format():
    report = read_articles([ARTICLES])
    titles = set(by_title(report))
    assert report.problems == []
    assert titles == {
        "Port Alder approves new harbor bridge",
        "Greenfield Energy opens solar farm near Dunmore",
        "Nadia Petrova wins Riverton Chess Open",
        "Kestrel Works wins rail depot contract",
        "Dunmore library reopens after flood",
        "Coffee prices climb after drought",
    }


def test_text_is_the_file_as_a_person_sees_it(tmp_path):
    path = tmp_path / "note.txt"
    path.write_bytes("\ufeffHeadline\r\n\r\nBody with café.\r\n".encode())
    (article,) = read_articles([path]).articles
    assert article.text == "Headline\n\nBody with café.\n"
    assert article.title == "Headline"


def test_markdown_title_drops_heading_marks():
    article = by_title(read_articles([ARTICLES / "solar-farm.md"]))["Greenfield Energy opens solar farm near Dunmore"]
    assert article.text.startswith("# Greenfield Energy")


def test_html_keeps_visible_text_only():
    (article,) = read_articles([ARTICLES / "chess-open.html"]).articles
    assert article.title == "Nadia Petrova wins Riverton Chess Open"
    assert "Nadia Petrova won the Riverton Chess Open on Sunday" in article.text
    for hidden in ("tracking", "console.log", "font-family", "Subscribe", "Copyright"):
        assert hidden not in article.text


def test_json_fields_and_ids():
    articles = by_title(read_articles([ARTICLES / "business.jsonl", ARTICLES / "markets.json"]))
    rail = articles["Kestrel Works wins rail depot contract"]
    assert (rail.id, rail.url, rail.date) == ("kestrel-rail", "https://example.com/kestrel-rail", "2024-05-14")
    library = articles["Dunmore library reopens after flood"]
    assert library.date == "2024-01-09" and library.text.startswith("The Dunmore public library")
    assert articles["Coffee prices climb after drought"].date == "2024-06-02"


def test_ids_are_stable_and_follow_content(tmp_path):
    first = read_articles([ARTICLES]).articles
    again = read_articles([ARTICLES]).articles
    assert [a.id for a in first] == [a.id for a in again]
    copy = tmp_path / "harbor-bridge.txt"
    copy.write_text((ARTICLES / "harbor-bridge.txt").read_text() + "\nUpdate: approved.\n")
    (changed,) = read_articles([copy]).articles
    assert changed.id not in {a.id for a in first}


def test_same_content_twice_is_read_once(tmp_path):
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("Same story\n\nSame body.\n")
    report = read_articles([tmp_path])
    assert len(report.articles) == 1 and report.duplicates == 1


def test_strict_raises_the_first_problem(tmp_path):
    (tmp_path / "good.txt").write_text("Fine\n\nText.")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(BadArticle, match=r"empty\.txt"):
        read_articles([tmp_path], strict=True)


def test_missing_path_and_legacy_encoding(tmp_path):
    legacy = tmp_path / "legacy.txt"
    legacy.write_bytes("Café prices \u2013 up".encode("cp1252"))
    report = read_articles([legacy, tmp_path / "nope"])
    assert report.articles[0].text == "Café prices – up"
    assert "does not exist" in str(report.problems[0])


def test_links_out_of_a_folder_are_skipped_and_named(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Secret\n\nThe vault code is 4812.", encoding="utf-8")
    folder = tmp_path / "articles"
    (folder / "inner").mkdir(parents=True)
    (folder / "inner" / "kept.txt").write_text("Kept\n\nThe bridge opened in May.", encoding="utf-8")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    (folder / "outdir").symlink_to(outside, target_is_directory=True)
    (folder / "alias").symlink_to(folder / "inner", target_is_directory=True)  # inside: followed

    report = read_articles([folder])
    texts = [a.text for a in report.articles]
    assert not any("vault" in t for t in texts)
    assert any("bridge" in t for t in texts)
    named = " ".join(str(p) for p in report.problems)
    assert "leak.txt" in named and "outdir" in named and "outside the folder" in named

    followed = read_articles([folder], follow_links=True)
    assert any("vault" in a.text for a in followed.articles)
    assert any("vault" in a.text for a in read_articles([folder / "leak.txt"]).articles)  # named: read as given
