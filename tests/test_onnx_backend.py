"""The int8 ONNX backend: exported locally once, close to the torch model, recorded by the index."""

from __future__ import annotations

import numpy as np
import pytest

from index.embed import Encoder, onnx_cache_dir
from index.store import IndexStore
from qa import QA
from tests.conftest import ARTICLES

SENTENCES = [
    "Kestrel Works, the engineering firm based in Bristol, won a rail depot contract.",
    "Coffee prices climbed 14 percent in May after a drought in Brazil.",
    "The Dunmore library reopened on 8 January after the flood.",
]


@pytest.fixture(scope="module")
def onnx_encoder(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        encoder = Encoder(backend="onnx")
        encoder.encode(["export happens here"])
        yield encoder


def test_onnx_vectors_are_unit_length_and_close_to_torch(onnx_encoder, encoder):
    onnx, torch = onnx_encoder.encode(SENTENCES), encoder.encode(SENTENCES)
    assert onnx.shape == torch.shape and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-3)
    assert (onnx * torch).sum(axis=1).min() > 0.85
    similarity = onnx @ onnx.T  # a text is still nearest to itself, batched or alone
    assert all(similarity[i].argmax() == i for i in range(len(SENTENCES)))
    # Dynamic quantization scales activations per batch, so a text alone and in a batch differ a little.
    assert float(onnx_encoder.encode(SENTENCES[:1])[0] @ onnx[0]) > 0.98


def test_export_is_made_once_and_reused(onnx_encoder, monkeypatch):
    import index.embed

    folder = onnx_encoder._onnx_dir()
    assert folder.is_relative_to(onnx_cache_dir()) and (folder / "model-int8.onnx").is_file()
    monkeypatch.setattr(index.embed, "export_onnx", lambda *_: pytest.fail("exported again"))
    again = Encoder(backend="onnx")
    assert again.dimension == onnx_encoder.dimension and again.max_tokens == onnx_encoder.max_tokens


def test_index_records_its_backend_and_is_queried_with_it(tmp_path, onnx_encoder, encoder):
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path / "index"
    IndexWriter(Config(index_dir=index_dir, backend="onnx"), encoder=onnx_encoder).build([ARTICLES])
    assert IndexStore.open(index_dir).manifest.backend == "onnx"
    engine = QA(index_dir, encoder=encoder)  # a torch encoder is not used on an onnx index
    assert engine.encoder.backend == "onnx"
    assert engine.ask("Where is Kestrel Works based?").text == "Bristol"


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend must be one of torch, onnx"):
        Encoder(backend="tensorflow")
