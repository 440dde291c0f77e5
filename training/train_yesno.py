"""Fine-tune the yes/no classifier (:mod:`qa.verdict`) and ship it as int8 ONNX in ``models/yesno``.

One command reproduces it (about an hour on 2 CPU cores)::

    .venv/bin/python -m training.train_yesno --data ../shared/data

It starts from the shipped span reader's encoder (read back into float weights by
:mod:`training.dequantize`: it already reads questions against passages) with a new two-way head, and
trains on (question, passage, yes/no) from ``yesno/boolq_train.jsonl`` (Wikipedia), ``yesno/
condaqa_dev_yesno.jsonl`` (questions about negation) and the news training part's yes/no questions
(``news/train/open.jsonl``, the question against its evidence sentences, repeated ``--news-repeat`` times).
The news dev yes/no questions (never trained on) and 500 BoolQ dev questions choose the checkpoint (mean
accuracy) and the threshold from which a verdict is shown: the lowest confidence at which the verdicts
on the news dev questions are right at least ``--precision`` of the time. Nothing reads the SQuAD files.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from qa.verdict import MAX_PAIR_TOKENS, MODEL_FILE, SETTINGS_FILE, encode_pairs, pair_tokenizer

DEFAULT_OUT = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "article-qa" / "yesno-training"
DEFAULT_EXPORT = Path(__file__).resolve().parent.parent / "models" / "yesno"

Pair = tuple[str, str, int]
"""(question, passage, 1 for yes / 0 for no)."""


def _question(text: str) -> str:
    """BoolQ's search queries ("do iran and afghanistan speak ...") written as the questions people type."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith("?") else f"{text}?"


def load_yesno(path: Path) -> list[Pair]:
    """(question, passage, label) from one of ``yesno/``'s JSON Lines files."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(_question(r["question"]), r["passage"], int(bool(r["answer"]))) for r in rows]


def load_news_yesno(path: Path) -> list[Pair]:
    """(question, its evidence sentences, label) of the yes/no questions of a news ``open.jsonl``."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(r["question"], " ".join(r["evidence"]), int(r["polarity"] == "yes")) for r in rows if r["kind"] == "yesno"]


def lowest_threshold(yes: np.ndarray, labels: np.ndarray, precision: float) -> float:
    """The lowest confidence (probability of the verdict given) from which the verdicts are right at least
    ``precision`` of the time (1.0 when none is: no verdict is shown)."""
    confidence = np.maximum(yes, 1 - yes)
    right = (yes >= 0.5) == (labels == 1)
    for threshold in np.arange(0.5, 1.0, 0.01):
        shown = confidence >= threshold
        if shown.sum() >= 5 and right[shown].mean() >= precision:
            return round(float(threshold), 2)
    return 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (every default is the shipped model's setting)."""
    parser = argparse.ArgumentParser(prog="python -m training.train_yesno", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--init", type=Path, default=None, help="reader folder to start from (default: models/reader)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="checkpoints (outside the repository)")
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--news-repeat", type=int, default=4)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--precision", type=float, default=0.92, help="verdicts shown must be right this often")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--export-only", action="store_true", help="export <out>/best without training")
    return parser.parse_args(argv)


def _probabilities(model, torch, tokenizer, pairs: list[Pair], batch: int = 64) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        for i in range(0, len(pairs), batch):
            chunk = pairs[i : i + batch]
            inputs = encode_pairs(tokenizer, [q for q, _, _ in chunk], [p for _, p, _ in chunk])
            logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.float()
            out.append(torch.softmax(logits, -1)[:, 1].numpy())
    model.train()
    return np.concatenate(out)


def _batches(pairs: list[Pair], size: int, rng: random.Random) -> list[list[Pair]]:
    """Shuffled batches of pairs of similar length (less padding), in shuffled order."""
    order = pairs[:]
    rng.shuffle(order)
    batches = []
    for i in range(0, len(order), size * 50):
        block = sorted(order[i : i + size * 50], key=lambda p: len(p[0]) + len(p[1]))
        batches += [block[j : j + size] for j in range(0, len(block), size)]
    rng.shuffle(batches)
    return batches


def train(args: argparse.Namespace) -> Path:
    """Train; returns the folder of the best checkpoint (``<out>/best``)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForSequenceClassification, get_linear_schedule_with_warmup

    from training.dequantize import dequantize

    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    torch.manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    init = dequantize(args.init or Path(__file__).resolve().parent.parent / "models" / "reader", args.out / "init")
    tokenizer = pair_tokenizer(init / "tokenizer.json")
    yesno = args.data / "yesno"
    train_pairs = load_yesno(yesno / "boolq_train.jsonl") + load_yesno(yesno / "condaqa_dev_yesno.jsonl")
    train_pairs += load_news_yesno(args.data / "news" / "train" / "open.jsonl") * args.news_repeat
    news_dev = load_news_yesno(args.data / "news" / "dev" / "open.jsonl")
    boolq_dev = load_yesno(yesno / "boolq_dev.jsonl")[:500]
    print(
        f"{len(train_pairs)} training pairs; validation: {len(news_dev)} news, {len(boolq_dev)} BoolQ", file=sys.stderr
    )

    model = AutoModelForSequenceClassification.from_pretrained(str(init), num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    steps_per_epoch = math.ceil(len(train_pairs) / args.batch_size)
    total = math.ceil(steps_per_epoch * args.epochs)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * 0.1), total)
    best, step = -1.0, 0
    log = (args.out / "log.jsonl").open("a", encoding="utf-8")

    def evaluate() -> float:
        nonlocal best
        scores = {}
        for name, pairs in (("news_dev", news_dev), ("boolq_dev", boolq_dev)):
            yes = _probabilities(model, torch, tokenizer, pairs)
            labels = np.array([label for _, _, label in pairs])
            scores[name] = round(float(((yes >= 0.5) == (labels == 1)).mean()), 4)
        mean = (scores["news_dev"] + scores["boolq_dev"]) / 2
        log.write(json.dumps({"step": step, **scores}) + "\n")
        log.flush()
        print(f"step {step}: {scores}", file=sys.stderr)
        if mean > best:
            best = mean
            model.save_pretrained(args.out / "best")
            shutil.copy(init / "tokenizer.json", args.out / "best" / "tokenizer.json")
            (args.out / "best" / "validation.json").write_text(json.dumps({"step": step, **scores}))
        return mean

    model.train()
    while step < total:
        for batch in _batches(train_pairs, args.batch_size, rng):
            inputs = encode_pairs(tokenizer, [q for q, _, _ in batch], [p for _, p, _ in batch])
            labels = torch.tensor([label for _, _, label in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{total} loss {loss.item():.4f}", file=sys.stderr)
            if step % args.eval_every == 0 or step == total:
                evaluate()
            if step >= total:
                break
    return args.out / "best"


def export(checkpoint: Path, args: argparse.Namespace) -> dict:
    """Write ``models/yesno``: the int8 graph, its tokenizer, ``yesno.json`` (threshold, validation) and README."""
    import contextlib
    import warnings

    import onnxruntime
    import torch
    from transformers import AutoModelForSequenceClassification

    from index.onnx_export import fuse_bert, quantize_int8

    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint), attn_implementation="eager").eval()
    scratch = Path(tempfile.mkdtemp(prefix=".yesno-", dir=args.export.parent))
    try:
        sample = torch.tensor([[101, 2040, 102, 2009, 2001, 102], [101, 2043, 102, 1037, 102, 0]])
        inputs = (sample, (sample > 0).long(), torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0]]))
        names = ["input_ids", "attention_mask", "token_type_ids"]

        class Logits(torch.nn.Module):
            def __init__(self, inner) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.inner(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).logits

        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.no_grad():
                torch.onnx.export(
                    Logits(model),
                    inputs,
                    str(scratch / "model-float.onnx"),
                    input_names=names,
                    output_names=["logits"],
                    dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in names}, "logits": {0: "batch"}},
                    opset_version=17,
                    dynamo=False,
                )
        fuse_bert(scratch / "model-float.onnx", scratch / "model-fused.onnx", 12, 384)
        quantize_int8(scratch / "model-fused.onnx", scratch / MODEL_FILE, per_channel=True)
        for name in ("model-float.onnx", "model-fused.onnx"):
            (scratch / name).unlink()
        shutil.copy(checkpoint / "tokenizer.json", scratch / "tokenizer.json")
        session = onnxruntime.InferenceSession(str(scratch / MODEL_FILE), providers=["CPUExecutionProvider"])
        tokenizer = pair_tokenizer(scratch / "tokenizer.json")
        scores = {}
        for name, pairs in (
            ("news_dev", load_news_yesno(args.data / "news" / "dev" / "open.jsonl")),
            ("boolq_dev", load_yesno(args.data / "yesno" / "boolq_dev.jsonl")[:500]),
            ("boolq_contrast", load_yesno(args.data / "yesno" / "boolq_contrast_dev.jsonl")),
        ):
            yes = []
            for i in range(0, len(pairs), 32):
                chunk = pairs[i : i + 32]
                (logits,) = session.run(
                    None, encode_pairs(tokenizer, [q for q, _, _ in chunk], [p for _, p, _ in chunk])
                )
                odds = np.exp(logits - logits.max(axis=1, keepdims=True))
                yes += list(odds[:, 1] / odds.sum(axis=1))
            yes, labels = np.array(yes), np.array([label for _, _, label in pairs])
            scores[name] = {
                "questions": len(pairs),
                "accuracy": round(float(((yes >= 0.5) == (labels == 1)).mean()), 4),
            }
            if name == "news_dev":
                threshold = lowest_threshold(yes, labels, args.precision)
                shown = np.maximum(yes, 1 - yes) >= threshold
                scores[name] |= {"shown_at_threshold": round(float(shown.mean()), 4)}
        settings = {
            "format": 1,
            "max_tokens": MAX_PAIR_TOKENS,
            "threshold": threshold,
            "precision_target": args.precision,
            "validation_int8": scores,
            "validation_float": json.loads((checkpoint / "validation.json").read_text()),
            "training": {k: str(v) for k, v in vars(args).items() if k not in ("out", "export", "export_only")},
        }
        (scratch / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
        (scratch / "README.md").write_text(model_card(settings), encoding="utf-8")
        shutil.rmtree(args.export, ignore_errors=True)
        os.replace(scratch, args.export)
        return settings
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def model_card(settings: dict) -> str:
    """The model card of ``models/yesno``: what it is, its data, its validation, and how to reproduce it."""
    t, v = settings["training"], settings["validation_int8"]
    rows = "\n".join(f"| {name} | {s['questions']} | {s['accuracy']:.3f} |" for name, s in v.items())
    return f"""# The yes/no classifier

A cross-encoder that reads `[CLS] question [SEP] passage [SEP]` (at most {settings["max_tokens"]} tokens, the
passage cut) and gives the probability that the passage answers "yes". Used by `qa/yesno.py`: the answer to a
yes/no question quotes the sentence that settles it, and leads with "Yes" or "No" only when this model's
confidence in its verdict is at least **{settings["threshold"]}** (chosen on the news dev yes/no questions as the
lowest confidence whose verdicts are right at least {settings["precision_target"]:.0%} of the time); otherwise
the reply says "The article says: ...".

- Architecture: all-MiniLM-L6-v2 (6 layers, 384 wide), started from the shipped span reader's encoder
  (`models/reader`, read back into float weights), a new two-way head; int8 ONNX (per-channel weights).
- Training data: BoolQ train (9,427 Wikipedia questions, CC BY-SA 3.0), CondaQA's yes/no dev questions
  (1,048, negation; Apache 2.0), the news training part's yes/no questions against their evidence sentences
  (528, written for this project, repeated {t["news_repeat"]} times). Never the news dev part, never SQuAD.
- Settings: {t["epochs"]} epochs, batch {t["batch_size"]}, learning rate {t["lr"]}, seed {t["seed"]}, bf16 autocast.
- Checkpoint chosen at step {settings["validation_float"].get("step")} by the mean accuracy on the news dev
  yes/no questions (gold evidence) and 500 BoolQ dev questions.

## Validation (int8, verdict at 0.5)

| set | questions | accuracy |
|---|---|---|
{rows}

On the news dev questions with the gold evidence, a verdict is shown for
{v["news_dev"].get("shown_at_threshold", 0):.0%} of them at the threshold. What the pipeline shows (with the
sentence it quotes, not the gold one) is in BENCHMARKS.md ("Open questions").

## Reproduce

    .venv/bin/python -m training.train_yesno --data ../shared/data

Licence: the base model is Apache 2.0; see the data licences above.
"""


def main(argv: list[str] | None = None) -> int:
    """Train (unless ``--export-only``) and export."""
    args = parse_args(argv)
    best = args.out / "best" if args.export_only else train(args)
    settings = export(best, args)
    print(json.dumps(settings["validation_int8"], indent=2))
    print(f"threshold {settings['threshold']}; exported to {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
