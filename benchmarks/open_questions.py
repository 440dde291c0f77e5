"""Open questions (what a story is about, yes/no, why, how, lists) asked through ``QA.ask``, scored as the news
data's README says.

Indexes the articles of a news SQuAD file (default: the news dev part; cached as ``qa eval`` caches it),
asks every question of an ``open.jsonl`` beside it over the whole collection, after 5 untimed warm-up
questions, and scores each reply:

- a quoted sentence (a citation's quote) *covers* a gold sentence when it holds at least 60 % of the gold
  sentence's normalized words (lower case, punctuation and articles removed);
- about: at least min(2, n) of the gold key sentences covered;
- why/how: an evidence sentence covered, and a key phrase (normalized) in the quoted text;
- yes/no: an evidence sentence covered; every verdict shown ("Yes"/"No") counted right or wrong apart;
- list: at least ``min_items`` of the gold items named in the answer's texts (its parts, else its text);
  also the share of its items (parts) cited to the question's own story, over the replies that list any;
- compare (``--compare``: our own questions over two news dev articles each, ``benchmarks/compare-dev.jsonl``):
  for both articles, a quoted sentence of that article holds one of its key phrases;
- followup (``--followups``: our own conversations over news dev articles, ``benchmarks/followups-dev.jsonl``:
  an elliptical second turn, "Why?", "How so?", "When?"; ``benchmarks/followups-pronoun-dev.jsonl``: a last turn
  that points back, "Is it ...?", two or three turns; the earlier turns asked untimed, each with the ones before
  it as history, the last one timed): scored as why/how (an evidence sentence covered, a key phrase quoted).

Also: how often the question's kind (:func:`qa.kinds.question_kind`) equals the label, and the latency of the
whole ``ask`` (p50, p95; milliseconds, this machine).

    python benchmarks/open_questions.py --compare benchmarks/compare-dev.jsonl    # news dev, every kind
    python benchmarks/open_questions.py --kinds about --dump /tmp/about.jsonl
    python benchmarks/open_questions.py --kinds followup --followups benchmarks/followups-dev.jsonl
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.config import Config  # noqa: E402
from qa.evaluate import build_eval_index, eval_index_dir, load_squad, percentile  # noqa: E402
from qa.metrics import covers, normalize_answer  # noqa: E402

WARMUP = 5


def quotes_of(answer) -> list[str]:
    """Every sentence the reply quotes: its citations' and its parts'."""
    return [c.quote for c in answer.citations] + [p.citation.quote for p in answer.parts]


def score(row: dict, answer) -> dict:
    """The scores of one reply (see the module)."""
    quoted = quotes_of(answer) if answer.found else []
    covered = [any(covers(q, gold) for q in quoted) for gold in row.get("evidence", [])]
    result: dict = {"kind": row["kind"], "asked_as": answer.kind, "found": answer.found}
    if row["kind"] == "about":
        keys = row["key_sentences"]
        hit = sum(any(covers(q, gold) for q in quoted) for gold in keys)
        result["right"] = hit >= min(2, len(keys))
    elif row["kind"] in ("why", "how", "followup"):
        text = normalize_answer(" ".join(quoted))
        phrase = any(normalize_answer(p) in text for p in row.get("key_phrases", []))
        result["right"] = any(covered) and phrase
    elif row["kind"] == "yesno":
        result["right"] = any(covered)
        if answer.verdict is not None:
            result["verdict_right"] = answer.verdict == row["polarity"]
    elif row["kind"] == "compare":  # our own questions (benchmarks/compare-dev.jsonl): each article's key phrase
        said = {}
        for citation in answer.citations if answer.found else []:
            said.setdefault(citation.title, []).append(normalize_answer(citation.quote))
        result["right"] = all(
            any(normalize_answer(p) in quote for p in phrases for quote in said.get(title, []))
            for title, phrases in zip(row["articles"], row["key_phrases"], strict=True)
        )
    elif row["kind"] == "list":
        texts = [p.text for p in answer.parts] or ([answer.text] if answer.found else [])
        said = normalize_answer(" | ".join(texts))
        named = sum(normalize_answer(item) in said for item in row["items"])
        result["items_named"] = named / len(row["items"])
        if answer.parts:  # every list question is about one story: an item cited to another is not one of its items
            result["parts_in_story"] = sum(p.citation.title == row["article"] for p in answer.parts) / len(answer.parts)
        result["right"] = named >= row["min_items"]
    return result


def main(argv: list[str] | None = None) -> int:
    """Ask, score, print the figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=Path, default=ROOT.parent / "shared" / "data" / "news" / "dev" / "open.jsonl")
    parser.add_argument(
        "--articles", type=Path, default=None, help="the SQuAD file of its articles (default: beside it)"
    )
    parser.add_argument("--kinds", nargs="*", default=None, help="only these kinds")
    parser.add_argument("--compare", type=Path, default=None, help="comparison questions to ask too (JSON Lines)")
    parser.add_argument("--followups", type=Path, default=None, help="conversations to ask too (JSON Lines)")
    parser.add_argument("--reader-dir", type=Path, default=None)
    parser.add_argument("--dump", type=Path, default=None, help="one JSON line per question")
    args = parser.parse_args(argv)
    from qa.engine import QA

    articles_file = args.articles or next(args.open.parent.glob("news-*.json"))
    articles, _, _ = load_squad(articles_file)
    config = Config().with_overrides(reader_dir=args.reader_dir)
    config = config.with_overrides(index_dir=eval_index_dir(articles_file, config))
    build_eval_index(articles, config)
    engine = QA(config=config)
    rows = [json.loads(line) for line in args.open.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.compare:
        rows += [
            json.loads(line) | {"kind": "compare"}
            for line in args.compare.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    if args.followups:
        rows += [
            row | {"kind": "followup", "asks": row["kind"], "question": row["turns"][-1]}
            for row in (
                json.loads(line) for line in args.followups.read_text(encoding="utf-8").splitlines() if line.strip()
            )
        ]
    if args.kinds:
        rows = [r for r in rows if r["kind"] in args.kinds]
    for row in rows[:WARMUP]:
        engine.ask(row["question"])
    results, times, dump = [], collections.defaultdict(list), []
    for row in rows:
        history: list = []
        for turn in row.get("turns", [])[:-1]:  # a conversation's earlier turns, each asked as the chat asks it
            history.append(engine.ask(turn, history=list(history)))
        t0 = time.perf_counter()
        answer = engine.ask(row["question"], history=history)
        elapsed = (time.perf_counter() - t0) * 1000
        result = score(row, answer) | ({"asks": row["asks"]} if "asks" in row else {})
        results.append(result)
        times[row["kind"]].append(elapsed)
        if args.dump:
            dump.append(
                row
                | result
                | {
                    "reply": answer.text,
                    "verdict": answer.verdict,
                    "quotes": quotes_of(answer),
                    "parts": [p.text for p in answer.parts],
                    "score": answer.score,
                    "ms": round(elapsed, 1),
                }
            )
    figures: dict = {
        "questions": len(rows),
        "kind_accuracy": round(sum(r.get("asks", r["kind"]) == r["asked_as"] for r in results) / len(results), 4),
    }
    for kind in sorted({r["kind"] for r in results}):
        mine = [r for r in results if r["kind"] == kind]
        entry = {
            "questions": len(mine),
            "right": round(sum(r["right"] for r in mine) / len(mine), 4),
            "asked_as_kind": round(
                sum(
                    r["asked_as"] == r.get("asks", kind) or (kind in ("why", "how") and r["asked_as"] in ("why", "how"))
                    for r in mine
                )
                / len(mine),
                4,
            ),
            "p50_ms": round(percentile(times[kind], 0.5), 1),
        }
        if kind == "list":
            entry["items_named"] = round(sum(r["items_named"] for r in mine) / len(mine), 4)
            listed = [r["parts_in_story"] for r in mine if "parts_in_story" in r]
            entry["parts_in_story"] = round(sum(listed) / len(listed), 4) if listed else None
        if kind == "yesno":
            shown = [r["verdict_right"] for r in mine if "verdict_right" in r]
            entry["verdicts_shown"] = len(shown)
            entry["verdicts_right"] = round(sum(shown) / len(shown), 4) if shown else None
        figures[kind] = entry
    every = [t for kind_times in times.values() for t in kind_times]
    figures["p50_ms"], figures["p95_ms"] = round(percentile(every, 0.5), 1), round(percentile(every, 0.95), 1)
    if args.dump:
        args.dump.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in dump), encoding="utf-8")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
