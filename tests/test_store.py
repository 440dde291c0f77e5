"""Reading the index on disk: what an open store answers, how incoming articles relate to it, damage."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from index.ingest import read_articles
from index.layout import check_index_dir, is_own_generation
from index.store import IndexStore
from qa.errors import IndexCorrupt, IndexNotFound, ModelMismatch, NotAnIndex
from tests.support import ARTICLES


@pytest.fixture(scope="module")
def store(fixture_index):
    return IndexStore.open(fixture_index)


def test_articles_chunks_and_sentences_point_into_the_text(store):
    articles = store.articles()
    assert len(articles) == store.manifest.articles == 6
    for article in articles:
        text = store.article_text(article.id)
        sentences = store.sentences(article.id, 0, len(text))
        assert sentences and [s.start for s in sentences] == sorted(s.start for s in sentences)
        assert all(0 <= s.start < s.end <= len(text) for s in sentences)
    ids = [row[0] for row in store._db.execute("SELECT id FROM chunks")]
    spans = store.chunk_spans(ids)
    assert len(spans) == len(ids) == store.manifest.chunks
    for article_id, start, end in spans.values():
        text = store.article_text(article_id)
        assert 0 <= start < end <= len(text) and text[start:end].strip() == text[start:end]


def test_dense_and_lexical_search_rank_best_first(store, encoder):
    vector = encoder.encode(["Where is Kestrel Works based?"])[0]
    dense = store.dense_search(vector, 5)
    assert len(dense) == 5 and [s for _, s in dense] == sorted((s for _, s in dense), reverse=True)
    lexical = store.lexical_search("Kestrel Works Bristol", 5)
    assert lexical and all(score > 0 for _, score in lexical)
    spans = store.chunk_spans([chunk_id for chunk_id, _ in lexical])
    article_id, start, end = spans[lexical[0][0]]
    assert "Bristol" in store.article_text(article_id)[start:end]
    assert store.lexical_search("", 5) == []


def test_a_stretch_carries_its_text_metadata_and_whole_sentences(store):
    article = next(a for a in store.articles() if a.url)
    text = store.article_text(article.id)
    whole = store.sentences(article.id, 0, len(text))
    second = whole[1]
    cut_start, cut_end = second.start + 3, second.end - 3  # a range that cuts one sentence at both ends
    [stretch] = store.stretches([(article.id, cut_start, cut_end)])
    assert stretch.text == text[cut_start:cut_end]
    assert (stretch.title, stretch.source, stretch.url, stretch.date) == (
        article.title,
        article.source,
        article.url,
        article.date,
    )
    assert stretch.sentences == ((second.start, second.end, text[second.start : second.end]),)
    chunk_ids = [chunk_id for chunk_id, _ in store.lexical_search("Kestrel Works Bristol", 3)]
    by_chunk = store.chunk_stretches(chunk_ids)
    assert list(by_chunk) == chunk_ids and all(s.sentences for s in by_chunk.values())
    for chunk in by_chunk.values():
        assert chunk.sentences[0][0] <= chunk.start and chunk.sentences[-1][1] >= chunk.end - 1


def test_lookup_tells_new_unchanged_changed_conflict_and_duplicate(store, tmp_path):
    indexed = {a.id: a for a in read_articles([ARTICLES]).articles}
    kestrel = indexed["kestrel-rail"]
    assert store.lookup(kestrel) == ("unchanged", "kestrel-rail")
    assert store.lookup(dataclasses.replace(kestrel, content_hash="other")) == ("changed", "kestrel-rail")
    status, owner = store.lookup(dataclasses.replace(kestrel, content_hash="other", origin="/elsewhere/h.json#x"))
    assert status == "conflict" and owner.endswith("business.jsonl:1")
    assert store.lookup(dataclasses.replace(kestrel, id="copy", origin="/elsewhere"))[0] == "duplicate"
    fresh = dataclasses.replace(kestrel, id="fresh", origin="/elsewhere", content_hash="new")
    assert store.lookup(fresh) == ("new", None)


def test_opening_checks_the_model_and_the_folder(fixture_index, tmp_path):
    with pytest.raises(ModelMismatch, match="all-MiniLM-L6-v2"):
        IndexStore.open(fixture_index, model="some/other-model")
    with pytest.raises(IndexNotFound, match="qa index build"):
        IndexStore.open(tmp_path / "nothing-here")


def test_a_truncated_vector_file_is_named_with_the_fix(fixture_index, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(fixture_index, copy)
    generation = IndexStore.open(copy).generation
    vectors = generation / "vectors.faiss"
    vectors.write_bytes(vectors.read_bytes()[:100])
    with pytest.raises(IndexCorrupt, match="qa index build"):
        store = IndexStore.open(copy)
        store.dense_search(np.zeros(store.manifest.dimension, dtype=np.float32), 1)


def test_only_marked_generations_are_the_tools_own(fixture_index, tmp_path):
    live = IndexStore.open(fixture_index).generation
    assert is_own_generation(live)
    stranger = tmp_path / "gen-holiday-photos"
    stranger.mkdir()
    assert not is_own_generation(stranger)
    check_index_dir(fixture_index)  # an index: fine
    check_index_dir(tmp_path / "new")  # not there yet: fine
    with pytest.raises(NotAnIndex):
        check_index_dir(tmp_path)
