"""Milliseconds for the reader's ONNX graph(s) on 4 windows of 153 tokens, with whatever onnxruntime runs this.

    python benchmarks/reader_file_speed.py [FILE.onnx ...] [--runs 40]    # default: models/reader/model-int8.onnx

Run it from two environments (two onnxruntime versions) to compare them on the same files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Time each file and print its median."""
    import onnxruntime

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path, default=[ROOT / "models" / "reader" / "model-int8.onnx"])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    ids = rng.integers(1000, 20000, (4, 153)).astype(np.int64)
    ids[:, 0] = 101
    types = np.zeros_like(ids)
    types[:, 15:] = 1
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": types}
    for path in args.files:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        for _ in range(5):
            session.run(None, feed)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            session.run(None, feed)
            times.append(time.perf_counter() - started)
        print(f"onnxruntime {onnxruntime.__version__}: {path} {1000 * statistics.median(times):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
