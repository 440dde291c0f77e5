"""End to end over the fixture index: short correct answers, exact citations, honest abstention."""

from __future__ import annotations

import pytest

from index.store import IndexStore
from tests.support import ARTICLES, FACTOIDS, HARDER, UNANSWERABLE

BRIDGE_COST_DECLINED = pytest.mark.xfail(
    strict=True,
    reason="issue 29: the news-trained reader finds '$45 million' for the bridge's cost ('approve a $45 million "
    "bridge') but at confidence 0.10 (0.07 with the sentence judge's second opinion), under its threshold 0.26 "
    "(the reader before: 0.84)",
)


def _marked(pairs):
    """The question pairs, the one the shipped reader declines marked as the known regression it is."""
    return [pytest.param(*pair, marks=BRIDGE_COST_DECLINED) if "bridge cost" in pair[0] else pair for pair in pairs]


@pytest.mark.parametrize(("question", "expected"), _marked(FACTOIDS))
def test_factoid_gets_a_short_correct_answer(engine, question, expected):
    answer = engine.ask(question)
    assert answer.found, answer
    assert expected in answer.text
    assert len(answer.text) <= 3 * len(expected) + 10, f"not a short span: {answer.text!r}"


def test_most_harder_questions_are_right(engine):
    right = [q for q, expected in HARDER if expected in engine.ask(q).text]
    assert len(right) >= len(HARDER) - 1, right


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_question_the_articles_do_not_answer_is_declined(engine, question):
    answer = engine.ask(question)
    assert not answer.found
    assert answer.text == "" and answer.start is None and answer.citations == ()
    assert answer.message == "Not found in the indexed articles."
    assert answer.passages, "the closest passages are still shown"


@pytest.mark.parametrize(("question", "_"), _marked(FACTOIDS + HARDER))
def test_every_offset_is_exact(engine, fixture_index, question, _):
    store = IndexStore.open(fixture_index)
    answer = engine.ask(question)
    text = store.article_text(answer.article_id)
    assert text[answer.start : answer.end] == answer.text
    supporting = answer.citations[0]
    assert supporting.article_id == answer.article_id
    assert supporting.start <= answer.start and answer.end <= supporting.end, "the answer lies in the first citation"
    for citation in answer.citations:
        assert store.article_text(citation.article_id)[citation.start : citation.end] == citation.quote
    for passage in answer.passages:
        assert store.article_text(passage.article_id)[passage.start : passage.end] == passage.text


def test_confidence_is_a_probability_and_higher_when_answered(engine):
    found = [engine.ask(q).score for q, _ in FACTOIDS]
    declined = [engine.ask(q).score for q in UNANSWERABLE]
    assert all(0.0 <= s <= 1.0 for s in found + declined)
    assert min(found) > max(declined)


def test_answer_serializes_to_json(engine):
    import json

    data = json.loads(json.dumps(engine.ask("Where is Kestrel Works based?").to_dict()))
    assert data["text"] == "Bristol" and data["found"] is True
    assert data["citations"][0]["quote"].startswith("Kestrel Works, the engineering firm")
    assert {"question", "score", "article_id", "start", "end", "passages"} <= set(data)


def test_citation_carries_url_and_date_when_known(engine):
    citation = engine.ask("How much is the Northfield rail depot contract worth?").citations[0]
    assert citation.url == "https://example.com/kestrel-rail" and citation.date == "2024-05-14"


CONFLICTING = ARTICLES.parent / "conflicting"


def test_articles_that_disagree_are_both_shown(build_index, encoder):
    from qa import QA

    index_dir, _ = build_index([CONFLICTING, ARTICLES])
    answer = QA(index_dir, encoder=encoder).ask("How much will the Lakeside stadium renovation cost?")
    values = {answer.text} | {alternative.text for alternative in answer.alternatives}
    assert values == {"$120 million", "$165 million"}
    store = IndexStore.open(index_dir)
    for alternative in answer.alternatives:
        assert alternative.citation.article_id != answer.article_id, "each value comes with its own source"
        text = store.article_text(alternative.citation.article_id)
        assert text[alternative.start : alternative.end] == alternative.text
        assert alternative.citation.start <= alternative.start and alternative.end <= alternative.citation.end


def test_a_fact_only_one_article_states_has_no_alternatives(engine):
    disputed = [q for q, _ in FACTOIDS if engine.ask(q).alternatives]
    assert not disputed, "no other article gives a different value for these"
