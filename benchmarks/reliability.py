"""Does the shown confidence mean what it says? Reliability diagram and expected calibration error on SQuAD files.

    python benchmarks/reliability.py [FILE.json ...] [--limit N] [--out docs/reliability.png]
    # default files: ../shared/data/squad/dev-v1.1.json and dev-v2.0-half.json
    python benchmarks/reliability.py dev-v1.1.jsonl dev-v2.0-half.jsonl   # the dumps of `qa eval FILE --dump`

Each file is run through the pipeline as ``qa eval`` runs it (its index built or reused); every
question's confidence is the best candidate's probability (what the CLI, the JSON and the chat
show, whether or not it is above the "not found" threshold). Correct means an exact match (on a news file,
one whose name holds "news": equal to an accepted answer or holding it within 3x + 10 characters, as the news
data's README scores it); an unanswerable question counts as wrong. ECE over 10 equal-width bins. Evaluation
only: nothing is chosen here.

    python benchmarks/reliability.py dev-v1.1.jsonl dev-v2.0-half.jsonl news-dev.jsonl   # both domains
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.calibration import expected_calibration_error  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import eval_index_dir, evaluate  # noqa: E402

SQUAD = ROOT.parent / "shared" / "data" / "squad"
BINS = 10


def confidences(path: Path, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Each question's confidence and whether its answer is right, from a ``qa eval`` run's dump (a ``.jsonl``
    file is such a dump already; a SQuAD file is run now)."""
    news = "news" in path.name
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        return _confidences(rows, news)
    config = Config()
    config = config.with_overrides(index_dir=eval_index_dir(path, config))
    with tempfile.TemporaryDirectory() as scratch:
        dump = Path(scratch) / "dump.jsonl"
        evaluate(path, config, limit=limit, progress=True, dump=dump)
        rows = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    return _confidences(rows, news)


def _confidences(rows: list[dict], news: bool = False) -> tuple[np.ndarray, np.ndarray]:
    p = np.array([row["confidence"] for row in rows], dtype=float)
    key = "right" if news else "em"  # news is scored as its data's README says (qa.metrics.is_right)
    right = np.array([bool(row[key]) and not row["impossible"] for row in rows])
    return p, right


def bins(p: np.ndarray, right: np.ndarray) -> list[tuple[float, float, int]]:
    """(mean confidence, accuracy, count) of each non-empty bin."""
    which = np.minimum((p * BINS).astype(int), BINS - 1)
    return [
        (float(p[which == b].mean()), float(right[which == b].mean()), int((which == b).sum()))
        for b in range(BINS)
        if (which == b).any()
    ]


def main() -> int:
    """Run each file, print ECE and the bins, draw the diagram."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=[SQUAD / "dev-v1.1.json", SQUAD / "dev-v2.0-half.json"])
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.png")
    args = parser.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5.5), dpi=120)
    axis.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    for path in args.files:
        p, right = confidences(path, args.limit)
        error = expected_calibration_error(p, right, BINS)
        table = bins(p, right)
        print(
            f"{path.name}: {len(p)} questions, accuracy {right.mean():.3f}, mean confidence {p.mean():.3f}, "
            f"ECE {error:.4f}"
        )
        for mean, accuracy, count in table:
            print(f"  confidence {mean:.2f}: right {accuracy:.2f} ({count})")
        axis.plot(
            [m for m, _, _ in table], [a for _, a, _ in table], marker="o", label=f"{path.stem} (ECE {error:.3f})"
        )
    axis.set_xlabel("confidence shown (best candidate)")
    axis.set_ylabel("share right (exact match; news: holding the answer; unanswerable = wrong)")
    axis.set_xlim(0, 1)
    axis.set_ylim(0, 1)
    axis.legend(loc="upper left")
    axis.set_title("Reliability of the reader's confidence")
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out)
    print(f"diagram: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
