"""The FAISS index that holds the chunk vectors, chosen by the size of the corpus.

Up to ``Config.approximate_from`` chunks the search is exact (``Flat``: every vector compared, fast
enough there). Beyond, ``auto`` picks an inverted file of 8-bit scalar-quantized vectors
(``IVF{lists},SQ8``, lists about the square root of the corpus): a quarter of the memory, and,
unlike HNSW, it can remove vectors, so updates need no rebuild. Any FAISS factory string can be
asked for instead (``--vector-index``); see BENCHMARKS.md for the figures behind these choices.

Vectors are collected in an exact index while a build runs and moved into the chosen index when
it is written; an approximate index is trained then, on the vectors themselves.
"""

from __future__ import annotations

import math

import numpy as np

from index.config import Config
from index.errors import BadSetting

EXACT = "Flat"
TRAINING_POINTS_PER_LIST = 64
"""Training vectors per list of an inverted file (FAISS's k-means asks for at least 39)."""


def choose_index(setting: str, n_vectors: int, approximate_from: int = Config.approximate_from) -> str:
    """The FAISS factory string for ``n_vectors`` chunk vectors: ``setting`` itself unless it is ``"auto"``,
    which is exact search below ``approximate_from`` vectors and an inverted file of 8-bit vectors from there."""
    if setting != "auto":
        return setting
    if n_vectors < approximate_from:
        return EXACT
    lists = 2 ** round(math.log2(math.sqrt(n_vectors)))
    return f"IVF{lists},SQ8"


def exact_index(dimension: int):
    """An empty exact inner-product index keyed by chunk id, as builds collect vectors in."""
    import faiss

    return faiss.IndexIDMap2(faiss.IndexFlatIP(dimension))


def is_exact(index) -> bool:
    """Whether ``index`` is the exact kind :func:`exact_index` makes."""
    import faiss

    return isinstance(index, faiss.IndexIDMap2) and isinstance(faiss.downcast_index(index.index), faiss.IndexFlat)


def convert(index, factory: str):
    """``index`` (exact) moved into a new index made by the FAISS factory string, trained on its vectors.

    Returns ``index`` itself when ``factory`` is :data:`EXACT`.

    Raises:
        BadSetting: FAISS does not understand ``factory``.
    """
    import faiss

    if factory == EXACT:
        return index
    ids = faiss.vector_to_array(index.id_map).astype(np.int64)
    vectors = faiss.vector_to_array(faiss.downcast_index(index.index).codes).view(np.float32).reshape(-1, index.d)
    target = make_index(factory, index.d)
    if not target.is_trained:
        sample = vectors
        wanted = _training_size(target)
        if wanted and len(vectors) > wanted:
            sample = vectors[np.sort(np.random.default_rng(0).choice(len(vectors), wanted, replace=False))]
        target.train(np.ascontiguousarray(sample))
    if faiss.try_extract_index_ivf(target) is None and not isinstance(target, (faiss.IndexIDMap, faiss.IndexIDMap2)):
        target = faiss.IndexIDMap2(target)  # inverted files keep ids themselves; others need a map
    for first in range(0, len(ids), 65_536):  # adding in slices keeps the temporary copies small
        target.add_with_ids(np.ascontiguousarray(vectors[first : first + 65_536]), ids[first : first + 65_536])
    return target


def make_index(factory: str, dimension: int):
    """An empty inner-product index from a FAISS factory string.

    Raises:
        BadSetting: FAISS does not understand ``factory``.
    """
    import faiss

    try:
        return faiss.index_factory(dimension, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()[-1]
        raise BadSetting(f"FAISS cannot make a vector index from {factory!r} ({message})") from exc


def _training_size(index) -> int:
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    return ivf.nlist * TRAINING_POINTS_PER_LIST if ivf is not None else 0


def vector_ids(index) -> np.ndarray:
    """The chunk ids an index holds."""
    import faiss

    id_map = getattr(index, "id_map", None)
    if id_map is not None:
        return faiss.vector_to_array(id_map)
    ivf = faiss.try_extract_index_ivf(index)
    if ivf is None:
        return np.arange(index.ntotal)
    lists = ivf.invlists
    found = [
        np.asarray(faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i))).copy()
        for i in range(ivf.nlist)
        if lists.list_size(i)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def set_probes(index, probes: int) -> None:
    """How many lists an inverted-file index searches per question (more: better recall, slower)."""
    import faiss

    ivf = faiss.try_extract_index_ivf(index)
    if ivf is not None:
        ivf.nprobe = min(probes, ivf.nlist)
