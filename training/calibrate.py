"""Fit the reader's recalibration on the validation split asked through the pipeline; measure the headroom.

    .venv/bin/python -m training.calibrate [--reader-dir models/reader] [--data ../shared/data/qa-train] [--limit N]

1. The validation split (the training split's held-out articles, some left unindexed so that their
   questions have no answer: :mod:`training.validation_file`) is indexed and every question is
   read as ``qa ask`` reads it; each question's candidates (up to 10) are kept with their
   :data:`qa.calibration.FEATURES`.
2. Headroom: how often a right span (exact match; F1 >= 0.5) is among the best 1 / 3 / 5 / 10
   candidates, and how often the best is right yet declined at the reader's current threshold.
   Re-ranking: whether a logistic regression of "this candidate is right" over the candidates'
   features picks a right one more often than the margin's order, out of fold by article and on
   each domain (SQuAD, SQuADShifts' new Wikipedia, Reddit, Amazon reviews) held out of the fit
   (reported; the reader keeps the margin's order).
3. A logistic regression (scikit-learn, L2; its strength chosen by cross-validated log loss) of
   "the best candidate is right (exact match)" on the features, cross-validated by article
   (5 folds, no article on both sides); the expected calibration error of the reader's present
   probability and of the recalibrated one, out of fold.
4. The "not found" threshold: the recalibrated probability with the best F1 over answerable and
   unanswerable questions, out of fold.
5. A second opinion (unless ``--no-judged``; when the sentence judge is shipped): a logistic regression of the same
   label on the first probability's log-odds (out of fold), the sentence judge's log-odds that the best candidate's
   sentence is evidence for the question, and their product (:data:`qa.calibration.JUDGED_FEATURES`); its own
   threshold, chosen the same way; figures out of fold.
6. ``calibration.json`` beside the reader (plain JSON: the features' means and scales, the weights,
   the intercept, the threshold), the figures in ``reader.json`` (``calibration_from``) and the model
   card (``README.md``) written again with them.

Nothing here reads the SQuAD evaluation files.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from qa.calibration import (
    CALIBRATION_FILE,
    FEATURES,
    JUDGED_FEATURES,
    Calibrator,
    candidate_features,
    expected_calibration_error,
    judged_features,
)
from qa.config import Config
from qa.metrics import exact_match, f1_score, is_right, normalize_answer
from qa.read import READER_FILE, default_reader_dir
from training.data import NEWS_DEV_FILE, SQUAD_FILES
from training.export import model_card
from training.validation_file import validation_squad

CANDIDATES = 10
TOPS = (1, 3, 5, 10)
NEWS = "news"
"""The domain of the news dev questions (``--news``): whole stories, scored by :func:`qa.metrics.is_right`."""


@dataclass(frozen=True)
class Asked:
    """One validation question read through the pipeline: its candidates' texts, features, present probabilities."""

    article: str
    answerable: bool
    texts: tuple[str, ...]
    features: tuple[dict[str, float], ...]
    probabilities: tuple[float, ...]
    em: tuple[float, ...]
    f1: tuple[float, ...]
    source: str = ""
    """The domain of the qa-train file the question comes from (``squad``, ``squadshifts-reddit`` ...)."""
    kind: str = ""
    """``answerable``; unanswerable: ``swap`` (an entity of an answerable question swapped) or ``other`` (its
    article not indexed, or a SQuAD 2.0 question written to have no answer)."""
    references: int = 0
    """Distinct (normalised) gold answers."""
    em_first: tuple[float, ...] = ()
    f1_first: tuple[float, ...] = ()
    """EM and F1 of each candidate against the first gold answer alone."""
    right: tuple[float, ...] = ()
    """Whether each candidate is right as the news figures count it (:func:`qa.metrics.is_right`)."""
    question: str = ""
    judged: float = 0.0
    """The sentence judge's log-odds that the best candidate's sentence is evidence for the question (0: no judge)."""


def ask_all(path: Path, reader_dir: Path, index_dir: Path, limit: int | None, source: str | None = None) -> list[Asked]:
    """Index a SQuAD-format file and read each question's candidates as the engine would; ``source`` names the
    questions' domain (default: the qa-train file each article's title names)."""
    from tqdm import tqdm

    from qa.engine import QA, clean_question
    from qa.evaluate import build_eval_index, load_squad, sample_questions
    from qa.read import cite

    articles, questions, _ = load_squad(path)
    source_of = {article.id: source or _domain(article.title.split("/")[0]) for article in articles}  # "file/title"
    config = Config(index_dir=index_dir, reader_dir=reader_dir, min_confidence=0.0)
    build_eval_index(articles, config, progress=True)
    engine = QA(config=config)
    reader = engine.reader
    asked = []
    for question in tqdm(sample_questions(questions, limit), desc="reading", unit=" questions"):
        text = clean_question(question.question)
        vector = engine.encoder.encode([text])[0]
        passages = engine.retriever.retrieve(text, vector, max(config.k, reader.depth), None)
        spans = reader.spans(text, list(passages)[: reader.passages])[:CANDIDATES]
        texts = tuple(span.candidate.text for span in spans)
        golds = question.answers if not question.impossible else ()
        em = tuple(max((exact_match(t, g) for g in golds), default=0.0) for t in texts)
        f1 = tuple(max((f1_score(t, g) for g in golds), default=0.0) for t in texts)
        first = golds[:1]
        judged = 0.0
        if spans and engine.judge is not None:
            ((judged, _),) = engine.judge.judge(text, [cite(spans[0].passage, spans[0].start, spans[0].end).quote])
        asked.append(
            Asked(
                question.article_id,
                not question.impossible,
                texts,
                tuple(candidate_features([span.candidate for span in spans])),
                tuple(span.probability for span in spans),
                em,
                f1,
                source_of.get(question.article_id, ""),
                _kind(question),
                len({normalize_answer(g) for g in golds}),
                tuple(max((exact_match(t, g) for g in first), default=0.0) for t in texts),
                tuple(max((f1_score(t, g) for g in first), default=0.0) for t in texts),
                tuple(float(any(is_right(t, g) for g in golds)) for t in texts),
                text,
                judged,
            )
        )
    return asked


def _domain(file: str) -> str:
    """A qa-train file's domain: ``squad`` for the SQuAD training files (one Wikipedia article may be spread over
    several of them), else the file's own name (the SQuADShifts sets)."""
    return "squad" if file.startswith(SQUAD_FILES) else file.removesuffix(".json")


def _kind(question) -> str:
    if not question.impossible:
        return "answerable"
    return "swap" if question.id.endswith("-swap") else "other"


def headroom(asked: list[Asked], threshold: float) -> dict:
    """How often a right span is among the best N candidates (answerable questions), and right-but-declined."""
    answerable = [a for a in asked if a.answerable]
    figures = {}
    for top in TOPS:
        figures[f"em_in_top_{top}"] = round(float(np.mean([max(a.em[:top], default=0) for a in answerable])), 4)
        figures[f"f1_half_in_top_{top}"] = round(
            float(np.mean([any(f >= 0.5 for f in a.f1[:top]) for a in answerable])), 4
        )
    right = [a for a in answerable if a.em and a.em[0]]
    figures["best_right"] = len(right)
    figures["best_right_but_declined"] = round(
        float(np.mean([a.probabilities[0] < threshold for a in right])) if right else 0.0, 4
    )
    return figures


def _f1_at(asked: list[Asked], probabilities: np.ndarray, threshold: float, weight: np.ndarray | None = None) -> float:
    scores = []
    for a, p in zip(asked, probabilities, strict=True):
        answered = bool(a.texts) and p >= threshold
        scores.append((a.f1[0] if answered else 0.0) if a.answerable else float(not answered))
    return float(np.average(scores, weights=weight))


F1_BANDS = (0.0, 1e-9, 0.5, 1.0 + 1e-9)
"""Bands of a wrong answer's F1 against a question's one gold answer: none of its words, some, at least half."""


def right_labels(asked: list[Asked]) -> tuple[np.ndarray, dict]:
    """How likely each question's best candidate is right, as an exact match against the answers several people
    would write: SQuAD's evaluation files give three per question, most of our validation questions one.

    Where a question has several distinct gold answers, the label is the exact match against any of them. Where
    it has one, a match is right, and a miss is right with the chance that a miss of its F1 band against one gold
    answer matches another: measured on the questions that have several, scored against their first alone.
    Unanswerable questions: 0. Returns the labels and the chances found.
    """
    several = [a for a in asked if a.answerable and a.texts and a.references > 1 and a.em_first]
    chance = []
    for band in range(len(F1_BANDS) - 1):
        misses = [a.em[0] for a in several if not a.em_first[0] and _f1_band(a.f1_first[0]) == band]
        chance.append(float(np.mean(misses)) if len(misses) >= 20 else 0.0)  # too few to say: a miss stays wrong
    labels = []
    for a in asked:
        if not a.answerable or not a.texts:
            labels.append(0.0)
        elif a.source == NEWS:  # news is scored as its figures count a right answer
            labels.append(a.right[0])
        elif a.references > 1 or not a.em_first or a.em[0]:
            labels.append(float(a.em[0] > 0))
        else:
            labels.append(chance[_f1_band(a.f1_first[0])])
    figures = {"questions_with_several_answers": len(several), "a_miss_matches_another_answer": chance}
    return np.array(labels), figures


def _f1_band(f1: float) -> int:
    """Which of the :data:`F1_BANDS` an F1 falls in."""
    return next(i for i, (low, high) in enumerate(itertools.pairwise(F1_BANDS)) if low <= f1 < high)


def fit(
    asked: list[Asked], labels: np.ndarray | None = None, folds: int = 5, first: np.ndarray | None = None
) -> tuple[Calibrator, dict, np.ndarray]:
    """The recalibration, its out-of-fold figures and out-of-fold probabilities (one per question, 0 without a
    candidate); ``labels``: how likely each question's best candidate is right (:func:`right_labels`; default: its
    exact match against the gold answers given). Given ``first`` (a first fit's out-of-fold probabilities), the
    second opinion over :data:`qa.calibration.JUDGED_FEATURES` instead."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import GroupKFold, cross_val_predict

    if labels is None:
        labels = np.array([float(bool(a.texts) and a.em[0] > 0) for a in asked])
    kept = [i for i, a in enumerate(asked) if a.texts]
    rows, target = [asked[i] for i in kept], labels[kept]
    weight = domain_weights(asked)
    features = FEATURES if first is None else JUDGED_FEATURES
    if first is None:
        x = np.array([[a.features[0][name] for name in FEATURES] for a in rows])
    else:
        x = np.array([list(judged_features(p, a.judged).values()) for p, a in zip(first[kept], rows, strict=True)])
    groups = np.array([a.article for a in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    # A label between 0 and 1 is fitted as the row twice, right with its weight and wrong with the rest.
    n = len(rows)
    zz, yy = np.vstack([z, z]), np.r_[np.ones(n), np.zeros(n)]
    ww, gg = np.r_[target, 1.0 - target] * np.r_[weight[kept], weight[kept]], np.r_[groups, groups]
    best = None
    for c in (0.001, 0.01, 0.1, 1.0, 10.0):  # the regularisation with the best out-of-fold log loss
        model = LogisticRegression(C=c, max_iter=2000)
        predicted = cross_val_predict(
            model, zz, yy, cv=GroupKFold(folds), groups=gg, method="predict_proba", params={"sample_weight": ww}
        )[:, 1]
        loss = log_loss(yy, predicted, sample_weight=ww)
        if best is None or loss < best[0]:
            best = (loss, c, predicted[:n])  # a row's two copies share their article's fold
    _, chosen_c, out_of_fold = best
    model = LogisticRegression(C=chosen_c, max_iter=2000).fit(zz, yy, sample_weight=ww)
    present = np.array([a.probabilities[0] for a in rows])
    all_probabilities = np.zeros(len(asked))  # a question without candidates is declined
    all_probabilities[kept] = out_of_fold
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    f1s = [_f1_at(asked, all_probabilities, t, weight) for t in grid]
    threshold = float(grid[int(np.argmax(f1s))])
    calibrator = Calibrator(
        features,
        tuple(round(float(v), 6) for v in mean),
        tuple(round(float(v), 6) for v in scale),
        tuple(round(float(v), 6) for v in model.coef_[0]),
        round(float(model.intercept_[0]), 6),
        threshold,
    )
    correct = [a.em[0] > 0 for a in rows]
    several = np.array([a.references > 1 for a in rows])
    kinds = np.array([a.kind for a in asked])
    figures = {
        "questions": len(asked),
        "unanswerable": sum(not a.answerable for a in asked),
        "regularisation_c": chosen_c,
        "ece_present": round(expected_calibration_error(present, target), 4),
        "ece_recalibrated_out_of_fold": round(expected_calibration_error(out_of_fold, target), 4),
        "ece_out_of_fold_on_questions_with_several_answers": round(
            expected_calibration_error(out_of_fold[several], np.array(correct)[several]), 4
        ),
        "threshold": threshold,
        "f1_at_threshold_out_of_fold": round(max(f1s), 4),
        "f1_never_declining": round(_f1_at(asked, all_probabilities, 0.0, weight), 4),
        "declined_at_threshold": {
            kind: round(float(np.mean(all_probabilities[kinds == kind] < threshold)), 4)
            for kind in sorted(set(kinds) - {""})
        },
        "by_domain": by_domain(asked, all_probabilities, labels, threshold),
    }
    return calibrator, figures, all_probabilities


def domain_weights(asked: list[Asked]) -> np.ndarray:
    """Each question's weight in the fit and the threshold: the news dev questions (when asked) weigh as much,
    all together, as the Wikipedia-style validation split, so that neither domain's confidence is fitted alone."""
    news = np.array([a.source == NEWS for a in asked])
    if not news.any() or news.all():
        return np.ones(len(asked))
    return np.where(news, len(asked) / (2 * news.sum()), len(asked) / (2 * (~news).sum()))


def by_domain(asked: list[Asked], probabilities: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """Per domain (the validation split, news): out-of-fold ECE against the labels fitted, answerable questions
    shown and right (news: :func:`qa.metrics.is_right`; else exact match), and unanswerable ones declined."""
    figures = {}
    for domain, inside in (
        ("validation split", [a.source != NEWS for a in asked]),
        (NEWS, [a.source == NEWS for a in asked]),
    ):
        inside = np.array(inside)
        if not inside.any():
            continue
        rows = [a for a, keep in zip(asked, inside, strict=True) if keep]
        shown = probabilities[inside] >= threshold
        answerable = np.array([a.answerable for a in rows])
        right = np.array([bool(a.texts) and (a.right[0] if a.source == NEWS else a.em[0]) > 0 for a in rows])
        figures[domain] = {
            "questions": len(rows),
            "ece_out_of_fold": round(expected_calibration_error(probabilities[inside], labels[inside]), 4),
            "answerable_right_at_threshold": round(float(np.mean((shown & right)[answerable])), 4),
            "unanswerable_declined": round(float(np.mean(~shown[~answerable])), 4) if (~answerable).any() else None,
        }
    return figures


def _top_em(questions: list[Asked], scores: list[np.ndarray] | None) -> float:
    """EM of each answerable question's top candidate: by ``scores`` (one array per question), else the margin's."""
    if scores is None:
        return round(float(np.mean([a.em[0] for a in questions])), 4)
    picked = [a.em[int(np.argmax(score))] for a, score in zip(questions, scores, strict=True)]
    return round(float(np.mean(picked)), 4)


def rerank(asked: list[Asked], folds: int = 5) -> dict:
    """Whether re-ranking each question's candidates by a logistic regression of "this candidate is right" on their
    features picks a right answer (EM) more often than the reader's margin order: out of fold by article, and on
    each domain held out of the fit (one the ranker never saw). Answerable questions only."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    questions = [a for a in asked if a.answerable and len(a.texts) > 1]
    x = [np.array([[f[name] for name in FEATURES] for f in a.features]) for a in questions]
    y = [np.array(a.em) > 0 for a in questions]

    def fitted(train: list[int]):
        xs, ys = np.concatenate([x[i] for i in train]), np.concatenate([y[i] for i in train])
        mean, scale = xs.mean(axis=0), xs.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=1.0, max_iter=2000).fit((xs - mean) / scale, ys)
        return lambda i: model.decision_function((x[i] - mean) / scale)

    scores: list[np.ndarray] = [np.zeros(0)] * len(questions)
    groups = [a.article for a in questions]
    for train, test in GroupKFold(folds).split(np.zeros(len(questions)), groups=groups):
        score = fitted(list(train))
        for i in test:
            scores[i] = score(i)
    figures = {
        "questions": len(questions),
        "em_margin_order": _top_em(questions, None),
        "em_reranked_out_of_fold": _top_em(questions, scores),
        "held_out_domains": {},
    }
    for source in sorted({a.source for a in questions} - {""}):
        inside = [i for i, a in enumerate(questions) if a.source == source]
        if len(inside) < 100 or len(inside) == len(questions):
            continue
        score = fitted([i for i, a in enumerate(questions) if a.source != source])
        held = [questions[i] for i in inside]
        figures["held_out_domains"][source] = {
            "questions": len(held),
            "em_margin_order": _top_em(held, None),
            "em_reranked": _top_em(held, [score(i) for i in inside]),
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    """Read the validation split, report the headroom, fit and write the recalibration."""
    parser = argparse.ArgumentParser(prog="python -m training.calibrate", description=__doc__.split("\n")[0])
    parser.add_argument("--reader-dir", type=Path, default=None, help="the reader to calibrate (default: the shipped)")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"))
    parser.add_argument("--limit", type=int, default=None, help="ask at most this many questions")
    parser.add_argument(
        "--news", type=Path, default=None, help="the news QA folder: its dev/ questions join the fit (half its weight)"
    )
    parser.add_argument("--no-write", dest="write", action="store_false", help="report only")
    parser.add_argument(
        "--no-judged", dest="judged", action="store_false", help="no second opinion from the sentence judge"
    )
    parser.add_argument("--asked", type=Path, help="keep the questions' candidates in this JSON file, or reuse it")
    args = parser.parse_args(argv)
    reader_dir = args.reader_dir or default_reader_dir()
    meta = json.loads((reader_dir / READER_FILE).read_text(encoding="utf-8"))
    if args.asked and args.asked.exists():
        asked = [
            Asked(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
            for row in json.loads(args.asked.read_text())
        ]
    else:
        with tempfile.TemporaryDirectory(prefix="reader-calibration-") as scratch:
            path = Path(scratch) / "validation.json"
            path.write_text(json.dumps(validation_squad(args.data)), encoding="utf-8")
            asked = ask_all(path, reader_dir, Path(scratch) / "index", args.limit)
            if args.news is not None:
                asked += ask_all(args.news / NEWS_DEV_FILE, reader_dir, Path(scratch) / "news-index", args.limit, NEWS)
        if args.asked:
            args.asked.write_text(json.dumps([asdict(a) for a in asked]))
    figures = {"headroom": headroom(asked, float(meta["threshold"])), "rerank": rerank(asked)}
    # Labels that count a miss of the one gold answer as right as often as it matches another person's answer,
    # kept when they calibrate better on the questions that have several (out of fold).
    labels, figures["labels"] = right_labels(asked)
    plain, aware = fit(asked), fit(asked, labels)
    several = "ece_out_of_fold_on_questions_with_several_answers"
    figures["labels"]["plain_exact_match"] = plain[1] | {"coefficients": plain[0].weights}
    use_aware = aware[1][several] < plain[1][several]
    figures["labels"]["kept"] = "reference-aware" if use_aware else "exact match"
    calibrator, figures["fit"], first = aware if use_aware else plain
    if args.judged and any(a.judged for a in asked):
        judged, figures["judged"], _ = fit(asked, labels if use_aware else None, first=first)
        calibrator = replace(calibrator, judged=judged)
    elif args.judged:
        print("no second opinion: the questions were read without the sentence judge", file=sys.stderr)
    print(json.dumps(figures, indent=2))
    if args.write:
        (reader_dir / CALIBRATION_FILE).write_text(json.dumps(calibrator.to_dict(), indent=2) + "\n", encoding="utf-8")
        asked_from = "validation split and news dev" if args.news else "validation split"
        meta["calibration_from"] = figures | {"how": f"python -m training.calibrate ({asked_from}, pipeline)"}
        (reader_dir / READER_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (reader_dir / "README.md").write_text(model_card(meta), encoding="utf-8")
        print(f"wrote {reader_dir / CALIBRATION_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
