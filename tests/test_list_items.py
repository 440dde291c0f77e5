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
