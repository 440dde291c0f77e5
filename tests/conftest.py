"""Shared fixtures: a private index directory per test, the real bundled model, a fixture index."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.support import ARTICLES

# The whole suite, its subprocesses included, keeps caches (the ONNX export of the embedding model,
# evaluation indexes) and data in a temp dir, never in the user's ~/.cache or ~/.local/share. The
# processes of one `pytest -n` run share it, so that the model is exported once (under its file lock).
# (Workers inherit the environment of the process that starts them.)
_SCRATCH = os.environ.get("ARTICLE_QA_TEST_SCRATCH") or tempfile.mkdtemp(prefix="article-qa-tests-")
os.environ["ARTICLE_QA_TEST_SCRATCH"] = _SCRATCH
os.environ["XDG_CACHE_HOME"] = os.path.join(_SCRATCH, "cache")
os.environ["XDG_DATA_HOME"] = os.path.join(_SCRATCH, "data")

SLOW_FIRST = ("test_ray.py", "test_crash_safety.py", "test_concurrency.py", "test_bad_input.py", "test_ui.py")
"""Modules with the longest tests: run first, so that parallel workers finish together."""


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.fspath.basename not in SLOW_FIRST)  # stable: order kept otherwise


def pytest_sessionfinish(session, exitstatus):
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # the controlling process (or a serial run) cleans up, last
        shutil.rmtree(_SCRATCH, ignore_errors=True)


@pytest.fixture(autouse=True)
def private_index_dir(tmp_path, monkeypatch):
    """No test ever touches the user's index: the default index dir points into the test's tmp dir."""
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "default-index"))
    return tmp_path / "default-index"


@pytest.fixture(scope="session")
def encoder():
    """The bundled all-MiniLM-L6-v2 model with the default backend, loaded once (small and offline)."""
    from index.embed import make_encoder
    from qa.config import Config

    return make_encoder(backend=Config().backend)


@pytest.fixture(scope="session")
def torch_encoder():
    """The bundled model run by sentence-transformers on torch."""
    from index.embed import TorchEncoder

    return TorchEncoder()


@pytest.fixture(scope="session")
def fixture_index(tmp_path_factory, encoder) -> Path:
    """An index built once from the fixture articles (read-only for tests)."""
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path_factory.mktemp("fixture-index")
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([ARTICLES])
    return index_dir


@pytest.fixture(scope="session")
def engine(fixture_index, encoder):
    """A QA engine over the fixture index."""
    from qa import QA

    return QA(fixture_index, encoder=encoder)


@pytest.fixture
def build_index(tmp_path, encoder):
    """Build an index from given paths into a fresh directory; returns (index_dir, report)."""
    from index.build import IndexWriter
    from qa.config import Config

    def build(paths, index_dir=None, **config):
        index_dir = index_dir or tmp_path / "index"
        report = IndexWriter(Config(index_dir=index_dir, **config), encoder=encoder).build(paths)
        return index_dir, report

    return build
