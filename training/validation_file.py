"""Write the reader's validation split as a SQuAD 2.0 file, to run the whole pipeline on it with ``qa eval``.

    .venv/bin/python -m training.validation_file /tmp/reader-validation.json

Most validation units (articles) are written with their paragraphs and questions; the questions
of the others (:data:`UNINDEXED_FRACTION`) are attached as unanswerable, with their paragraphs
left out, so that the index cannot answer them: a question about an article nobody indexed.
And, as in the training's validation, :data:`SWAPPED_FRACTION` of the indexed answerable questions
come again with a named entity swapped for another of their article that their paragraph does not
hold (:func:`training.data.add_swapped_entities`), unanswerable: the question that looks on topic.
Settings chosen on this file (how many passages the reader reads, the threshold) are chosen on
data held out from training, never on the SQuAD evaluation files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from pathlib import Path

from training.data import Example, add_swapped_entities, load_examples

UNINDEXED_FRACTION = 0.3
SWAPPED_FRACTION = 0.3


def validation_squad(
    data_dir: Path, val_fraction: float = 0.05, seed: int = 13, swapped: float = SWAPPED_FRACTION
) -> dict:
    """The validation split (same split as training) as SQuAD 2.0 JSON data."""
    _, examples = load_examples(data_dir, val_fraction, seed)
    indexed = [e for e in examples if not _unindexed(e, seed)]
    examples += add_swapped_entities(indexed, swapped, seed + 3)[len(indexed) :]
    articles: dict[str, dict[str, list]] = defaultdict(dict)
    orphans = []
    for example in examples:
        qa = {
            "id": example.qid,
            "question": example.question,
            "answers": [{"text": t, "answer_start": s} for t, s in example.answers],
            "is_impossible": not example.answerable,
        }
        if _unindexed(example, seed):
            orphans.append(qa | {"answers": [], "is_impossible": True})
        else:
            articles[example.article].setdefault(example.context, []).append(qa)
    data = [
        {"title": title, "paragraphs": [{"context": c, "qas": q} for c, q in paragraphs.items()]}
        for title, paragraphs in articles.items()
    ]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    for number, qa in enumerate(orphans):  # spread over the indexed paragraphs
        paragraphs[number * 7919 % len(paragraphs)]["qas"].append(qa)
    return {"version": "v2.0", "data": data}


def _unindexed(example: Example, seed: int) -> bool:
    """Whether the example's unit (article) is left out of the file's paragraphs."""
    digest = hashlib.sha1(f"{seed}:unindexed:{example.unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < UNINDEXED_FRACTION


def main(argv: list[str] | None = None) -> int:
    """Write the file."""
    parser = argparse.ArgumentParser(prog="python -m training.validation_file", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"))
    args = parser.parse_args(argv)
    squad = validation_squad(args.data)
    args.out.write_text(json.dumps(squad), encoding="utf-8")
    questions = [q for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]]
    unanswerable = sum(q["is_impossible"] for q in questions)
    print(f"{args.out}: {len(squad['data'])} articles, {len(questions)} questions, {unanswerable} unanswerable")
    return 0


if __name__ == "__main__":
    sys.exit(main())
