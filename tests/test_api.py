"""The public Python API: ask(), QA, input checks, configuration."""

from __future__ import annotations

import pytest

import qa
from qa import QA, Answer, Config, EmptyQuestion, IndexNotFound
from qa.engine import MAX_QUESTION_CHARS


def test_ask_uses_the_default_index_and_caches_the_engine(fixture_index, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(fixture_index))
    first = qa.ask("Where was Greenfield Energy founded?")
    assert isinstance(first, Answer) and first.text == "Lisbon"
    second = qa.ask("How many players did the tournament draw?", k=3)
    assert second.text == "240" and len(second.passages) == 3
    assert len(qa.engine._engines) >= 1


def test_bad_questions(engine):
    with pytest.raises(TypeError):
        engine.ask(42)
    with pytest.raises(EmptyQuestion):
        engine.ask("  ")
    long = "How much did the solar farm cost? " + "and more words " * 800
    answer = engine.ask(long)  # cut to a length the model reads, not an error
    assert answer.question == long.strip()[:MAX_QUESTION_CHARS]


def test_k_is_checked(engine):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        engine.ask("Where is Kestrel Works based?", k=0)


def test_missing_index(tmp_path):
    with pytest.raises(IndexNotFound):
        QA(tmp_path / "nothing")


@pytest.mark.parametrize(
    ("field", "value"), [("k", 0), ("chunk_tokens", -1), ("min_confidence", 1.5), ("chunk_overlap", 500)]
)
def test_config_names_the_bad_value(field, value):
    with pytest.raises(ValueError, match=field):
        Config(**{field: value})


def test_config_default_index_dir_follows_the_env(monkeypatch, tmp_path):
    monkeypatch.setenv("QA_INDEX_DIR", str(tmp_path / "x"))
    assert Config().index_dir == tmp_path / "x"
    assert Config().with_overrides(index_dir=tmp_path / "y", model=None).index_dir == tmp_path / "y"
