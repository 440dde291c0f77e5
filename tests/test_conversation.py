"""Follow-up questions resolved against the conversation."""

from __future__ import annotations

from qa.conversation import refers_back, resolve_followup


def test_pronoun_follow_up_takes_the_previous_subject():
    query = resolve_followup("Who founded it?", ["What does Kestrel Works do?"])
    assert "Kestrel Works" in query


def test_new_subject_ignores_history():
    question = "How much did the Dunmore library repairs cost?"
    assert resolve_followup(question, ["Who founded Kestrel Works?"]) == question


def test_no_history_leaves_the_question():
    assert resolve_followup("Who founded it?", None) == "Who founded it?"
    assert not refers_back("Where is Kestrel Works based?")


def test_follow_up_is_answered_about_the_same_subject(engine):
    first = engine.ask("Where is Kestrel Works based?")
    follow = engine.ask("When was it started?", history=[first])
    assert follow.found and follow.text == "1998"
