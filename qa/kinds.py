"""What a question asks for: its kind, decided once, before any answering.

``about`` (what a story is about, a summary; or what it says of someone or something it names: "Who is Tang
Xiao'ou?"), ``yesno``, ``why``, ``how`` (the manner, not "how many"),
``list`` (several items), ``compare`` (what several articles say) and ``factoid`` (one short span: who, when,
how much ...). Rules read the question's opening words; a small logistic model over the question's words
(``models/kinds/words.json``, trained by :mod:`training.train_kinds` on the news training part's questions)
places the rest: it tells a list question ("What conditions must parents meet?") from a factoid one ("What
penalty did the commission impose?"), which no opening word does. Measured on labelled questions in BENCHMARKS.md
("Open questions").

Example::

    question_kind("Summarise the news about the glassworks.")  # "about"
    question_kind("Did the union accept the offer?")           # "yesno"
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from pathlib import Path

KINDS = ("factoid", "about", "yesno", "why", "how", "list", "compare")
"""Every kind of question, the default first."""

_AUXILIARY = (
    r"(is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|shall|should|may|might|must|"
    r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|can't|couldn't|won't|wouldn't|"
    r"shouldn't)"
)
_YESNO = re.compile(rf"^(and |so |but |also )?{_AUXILIARY}\b(?!.*\bor\b.*\?$)", re.IGNORECASE)
"""A question opening with an auxiliary verb ("Did the union agree ...?"), unless it offers a choice ("Is it X or
Y?")."""
_ABOUT = re.compile(
    r"^(please )?((can|could|would) you (please )?)?(briefly )?(summari[sz]e|sum up|outline|recap|brief me|"
    r"give me (a |the )?(summary|gist|overview|rundown|latest)|tl;?dr|"
    r"what('s| is| was) (this|the|that) (article|story|piece|news|report|post|item)( mainly| all)? about|"
    r"what (is|was|are|were) (this|these|the) (articles?|stor(y|ies)|pieces?|news|reports?)( mainly| all)? about|"
    r"what('s| is) (going on|happening|changing|the (story|news|situation))|"
    r"what('s| is) the latest( news)?( on| with| about|\?|$)|"
    r"what happened\b(?! to\b| in \d| on \w+ \d)|what (came|has come) out of|what (has|have) been (decided|agreed)|"
    r"what (is|are|was|were) .{3,60} (saying|trying to do)|"
    r"what do (the|these|both|all the|our) (articles|stories|reports|pieces|sources) (say|tell|report)|"
    r"(what are|give me) the (main|key) (points|facts)|(tell me|what do (we|you) know) about|overview of)",
    re.IGNORECASE,
)
_WHY = re.compile(
    r"^(and |so |but )?(why|for what reasons?|what reasons?|what (was|is|were|are) the (reasons?|causes?)|"
    r"what is behind|"
    r"what led\b.* (to|into)|explain why|how come)\b",
    re.IGNORECASE,
)
_HOW = re.compile(
    rf"^(and |so |but )?((how {_AUXILIARY}|how (exactly|else)|in what ways?|by what means|explain how|what steps)\b|"
    r"how,?( so| exactly)?\s*[?.!]*$)",
    re.IGNORECASE,
)
"""The manner: "How did the fraud come to light?", a follow-up's "How?" or "How so?"; "how" before anything but a verb
asks for a measure ("how full", "how many")."""
_COMPARE = re.compile(
    r"^(how (do|does|did|would|will|is|are|was|were) .{3,160}\b(compare|differ)|compare\b|contrast\b|"
    r"what (is|are|was|were|'s) the (main |biggest |key )?differences? between|"
    r"what do (the|both|these|all the) (articles|stories|reports|pieces))|"
    r"\b((each|both|all) (of the )?(articles|stories|reports|pieces)|according to (each|both|the different|the two))\b",
    re.IGNORECASE,
)
"""Several things set side by side ("How does X compare with Y?", "What is the difference between X and Y?"), not
a measure of one ("What was the age difference between ...?", "What did Tesla compare the particles to?")."""
_HOW_MUCH = re.compile(r"^(by )?how (many|much)\b", re.IGNORECASE)
_LIST = re.compile(
    r"^(please )?(list|name (the|all|every|each|some|three|two|four|five)|"
    r"what are (the|all|some)\b.*\b(names|ways|reasons|steps|"
    r"conditions|changes|measures|charges|options|places|countries|companies|things)|"
    r"which (several|various)\b)",
    re.IGNORECASE,
)


_SUBJECT_OPENING = re.compile(
    r"(?:and |so )?(?:who (?:is|was|are|were)|(?:(?:can|could) you )?tell me about|what do (?:we|you) know about) ",
    re.IGNORECASE,
)
_CONNECTING = frozenset(
    ("de", "del", "da", "di", "van", "von", "der", "den", "bin", "al", "el", "la", "le", "of", "the", "and", "&")
)


def _name_word(word: str, end: bool) -> bool:
    """A word of a name: capitalised (or a figure: "3M"), or a connecting word inside it ("of", "van")."""
    return word[0].isupper() or word[0].isdigit() or (not end and word.lower() in _CONNECTING)


def named_subject(question: str) -> str | None:
    """The name that a question asks about, and nothing else ("Who is Tang Xiao'ou?", "Tell me about Brackwell
    Foods"): every word capitalised but connecting ones ("of", "van"), the first and last capitalised, none a
    possessive. ``None`` for a question about anything else ("Who is the chair of Tolland Group?", "Who is
    Vantelle's CEO?", "Tell me about the beaver release")."""
    text = " ".join(_LEADING_SOURCE.sub("", question.strip()).split())  # no regex runs over a run of spaces
    opening = _SUBJECT_OPENING.match(text)
    if opening is None:
        return None
    words = text[opening.end() :].rstrip("?!. ").split()
    if not words or any(w.lower().endswith(("'s", "’s")) for w in words):
        return None
    if not all(_name_word(w, i in (0, len(words) - 1)) for i, w in enumerate(words)):
        return None
    return " ".join(words)


_LEADING_SOURCE = re.compile(r"^(according to|in the words of|as far as)[^,?]{1,80},\s*", re.IGNORECASE)
"""\"According to the demographer, why ...?\" asks why."""


_WORD = re.compile(r"[A-Za-z0-9'&-]+")
_AUXILIARY_WORDS = frozenset(_AUXILIARY.strip("()").split("|"))
_MODIFIERS = frozenset(
    [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "several",
        "other",
        "main",
        "new",
        "key",
        "different",
        "various",
        "single",
        "top",
    ]
)
_VERBS_IN_S = frozenset(
    [
        "happens",
        "causes",
        "corresponds",
        "means",
        "makes",
        "does",
        "says",
        "shows",
        "needs",
        "uses",
        "takes",
        "gives",
        "remains",
        "seems",
        "becomes",
        "occurs",
        "includes",
        "requires",
        "allows",
        "prevents",
        "determines",
        "describes",
        "refers",
        "helps",
        "affects",
        "limits",
        "leads",
        "results",
        "contains",
        "represents",
        "controls",
        "provides",
        "produces",
        "creates",
        "keeps",
        "puts",
        "sets",
        "lets",
        "gets",
        "goes",
        "comes",
        "runs",
        "turns",
        "follows",
    ]
)
_PREPOSITIONS = frozenset(
    ["in", "on", "at", "for", "from", "to", "by", "with", "of", "under", "among", "into", "through"]
)


def asks_for_several(question: str) -> bool:
    """Whether the question asks "which"/"what" of a plural noun ("Which Ferrisford libraries are closing?",
    "In which districts ...?"): the first lower-case word after the wh-word, past names, numbers and modifiers,
    is a plural (ends in "s"), and no verb comes first ("What was ..." asks for one thing)."""
    words = _WORD.findall(question)
    at = 1 if words and words[0].lower() in _PREPOSITIONS else 0
    if at >= len(words) or words[at].lower() not in ("which", "what"):
        return False
    for word in words[at + 1 : at + 6]:
        lower = word.lower()
        if lower in _AUXILIARY_WORDS:
            return False
        if word[0].isupper() or "-" in word or lower in _MODIFIERS or lower.isdigit():
            continue
        if lower in _VERBS_IN_S:  # "What happens to ...", "What causes ..."
            return False
        return lower.endswith("s") and not lower.endswith(("ss", "'s", "us", "is", "news", "series", "ics"))
    return False


_WHAT_IS_DONE = re.compile(
    r"^(?:(?:and|so|but)\s+)?what(?:'ll|\s+(?:will|would|can|could|did|does|do|has|have|had|must|should|may|might))\b",
    re.IGNORECASE,
)


def may_ask_for_several(question: str) -> bool:
    """Whether a question read as a factoid may still want several things: "what" over a verb other than "be"
    ("What will the community receive?", "What can the sanctions do?"), whose answer is one thing or a list as the
    text has it (:func:`qa.lists.list_around_span` decides from the answer's sentence). "What is ..." and "Who
    ..." ask for one."""
    return bool(_WHAT_IS_DONE.match(_LEADING_SOURCE.sub("", question.strip())))


@functools.cache
def _word_model() -> dict | None:
    from importlib.resources import files

    path = Path(str(files("models") / "kinds" / "words.json"))
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def question_words(question: str) -> list[str]:
    """The features the list model reads: lower-case words, word pairs, and the opening two words marked."""
    words = re.findall(r"[a-z0-9']+", question.lower())
    pairs = [f"b:{a}_{b}" for a, b in itertools.pairwise(words)]
    return [*(f"w:{w}" for w in words), *pairs, f"o:{'_'.join(words[:2])}", f"o1:{words[0] if words else ''}"]


def word_model_kind(question: str) -> tuple[str, float]:
    """The word model's kind for a question no rule placed, and its probability (``("factoid", 1.0)`` without
    the model)."""
    model = _word_model()
    if model is None:
        return "factoid", 1.0
    features = set(question_words(question))
    logits = {
        kind: weights["bias"] + sum(weights["words"].get(f, 0.0) for f in features)
        for kind, weights in model["kinds"].items()
    }
    top = max(logits.values())
    total = sum(math.exp(v - top) for v in logits.values())
    kind = max(logits, key=logits.get)
    return kind, 1.0 / total


def question_kind(question: str) -> str:
    """The kind of ``question``, one of :data:`KINDS` (see the module)."""
    text = _LEADING_SOURCE.sub("", question.strip())
    if _ABOUT.search(text) or named_subject(text):
        return "about"
    if _COMPARE.search(text) and not (_YESNO.search(text) or _HOW_MUCH.search(text) or _WHY.search(text)):
        return "compare"
    if _WHY.search(text):
        return "why"
    if _HOW.search(text):
        return "how"
    if _YESNO.search(text):
        return "yesno"
    if _LIST.search(text) or asks_for_several(text):
        return "list"
    kind, probability = word_model_kind(text)
    # the word model only tells lists from factoids: a summary is given when asked for in so many words (a long
    # article's "What did Luther decide about the Church?" wants a sentence, not the article's key sentences)
    return "list" if kind == "list" and probability >= (_word_model() or {}).get("threshold", 0.5) else "factoid"
