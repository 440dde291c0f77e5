"""Building a sharded index on Ray (a local Ray with 2 CPUs, started once for this module)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from index.errors import BadSetting, IndexWriteError
from index.shards import ShardedStore, shard_of
from qa import QA
from qa.config import Config
from tests.support import ARTICLES, FACTOIDS, HARDER, ROOT, UNANSWERABLE, DyingPrepare, qa_command

pytestmark = pytest.mark.xdist_group("ray")  # one Ray for the module: its tests run in one worker

QUESTIONS = [q for q, _ in FACTOIDS + HARDER] + UNANSWERABLE


@pytest.fixture(scope="module")
def ray_cluster():
    """Ray on this machine: 2 CPUs, no dashboard, loopback only; the repo importable by its workers."""
    ray = pytest.importorskip("ray", reason="the distributed extra is installed by make test")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT)}},
    )
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def ray_index(ray_cluster, tmp_path_factory):
    """The fixture articles and one broken file, built on Ray into 3 shards."""
    articles = tmp_path_factory.mktemp("articles") / "articles"
    shutil.copytree(ARTICLES, articles)
    (articles / "broken.json").write_text("{not json")
    index_dir = tmp_path_factory.mktemp("ray") / "index"
    report = QA.build([articles], config=Config(index_dir=index_dir, engine="ray", shards=3, workers=1))
    return index_dir, report


def test_a_ray_build_gives_the_same_answers_and_citations_as_a_local_build(ray_index, engine, encoder):
    index_dir, report = ray_index
    assert report.chunks == engine.stats().chunks and report.articles == engine.stats().articles == 6
    assert "6 added, 1 bad input skipped" in report.summary()
    assert [str(problem.path).endswith("broken.json") for problem in report.problems] == [True]
    built = QA(index_dir, encoder=encoder)
    assert len(built.store.shards) == 3
    for question in QUESTIONS:
        mine, theirs = built.ask(question), engine.ask(question)
        assert (mine.found, mine.text) == (theirs.found, theirs.text), question
        assert [(c.article_id, c.start, c.end) for c in mine.citations[:1]] == [
            (c.article_id, c.start, c.end) for c in theirs.citations[:1]
        ], question


def test_a_ray_build_places_each_article_in_the_shard_of_its_id(ray_index):
    store = ShardedStore.open(ray_index[0])
    for number, shard in enumerate(store.shards):
        assert all(shard_of(record.id, 3) == number for record in shard.articles())


def test_a_worker_that_keeps_dying_fails_the_build_and_leaves_the_index_as_it_was(
    ray_index, ray_cluster, tmp_path, monkeypatch, encoder
):
    from index.ray_build import RayPrepared

    index_dir = tmp_path / "index"
    shutil.copytree(ray_index[0], index_dir)
    before = sorted(p.name for p in index_dir.iterdir())
    monkeypatch.setattr(RayPrepared, "prepare", DyingPrepare)
    with pytest.raises(IndexWriteError, match=r"Ray build failed.*the index is unchanged"):
        QA.build([ARTICLES], config=Config(index_dir=index_dir, engine="ray", workers=1))
    assert sorted(p.name for p in index_dir.iterdir()) == before
    assert QA(index_dir, encoder=encoder).ask("Where is Kestrel Works based?").text == "Bristol"


def test_an_unreachable_cluster_is_a_clear_error_not_a_hang(tmp_path):
    pytest.importorskip("ray", reason="the distributed extra is not installed")
    result = subprocess.run(
        qa_command("index", "build", str(ARTICLES), "--engine", "ray", "--address", "127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=120,
        env={"QA_INDEX_DIR": str(tmp_path / "index"), "PATH": "/usr/bin:/bin"},
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "index").exists() or not any((tmp_path / "index").glob("shard-*"))


def test_without_ray_the_engine_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BadSetting, match=r"pip install -e '\.\[distributed\]'"):
        QA.build([ARTICLES], config=Config(index_dir=tmp_path / "index", engine="ray"))
