"""How often the reader's best span is not the kind of answer the question asks for, and what choosing by kind
among its candidates would win, on the news dev questions and the Wikipedia-style validation split.

Reads the candidates ``training.calibrate --news ... --asked FILE`` kept (each question's text, up to 10 candidate
spans in the reader's order with their probabilities, and whether each is right). The kind a question asks for
comes from its words (who -> a name; how many -> a count; how much / what price -> an amount; when / what year ->
a time); a candidate's kind from its own words (a digit or number word; a month, weekday or year; a capitalised
name). A type-aware choice takes the first of the best ``--top`` candidates of the asked kind, when the best one
is not of it and that candidate's probability is at least ``--ratio`` of the best's.

    python benchmarks/answer_types.py ~/.cache/article-qa/asked-news.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|"
    r"million|billion|dozen|half|quarter|several|dozens|hundreds|thousands"
)
MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|"
    r"jun|jul|aug|sep|sept|oct|nov|dec|monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|"
    r"tomorrow|morning|evening|night|week|month|year|decade|century|spring|summer|autumn|winter"
)
KINDS = {
    "count": re.compile(rf"\d|\b({NUMBER_WORDS})\b", re.IGNORECASE),
    "amount": re.compile(rf"\d|\b({NUMBER_WORDS})\b|[$€£¥%]", re.IGNORECASE),
    "time": re.compile(rf"\d|\b({MONTHS})\b", re.IGNORECASE),
    "name": re.compile(r"(^|\s)[A-Z][\w’'.-]*"),
}
ASKS = (
    (re.compile(r"^\s*how many\b|\bhow many\b", re.IGNORECASE), "count"),
    (re.compile(r"\bhow much\b|\bwhat (price|sum|amount|fee|fine|value)\b|\bcost\b", re.IGNORECASE), "amount"),
    (re.compile(r"^\s*when\b|\bwhat (year|date|day|month|time)\b|\bin which year\b", re.IGNORECASE), "time"),
    (re.compile(r"^\s*(who|whom)\b|\bwhich (person|company|firm|team|player|official)\b", re.IGNORECASE), "name"),
)


def asked_kind(question: str) -> str | None:
    """The kind of answer a question asks for, or ``None`` (another kind of question: what, where, why ...)."""
    return next((kind for pattern, kind in ASKS if pattern.search(question)), None)


def is_kind(text: str, kind: str) -> bool:
    """Whether a candidate answer's own words are of ``kind``."""
    return bool(KINDS[kind].search(text))


def choose(row: dict, top: int, ratio: float) -> int:
    """The candidate a type-aware choice picks (its index; 0 when the best is of the asked kind or none is)."""
    kind = asked_kind(row["question"])
    texts, probabilities = row["texts"], row["probabilities"]
    if kind is None or not texts or is_kind(texts[0], kind):
        return 0
    for index in range(1, min(top, len(texts))):
        if is_kind(texts[index], kind) and probabilities[index] >= ratio * probabilities[0]:
            return index
    return 0


def figures(rows: list[dict], top: int, ratio: float, key: str) -> dict:
    """Answerable questions with a kind: the best span's kind wrong, right as the reader orders, right by kind."""
    typed = [r for r in rows if r["answerable"] and r["texts"] and asked_kind(r["question"])]
    wrong_kind = [r for r in typed if not is_kind(r["texts"][0], asked_kind(r["question"]))]
    margin = sum(r[key][0] > 0 for r in typed)
    by_kind = sum(r[key][choose(r, top, ratio)] > 0 for r in typed)
    return {
        "questions_with_a_kind": len(typed),
        "best_span_of_another_kind": round(len(wrong_kind) / max(len(typed), 1), 4),
        "right_reader_order": round(margin / max(len(typed), 1), 4),
        "right_type_aware": round(by_kind / max(len(typed), 1), 4),
        "changed": sum(choose(r, top, ratio) != 0 for r in typed),
    }


def main() -> int:
    """Print the figures for the news dev questions and for the validation split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("asked", type=Path, help="the candidates training.calibrate --asked kept")
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--ratio", type=float, default=0.3)
    args = parser.parse_args()
    rows = json.loads(args.asked.read_text())
    news = [r for r in rows if r.get("source") == "news"]
    wiki = [r for r in rows if r.get("source") != "news"]
    report = {
        "news dev (right: equal or containing)": figures(news, args.top, args.ratio, "right"),
        "validation split (right: exact match)": figures(wiki, args.top, args.ratio, "em"),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
