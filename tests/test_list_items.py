"""A list's items, cut from one sentence around the span the reader points at (no model: the sentence and the
span are given, as the reader would give them)."""

from __future__ import annotations

import pytest

from qa.evidence import Evidence
from qa.lists import _items
from qa.types import Citation, Passage


def items_around(sentence: str, span: str) -> list[str]:
    """The items ``qa.lists`` cuts from ``sentence`` when the reader's best span in it is ``span``."""
    start = sentence.index(span)
    citation = Citation("a", "Story", "story.txt", 0, len(sentence), sentence)
    passage = Passage(
        0, "a", "Story", "story.txt", 0, len(sentence), sentence, 1.0, sentences=((0, len(sentence), sentence),)
    )
    found = Evidence(0.5, passage, citation, start, start + len(span))
    return [sentence[s:e].strip(" ,;:.") for s, e in _items(found)]


@pytest.mark.parametrize(
    ("sentence", "span", "expected"),
    [
        (  # "and" after a year still joins the last item ("1971 and 1975" stays one)
            "Zubizarreta received the Ordonez Prize for Earth Sciences in 1999, the national Order of Civil Merit in "
            "2003 and an honorary doctorate from the University of Valdecruz in 2010.",
            "Ordonez Prize for Earth Sciences",
            [
                "Ordonez Prize for Earth Sciences in 1999",
                "the national Order of Civil Merit in 2003",
                "an honorary doctorate from the University of Valdecruz in 2010",
            ],
        ),
        (  # "and promised" before the span, and the list runs on after it: the span opens the list
            "In February, the regional governor, Moussa Tandjigora, declared an emergency and promised 35 water "
            "tankers, 60 new boreholes by the end of June and subsidised animal feed.",
            "35 water tankers",
            ["35 water tankers", "60 new boreholes by the end of June", "subsidised animal feed"],
        ),
        (  # the span sits inside an item ("a one-off payment of $1,000 ..."): the item is whole, the list opens at
            # its verb, not at the sentence's subject
            "The government's offer, made on Tuesday, included a 3.5 percent rise from September, a one-off payment "
            "of $1,000 for new teachers, and a commitment to cut paperwork.",
            "$1,000",
            [
                "a 3.5 percent rise from September",
                "a one-off payment of $1,000 for new teachers",
                "a commitment to cut paperwork",
            ],
        ),
        (  # a range of years is not a list
            "The report says women born between 1971 and 1975 will be hit hardest.",
            "women born between 1971 and 1975",
            ["women born between 1971 and 1975"],
        ),
        (  # ... and the list ends there, though an attribution and another clause follow
            "The libraries to close are Heathcote, Cobb's Lane and Tennant Street, the council said on Monday, and "
            "staff will be redeployed.",
            "Tennant Street",
            ["Heathcote", "Cobb's Lane", "Tennant Street"],
        ),
        (  # a colon opens the list; the clause before it is not an item
            "On Tuesday, the winners were announced: Smith, Jones and Brown.",
            "Smith",
            ["Smith", "Jones", "Brown"],
        ),
        (
            "Survivors were taken to hospitals in Leeds; the injured included two children, a pensioner and a police "
            "officer.",
            "two children",
            ["two children", "a pensioner", "a police officer"],
        ),
        (  # ranges are not lists
            "Entry is free for children aged 5 and under, students and pensioners.",
            "children aged 5 and under",
            ["children aged 5 and under", "students", "pensioners"],
        ),
        ("Prices rose between March 2019 and June 2020, the office said.", "March 2019", ["March 2019"]),
        (  # the list's last item, read from it
            "Damp was worst in Carrow Hill, Mill Fields, Ashby Lane and Tolgate Park, the review found.",
            "Tolgate Park",
            ["Carrow Hill", "Mill Fields", "Ashby Lane", "Tolgate Park"],
        ),
    ],
)
def test_items_are_cut_from_the_enumeration_around_the_span(sentence, span, expected):
    assert items_around(sentence, span) == expected


def factoid_answer(question: str, sentence: str, span: str):
    """The span reader's factoid answer ``span``, cited to ``sentence`` (the whole article)."""
    from qa.types import Answer

    start = sentence.index(span)
    citation = Citation("a", "Story", "story.txt", 0, len(sentence), sentence)
    passage = Passage(
        0, "a", "Story", "story.txt", 0, len(sentence), sentence, 1.0, sentences=((0, len(sentence), sentence),)
    )
    return Answer(question, span, True, 0.6, "a", start, start + len(span), (citation,), (passage,))


AGREEMENT = (
    "Under an agreement signed in March, the Kollpa community will receive 2.5 percent of the mine's annual sales, "
    "priority for hiring and training, and seats on a water monitoring committee."
)


@pytest.mark.parametrize(
    ("sentence", "span", "items"),
    [
        (  # the reader names the first of three things received: the answer names them all
            AGREEMENT,
            "2.5 percent",
            [
                "2.5 percent of the mine's annual sales",
                "priority for hiring and training",
                "seats on a water monitoring committee",
            ],
        ),
        (  # verb phrases, the span one of them
            "Under the new rules, inspectors can close a kitchen, seize its stock and fine its owner up to 5,000 "
            "euros.",
            "close a kitchen",
            ["close a kitchen", "seize its stock", "fine its owner up to 5,000 euros"],
        ),
        (  # what follows a figure is not a list of figures: a comparison and a reason
            "Ostwald now expects the storm to cost it 205 million euros, up from its estimate of 150 million euros "
            "in April, as repair bills for roofs and flooded basements came in higher than expected.",
            "205 million euros",
            None,
        ),
        (  # a price, then a list of other savings: not parallel to it
            "The council will raise the charge for garden waste from 45 pounds to 58 pounds, dimming streetlights "
            "between midnight and 5am and halving the grant to the youth service.",
            "45 pounds to 58 pounds",
            None,
        ),
        (  # a relative clause and another clause are not items
            "The video falsely claimed the vaccine caused infertility, which is completely false, and it was shared "
            "hundreds of thousands of times.",
            "infertility",
            None,
        ),
        (  # examples of the one thing named are not items beside it
            "Article 102 prohibits the abuse of dominant position, such as price discrimination and exclusive dealing.",
            "the abuse of dominant position",
            None,
        ),
        (  # adjectives of one noun are not items
            "Bolinopsis generally feeds on smaller, weaker swimmers such as rotifers and mollusc and crustacean "
            "larvae.",
            "smaller, weaker swimmers such as rotifers and mollusc and crustacean larvae",
            None,
        ),
        (  # what a verb does and what follows from it are not a list of verb phrases
            "If the exhaust event is too brief, the steam cannot evacuate the cylinder, choking it and giving "
            "excessive compression.",
            "evacuate the cylinder",
            None,
        ),
        (  # a span inside the list: the items cut back from it lose their heads ("2012" for "gold in 2012")
            "He won gold in 2012, silver in 2016 and bronze in 2020.",
            "silver",
            None,
        ),
        (  # ages are not items
            "Police arrested Smith, 45, Jones, 52, and Brown, 60, on Monday.",
            "Smith",
            None,
        ),
        (  # a pair named together is not taken for a list
            "The prize was shared by Anna Smith and Tom Jones.",
            "Anna Smith",
            None,
        ),
    ],
)
def test_a_factoid_span_in_an_enumeration_answers_with_the_whole_list(sentence, span, items):
    from qa.lists import list_around_span

    answer = factoid_answer("What will they get?", sentence, span)
    listed = list_around_span(answer)
    if items is None:
        assert listed is None
        return
    assert listed.kind == "list" and [p.text for p in listed.parts] == items
    assert (listed.text, listed.start, listed.end, listed.score) == (span, answer.start, answer.end, answer.score)
    assert all(sentence[p.start : p.end] == p.text for p in listed.parts)


@pytest.mark.parametrize(
    ("question", "several"),
    [
        ("What will the Kollpa community receive under the agreement?", True),
        ("What can the inspectors do?", True),
        ("According to the ministry, what did the council recommend?", True),
        ("But what'll the town get?", True),
        ("What  did the council  approve?", True),  # two spaces
        ("What is the name of the mine?", False),  # "what is" asks for one thing
        ("Who will receive the payments?", False),
        ("How much will the mine pay?", False),
    ],
)
def test_a_what_question_over_a_verb_may_ask_for_several(question, several):
    from qa.kinds import may_ask_for_several

    assert may_ask_for_several(question) is several


def test_only_the_enumeration_of_a_long_sentence_is_parsed(monkeypatch):
    # an unpunctuated upload makes one "sentence" of the whole file: the tagger reads the enumeration and a little
    # before it, not all of it
    import index.annotate
    from qa.lists import PARSED_BEFORE, list_around_span

    parsed, real = [], index.annotate.load_spacy()
    monkeypatch.setattr(index.annotate, "load_spacy", lambda: lambda text: parsed.append(len(text)) or real(text))
    sentence = "and the talks went on " * 5_000 + AGREEMENT
    listed = list_around_span(factoid_answer("What will they get?", sentence, "2.5 percent"))
    assert listed is not None and len(listed.parts) == 3
    assert parsed and max(parsed) <= PARSED_BEFORE + len(AGREEMENT)
