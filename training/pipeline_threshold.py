"""Choose the reader's "not found" threshold on the validation split, read through the whole pipeline.

    .venv/bin/python -m training.pipeline_threshold [--reader-dir models/reader] [--limit 800]

The export calibrates the reader's probability with each validation question given its own
paragraph. In use, the reader reads several retrieved passages and keeps the best span, so
the threshold is chosen where it will be used: the validation split is indexed (its held-out
articles left out, so that their questions have no answer in the index, see
:mod:`training.validation_file`), every question is asked as ``qa ask`` would, and the
threshold with the best F1 over answerable and unanswerable questions is written into the
reader's ``reader.json`` and model card. Nothing here reads the SQuAD evaluation files.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from qa.config import Config
from qa.evaluate import evaluate
from qa.read import READER_FILE, default_reader_dir
from training.export import model_card
from training.validation_file import validation_squad


def choose_threshold(reader_dir: Path, data_dir: Path, passages: int, limit: int | None) -> dict:
    """Evaluate the validation split through the pipeline and write the best threshold; returns the figures."""
    with tempfile.TemporaryDirectory(prefix="reader-validation-") as scratch:
        path = Path(scratch) / "reader-validation.json"
        path.write_text(json.dumps(validation_squad(data_dir)), encoding="utf-8")
        config = Config(
            index_dir=Path(scratch) / "index", reader_dir=reader_dir, reader_passages=passages
        )
        report = evaluate(path, config, limit=limit, progress=True)
    meta = json.loads((reader_dir / READER_FILE).read_text(encoding="utf-8"))
    chosen = report.best_threshold_scores
    meta["threshold"] = round(report.best_threshold, 4)
    meta["threshold_from"] = {
        "how": "best F1 over the validation split asked through the pipeline (training.pipeline_threshold)",
        "reader_passages": passages,
        "questions": report.questions,
        "unanswerable": report.unanswerable,
        "f1": round(chosen["f1"], 4),
        "has_ans_f1": round(chosen["has_ans_f1"], 4),
        "no_ans_f1": round(chosen.get("no_ans_f1", 0.0), 4),
        "f1_never_abstaining": round(report.f1_never_abstaining, 4),
    }
    (reader_dir / READER_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (reader_dir / "README.md").write_text(model_card(meta), encoding="utf-8")
    return meta["threshold_from"] | {"threshold": meta["threshold"]}


def main(argv: list[str] | None = None) -> int:
    """Choose and write the threshold."""
    parser = argparse.ArgumentParser(prog="python -m training.pipeline_threshold", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--reader-dir", type=Path, default=None, help="the reader to calibrate (default: the shipped one)"
    )
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"))
    parser.add_argument("--reader-passages", type=int, default=Config.reader_passages)
    parser.add_argument("--limit", type=int, default=None, help="ask at most N validation questions, evenly spaced")
    args = parser.parse_args(argv)
    figures = choose_threshold(args.reader_dir or default_reader_dir(), args.data, args.reader_passages, args.limit)
    print(json.dumps(figures), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
