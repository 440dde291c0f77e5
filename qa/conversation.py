"""Resolve follow-up questions against the conversation so far.

"Who founded it?" after a question about SenseTime retrieves about SenseTime:
when a question refers back (a pronoun, "the company") and names no subject of
its own, the salient names and terms of the previous turn join its query. A
question with nothing of its own to ask about ("Why?", "How so?") borrows the whole
previous turn, its question and its answer. A question that names its own subject
starts a new topic and ignores the history.

History may be given as previous questions (strings), :class:`~qa.types.Answer`
objects, ``(question, answer)`` pairs, or chat messages
(``{"role": "user" | "assistant", "content": ...}``), oldest first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from index.annotate import load_spacy
from qa.types import NOT_FOUND_MESSAGE, SOURCES_HEADING, Answer

REFERRING = {
    "it", "its", "they", "them", "their", "theirs", "he", "him", "his", "she", "her", "hers",
    "this", "that", "these", "those", "there", "then", "itself", "themselves",
}  # fmt: skip
# "the company", "the firm": a definite noun phrase pointing back.
_DEFINITE_BACK = re.compile(
    r"\b(the|this|that)\s+(company|firm|group|country|city|person|man|woman|event|deal|plan|offering|report|article)\b",
    re.I,
)
MAX_TURNS = 10
"""Only the latest turns of a conversation are read for a follow-up's subject."""
MAX_TURN_CHARS = 1000
"""An earlier question or answer is read up to here (a question is cut there too: ``qa.engine.MAX_QUESTION_CHARS``)."""
_SUBJECT_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW"}


def _turns(history: Sequence[object] | None) -> list[tuple[str, str]]:
    """``(question, answer_text)`` for each earlier turn, oldest first."""
    turns: list[tuple[str, str]] = []
    for item in history or ():
        if isinstance(item, str):
            turns.append((item, ""))
        elif isinstance(item, Answer):
            turns.append((item.question, item.text))
        elif isinstance(item, dict) and "content" in item:
            content = item["content"] if isinstance(item["content"], str) else ""
            if item.get("role") == "user":
                turns.append((content, ""))
            elif turns and item.get("role") == "assistant":  # our own chat reply: its answer, not its sources
                turns[-1] = (turns[-1][0], content.split(f"\n{SOURCES_HEADING}")[0])
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            question, answer = item
            turns.append((question if isinstance(question, str) else "", answer if isinstance(answer, str) else ""))
    # spaCy reads the turns: only the latest few, each no longer than a question, whatever the history's size
    kept = [(q, "" if a.strip() == NOT_FOUND_MESSAGE else a) for q, a in turns if q][-MAX_TURNS:]
    return [(q[:MAX_TURN_CHARS], a[:MAX_TURN_CHARS]) for q, a in kept]


def subject_terms(text: str) -> list[str]:
    """The names and nouns a text is about: entities first, then proper and common nouns."""
    doc = load_spacy()(text)
    return list(dict.fromkeys([*_names(doc), *(t.text for t in doc if t.pos_ == "NOUN" and not t.is_stop)]))


def named_terms(text: str) -> list[str]:
    """The names in a text: its entities, then its proper nouns."""
    return _names(load_spacy()(text))


def _names(doc) -> list[str]:
    """The names in a parsed text (see :func:`named_terms`)."""
    found = [ent.text for ent in doc.ents if ent.label_ in _SUBJECT_LABELS]
    covered = {t.i for ent in doc.ents for t in ent}
    return list(dict.fromkeys([*found, *(t.text for t in doc if t.pos_ == "PROPN" and t.i not in covered)]))


def refers_back(question: str) -> bool:
    """Whether the question leans on an earlier turn for its subject."""
    doc = load_spacy()(question)
    words = {t.lower_ for t in doc}
    if words & REFERRING or _DEFINITE_BACK.search(question):
        own_subject = any(ent.label_ in _SUBJECT_LABELS for ent in doc.ents) or any(t.pos_ == "PROPN" for t in doc)
        # In a question that names its own subject, a possessive is that subject's ("the Orchard Museum ... its").
        return not own_subject or bool(words & {"it", "they", "he", "she"})
    return False


_WH_WORDS = frozenset(("why", "how", "when", "where", "what", "who", "whom", "which", "whose"))
_PERSONAL = REFERRING - {"this", "that", "these", "those", "there", "then"}
_CONTENT = frozenset(("NOUN", "PROPN", "NUM", "ADJ", "VERB"))
_EMPTY_VERBS = frozenset(("happen", "come", "mean", "do"))
_WH_OPENING = re.compile(
    r"^\s*(?:and |so |but )?(?:what|which|who|whom|whose|when|where|why|how)"
    r"(?: (?:many|much|long|far|old|big|large|often|soon))?(?:'s\s+|\s+|\W*$)"
    r"(?:(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could|should)\s+)?",
    re.IGNORECASE,
)
BORROWED_ANSWER_WORDS = 40
"""An elliptical follow-up borrows at most this many words of the previous answer (a summary's is long)."""


def elliptical(question: str) -> bool:
    """Whether the question is a wh-word and nothing of its own to ask about: "Why?", "How so?", "And when?", "Why
    did that happen?" (no noun, name, number, adjective or verb but "happen", "come", "mean", "do", and no
    personal pronoun: "Where is it?" asks of a subject, :func:`refers_back`)."""
    doc = load_spacy()(question)
    words = {t.lower_ for t in doc}
    if not words & _WH_WORDS or words & _PERSONAL:  # "Where is it?", "Who is he?": a pronoun names the subject
        return False
    return not any(t.pos_ in _CONTENT and t.lemma_.lower() not in _EMPTY_VERBS for t in doc)


def followup_context(question: str, history: Sequence[object] | None) -> str:
    """The words a follow-up borrows from the conversation: the subject of the latest turn that has one; for an
    elliptical follow-up (:func:`elliptical`: "Why?"), the whole latest turn: what its question asked (without its
    wh-word, which would make the reader look for a figure or a name again) and its answer.

    Empty when the question does not refer back, or there is no history.

    Example::

        followup_context("Who founded it?", ["What does Kestrel Works do?"])  # "Kestrel Works"
        followup_context("Why?", [("What did the Treasury announce?", "the ban")])  # "the Treasury announce the ban"
    """
    turns = _turns(history)
    if not turns:
        return ""
    if elliptical(question):
        # the latest turn that asked something itself ("When?" after "What did the Treasury announce?", "Why?")
        previous_question, previous_answer = next(((q, a) for q, a in reversed(turns) if not elliptical(q)), turns[-1])
        asked = _WH_OPENING.sub("", previous_question).rstrip(" ?")  # "the Treasury announce", not "What did ..."
        return " ".join([asked, *previous_answer.split()[:BORROWED_ANSWER_WORDS]]).strip()
    return _subject_of(turns) if refers_back(question) else ""


def _subject_of(turns: list[tuple[str, str]]) -> str:
    """The subject a follow-up borrows from ``turns`` (oldest first): the terms of the latest question that names
    something; the names in its answer and in the latest answer ("he"/"she" may point at one: "Who runs it?" -> a
    person; an answer's common nouns, "the interests of the potential investors", would lead the reader astray);
    and, while that question was itself a follow-up ("Why did it postpone its IPO?"), the names of the question
    before it that names something ("SenseTime", two turns back). Empty when no question names anything."""
    borrowed: list[str] = []
    for question, answer in reversed(turns):
        subjects = subject_terms(question)
        if not subjects:
            continue
        if not borrowed:
            borrowed = subjects[:4] + named_terms(answer)[:2] + named_terms(turns[-1][1])[:2]
        else:
            borrowed += named_terms(question)[:3]
        if not refers_back(question):
            break
    return " ".join(dict.fromkeys(borrowed))


def resolve_followup(question: str, history: Sequence[object] | None) -> str:
    """The retrieval query for ``question``: itself, plus :func:`followup_context` if it refers back."""
    return f"{question} {followup_context(question, history)}".strip()
