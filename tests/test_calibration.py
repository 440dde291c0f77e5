"""The answer's recalibrated probability: its inputs on hand-made cases, the file it ships in, and ECE."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace

import pytest

from qa.calibration import CALIBRATION_FILE, FEATURES, JUDGED_FEATURES, Calibrator, Candidate, candidate_features
from qa.calibration import expected_calibration_error as ece
from qa.errors import ReaderModelError

# The signs a fitted calibration has (training/calibrate.py): agreement and margin raise it, retrieval rank lowers it.
WEIGHTS = {"margin": 1.0, "gap": 0.5, "boundary": 0.1, "support": 0.8, "passages_agreeing": 0.4, "rank": -0.3}


def calibrator(threshold: float = 0.5) -> Calibrator:
    return Calibrator(
        FEATURES, tuple(0.0 for _ in FEATURES), tuple(1.0 for _ in FEATURES),
        tuple(WEIGHTS.get(name, 0.0) for name in FEATURES), -4.0, threshold,
    )  # fmt: skip


def shipped() -> Calibrator:
    """The calibration fitted with the shipped reader (models/reader/calibration.json)."""
    from qa.read import default_reader_dir

    return Calibrator.load(default_reader_dir() / CALIBRATION_FILE)


def calibrated_reader(tmp_path, calibration: Calibrator):
    """A copy of the shipped reader's folder with this calibration, under ``tmp_path``."""
    from qa.read import default_reader_dir

    folder = tmp_path / "reader"
    shutil.copytree(default_reader_dir(), folder)
    (folder / CALIBRATION_FILE).write_text(json.dumps(calibration.to_dict()))
    return folder


# Each case holds for the hand-set signs above and for the calibration that ships with the reader.
CALIBRATORS = pytest.mark.parametrize("fitted", [calibrator, shipped], ids=["hand-set", "shipped"])


@CALIBRATORS
def test_two_passages_backing_the_same_answer_raise_it(fitted):
    alone = [Candidate("$45 million", 4.0, 9.0, 5.0, 0, 0.9), Candidate("$52 million", 3.0, 8.0, 5.0, 1, 0.8)]
    backed = [alone[0], Candidate("45 million", 3.0, 8.0, 5.0, 1, 0.8)]  # the same answer, normalised
    lone, agreed = candidate_features(alone)[0], candidate_features(backed)[0]
    assert lone["passages_agreeing"] == 1 and agreed["passages_agreeing"] == 2
    assert agreed["support"] > lone["support"] and agreed["gap"] > lone["gap"]
    model = fitted()
    assert model.probability(agreed) > model.probability(lone)


@CALIBRATORS
def test_a_lone_low_margin_span_lowers_it(fitted):
    clear = [Candidate("Bristol", 8.0, 12.0, 4.0, 0, 0.9), Candidate("Leeds", 1.0, 5.0, 4.0, 1, 0.5)]
    close = [Candidate("Bristol", 1.2, 5.2, 4.0, 0, 0.9), Candidate("Leeds", 1.0, 5.0, 4.0, 1, 0.5)]
    strong, weak = candidate_features(clear)[0], candidate_features(close)[0]
    assert weak["gap"] == pytest.approx(0.2) and strong["gap"] == pytest.approx(7.0)
    model = fitted()
    assert model.probability(weak) < model.threshold < model.probability(strong), "declined only when close"


def test_another_cut_of_the_same_words_counts_against_the_boundary_not_as_another_answer():
    best = Candidate("Denver Broncos", 6.0, 10.0, 4.0, 0, 0.9, "a", 100, 114)
    longer = Candidate("Denver Broncos defeated the Panthers", 5.5, 9.5, 4.0, 0, 0.9, "a", 100, 136)
    elsewhere = Candidate("Carolina Panthers", 2.0, 6.0, 4.0, 1, 0.8, "b", 40, 57)
    cut, clean = candidate_features([best, longer, elsewhere])[0], candidate_features([best, elsewhere])[0]
    assert cut["gap"] == clean["gap"] == pytest.approx(4.0), "the longer cut is not another answer"
    assert cut["boundary"] == pytest.approx(0.5) and clean["boundary"] == 10.0
    assert calibrator().probability(cut) < calibrator().probability(clean)


def test_the_same_passage_counts_once():
    twice = [Candidate("May", 3.0, 7.0, 4.0, 0, 0.9), Candidate("may", 2.0, 6.0, 4.0, 0, 0.9)]
    assert candidate_features(twice)[0]["passages_agreeing"] == 1


def test_the_file_round_trips_and_a_damaged_one_is_named(tmp_path):
    path = tmp_path / CALIBRATION_FILE
    path.write_text(json.dumps(calibrator(0.42).to_dict()))
    loaded = Calibrator.load(path)
    assert loaded == calibrator(0.42)
    for damage in ("{not json", json.dumps({"format": 1}), json.dumps(calibrator().to_dict() | {"features": ["x"]})):
        path.write_text(damage)
        with pytest.raises(ReaderModelError, match=re.escape(f"the reader model file {path} is damaged")):
            Calibrator.load(path)


def test_the_reader_uses_its_calibration_and_names_a_damaged_file(tmp_path):
    from qa.read import SpanReader

    folder = calibrated_reader(tmp_path, calibrator(0.77))
    reader = SpanReader(folder)
    assert reader.calibrated_threshold == 0.77 and reader.calibrator == calibrator(0.77)
    (folder / CALIBRATION_FILE).write_text('{"format": 1, "features": ')
    with pytest.raises(ReaderModelError, match=r"calibration\.json is damaged"):
        SpanReader(folder).load()


def test_expected_calibration_error():
    assert ece([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert ece([0.9] * 10, [True] * 5 + [False] * 5) == pytest.approx(0.4)
    assert ece([0.15, 0.85], [False, True]) == pytest.approx(0.15)


def test_a_miss_of_a_lone_gold_answer_counts_as_often_as_such_misses_match_another_answer():
    from training.calibrate import Asked, right_labels

    def asked(em, f1_first, references, answerable=True, em_first=None):
        em_first = em if em_first is None else em_first
        return Asked("a", answerable, ("x",) if answerable else (), ({},), (0.5,), (em,), (f1_first,), "", "",
                     references, (em_first,), (f1_first,))  # fmt: skip

    several = [asked(1.0, 0.6, 3, em_first=0.0)] * 15 + [asked(0.0, 0.6, 3)] * 5  # 3 in 4 match another answer
    several += [asked(0.0, 0.0, 3)] * 30  # a miss with no word in common never does
    lone = [asked(0.0, 0.6, 1), asked(0.0, 0.0, 1), asked(1.0, 1.0, 1), asked(0.0, 0.2, 1), asked(0.0, 0.0, 0, False)]
    labels, figures = right_labels(several + lone)
    assert figures["a_miss_matches_another_answer"] == [0.0, 0.0, 0.75]  # (some words: too few questions to say)
    assert list(labels[len(several) :]) == [0.75, 0.0, 1.0, 0.0, 0.0]
    assert list(labels[:20]) == [1.0] * 15 + [0.0] * 5, "questions with several answers keep their exact match"


def second_opinion(threshold: float = 0.5) -> Calibrator:
    """The shipped first calibration (threshold 0.2) with a second opinion that trusts the sentence judge's
    log-odds as much as the first probability's."""
    judged = Calibrator(JUDGED_FEATURES, (0.0,) * 3, (1.0,) * 3, (1.0, 1.0, 0.0), 0.0, threshold)
    return replace(shipped(), threshold=0.2, judged=judged)


class FixedJudge:
    """A sentence judge that gives every sentence the same log-odds of being evidence, and counts its pairs."""

    def __init__(self, log_odds: float) -> None:
        self.log_odds, self.pairs = log_odds, []

    def judge(self, question, sentences):
        self.pairs += [(question, s) for s in sentences]
        return [(self.log_odds, 0.5) for _ in sentences]


def test_the_second_opinion_round_trips_and_a_damaged_one_is_named(tmp_path):
    path = tmp_path / CALIBRATION_FILE
    path.write_text(json.dumps(second_opinion(0.33).to_dict()))
    assert Calibrator.load(path) == second_opinion(0.33)
    damaged = second_opinion().to_dict()
    damaged["judged"]["features"] = ["calibrated", "judged", "margin"]  # a first-opinion feature in the second
    path.write_text(json.dumps(damaged))
    with pytest.raises(ReaderModelError, match=r"is damaged \(unknown features \['margin'\]\)"):
        Calibrator.load(path)


def test_the_judges_second_opinion_on_the_answers_sentence_decides(tmp_path):
    from qa.read import SpanReader
    from qa.types import Passage

    folder = calibrated_reader(tmp_path, second_opinion(0.6))
    text = (
        "The Harbour Board met on Tuesday. "
        "The board said the new ferry terminal at Port Alder will cost $45 million and open in 2027."
    )
    sentences = ((0, 33, text[:33]), (34, len(text), text[34:]))
    passage = Passage(1, "port", "Port Alder", "port.txt", 0, len(text), text, 0.9, sentences=sentences)
    question = "How much will the new ferry terminal at Port Alder cost?"
    sure, doubtful = FixedJudge(6.0), FixedJudge(-6.0)
    assert SpanReader(folder, judge=sure).calibrated_threshold == 0.6, "the second opinion's threshold"
    assert SpanReader(folder).calibrated_threshold == 0.2, "without a judge: the first calibration's"
    answered = SpanReader(folder, judge=sure).read(question, [passage])
    declined = SpanReader(folder, judge=doubtful).read(question, [passage])
    first = SpanReader(folder).read(question, [passage])
    assert answered.found and "45 million" in answered.text and answered.score > first.score
    assert sure.pairs == [(question, answered.citations[0].quote)], "one pair: the question and the answer's sentence"
    assert not declined.found and declined.score < first.score


def test_a_calibration_without_a_second_opinion_never_asks_the_judge(tmp_path):
    from qa.read import SpanReader
    from qa.types import Passage

    folder = calibrated_reader(tmp_path, replace(shipped(), threshold=0.2, judged=None))
    text = "The board said the new ferry terminal at Port Alder will cost $45 million and open in 2027."
    passage = Passage(1, "port", "Port Alder", "port.txt", 0, len(text), text, 0.9, sentences=((0, len(text), text),))
    judge = FixedJudge(-6.0)
    reader = SpanReader(folder, judge=judge)
    answer = reader.read("How much will the new ferry terminal at Port Alder cost?", [passage])
    assert reader.calibrated_threshold == 0.2 and not reader.second_opinion
    assert answer.found and judge.pairs == [], "the first calibration's probability and threshold"


class BatchSensitiveJudge(FixedJudge):
    """A judge whose reading of a sentence moves with the number of sentences read beside it, as the int8 judge's
    does (its activations are quantised per batch)."""

    def judge(self, question, sentences):
        return [(log_odds + len(sentences) - 1, yes) for log_odds, yes in super().judge(question, sentences)]


def test_a_disputed_answers_confidence_is_its_sentence_judged_alone(tmp_path):
    from qa.read import SpanReader
    from qa.types import Passage

    folder = calibrated_reader(tmp_path, second_opinion(0.05))
    said = {
        "city": "The city says the Lakeside stadium renovation will cost $120 million.",
        "contractor": "The contractor says the Lakeside stadium renovation will cost $165 million.",
    }
    passages = [
        Passage(n, article, article, f"{article}.txt", 0, len(text), text, 0.9, sentences=((0, len(text), text),))
        for n, (article, text) in enumerate(said.items())
    ]
    question = "How much will the Lakeside stadium renovation cost?"
    judge = BatchSensitiveJudge(0.0)
    reader = SpanReader(folder, judge=judge)
    answer = reader.read(question, passages)
    assert answer.found and answer.alternatives, "both articles' costs are shown"
    first = SpanReader(folder).spans(question, passages)[0].probability
    alone = reader.calibrator.judged_probability(first, 0.0)  # the judge's reading of the sentence by itself
    assert answer.score == round(alone, 4), "the same confidence whether or not another article disagrees"
    assert len(judge.pairs) == 1 + len(answer.alternatives)
