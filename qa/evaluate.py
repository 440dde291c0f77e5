"""Measure answer quality and speed on SQuAD-format data (v1.1 and v2.0).

Each SQuAD article (its title, then its paragraphs in order, blank lines between)
becomes one article, so chunking works on long documents. Gold answers are
mapped into article offsets, so retrieval is scored by span: a retrieved chunk
*covers* a gold answer when it contains the answer's characters.

Example::

    report = evaluate("../shared/data/squad/dev-v1.1.json", limit=500)
    print(report.f1, report.recall[5])

Questions go through the same path as :meth:`qa.engine.QA.ask` (embed, retrieve, read); with
``oracle`` the gold paragraph replaces retrieval.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from index.ingest import Article, content_hash
from qa.calibration import expected_calibration_error
from qa.config import Config
from qa.metrics import f1_score, is_right, normalize_answer
from qa.retrieve import passage_of
from qa.types import Passage

WARMUP_QUESTIONS = 10
RECALL_AT = (1, 5, 10)
CALIBRATION_TOLERANCE = 0.005
"""How much HasAns F1 the calibrated abstention threshold may cost (see BENCHMARKS.md).

On SQuAD 2.0 the threshold with the best overall F1 declines nearly every question,
answerable or not, because its unanswerable questions are written to look answerable;
the calibrated one declines what it can without losing the answers people came for."""


@dataclass(frozen=True)
class SquadQuestion:
    """One question with its gold answers in article offsets."""

    id: str
    question: str
    article_id: str
    answers: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    paragraph: tuple[int, int]
    impossible: bool


@dataclass(frozen=True)
class EvalReport:
    """What ``qa eval`` measured (``to_dict`` is its ``--json``; the README of ``qa eval`` explains each figure).

    Rates are in [0, 1]; ``recall`` maps k to recall@k; scores at a threshold are dicts with
    ``f1``, ``em``, ``has_ans_f1``, ``no_ans_f1`` and ``abstention_accuracy``.
    """

    file: str
    version: str
    mode: str
    questions: int
    answerable: int
    unanswerable: int
    recall: dict[int, float]
    evidence_hit: float
    exact_match: float
    f1: float
    f1_never_abstaining: float
    has_ans_f1: float
    no_ans_f1: float
    abstention_accuracy: float
    threshold: float
    best_threshold: float
    best_threshold_scores: dict[str, float]
    calibrated_threshold: float
    calibrated_threshold_scores: dict[str, float]
    right: float
    right_never_declining: float
    declined_unanswerable: float
    ece: float
    latency_ms: dict[str, float]
    build_seconds: float
    chunks: int
    chunks_per_second: float
    build_reused: bool
    index_dir: str

    def to_dict(self) -> dict:
        """A JSON-serializable dict, figures rounded to 4 places, recall as ``recall@k`` keys."""

        def rounded(value):
            if isinstance(value, float):
                return round(value, 4)
            if isinstance(value, dict):
                return {k: rounded(v) for k, v in value.items()}
            return value

        data = {key: rounded(value) for key, value in asdict(self).items() if key != "recall"}
        recall = {f"recall@{k}": round(v, 4) for k, v in self.recall.items()}
        position = list(data).index("evidence_hit")
        items = list(data.items())
        return dict(items[:position] + list(recall.items()) + items[position:])


def load_squad(path: str | Path) -> tuple[list[Article], list[SquadQuestion], str]:
    """Articles, questions and the format version of a SQuAD-format JSON file.

    Raises:
        ValueError: the file is not SQuAD-format JSON.
    """
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise ValueError(f"{path}: not SQuAD-format JSON (no top-level 'data' list)")
    articles, questions = [], []
    for number, entry in enumerate(data["data"]):
        title = str(entry.get("title", f"Article {number}")).replace("_", " ")
        article_id = f"squad-{number:03d}"
        parts, offset = [title], len(title) + 2
        for paragraph in entry["paragraphs"]:
            context = paragraph["context"]
            start = offset
            parts.append(context)
            offset += len(context) + 2
            for qa in paragraph["qas"]:
                answers = [a for a in qa.get("answers", []) if a.get("text")]
                questions.append(
                    SquadQuestion(
                        id=str(qa["id"]),
                        question=qa["question"],
                        article_id=article_id,
                        answers=tuple(a["text"] for a in answers),
                        spans=tuple(
                            (start + a["answer_start"], start + a["answer_start"] + len(a["text"])) for a in answers
                        ),
                        paragraph=(start, start + len(context)),
                        impossible=bool(qa.get("is_impossible")) or not answers,
                    )
                )
        text = "\n\n".join(parts)
        articles.append(
            Article(article_id, title, text, f"{path.name}#{title}", f"{path.resolve()}#{number}", content_hash(text))
        )
    return articles, questions, str(data.get("version", ""))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0.5 for the median) of ``values``, one of the values; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sample_questions(questions: list[SquadQuestion], limit: int | None) -> list[SquadQuestion]:
    """At most ``limit`` questions, evenly spaced over the file (every article represented)."""
    if not limit or limit >= len(questions):
        return questions
    step = len(questions) / limit
    return [questions[int(i * step)] for i in range(limit)]


def eval_index_dir(path: Path, config: Config) -> Path:
    """Where the evaluation index of a data file is cached: one per file content and settings."""
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:10]
    from index.build import BUILD_METHOD
    from index.embed import resolve_backend

    settings = f"{config.build_model}-{config.chunk_tokens}-{config.chunk_overlap}-b{BUILD_METHOD}"
    settings += "-sentences"  # what indexes cached while a build could also annotate for another reader are keyed on
    backend = resolve_backend(config.build_model, config.backend)
    if backend != "torch":
        from index.embed import ONNX_EXPORT_VERSION

        settings += f"-{backend}" + (f"{ONNX_EXPORT_VERSION}" if ONNX_EXPORT_VERSION > 2 else "")
    if config.shards is not None or config.engine != "local":
        settings += f"-{config.engine}{config.shards or 1}"
    settings = re.sub(r"[^A-Za-z0-9.-]+", "_", settings)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    return cache / "article-qa" / "eval" / f"{path.stem}-{digest}-{settings}"


def build_eval_index(articles: list[Article], config: Config, rebuild: bool = False, progress: bool = False) -> dict:
    """Build (or reuse) the index; returns build figures, recorded beside the index for reuse."""
    from index.chunk import chunk_limit
    from index.sharded_build import make_writer
    from index.shards import open_store

    record = config.index_dir / "eval-build.json"
    if not rebuild and record.exists():
        try:
            store = open_store(config.index_dir)
            manifest = store.manifest
            settings = (manifest.articles, manifest.chunk_tokens, manifest.chunk_overlap)
            chunk_tokens = chunk_limit(config.chunk_tokens, manifest.max_tokens)  # as the build capped it
            if settings == (len(articles), chunk_tokens, config.chunk_overlap):
                return json.loads(record.read_text()) | {"reused": True}
        except Exception:  # any doubt about the cached index: build it again
            pass
    report = make_writer(config, progress=progress).build_articles(articles)
    figures = {
        "seconds": round(report.seconds, 2),
        "chunks": report.chunks,
        "chunks_per_second": round(report.chunks_per_second, 2),
    }
    record.write_text(json.dumps(figures))
    return figures | {"reused": False}


def _scores_at(records: list[dict], threshold: float) -> dict[str, float]:
    """F1/EM overall, on answerable and on unanswerable questions, if answers below ``threshold`` abstain."""
    totals = collections.defaultdict(list)
    for r in records:
        answered = r["confidence"] >= threshold
        if r["impossible"]:
            f1 = em = float(not answered)
        else:
            f1, em = (r["f1"], r["em"]) if answered else (0.0, 0.0)
        totals["f1"].append(f1)
        totals["em"].append(em)
        totals["has_ans_f1" if not r["impossible"] else "no_ans_f1"].append(f1)
        totals["abstention_accuracy"].append(float(answered != r["impossible"]))
    return {key: statistics.fmean(values) if values else 0.0 for key, values in totals.items()}


def _thresholds(records: list[dict]) -> list[float]:
    candidates = sorted({0.0, *(round(r["confidence"], 4) for r in records)})
    step = max(1, len(candidates) // 400)
    return [*candidates[::step], candidates[-1]]


def _threshold_scores(records: list[dict]) -> dict[float, dict[str, float]]:
    """The scores at each candidate threshold (0, where nothing is declined, among them)."""
    return {threshold: _scores_at(records, threshold) for threshold in _thresholds(records)}


def _best_threshold(scores: dict[float, dict[str, float]]) -> float:
    """The threshold with the best overall F1 (the SQuAD 2.0 "best F1" threshold)."""
    return max(scores, key=lambda t: scores[t]["f1"])


def _calibrated_threshold(scores: dict[float, dict[str, float]]) -> float:
    """The threshold with the best overall F1 among those that cost answerable questions at most
    :data:`CALIBRATION_TOLERANCE` of HasAns F1 (compared with never abstaining)."""
    never = scores[0.0].get("has_ans_f1", 0.0)
    allowed = [t for t in scores if scores[t].get("has_ans_f1", 0.0) >= never - CALIBRATION_TOLERANCE]
    return max(allowed, key=lambda t: scores[t]["f1"])


def evaluate(
    path: str | Path,
    config: Config | None = None,
    limit: int | None = None,
    oracle: bool = False,
    rebuild: bool = False,
    progress: bool = False,
    dump: str | Path | None = None,
) -> dict:
    """Build (or reuse) an index over a SQuAD file, ask its questions, and measure.

    Args:
        path: a SQuAD v1.1 or v2.0 JSON file.
        config: settings; ``config.index_dir`` is used as given when the caller set one,
            see :func:`eval_index_dir` for the default cache.
        limit: ask at most this many questions, evenly spaced over the file.
        oracle: give the answerer the gold paragraph instead of retrieved passages.
        rebuild: build the index even if a cached one exists.
        progress: progress bars on stderr.
        dump: write one JSON line per question (prediction, gold, scores) to this file.

    Returns:
        The figures: see the keys in :data:`REPORT_KEYS` and the README of ``qa eval``.
    """
    from tqdm import tqdm

    from qa.engine import QA

    path = Path(path)
    config = config or Config()
    articles, questions, version = load_squad(path)
    build = build_eval_index(articles, config, rebuild, progress)
    # Every would-be answer is kept (threshold 0), so that thresholds can be applied below.
    engine = QA(config=config.with_overrides(min_confidence=0.0))
    default_threshold = config.min_confidence
    if default_threshold is None:  # the engine's reader, which reads with threshold 0, knows its own
        default_threshold = engine.reader.calibrated_threshold
    asked = sample_questions(questions, limit)

    def run(question: SquadQuestion):
        gold = None
        if oracle:
            start, end = question.paragraph
            gold = [passage_of(engine.store.stretches([(question.article_id, start, end)])[0], -1, 1.0)]
        return engine.ask_timed(question.question, k=max(RECALL_AT), passages=gold)

    for question in asked[:WARMUP_QUESTIONS]:
        run(question)
    records, latency = [], collections.defaultdict(list)
    out = open(dump, "w", encoding="utf-8") if dump else None  # noqa: SIM115
    try:
        for question in tqdm(asked, desc="questions", unit="q", disable=not progress or None):
            answer, timing = run(question)
            for stage, milliseconds in timing.items():
                latency[stage].append(milliseconds)
            latency["total"].append(sum(timing.values()))
            # Recall is measured on the passages the answer returns (the answer's own passage first).
            record = score_question(question, list(answer.passages), answer)
            records.append(record)
            if out:
                out.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            out.close()

    answerable = [r for r in records if not r["impossible"]]
    default = _scores_at(records, default_threshold)
    threshold_scores = _threshold_scores(records)
    best_threshold, calibrated_threshold = _best_threshold(threshold_scores), _calibrated_threshold(threshold_scores)
    stages = ("embed", "retrieve", "answer")
    unanswerable = [r for r in records if r["impossible"]]
    return EvalReport(
        file=str(path),
        version=version,
        mode="oracle" if oracle else "retrieval",
        questions=len(records),
        answerable=len(answerable),
        unanswerable=len(records) - len(answerable),
        recall={k: _mean(r[f"hit@{k}"] for r in answerable) for k in RECALL_AT},
        evidence_hit=_mean(r["evidence_hit"] for r in answerable),
        exact_match=default["em"],
        f1=default["f1"],
        f1_never_abstaining=_mean(r["f1"] for r in answerable),
        has_ans_f1=default.get("has_ans_f1", 0.0),
        no_ans_f1=default.get("no_ans_f1", 0.0),
        abstention_accuracy=default["abstention_accuracy"],
        threshold=default_threshold,
        best_threshold=best_threshold,
        best_threshold_scores=threshold_scores[best_threshold],
        calibrated_threshold=calibrated_threshold,
        calibrated_threshold_scores=threshold_scores[calibrated_threshold],
        right=_mean(r["right"] and r["confidence"] >= default_threshold for r in answerable),
        right_never_declining=_mean(r["right"] for r in answerable),
        declined_unanswerable=_mean(r["confidence"] < default_threshold for r in unanswerable),
        ece=expected_calibration_error([r["confidence"] for r in records], [r["right"] for r in records]),
        latency_ms={
            "p50": percentile(latency["total"], 0.5),
            "p95": percentile(latency["total"], 0.95),
            **{f"{stage}_p50": percentile(latency[stage], 0.5) for stage in stages},
            **{f"{stage}_p95": percentile(latency[stage], 0.95) for stage in stages},
        },
        build_seconds=build["seconds"],
        chunks=build["chunks"],
        chunks_per_second=build["chunks_per_second"],
        build_reused=build["reused"],
        index_dir=str(config.index_dir),
    )


def _mean(values) -> float:
    values = list(values)
    return statistics.fmean(values) if values else 0.0


def covered(question: SquadQuestion, spans: list[tuple[str, int, int]]) -> list[bool]:
    """For each retrieved ``(article_id, start, end)``: whether it contains one of the gold answers."""
    return [
        any(article_id == question.article_id and start <= s and e <= end for s, e in question.spans)
        for article_id, start, end in spans
    ]


def score_question(question: SquadQuestion, retrieved: list[Passage], answer) -> dict:
    """One question's outcome: retrieval hits, evidence, EM/F1 of the (would-be) answer, confidence."""
    covers = covered(question, [(p.article_id, p.start, p.end) for p in retrieved])
    quote = answer.citations[0].quote if answer.citations else ""
    normalized_quote = normalize_answer(quote)
    golds = question.answers or ("",)
    return {
        "id": question.id,
        "question": question.question,
        "gold": list(question.answers),
        "prediction": answer.text,
        "sentence": quote,
        "confidence": answer.score,
        "impossible": question.impossible,
        **{f"hit@{k}": any(covers[:k]) for k in RECALL_AT},
        "evidence_hit": bool(quote) and any(normalize_answer(g) in normalized_quote for g in question.answers),
        "em": max(float(normalize_answer(answer.text) == normalize_answer(g)) for g in golds),
        "f1": max(f1_score(answer.text, g) for g in golds),
        "right": any(is_right(answer.text, g) for g in question.answers),
    }


def format_report(report: EvalReport) -> str:
    """The figures as a short table for people."""
    r = report
    lines = [
        f"{r.file} (SQuAD {r.version}, {r.mode}): {r.questions} questions "
        f"({r.answerable} answerable, {r.unanswerable} not)",
        "  retrieval   " + "  ".join(f"recall@{k} {v:.3f}" for k, v in r.recall.items()),
        f"  evidence    top cited sentence holds a gold answer: {r.evidence_hit:.3f}",
        f"  answer      EM {r.exact_match:.3f}  F1 {r.f1:.3f}  (never abstaining: F1 {r.f1_never_abstaining:.3f})",
        f"  right       answerable shown and right {r.right:.3f} (never declining {r.right_never_declining:.3f}); "
        f"unanswerable declined {r.declined_unanswerable:.3f}; ECE {r.ece:.3f} (right: equal, or containing "
        "it within 3x + 10 characters)",
    ]
    if r.unanswerable:
        best, calibrated = r.best_threshold_scores, r.calibrated_threshold_scores
        lines += [
            f"  at threshold {r.threshold:.4g}: HasAns F1 {r.has_ans_f1:.3f}  "
            f"NoAns F1 {r.no_ans_f1:.3f}  abstention accuracy {r.abstention_accuracy:.3f}",
            f"  best threshold {r.best_threshold:.4g}: F1 {best['f1']:.3f}  HasAns F1 {best['has_ans_f1']:.3f}  "
            f"NoAns F1 {best['no_ans_f1']:.3f}",
            f"  calibrated threshold {r.calibrated_threshold:.4g} (HasAns F1 within {CALIBRATION_TOLERANCE} of "
            f"never abstaining): F1 {calibrated['f1']:.3f}  HasAns F1 {calibrated['has_ans_f1']:.3f}  "
            f"NoAns F1 {calibrated['no_ans_f1']:.3f}",
        ]
    latency = r.latency_ms
    lines += [
        f"  latency     p50 {latency['p50']:.1f} ms  p95 {latency['p95']:.1f} ms  (embed p50 "
        f"{latency['embed_p50']:.1f}, retrieve {latency['retrieve_p50']:.1f}, answer {latency['answer_p50']:.1f})",
        f"  build       {r.build_seconds:.1f} s, {r.chunks} chunks, "
        f"{r.chunks_per_second:.1f} chunks/s{' (cached index)' if r.build_reused else ''}",
    ]
    return "\n".join(lines)
