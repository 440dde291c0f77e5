"""The public Python API: ask(), QA, input checks, configuration."""

from __future__ import annotations

import pytest

import qa
from qa import QA, Answer, BadQuestion, Config, EmptyQuestion, IndexNotFound
from qa.engine import MAX_QUESTION_CHARS


def test_ask_uses_the_default_index_and_caches_the_engine(fixture_index, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(fixture_index))
    monkeypatch.setattr(qa.engine, "_engines", {})  # whatever earlier tests cached
    first = qa.ask("Where was Greenfield Energy founded?")
    assert isinstance(first, Answer) and first.text == "Lisbon"
    (engine,) = qa.engine._engines.values()
    second = qa.ask("How many players did the tournament draw?", k=3)
    assert second.text == "240" and len(second.passages) == 3
    assert list(qa.engine._engines.values()) == [engine] and qa.engine._engines[fixture_index.resolve()] is engine


@pytest.mark.parametrize("question", [42, None, b"Where is Kestrel Works based?", ["Where?"]])
def test_a_question_that_is_not_a_string_is_a_type_error(engine, question):
    with pytest.raises(TypeError, match="question must be a string"):
        engine.ask(question)


@pytest.mark.parametrize("question", ["", "  ", "\n\t", "\x00 \x07", "\u200b\u200b"])
def test_empty_question_is_a_clear_error(engine, question):
    with pytest.raises(EmptyQuestion, match="the question is empty"):
        engine.ask(question)


@pytest.mark.parametrize("question", ["?!?", "...", "🚀🔥😀", "¿¡—…!?", "+++ ### $$$"])
def test_question_without_words_is_a_clear_error(engine, question):
    with pytest.raises(BadQuestion, match="no words to search for"):
        engine.ask(question)


def test_10000_character_question_is_cut_and_still_answered(engine):
    long = "Where is Kestrel Works based? " + "and more words " * 700
    assert len(long) > 10_000
    answer = engine.ask(long)
    assert answer.question == long.strip()[:MAX_QUESTION_CHARS]
    assert answer.text == "Bristol"


@pytest.mark.parametrize(
    "question", ["¿Dónde tiene su sede Kestrel Works?", "Где находится Kestrel Works?", "Kestrel Works 在哪里？"]
)
def test_question_in_another_language_gets_an_answer_object_not_an_error(engine, question):
    answer = engine.ask(question)
    assert answer.question == question
    assert answer.found == bool(answer.text)
    if answer.found:  # whatever it says must still be verbatim and cited
        assert answer.text in answer.citations[0].quote


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
