"""The shipped reader on news: the seed article's chat examples and follow-ups, and the right one of two amounts."""

from __future__ import annotations

import pytest

from qa import QA
from qa.metrics import is_right
from tests.support import ROOT
from ui.app import SEED_EXAMPLES

SEEDS = ROOT / "seeds"
TWO_DEALS = (
    "Harbour Foods agrees Millbrook Dairy takeover\n\n"
    "LONDON, March 3 (Reuters) - Harbour Foods said on Monday it had agreed to buy Millbrook Dairy for "
    "310 million euros in cash, its largest acquisition since it listed in 2011.\n\n"
    "The deal follows rival Tessel Group's purchase of Coldwater Creamery, for which it paid 95 million euros "
    "in January. Harbour's chief executive, Imogen Sayer, said the combined business would employ 4,200 people.\n\n"
    "Millbrook's chairman, Declan Oduya, recommended the offer to shareholders, who vote on it on April 14.\n"
)
EXPECTED = {
    "How much was SenseTime's planned IPO worth?": ("$767 million",),
    "How much money did SenseTime plan to raise in its IPO?": ("$767 million",),
    "Why did SenseTime postpone its IPO?": (
        "blacklisting",
        "blacklisted",
        "blacklisted by the US over human rights concerns in Xinjiang",
        "US blacklisting",
        "to safeguard the interests of the potential investors",
    ),
    "Who founded SenseTime?": ("Tang Xiao’ou", "academic Tang Xiao’ou"),
}


@pytest.fixture(scope="module")
def seed_engine(tmp_path_factory, encoder) -> QA:
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path_factory.mktemp("seed-index")
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([SEEDS])
    return QA(index_dir, encoder=encoder)


def _right(answer, accepted) -> bool:
    return answer.found and any(is_right(answer.text, gold) for gold in accepted)


ASKED = sorted({*SEED_EXAMPLES[:3], *EXPECTED})


@pytest.mark.parametrize("question", ASKED)
def test_the_chat_examples_about_the_seed_are_answered(seed_engine, question):
    answer = seed_engine.ask(question)
    assert _right(answer, EXPECTED[question]), (answer.text, answer.score, answer.message)


def test_follow_ups_about_the_seed_are_answered(seed_engine):
    history = [("How much money did SenseTime plan to raise in its IPO?", "$767 million")]
    founder = seed_engine.ask("Who founded it?", history=history)
    assert _right(founder, EXPECTED["Who founded SenseTime?"]), (founder.text, founder.score)
    when = seed_engine.ask("When was it founded?", history=[("Who founded SenseTime?", founder.text)])
    assert _right(when, ("2014",)), (when.text, when.score)


def test_of_two_amounts_in_a_story_the_one_asked_about_is_given(build_index, encoder, tmp_path):
    story = tmp_path / "stories" / "takeover.txt"
    story.parent.mkdir()
    story.write_text(TWO_DEALS)
    index_dir, _ = build_index([story.parent])
    engine = QA(index_dir, encoder=encoder)
    harbour = engine.ask("What price is Harbour Foods paying for Millbrook Dairy?")
    assert _right(harbour, ("310 million euros",)), (harbour.text, harbour.score)
    tessel = engine.ask("How much did Tessel Group pay for Coldwater Creamery?")
    assert _right(tessel, ("95 million euros",)), (tessel.text, tessel.score)
