"""`qa eval` on tiny SQuAD-format files written for these tests (the real data is never needed)."""

from __future__ import annotations

import json

import pytest

from index.store import IndexStore
from qa.cli import main
from qa.evaluate import f1_score, load_squad, normalize_answer
from qa.metrics import is_right
from tests.support import FIXTURES

SQUAD = FIXTURES / "squad"
REQUIRED_KEYS = {
    "questions", "recall@1", "recall@5", "recall@10", "evidence_hit", "exact_match", "f1",
    "has_ans_f1", "no_ans_f1", "latency_ms", "build_seconds", "chunks_per_second",
    "right", "right_never_declining", "declined_unanswerable", "ece",
}  # fmt: skip


def test_official_normalization_and_f1():
    assert normalize_answer("The  Eiffel Tower!") == "eiffel tower"
    assert f1_score("the Eiffel Tower", "Eiffel Tower") == 1.0
    assert f1_score("Tower", "Eiffel Tower") == pytest.approx(2 / 3)
    assert f1_score("Paris", "Eiffel Tower") == 0.0


def test_each_squad_article_becomes_one_article_with_gold_offsets():
    articles, questions, version = load_squad(SQUAD / "tiny-v1.1.json")
    assert version == "1.1" and len(articles) == 2 and len(questions) == 9
    texts = {a.id: a.text for a in articles}
    assert texts[articles[0].id].startswith("Port Alder bridge\n\nThe city council")
    for question in questions:
        for (start, end), answer in zip(question.spans, question.answers, strict=True):
            assert texts[question.article_id][start:end] == answer
        start, end = question.paragraph
        assert all(start <= s and e <= end for s, e in question.spans)


def test_right_is_the_answer_or_a_short_span_holding_it():
    assert is_right("65 seconds", "65") and is_right("The Harbor Bridge", "harbor bridge")
    assert is_right("one in 13 pupils", "one in 13 pupils") and not is_right("13", "one in 13 pupils")
    long = "the council said on Tuesday that the bridge would cost $45 million in all"
    assert not is_right(long, "$45 million") and not is_right("", "65") and not is_right("second", "two titles")


def _eval_json(capsys, tmp_path, name, *flags):
    code = main(["eval", str(SQUAD / name), "--index", str(tmp_path / "eval-index"), "--json", *flags])
    assert code == 0
    return json.loads(capsys.readouterr().out)


def test_eval_reports_every_figure_as_a_rate(capsys, tmp_path):
    report = _eval_json(capsys, tmp_path, "tiny-v1.1.json")
    assert set(report) >= REQUIRED_KEYS
    assert report["questions"] == 9
    for key in ("recall@1", "recall@5", "recall@10", "evidence_hit", "exact_match", "f1"):
        assert 0.0 <= report[key] <= 1.0
    assert report["recall@1"] <= report["recall@5"] <= report["recall@10"]
    assert report["recall@5"] == 1.0, "two short articles: the gold chunk is always among five"
    assert report["f1"] >= 0.6, "most of these factoids are answered"
    assert report["latency_ms"]["p50"] > 0 and report["latency_ms"]["p95"] >= report["latency_ms"]["p50"]
    assert report["build_seconds"] > 0 and report["chunks_per_second"] > 0


def test_eval_builds_its_index_with_the_chunk_size_asked(capsys, tmp_path):
    reports = []
    for flags in ([], ["--chunk-tokens", "48", "--chunk-overlap", "8"]):  # one folder: no reuse of the other size
        assert main(["eval", str(SQUAD / "tiny-v1.1.json"), "--index", str(tmp_path / "index"), "--json", *flags]) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[1]["chunks"] > reports[0]["chunks"] and not reports[1]["build_reused"]
    manifest = IndexStore.open(tmp_path / "index").manifest
    assert (manifest.chunk_tokens, manifest.chunk_overlap) == (48, 8)


def test_oracle_mode_reads_the_gold_paragraph(capsys, tmp_path):
    report = _eval_json(capsys, tmp_path, "tiny-v1.1.json", "--oracle")
    assert report["mode"] == "oracle" and report["recall@1"] == 1.0


def test_v2_reports_abstention_and_the_best_threshold(capsys, tmp_path):
    dump = tmp_path / "dump.jsonl"
    report = _eval_json(capsys, tmp_path, "tiny-v2.0.json", "--dump", str(dump))
    assert report["answerable"] == 5 and report["unanswerable"] == 4
    records = [json.loads(line) for line in dump.read_text().splitlines()]
    declined = [r["confidence"] < report["threshold"] for r in records if r["impossible"]]
    assert len(declined) == 4 and sum(declined) >= 2, "most questions the articles do not answer are declined"
    assert report["no_ans_f1"] == pytest.approx(sum(declined) / 4, abs=1e-4)
    assert report["declined_unanswerable"] == pytest.approx(sum(declined) / 4, abs=1e-4)
    assert report["right"] <= report["right_never_declining"] and report["right_never_declining"] >= 0.6
    assert report["best_threshold"] in {0.0, *(round(r["confidence"], 4) for r in records)}
    assert report["best_threshold_scores"]["f1"] >= report["f1"], "the best threshold is at least as good"
    never = report["f1_never_abstaining"]
    assert report["calibrated_threshold_scores"]["has_ans_f1"] >= never - 0.005, "calibration keeps the answers"


def test_eval_of_a_file_that_is_not_squad_says_so(tmp_path, capsys):
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}')
    assert main(["eval", str(bad)]) == 1
    assert "not SQuAD-format" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "missing.json")]) == 1
    assert "does not exist" in capsys.readouterr().err
