"""A sharded index built in this process: placement, the same answers as one index, updates per shard."""

from __future__ import annotations

import json
import shutil

import pytest

from index.errors import IndexCorrupt, IndexWriteError
from index.scope import Scope
from index.shards import SHARDS, ShardedStore, shard_of
from qa import QA
from qa.config import Config
from tests.support import ARTICLES, FACTOIDS, HARDER, UNANSWERABLE, write_bulletins

QUESTIONS = [q for q, _ in FACTOIDS + HARDER] + UNANSWERABLE


def answer_and_citation(engine: QA, question: str) -> tuple:
    answer = engine.ask(question)
    first = answer.citations[0] if answer.citations else None
    return answer.found, answer.text, first and (first.article_id, first.start, first.end)


@pytest.fixture(scope="module")
def sharded_index(tmp_path_factory, encoder):
    index_dir = tmp_path_factory.mktemp("sharded") / "index"
    QA.build([ARTICLES], config=Config(index_dir=index_dir, shards=3))
    return index_dir


def test_an_article_always_goes_to_the_same_shard_and_shards_fill_evenly():
    ids = [f"article-{i}" for i in range(3000)]
    assert [shard_of(i, 4) for i in ids] == [shard_of(i, 4) for i in ids]
    counts = [sum(shard_of(i, 4) == shard for i in ids) for shard in range(4)]
    assert min(counts) > 600, counts  # 750 each on average


def test_sharded_index_gives_the_same_answers_and_citations_as_one_index(sharded_index, engine, encoder):
    sharded = QA(sharded_index, encoder=encoder)
    assert len(sharded.store.shards) == 3
    assert sharded.stats().articles == engine.stats().articles
    assert sharded.stats().chunks == engine.stats().chunks
    for question in QUESTIONS:
        assert answer_and_citation(sharded, question) == answer_and_citation(engine, question), question


def test_articles_lie_in_the_shard_their_id_hashes_to(sharded_index):
    store = ShardedStore.open(sharded_index)
    for number, shard in enumerate(store.shards):
        for record in shard.articles():
            assert shard_of(record.id, 3) == number
    assert sum(len(shard.articles()) for shard in store.shards) == len(store.articles()) > 3


def test_a_scope_works_across_shards(sharded_index, encoder):
    sharded = QA(sharded_index, encoder=encoder)
    answer = sharded.ask("Where is Kestrel Works based?", where=Scope(site="no-such-site"))
    assert not answer.found and "No indexed article matches" in answer.message
    bridge = next(record.id for record in sharded.articles() if "harbor-bridge" in record.source)
    answer = sharded.ask("Which firm designed the harbor bridge?", where=Scope(articles=(bridge,)))
    assert answer.found and all(c.article_id == bridge for c in answer.citations)


def test_an_update_touches_only_the_shard_of_each_changed_article(tmp_path, sharded_index, encoder):
    index_dir = tmp_path / "index"
    shutil.copytree(sharded_index, index_dir)
    engine = QA(index_dir, encoder=encoder)
    before = [shard.generation for shard in engine.store.shards]
    report = engine.add([write_bulletins(tmp_path / "news", 1)])
    assert report.added == ["b0"]
    after = [shard.generation for shard in engine.store.shards]
    changed = [number for number in range(3) if before[number] != after[number]]
    assert changed == [shard_of("b0", 3)]
    assert engine.ask("How many passengers did the ferry on route 0 carry?").text == "3"

    removed = engine.remove(["b0", "no-such-id"])
    assert removed.removed == ["b0"] and removed.missing == ["no-such-id"]
    assert engine.stats().articles == report.articles - 1
    assert not engine.ask("How many passengers did the ferry on route 0 carry?").found


def test_a_rebuild_keeps_the_shard_count_and_replaces_the_old_shards(tmp_path, sharded_index, encoder):
    index_dir = tmp_path / "index"
    shutil.copytree(sharded_index, index_dir)
    old = json.loads((index_dir / SHARDS).read_text())["shards"]
    QA.build([ARTICLES], config=Config(index_dir=index_dir))
    new = json.loads((index_dir / SHARDS).read_text())["shards"]
    assert len(new) == 3 and not set(new) & set(old)
    assert QA(index_dir, encoder=encoder).ask("Where is Kestrel Works based?").text == "Bristol"


def test_a_failed_build_leaves_the_sharded_index_as_it_was(tmp_path, sharded_index, encoder, monkeypatch):
    index_dir = tmp_path / "index"
    shutil.copytree(sharded_index, index_dir)
    before = sorted(p.name for p in index_dir.iterdir())
    from index.generation import Generation

    def full_disk(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Generation, "commit", full_disk)
    with pytest.raises(IndexWriteError, match="the index is unchanged"):
        QA.build([ARTICLES], config=Config(index_dir=index_dir))
    monkeypatch.undo()
    assert sorted(p.name for p in index_dir.iterdir()) == before
    assert QA(index_dir, encoder=encoder).ask("Where is Kestrel Works based?").text == "Bristol"


def test_shards_that_disagree_on_the_model_are_refused_by_name(tmp_path, sharded_index):
    index_dir = tmp_path / "index"
    shutil.copytree(sharded_index, index_dir)
    shard = index_dir / json.loads((index_dir / SHARDS).read_text())["shards"][1]
    generation = shard / (shard / "CURRENT").read_text().strip()
    manifest = json.loads((generation / "manifest.json").read_text())
    manifest["model"] = "some-other-model"
    (generation / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="disagree: shard 1 has model 'some-other-model'"):
        QA(index_dir)


def test_a_damaged_shard_manifest_is_a_clear_error(tmp_path, sharded_index):
    index_dir = tmp_path / "index"
    shutil.copytree(sharded_index, index_dir)
    (index_dir / SHARDS).write_text("{not json")
    with pytest.raises(IndexCorrupt, match=r"unreadable SHARDS\.json.*qa index build"):
        QA(index_dir)


def test_bm25_over_shards_scores_as_one_index_would(tmp_path, encoder):
    # Texts of equal length (so that every shard's average length is the same): a shard's scores must
    # then be the whole index's, although each shard alone sees other term frequencies.
    words = ["zebra", "falcon", "harbor", "copper", "violin", "meadow", "lantern", "glacier", "walnut", "comet"]
    records = [
        {"id": f"note-{i}", "title": "Note", "text": " ".join(words[j % len(words)] for j in (i, 2 * i + 1, i * i + 3))}
        for i in range(24)
    ]
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "notes.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    QA.build([tmp_path / "notes"], config=Config(index_dir=tmp_path / "one"))
    QA.build([tmp_path / "notes"], config=Config(index_dir=tmp_path / "sharded", shards=3))
    from index.store import IndexStore

    one, sharded = IndexStore.open(tmp_path / "one"), ShardedStore.open(tmp_path / "sharded")

    def scores(store, query):
        hits = store.lexical_search(query, 30)
        spans = store.chunk_stretches([chunk_id for chunk_id, _ in hits])
        return {spans[chunk_id].article_id: round(score, 4) for chunk_id, score in hits}

    for query in ("zebra falcon", "copper glacier walnut", "comet", "violin meadow lantern harbor"):
        assert scores(sharded, query) == scores(one, query), query
