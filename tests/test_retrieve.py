"""Hybrid retrieval alone: reciprocal rank fusion of the dense and lexical hits, over a stand-in store."""

from __future__ import annotations

import numpy as np
import pytest

from index.store import Stretch
from qa.retrieve import HybridRetriever


class FakeStore:
    """Three articles of one chunk each; the searches return fixed rankings."""

    def __init__(self, dense: list[tuple[int, float]], lexical: list[tuple[int, float]]) -> None:
        self.texts = {
            "a": "Alpha text about bridges.",
            "b": "Beta text about ferries.",
            "c": "Gamma text about trains.",
        }
        self.chunk_articles = {1: "a", 2: "b", 3: "c"}
        self.dense, self.lexical = dense, lexical
        self.asked: list[tuple[str, int]] = []

    def dense_search(self, vector, n, within=None):
        self.asked.append(("dense", n))
        return self.dense[:n]

    def lexical_search(self, query, n, within=None):
        self.asked.append(("lexical", n))
        return self.lexical[:n]

    def chunk_stretches(self, chunk_ids):
        found = {}
        for chunk_id in chunk_ids:
            article_id = self.chunk_articles[chunk_id]
            text = self.texts[article_id]
            sentences = ((0, len(text), text),)
            found[chunk_id] = Stretch(
                article_id, 0, len(text), text, article_id.upper(), f"{article_id}.txt", None, "2024-05-01", sentences
            )
        return found


def test_a_chunk_both_retrievers_like_beats_one_only_one_ranks_first():
    store = FakeStore(dense=[(1, 0.9), (2, 0.8)], lexical=[(3, 12.0), (2, 9.0)])
    passages = HybridRetriever(store, candidates=10, rrf_k=60).retrieve("q", np.zeros(3), k=3)
    assert [p.chunk_id for p in passages] == [2, 1, 3]
    best = passages[0]
    assert best.dense_score == 0.8 and best.lexical_score == 9.0
    assert passages[1].lexical_score is None and passages[2].dense_score is None


def test_scores_are_fused_ranks_scaled_to_one_for_first_in_both():
    store = FakeStore(dense=[(1, 0.9)], lexical=[(1, 5.0)])
    [passage] = HybridRetriever(store, rrf_k=60).retrieve("q", np.zeros(3), k=1)
    assert passage.score == 1.0
    store = FakeStore(dense=[(2, 0.9), (1, 0.5)], lexical=[])
    scores = [p.score for p in HybridRetriever(store, rrf_k=60).retrieve("q", np.zeros(3), k=2)]
    assert scores == pytest.approx([(1 / 61) / (2 / 61), (1 / 62) / (2 / 61)], abs=1e-6)


def test_passages_carry_the_article_its_sentences_and_exact_text():
    store = FakeStore(dense=[(3, 0.9)], lexical=[])
    [passage] = HybridRetriever(store).retrieve("q", np.zeros(3), k=1)
    assert (passage.article_id, passage.title, passage.source, passage.date) == ("c", "C", "c.txt", "2024-05-01")
    assert store.texts["c"][passage.start : passage.end] == passage.text
    assert passage.sentences == ((0, len(passage.text), passage.text),)


def test_each_retriever_is_asked_for_enough_candidates():
    store = FakeStore(dense=[], lexical=[])
    HybridRetriever(store, candidates=5).retrieve("q", np.zeros(3), k=8)
    assert sorted(store.asked) == [("dense", 8), ("lexical", 8)]
    assert HybridRetriever(store).retrieve("q", np.zeros(3), k=3) == []


@pytest.mark.parametrize(("field", "value"), [("candidates", 0), ("rrf_k", -1)])
def test_bad_settings_name_the_value(field, value):
    with pytest.raises(ValueError, match=f"{field} must be greater than 0. Currently, {field} is {value}"):
        HybridRetriever(FakeStore([], []), **{field: value})
