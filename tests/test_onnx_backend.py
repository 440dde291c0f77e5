"""The int8 ONNX backend: exported locally once, close to the torch model, recorded by the index."""

from __future__ import annotations

import numpy as np
import pytest

from index.embed import OnnxEncoder, TorchEncoder, make_encoder, onnx_cache_dir
from index.store import IndexStore
from qa import QA
from tests.support import ARTICLES

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
        encoder = OnnxEncoder()
        encoder.encode(["export happens here"])
        yield encoder


def test_onnx_vectors_are_unit_length_and_close_to_torch(onnx_encoder, torch_encoder):
    onnx, torch = onnx_encoder.encode(SENTENCES), torch_encoder.encode(SENTENCES)
    assert onnx.shape == torch.shape and onnx.dtype == np.float32
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-3)
    assert (onnx * torch).sum(axis=1).min() > 0.85
    similarity = onnx @ onnx.T  # a text is still nearest to itself, batched or alone
    assert all(similarity[i].argmax() == i for i in range(len(SENTENCES)))
    # Dynamic quantization scales activations per batch, so a text alone and in a batch differ a little.
    assert float(onnx_encoder.encode(SENTENCES[:1])[0] @ onnx[0]) > 0.98


def test_export_is_made_once_and_reused(onnx_encoder, monkeypatch):
    import index.embed

    folder = onnx_encoder.export_dir()
    assert folder.is_relative_to(onnx_cache_dir()) and (folder / "model-int8.onnx").is_file()
    monkeypatch.setattr(index.embed, "export_onnx", lambda *_: pytest.fail("exported again"))
    again = OnnxEncoder()
    assert again.dimension == onnx_encoder.dimension and again.max_tokens == onnx_encoder.max_tokens


def test_index_records_its_backend_and_is_queried_with_it(tmp_path, onnx_encoder, torch_encoder):
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path / "index"
    IndexWriter(Config(index_dir=index_dir, backend="torch"), encoder=torch_encoder).build([ARTICLES])
    assert IndexStore.open(index_dir).manifest.backend == "torch"
    engine = QA(index_dir, encoder=onnx_encoder)  # an onnx encoder is not used on a torch index
    assert engine.encoder.backend == "torch"
    assert engine.ask("Where is Kestrel Works based?").text == "Bristol"


def test_default_index_is_onnx(fixture_index):
    assert IndexStore.open(fixture_index).manifest.backend == "onnx"


def test_batches_run_at_once_give_the_same_vectors_in_the_same_rows(onnx_encoder):
    texts = [f"{SENTENCES[i % 3]} Report {i}: {'more words ' * (i % 7)}" for i in range(30)]
    one_at_a_time, at_once = OnnxEncoder(workers=1), OnnxEncoder(workers=3)
    vectors = at_once.encode(texts, batch_size=4)
    assert np.allclose(vectors, one_at_a_time.encode(texts, batch_size=4), atol=1e-5)
    assert len({tuple(np.round(v, 3)) for v in vectors}) == len(texts)  # every row filled, none twice


def test_unknown_backend_names_the_choices():
    with pytest.raises(ValueError, match="backend must be one of auto, torch, onnx"):
        make_encoder(backend="tensorflow")


def test_auto_backend_is_onnx_for_the_bundled_model_and_torch_for_others():
    from index.embed import resolve_backend

    assert isinstance(make_encoder(backend="auto"), OnnxEncoder)
    assert make_encoder("sentence-transformers/all-MiniLM-L6-v2", backend="auto").backend == "onnx"
    assert isinstance(make_encoder("someone/a-cls-pooling-model", backend="auto"), TorchEncoder)  # not loaded here
    assert resolve_backend("someone/a-cls-pooling-model", "onnx") == "onnx"


def test_once_a_session_runs_on_the_global_pool_every_later_one_does(onnx_encoder):
    """After a session on ONNX Runtime's global pool (a question's models), a session asked with threads of its
    own (a build's encoder) is still made, though ONNX Runtime refuses pools of their own from then on, and
    runs on that pool: the process gains no thread, and the vectors are the same."""
    import os

    import onnxruntime

    from index.embed import ONNX_FILE, onnx_encode, onnx_session_options

    def threads() -> int:
        return len(os.listdir("/proc/self/task"))

    path = str(onnx_encoder.export_dir() / ONNX_FILE)
    question = ["Where is Kestrel Works based?"]

    def encode_with(options) -> np.ndarray:
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return onnx_encode(session, onnx_encoder.tokenizer, question, onnx_encoder.max_tokens)

    shared = encode_with(onnx_session_options())
    running = threads()
    later = encode_with(onnx_session_options(2))
    assert threads() <= running, "the later session started a pool of its own"
    assert later.shape == (1, onnx_encoder.dimension) and np.allclose(later, shared, atol=1e-6)
