"""The FAISS index follows the corpus size, can be chosen by factory string, and updates keep working."""

from __future__ import annotations

import math
import shutil

import faiss
import pytest

from index.build import IndexWriter
from index.store import IndexStore
from index.vectors import choose_index, is_exact, make_index, vector_ids
from qa import QA
from qa.cli import main
from qa.config import Config
from qa.errors import BadSetting, IndexWriteError
from tests.support import ARTICLES


@pytest.mark.parametrize("approximate_from", [Config().approximate_from, 4])
def test_auto_is_exact_for_small_corpora_and_an_inverted_file_beyond(approximate_from):
    """What "auto" makes, by corpus size (as the module says): exact search below ``approximate_from`` chunks;
    from there an inverted file of about the square root of the corpus in lists, its vectors in a byte a
    dimension (a quarter of float32's memory); any other setting is the factory string used as given."""
    dimension = 384

    def made(chunks: int):
        return make_index(choose_index("auto", chunks, approximate_from), dimension)

    for chunks in (1, approximate_from - 1):
        index = made(chunks)
        assert isinstance(index, faiss.IndexFlat) and faiss.try_extract_index_ivf(index) is None, chunks
    for chunks in (approximate_from, 5 * approximate_from, 100 * approximate_from):
        ivf = faiss.try_extract_index_ivf(made(chunks))
        assert ivf is not None, chunks
        assert math.sqrt(chunks) / 2 <= ivf.nlist <= 2 * math.sqrt(chunks), (chunks, ivf.nlist)
        assert ivf.code_size == dimension, (chunks, ivf.code_size)
    assert isinstance(make_index(choose_index("HNSW32", 10, approximate_from), dimension), faiss.IndexHNSW)


def test_a_corpus_past_the_threshold_gets_an_approximate_index_that_updates(tmp_path, encoder):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    config = Config(index_dir=tmp_path / "index", approximate_from=4)  # "auto" now means IVF for the fixtures
    IndexWriter(config, encoder=encoder).build([folder])
    store = IndexStore.open(config.index_dir)
    assert not is_exact(store.vectors) and faiss.try_extract_index_ivf(store.vectors) is not None
    assert store.verify() == []
    assert QA(config=config, encoder=encoder).ask("Where is Kestrel Works based?").text == "Bristol"

    story = folder / "harbor-bridge.txt"  # an update removes the old vectors from the inverted file
    story.write_text(story.read_text() + "\nThe council later raised the budget to $52 million.\n")
    report = IndexWriter(config, encoder=encoder).add([folder])
    assert len(report.updated) == 1
    store = IndexStore.open(config.index_dir)
    assert store.verify() == [] and len(set(vector_ids(store.vectors).tolist())) == store.manifest.chunks


def test_a_factory_string_is_used_and_recorded(tmp_path, encoder):
    config = Config(index_dir=tmp_path / "index", vector_index="IVF2,SQ8")
    IndexWriter(config, encoder=encoder).build([ARTICLES])
    store = IndexStore.open(config.index_dir)
    assert store.manifest.vector_index == "IVF2,SQ8" and not is_exact(store.vectors)
    assert store.verify() == []
    engine = QA(config=config, encoder=encoder)
    assert engine.ask("Where is Kestrel Works based?").text == "Bristol"


def test_an_index_that_cannot_remove_vectors_refuses_updates_and_stays_whole(tmp_path, encoder):
    folder = tmp_path / "articles"
    shutil.copytree(ARTICLES, folder)
    config = Config(index_dir=tmp_path / "index", vector_index="HNSW8")
    IndexWriter(config, encoder=encoder).build([folder])
    store = IndexStore.open(config.index_dir)
    before, first = store.manifest, next(iter(store.articles())).id
    with pytest.raises(IndexWriteError, match="cannot remove them; rebuild"):
        IndexWriter(config, encoder=encoder).remove([first])
    store = IndexStore.open(config.index_dir)
    assert store.manifest == before and store.verify() == []


def test_an_unknown_factory_string_is_refused_before_any_work(tmp_path, encoder, capsys):
    with pytest.raises(BadSetting, match="'IVF,nonsense'"):
        IndexWriter(Config(index_dir=tmp_path / "index", vector_index="IVF,nonsense"), encoder=encoder).build(
            [ARTICLES]
        )
    assert not (tmp_path / "index").exists() or not list((tmp_path / "index").glob("gen-*"))
    code = main(["index", "build", str(ARTICLES), "--index", str(tmp_path / "cli"), "--vector-index", "Nope"])
    assert code == 1 and "FAISS cannot make a vector index from 'Nope'" in capsys.readouterr().err
