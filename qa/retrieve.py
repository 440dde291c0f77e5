"""Find the passages relevant to a question: dense (FAISS) and BM25, fused.

Reciprocal rank fusion adds ``1 / (rrf_k + rank)`` from each retriever, so that a
chunk ranked well by either, and best by both, comes first.

Example::

    retriever = HybridRetriever(store, encoder)
    passages = retriever.retrieve("Who founded SenseTime?", k=5)
"""

from __future__ import annotations

import numpy as np

from index.store import IndexStore
from qa.config import Config
from qa.types import Passage


class HybridRetriever:
    """Dense and lexical retrieval over one index, fused by reciprocal rank.

    Args:
        store: the open index.
        candidates: hits taken from each retriever before fusion.
        rrf_k: the fusion constant (60 in the original paper).
    """

    def __init__(self, store: IndexStore, candidates: int = Config.candidates, rrf_k: int = Config.rrf_k) -> None:
        if candidates <= 0:
            raise ValueError(f"candidates must be greater than 0. Currently, candidates is {candidates}")
        if rrf_k <= 0:
            raise ValueError(f"rrf_k must be greater than 0. Currently, rrf_k is {rrf_k}")
        self.store = store
        self.candidates = candidates
        self.rrf_k = rrf_k

    def retrieve(self, query: str, query_vector: np.ndarray, k: int = 5) -> list[Passage]:
        """The ``k`` best passages for a query, best first.

        Args:
            query: the text the lexical retriever matches.
            query_vector: the query's unit vector from the index's model.
            k: how many passages to return.
        """
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        n = max(self.candidates, k)
        dense = self.store.dense_search(query_vector, n)
        lexical = self.store.lexical_search(query, n)
        fused: dict[int, float] = {}
        for hits in (dense, lexical):
            for rank, (chunk_id, _) in enumerate(hits):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        best = sorted(fused, key=lambda cid: -fused[cid])[:k]
        spans = self.store.chunk_spans(best)
        dense_scores, lexical_scores = dict(dense), dict(lexical)
        top = 2.0 / (self.rrf_k + 1)  # a chunk ranked first by both retrievers
        passages = []
        for chunk_id in best:
            article_id, start, end = spans[chunk_id]
            article = self.store.article(article_id)
            passages.append(
                Passage(
                    chunk_id=chunk_id,
                    article_id=article_id,
                    title=article.title if article else "",
                    source=article.source if article else "",
                    start=start,
                    end=end,
                    text=self.store.article_text(article_id)[start:end],
                    score=round(fused[chunk_id] / top, 6),
                    dense_score=dense_scores.get(chunk_id),
                    lexical_score=lexical_scores.get(chunk_id),
                )
            )
        return passages
