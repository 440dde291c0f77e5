"""Find the passages relevant to a question: dense (FAISS) and BM25, fused.

Reciprocal rank fusion adds ``1 / (rrf_k + rank)`` from each retriever, so that a
chunk ranked well by either, and best by both, comes first.

Example::

    retriever = HybridRetriever(store, encoder)
    passages = retriever.retrieve("Who founded SenseTime?", k=5)
"""

from __future__ import annotations

import numpy as np

from index.store import IndexStore, Stretch
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

    def retrieve(
        self, query: str, query_vector: np.ndarray, k: int = Config.k, within: np.ndarray | None = None
    ) -> list[Passage]:
        """The ``k`` best passages for a query, best first.

        Args:
            query: the text the lexical retriever matches.
            query_vector: the query's unit vector from the index's model.
            k: how many passages to return.
            within: search only these chunk ids (a scope's, from ``IndexStore.chunks_in``); ``None``: all.
        """
        if k <= 0:
            raise ValueError(f"k must be greater than 0. Currently, k is {k}")
        n = max(self.candidates, k)
        dense = self.store.dense_search(query_vector, n, within)
        lexical = self.store.lexical_search(query, n, within)
        fused: dict[int, float] = {}
        for hits in (dense, lexical):
            for rank, (chunk_id, _) in enumerate(hits):
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank + 1)
        best = sorted(fused, key=lambda cid: -fused[cid])[:k]
        stretches = self.store.chunk_stretches(best)
        dense_scores, lexical_scores = dict(dense), dict(lexical)
        top = 2.0 / (self.rrf_k + 1)  # a chunk ranked first by both retrievers
        return [
            passage_of(
                stretches[chunk_id],
                chunk_id,
                round(fused[chunk_id] / top, 6),
                dense_scores.get(chunk_id),
                lexical_scores.get(chunk_id),
            )
            for chunk_id in best
            if chunk_id in stretches
        ]


def passage_of(
    stretch: Stretch, chunk_id: int, score: float, dense_score: float | None = None, lexical_score: float | None = None
) -> Passage:
    """The :class:`Passage` of a stretch of an article the index returned, with its retrieval scores."""
    return Passage(
        chunk_id=chunk_id,
        article_id=stretch.article_id,
        title=stretch.title,
        source=stretch.source,
        start=stretch.start,
        end=stretch.end,
        text=stretch.text,
        score=score,
        dense_score=dense_score,
        lexical_score=lexical_score,
        url=stretch.url,
        date=stretch.date,
        sentences=stretch.sentences,
        author=stretch.author,
        pages=stretch.pages,
    )
