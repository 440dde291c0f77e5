"""Follow-up questions resolved against the conversation, on scripted conversations."""

from __future__ import annotations

import pytest

from qa.conversation import elliptical, followup_context, refers_back, resolve_followup


def test_pronoun_follow_up_takes_the_previous_subject():
    query = resolve_followup("Who founded it?", ["What does Kestrel Works do?"])
    assert "Kestrel Works" in query


def test_that_refers_back_to_the_previous_event():
    context = followup_context("When did that happen?", ["Did Port Alder approve the harbor bridge?"])
    assert "Port Alder" in context


def test_definite_noun_phrase_refers_back():
    context = followup_context("When was the company founded?", ["Who runs Greenfield Energy?"])
    assert "Greenfield Energy" in context


def test_follow_up_of_a_follow_up_keeps_the_subject():
    history = ["What does Kestrel Works do?", "Who founded it?"]
    assert "Kestrel Works" in followup_context("Where is it based?", history)


def test_a_follow_up_naming_a_thing_of_the_subject_keeps_the_subject_and_not_the_answers_words():
    history = [
        ("Who founded Kestrel Works?", "Anna Berg"),
        ("Why did it postpone its IPO?", "to safeguard the interests of the potential investors"),
    ]
    context = followup_context("Is it on a blacklist?", history)
    assert "Kestrel Works" in context and "IPO" in context  # the subject two turns back, and the thing asked of it
    assert "interests" not in context and "investors" not in context  # an answer's common nouns lead astray


def test_a_follow_up_after_an_elliptical_one_still_finds_the_subject():
    asked = [("Who founded Kestrel Works?", "Anna Berg"), ("When?", "2010")]
    assert followup_context("What did she do?", asked) == "Kestrel Works Anna Berg"  # a pronoun: not elliptical
    assert "Kestrel Works" in followup_context("Where is it?", [*asked, ("Why?", "")])
    announced = [("What did the Treasury announce?", "the ban"), ("Why?", "to curb money laundering")]
    assert followup_context("When?", announced) == "the Treasury announce the ban"  # the turn that asked something


def test_our_own_chat_reply_lends_its_answer_not_its_sources_or_a_refusal():
    def chat(reply: str) -> list[dict]:
        return [{"role": "user", "content": "What did the Treasury announce?"}, {"role": "assistant", "content": reply}]

    assert (
        followup_context("Why?", chat("the ban\n\nSources:\n[1] Treasury bans: “...”"))
        == "the Treasury announce the ban"
    )
    assert followup_context("Why?", chat("Not found in the indexed articles.")) == "the Treasury announce"


def test_a_huge_earlier_turn_is_read_only_as_far_as_a_question_would_be():
    # the API takes a history of up to 1 MB: spaCy reads only the latest MAX_TURNS turns, each up to MAX_TURN_CHARS
    from qa.conversation import MAX_TURN_CHARS, MAX_TURNS

    answer = "the plan " * (MAX_TURN_CHARS // 9 + 1) + "Greenfield Energy " + "more words " * 50_000
    context = followup_context("Who runs it?", [("Who won the Riverton Chess Open?", answer)])
    assert "Riverton Chess Open" in context and "Greenfield" not in context
    many = [("Who founded Kestrel Works?", "Anna Berg"), *[("Why did it move its factory?", "")] * MAX_TURNS]
    assert "Kestrel" not in followup_context("Is it profitable?", many)  # beyond the turns read


def test_chat_messages_and_answer_pairs_are_understood():
    messages = [
        {"role": "user", "content": "Who is the chief executive of Greenfield Energy?"},
        {"role": "assistant", "content": "Rafael Ortiz"},
    ]
    assert "Greenfield Energy" in followup_context("Where was it founded?", messages)
    pairs = [("Who won the Riverton Chess Open?", "Nadia Petrova")]
    assert "Riverton Chess Open" in followup_context("How many players did it draw?", pairs)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Why?", True),
        ("And how?", True),
        ("How so?", True),
        ("Why did that happen?", True),
        ("When?", True),
        ("Why did it postpone its IPO?", False),  # "postpone", "IPO": its own to ask about
        ("Who founded it?", False),
        ("How many?", False),
    ],
)
def test_a_question_with_nothing_of_its_own_is_elliptical(question, expected):
    assert elliptical(question) is expected


def test_an_elliptical_follow_up_borrows_the_whole_previous_turn():
    history = [("Who founded Kestrel Works?", "Anna Berg"), ("How many jobs will go at the Merrow glassworks?", "480")]
    context = followup_context("Why?", history)
    assert context == "jobs will go at the Merrow glassworks 480"  # the latest turn, without its "How many"
    assert followup_context("Why?", None) == ""


def test_new_subject_ignores_history():
    question = "How much did the Dunmore library repairs cost?"
    assert resolve_followup(question, ["Who founded Kestrel Works?"]) == question


def test_a_possessive_of_the_questions_own_subject_ignores_history():
    question = "What code did the Orchard Museum find on its home page?"
    assert resolve_followup(question, ["Where is Kestrel Works based?", "When was it started?"]) == question
    history = ["Who builds Kestrel Works' bridge?"]
    assert "Kestrel Works" in followup_context("When did Elena Voss say it would open?", history), "'it' still does"


def test_no_history_leaves_the_question():
    assert resolve_followup("Who founded it?", None) == "Who founded it?"
    assert not refers_back("Where is Kestrel Works based?")


def test_follow_up_is_answered_about_the_same_subject(engine):
    first = engine.ask("Where is Kestrel Works based?")
    follow = engine.ask("When was it started?", history=[first])
    assert follow.found and follow.text == "1998"


def test_topic_change_is_answered_about_the_new_topic(engine):
    history = [engine.ask("Where is Kestrel Works based?"), engine.ask("When was it started?")]
    answer = engine.ask("How much did the solar farm cost?", history=history)
    assert answer.text == "$210 million"
    assert "Greenfield" in answer.citations[0].title
