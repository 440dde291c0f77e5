"""The index on disk: build, incremental add and remove, model mismatch, strict builds, locking."""

from __future__ import annotations

import json
import shutil

import pytest

from index.build import IndexWriter
from index.layout import FORMAT_VERSION
from index.store import IndexStore
from qa import QA
from qa.config import Config
from qa.errors import BadArticle, IndexNotFound, ModelMismatch, NoArticles, NotAnIndex
from tests.support import ARTICLES, FakeEncoder


def copy_articles(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    return folder


def test_build_writes_a_self_describing_index(build_index):
    index_dir, report = build_index([ARTICLES])
    store = IndexStore.open(index_dir)
    manifest = store.manifest
    assert (manifest.model, manifest.dimension, manifest.articles) == ("all-MiniLM-L6-v2", 384, 6)
    assert manifest.chunks == store.vectors.ntotal == report.chunks > 0
    assert manifest.sentences > manifest.articles
    assert report.added and report.chunks_embedded == manifest.chunks
    assert not list(index_dir.rglob("*.pkl")) and not list(index_dir.rglob("*.pickle"))


def test_stored_chunks_and_sentences_point_into_the_text(build_index):
    index_dir, _ = build_index([ARTICLES])
    store = IndexStore.open(index_dir)
    for record in store.articles():
        text = store.article_text(record.id)
        for sentence in store.sentences(record.id, 0, len(text)):
            quote = text[sentence.start : sentence.end]
            assert quote == quote.strip() and "\n" not in quote
    chunks = [store.chunk_spans([chunk_id])[chunk_id] for (chunk_id,) in store._db.execute("SELECT id FROM chunks")]
    assert len(chunks) == store.manifest.chunks > 0
    for article_id, start, end in chunks:  # each chunk an exact, non-empty stretch of its article
        text = store.article_text(article_id)
        assert 0 <= start < end <= len(text) and text[start:end].strip()


def test_add_embeds_only_new_and_changed_articles(tmp_path):
    folder = copy_articles(tmp_path)
    counting = FakeEncoder()
    writer = IndexWriter(Config(index_dir=tmp_path / "index"), encoder=counting)
    writer.build([folder])
    counting.seen.clear()

    report = writer.add([folder])
    assert (report.added, report.updated, report.unchanged) == ([], [], 6)
    assert counting.seen == []

    story = folder / "harbor-bridge.txt"
    story.write_text(story.read_text() + "\nThe council later raised the budget to $52 million.\n")
    report = writer.add([folder])
    assert len(report.updated) == 1 and report.unchanged == 5 and report.added == []
    assert counting.seen and all("Dunmore" not in text and "Coffee" not in text for text in counting.seen)
    store = IndexStore.open(tmp_path / "index")
    assert store.manifest.articles == 6
    assert any("$52 million" in store.article_text(a.id) for a in store.articles())
    assert not any(store.article_text(a.id).endswith("fishing routes for small boats.\n") for a in store.articles())


def test_added_article_is_answerable_and_removed_one_is_gone(tmp_path, encoder, build_index):
    index_dir, _ = build_index([ARTICLES / "harbor-bridge.txt"])
    engine = QA(index_dir, encoder=encoder)
    before = engine.ask("How much did the solar farm cost?")
    assert "$210 million" not in before.text

    writer = IndexWriter(Config(index_dir=index_dir), encoder=encoder)
    writer.add([ARTICLES / "solar-farm.md"])
    added = engine.ask("How much did the solar farm cost?")
    assert added.found and added.text == "$210 million"

    solar_id = added.article_id
    report = writer.remove([solar_id, "no-such-id"])
    assert report.removed == [solar_id] and report.missing == ["no-such-id"]
    after = engine.ask("How much did the solar farm cost?")
    assert after.article_id != solar_id
    store = IndexStore.open(index_dir)
    assert store.manifest.articles == 1 and store.vectors.ntotal == store.manifest.chunks


def test_model_mismatch_names_both_models_and_the_fix(build_index):
    index_dir, _ = build_index([ARTICLES / "harbor-bridge.txt"])
    with pytest.raises(ModelMismatch) as error:
        IndexStore.open(index_dir, model="sentence-transformers/all-mpnet-base-v2")
    message = str(error.value)
    assert "all-MiniLM-L6-v2" in message and "all-mpnet-base-v2" in message
    assert f"qa index build [PATH ...] --index {index_dir} --model" in message


def test_strict_build_fails_and_keeps_the_previous_index(tmp_path, build_index):
    index_dir, _ = build_index([ARTICLES / "harbor-bridge.txt"])
    before = IndexStore.open(index_dir).manifest
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "good.txt").write_text("A good story\n\nIt is fine.")
    (bad / "empty.txt").write_text("")
    with pytest.raises(BadArticle, match=r"empty\.txt"):
        build_index([bad], index_dir=index_dir, strict=True)
    assert IndexStore.open(index_dir).manifest == before


def test_lenient_build_skips_bad_files_and_reports_them(tmp_path, build_index):
    folder = copy_articles(tmp_path)
    (folder / "empty.txt").write_text("")
    (folder / "photo.txt").write_bytes(b"\x89PNG\x00\x00\x00")
    _, report = build_index([folder])
    assert report.articles == 6
    assert sorted(p.path.rsplit("/", 1)[-1] for p in report.problems) == ["empty.txt", "photo.txt"]


def test_nothing_to_index_is_an_error_and_no_index_is_made(tmp_path, build_index):
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(NoArticles):
        build_index([empty])
    with pytest.raises(IndexNotFound, match="qa index build"):
        IndexStore.open(tmp_path / "index")


def test_manifest_is_plain_json(build_index):
    index_dir, _ = build_index([ARTICLES / "markets.json"])
    generation = IndexStore.open(index_dir).generation
    manifest = json.loads((generation / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION and manifest["articles"] == 1


def test_a_forked_child_does_not_keep_the_writer_lock(tmp_path):
    """spaCy's worker processes are forked while the lock is held; the lock must die with the writer."""
    import multiprocessing
    import time

    from index.lock import writer_lock

    context = multiprocessing.get_context("fork")
    ready = context.Event()
    with writer_lock(tmp_path):
        child = context.Process(target=lambda: (ready.set(), time.sleep(30)))
        child.start()
        assert ready.wait(30)
    try:
        with writer_lock(tmp_path):  # the child still lives, yet the next writer gets in
            pass
    finally:
        child.kill()
        child.join()


def test_a_build_stores_whole_sentences_inside_their_articles(fixture_index):
    store = IndexStore.open(fixture_index)
    assert store.verify() == []
    for record in store.articles():
        text = store.article_text(record.id)
        sentences = store.sentences(record.id, 0, len(text))
        assert len(sentences) >= text.count(". ")
        assert all(text[s.start : s.end] == text[s.start : s.end].strip() for s in sentences)
    answer = QA(fixture_index).ask("Where is Kestrel Works based?")
    assert answer.text == "Bristol" and "Bristol" in answer.citations[0].quote


def _as_built_for_the_heuristic_reader(index_dir):
    """Give a fresh index the database of one built for the retired heuristic reader: its tables of entity
    spans and term frequencies, and sentences with terms and vectors."""
    import sqlite3

    from index.layout import CURRENT, DATABASE

    db = sqlite3.connect(index_dir / (index_dir / CURRENT).read_text().strip() / DATABASE)
    db.executescript(
        """
        CREATE TABLE spans(article_id TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, label TEXT NOT NULL);
        CREATE TABLE term_df(term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
        INSERT INTO spans SELECT article_id, start, end, 'NP' FROM sentences;
        INSERT INTO term_df VALUES ('kestrel', 3);
        ALTER TABLE sentences RENAME TO new_sentences;
        CREATE TABLE sentences(id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, start INTEGER NOT NULL,
            end INTEGER NOT NULL, terms TEXT NOT NULL, vector BLOB NOT NULL);
        INSERT INTO sentences SELECT id, article_id, start, end, 'kestrel', zeroblob(1536) FROM new_sentences;
        DROP TABLE new_sentences;
        """
    )
    db.commit()
    db.close()


DEPOT_QUESTION = "How much is the Northfield rail depot contract worth?"


def test_an_index_built_for_the_retired_reader_answers_and_sheds_its_extra_tables_on_update(
    build_index, encoder, tmp_path
):
    import sqlite3

    from index.layout import CURRENT, DATABASE

    index_dir, _ = build_index([ARTICLES])
    _as_built_for_the_heuristic_reader(index_dir)
    before = IndexStore.open(index_dir)
    assert before.verify() == []
    kept = {r.id: len(before.sentences(r.id, 0, 10**9)) for r in before.articles()}
    assert QA(index_dir, encoder=encoder).ask(DEPOT_QUESTION).text == "$90 million"
    extra = tmp_path / "extra.txt"
    extra.write_text("Harbour Lights\n\nThe Harbour Lights festival returns to Penzance in June. It began in 1998.\n")
    report = IndexWriter(Config(index_dir=index_dir), encoder=encoder).add([extra])
    assert len(report.added) == 1
    after = IndexStore.open(index_dir)
    assert after.verify() == []
    assert {r.id: len(after.sentences(r.id, 0, 10**9)) for r in after.articles() if r.id in kept} == kept
    db = sqlite3.connect(index_dir / (index_dir / CURRENT).read_text().strip() / DATABASE)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    columns = {row[1] for row in db.execute("PRAGMA table_info(sentences)")}
    db.close()
    assert not tables & {"spans", "term_df"} and columns == {"id", "article_id", "start", "end"}
    engine = QA(index_dir, encoder=encoder)
    assert engine.ask(DEPOT_QUESTION).text == "$90 million"
    assert engine.ask("Where is the Harbour Lights festival held?").text == "Penzance"


def test_an_article_cannot_be_taken_over_by_another_source(tmp_path, encoder, build_index):
    index_dir, _ = build_index([ARTICLES])
    writer = IndexWriter(Config(index_dir=index_dir), encoder=encoder)
    hostile = tmp_path / "h.json"
    hostile.write_text(json.dumps({"id": "kestrel-rail", "title": "x", "text": "Kestrel Works is based in Paris."}))
    report = writer.add([hostile])
    assert report.updated == [] and report.added == []
    assert "kestrel-rail" in str(report.problems[0]) and "business.jsonl" in str(report.problems[0])
    assert "Bristol" in IndexStore.open(index_dir).article_text("kestrel-rail")
    with pytest.raises(BadArticle, match="kestrel-rail"):
        IndexWriter(Config(index_dir=index_dir, strict=True), encoder=encoder).add([hostile])


def test_the_same_source_may_still_update_its_article(tmp_path, encoder, build_index):
    record = tmp_path / "own.json"
    record.write_text(json.dumps({"id": "own", "title": "Own", "text": "The ferry leaves at noon."}))
    index_dir, _ = build_index([record])
    record.write_text(json.dumps({"id": "own", "title": "Own", "text": "The ferry leaves at nine."}))
    report = IndexWriter(Config(index_dir=index_dir), encoder=encoder).add([record])
    assert report.updated == ["own"] and not report.problems
    assert "nine" in IndexStore.open(index_dir).article_text("own")


def test_a_folder_that_is_not_an_index_is_never_emptied(tmp_path, build_index):
    notes = tmp_path / "notes"
    (notes / "gen-my-notes").mkdir(parents=True)
    (notes / "gen-my-notes" / "a.txt").write_text("precious")
    with pytest.raises(NotAnIndex, match="is not an index and is not empty"):
        build_index([ARTICLES], index_dir=notes)
    assert (notes / "gen-my-notes" / "a.txt").read_text() == "precious"
    assert sorted(p.name for p in notes.iterdir()) == ["gen-my-notes"]


def test_only_the_tools_own_generations_are_collected(tmp_path, build_index):
    """A folder named like a generation that the tool did not write survives every build; the tool's own dead
    generations are removed, except the one a reader opened before the last build still reads."""
    from concurrent.futures import ThreadPoolExecutor

    index_dir, _ = build_index([ARTICLES])
    first = IndexStore.open(index_dir).generation
    stranger = index_dir / "gen-not-mine"
    stranger.mkdir()
    (stranger / "a.txt").write_text("precious")
    build_index([ARTICLES], index_dir=index_dir)
    reader = IndexStore.open(index_dir)
    build_index([ARTICLES], index_dir=index_dir)
    assert (stranger / "a.txt").read_text() == "precious"
    assert not first.exists(), "the first build's generation, two builds old, was not collected"
    assert reader.stale()
    with ThreadPoolExecutor(1) as pool:  # a thread of the reader's that had not read yet opens its database now
        text = pool.submit(reader.article_text, "kestrel-rail").result()
    assert text == IndexStore.open(index_dir).article_text("kestrel-rail")
