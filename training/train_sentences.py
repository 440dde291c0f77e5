"""Train the sentence judge (:mod:`qa.judge`) and ship it as int8 ONNX in ``models/sentences``.

One command reproduces it (2,443 steps, about 22 minutes on 2 CPU cores)::

    .venv/bin/python -m training.train_sentences --data ../shared/data

It starts from the shipped span reader's encoder (read back into float weights by :mod:`training.dequantize`:
it already reads questions against passages) with a new head of two outputs, trained together:

- *evidence* (binary cross-entropy): for each why/how/yes-no/list question of ``news/train/open.jsonl``, the
  sentences of its article (as the index splits them) that hold its evidence are positive and
  ``--negatives`` others of the same article negative; for each answerable factoid question of
  ``news/train/news-train.json`` the sentence holding its answer is positive, ``--negatives`` others negative;
  for each unanswerable one, one sentence of its article is negative;
- *yes* (binary cross-entropy, only on yes/no pairs that are evidence): the news yes/no questions against
  their evidence, ``--boolq`` questions of ``yesno/boolq_train.jsonl`` (Wikipedia) and CondaQA's yes/no
  questions (negation), each against its passage.

The news dev part (never trained on) chooses the checkpoint: the mean of how often the top sentence of its
article holds the evidence of an open question, and how often the verdict is right on its yes/no questions
(gold evidence); and the verdict threshold: the lowest confidence from which its verdicts are right at least
``--precision`` of the time. Nothing reads the SQuAD files.
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

from qa.judge import MODEL_FILE, SETTINGS_FILE, encode_pairs, pair_tokenizer
from qa.metrics import covers

DEFAULT_OUT = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "article-qa" / "sentences-training"
DEFAULT_EXPORT = Path(__file__).resolve().parent.parent / "models" / "sentences"

ANSWER_TOKENS = 128
"""Pairs are cut here when answering (sentences are short; 256 judged 40 % slower with nothing gained on the news dev
questions); training reads BoolQ's passages up to :data:`qa.judge.MAX_PAIR_TOKENS`."""
Pair = tuple[str, str, int, int]
"""(question, sentence or passage, evidence 1/0, yes 1 / no 0 / -1 when not a yes/no pair of evidence)."""


def _question(text: str) -> str:
    """BoolQ's search queries ("do iran and afghanistan speak ...") written as the questions people type."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith("?") else f"{text}?"


def open_rows(part: Path) -> list[dict]:
    """The open questions of a news part that quote sentences (why, how, yes/no, list)."""
    rows = [json.loads(line) for line in (part / "open.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["kind"] in ("why", "how", "yesno", "list")]


def news_pairs(part: Path, negatives: int, rng: random.Random) -> list[Pair]:
    """Evidence pairs from a news part's open and factoid questions against their stories' sentences."""
    from training.news_index import indexed_stories

    stories = indexed_stories(part)
    pairs: list[Pair] = []

    def add(question: str, sentences: list[str], positive: list[bool], yes: int, count: int) -> None:
        for text, good in zip(sentences, positive, strict=True):
            if good:
                pairs.append((question, text, 1, yes))
        others = [t for t, good in zip(sentences, positive, strict=True) if not good]
        pairs.extend((question, t, 0, -1) for t in rng.sample(others, min(count, len(others))))

    for row in open_rows(part):
        sentences = [text for _, _, text in stories[row["article"]].sentences]
        positive = [any(covers(t, gold) for gold in row["evidence"]) for t in sentences]
        yes = {"yes": 1, "no": 0}.get(row.get("polarity", ""), -1)
        add(row["question"], sentences, positive, yes, negatives)
    [squad] = part.glob("news-*.json")
    for entry in json.loads(squad.read_text(encoding="utf-8"))["data"]:
        story = stories[entry["title"]]
        offset = story.text.index(entry["paragraphs"][0]["context"])
        sentences = [(s, e, t) for s, e, t in story.sentences]
        for qa in entry["paragraphs"][0]["qas"]:
            if qa.get("is_impossible") or not qa.get("answers"):
                add(qa["question"], [t for _, _, t in sentences], [False] * len(sentences), -1, 1)
                continue
            at = offset + qa["answers"][0]["answer_start"]
            add(qa["question"], [t for _, _, t in sentences], [s <= at < e for s, e, _ in sentences], -1, negatives)
    return pairs


def yesno_pairs(path: Path) -> list[Pair]:
    """(question, passage, evidence, yes) of one of ``yesno/``'s JSON Lines files."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [(_question(r["question"]), r["passage"], 1, int(bool(r["answer"]))) for r in rows]


def lowest_threshold(yes: np.ndarray, labels: np.ndarray, precision: float) -> float:
    """The lowest confidence (probability of the verdict given) from which the verdicts are right at least
    ``precision`` of the time, over at least 5 of them (1.0 when none is: no verdict is shown)."""
    confidence = np.maximum(yes, 1 - yes)
    right = (yes >= 0.5) == (labels == 1)
    for threshold in np.arange(0.5, 1.0, 0.01):
        shown = confidence >= threshold
        if shown.sum() >= 5 and right[shown].mean() >= precision:
            return round(float(threshold), 2)
    return 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (every default is the shipped model's setting)."""
    parser = argparse.ArgumentParser(prog="python -m training.train_sentences", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="the shared data folder")
    parser.add_argument("--init", type=Path, default=None, help="reader folder to start from (default: models/reader)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="checkpoints (outside the repository)")
    parser.add_argument("--export", type=Path, default=DEFAULT_EXPORT)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=4e-5)
    parser.add_argument("--negatives", type=int, default=6)
    parser.add_argument("--boolq", type=int, default=2000, help="BoolQ training questions used")
    parser.add_argument("--eval-every", type=int, default=400)
    parser.add_argument("--precision", type=float, default=0.92, help="verdicts shown must be right this often")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--export-only", action="store_true", help="export <out>/best without training")
    return parser.parse_args(argv)


def _logits(run, tokenizer, questions: list[str], passages: list[str], batch: int = 64) -> np.ndarray:
    out = []
    for i in range(0, len(questions), batch):
        out.append(run(encode_pairs(tokenizer, questions[i : i + batch], passages[i : i + batch])))
    return np.concatenate(out) if out else np.zeros((0, 2))


def dev_scores(run, tokenizer, data: Path, precision: float) -> dict:
    """The news dev figures of a model (``run``: inputs -> logits): top-sentence evidence hit on the open
    questions, verdict accuracy on the yes/no questions with their gold evidence, and the verdict threshold."""
    from training.news_index import indexed_stories

    part = data / "news" / "dev"
    stories = indexed_stories(part)
    hits, yes, labels = [], [], []
    for row in open_rows(part):
        sentences = [text for _, _, text in stories[row["article"]].sentences]
        logits = _logits(run, tokenizer, [row["question"]] * len(sentences), sentences)
        hits.append(any(covers(sentences[int(np.argmax(logits[:, 0]))], g) for g in row["evidence"]))
        if row["kind"] == "yesno":
            (verdict,) = _logits(run, tokenizer, [row["question"]], [" ".join(row["evidence"])])
            yes.append(1 / (1 + math.exp(-verdict[1])))
            labels.append(int(row["polarity"] == "yes"))
    yes_arr, labels_arr = np.array(yes), np.array(labels)
    threshold = lowest_threshold(yes_arr, labels_arr, precision)
    shown = np.maximum(yes_arr, 1 - yes_arr) >= threshold
    return {
        "evidence_top1": round(float(np.mean(hits)), 4),
        "verdict_accuracy": round(float(((yes_arr >= 0.5) == (labels_arr == 1)).mean()), 4),
        "verdict_threshold": threshold,
        "verdicts_shown": round(float(shown.mean()), 4),
        "questions": len(hits),
        "yesno_questions": len(yes),
    }


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
    boolq = yesno_pairs(args.data / "yesno" / "boolq_train.jsonl")
    pairs = news_pairs(args.data / "news" / "train", args.negatives, rng)
    pairs += rng.sample(boolq, min(args.boolq, len(boolq))) + yesno_pairs(
        args.data / "yesno" / "condaqa_dev_yesno.jsonl"
    )
    print(
        f"{len(pairs)} training pairs ({sum(p[2] for p in pairs)} evidence, {sum(p[3] >= 0 for p in pairs)} yes/no)",
        file=sys.stderr,
    )

    model = AutoModelForSequenceClassification.from_pretrained(str(init), num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    total = math.ceil(math.ceil(len(pairs) / args.batch_size) * args.epochs)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(total * 0.1), total)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")
    best, step = -1.0, 0
    log = (args.out / "log.jsonl").open("a", encoding="utf-8")

    def run(inputs: dict[str, np.ndarray]) -> np.ndarray:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.float().numpy()

    def evaluate() -> None:
        nonlocal best
        model.eval()
        scores = dev_scores(run, tokenizer, args.data, args.precision)
        model.train()
        mean = (scores["evidence_top1"] + scores["verdict_accuracy"]) / 2
        log.write(json.dumps({"step": step, **scores}) + "\n")
        log.flush()
        print(f"step {step}: {scores}", file=sys.stderr)
        if mean > best:
            best = mean
            model.save_pretrained(args.out / "best")
            shutil.copy(init / "tokenizer.json", args.out / "best" / "tokenizer.json")
            (args.out / "best" / "validation.json").write_text(json.dumps({"step": step, **scores}))

    model.train()
    while step < total:
        order = pairs[:]
        rng.shuffle(order)
        blocks = [sorted(order[i : i + 800], key=lambda p: len(p[0]) + len(p[1])) for i in range(0, len(order), 800)]
        batches = [b[j : j + args.batch_size] for b in blocks for j in range(0, len(b), args.batch_size)]
        rng.shuffle(batches)
        for batch in batches:
            inputs = encode_pairs(tokenizer, [p[0] for p in batch], [p[1] for p in batch])
            evidence = torch.tensor([float(p[2]) for p in batch])
            yes = torch.tensor([float(max(p[3], 0)) for p in batch])
            has_verdict = torch.tensor([float(p[3] >= 0) for p in batch])
            with torch.autocast("cpu", dtype=torch.bfloat16):
                logits = model(**{k: torch.from_numpy(v) for k, v in inputs.items()}).logits.float()
            loss = bce(logits[:, 0], evidence).mean() + (bce(logits[:, 1], yes) * has_verdict).sum() / max(
                has_verdict.sum(), 1.0
            )
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
    """Write ``models/sentences``: the int8 graph, its tokenizer, ``sentences.json`` (threshold, validation) and
    the model card."""
    import onnxruntime
    from transformers import AutoModelForSequenceClassification

    from training.export import int8_graph

    model = AutoModelForSequenceClassification.from_pretrained(str(checkpoint), attn_implementation="eager").eval()
    args.export.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".sentences-", dir=args.export.parent))
    try:
        int8_graph(model, ("logits",), scratch, per_token=False)
        shutil.copy(checkpoint / "tokenizer.json", scratch / "tokenizer.json")
        session = onnxruntime.InferenceSession(str(scratch / MODEL_FILE), providers=["CPUExecutionProvider"])
        tokenizer = pair_tokenizer(scratch / "tokenizer.json")
        scores = dev_scores(lambda x: session.run(None, x)[0], tokenizer, args.data, args.precision)
        settings = {
            "format": 1,
            "max_tokens": ANSWER_TOKENS,
            "verdict_threshold": scores["verdict_threshold"],
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
    """The model card of ``models/sentences``."""
    t, v, f = settings["training"], settings["validation_int8"], settings["validation_float"]
    return f"""# The sentence judge

A cross-encoder that reads `[CLS] question [SEP] sentence [SEP]` (trained on pairs of at most 256 tokens, the
sentence cut) with two outputs: the log-odds that the sentence is evidence for the answer, and the log-odds that
it says "yes" to the question. `qa/evidence.py` ranks the sentences the span reader points at with the first
(why/how, yes/no, lists, comparisons); `qa/yesno.py` leads a yes/no reply with "Yes" or "No" only when the
second gives a verdict with a confidence of at least **{settings["verdict_threshold"]}** (the lowest confidence
from which its verdicts on the news dev yes/no questions were right at least {settings["precision_target"]:.0%}
of the time{"; no confidence reached that, so no verdict is shown" if settings["verdict_threshold"] >= 1 else ""});
otherwise the reply says "The article says: ...". At answer time the pairs are cut to {settings["max_tokens"]} tokens
(the sentences are short; BoolQ's passages were longer).

- Architecture: all-MiniLM-L6-v2 (6 layers, 384 wide), started from the shipped span reader's encoder
  (`models/reader`, read back into float weights), a new head of two outputs; int8 ONNX (per-channel weights).
- Training data (see `training/train_sentences.py`): the news training part's why/how/yes-no/list questions
  against their articles' sentences (evidence positive, {t["negatives"]} others negative) and its factoid
  questions (the answer's sentence positive); {t["boolq"]} BoolQ training questions (Wikipedia, CC BY-SA 3.0) and
  CondaQA's 1,048 yes/no questions (negation; Apache 2.0) for the verdict. Never the news dev part, never SQuAD.
- Settings: {t["epochs"]} epoch, batch {t["batch_size"]}, learning rate {t["lr"]}, seed {t["seed"]}, bf16 autocast;
  checkpoint chosen at step {f.get("step")} on the news dev part.

## Validation on the news dev part (int8)

| figure | value |
|---|---|
| open questions (why/how/yes-no/list): the article's top sentence holds the evidence | \
{v["evidence_top1"]:.3f} ({v["questions"]} questions) |
| yes/no verdict right, given the gold evidence | {v["verdict_accuracy"]:.3f} ({v["yesno_questions"]} questions) |
| verdicts shown at the threshold | {v["verdicts_shown"]:.0%} |

What the pipeline shows (the sentences it finds, not the gold ones) is in BENCHMARKS.md ("Open questions").

## Reproduce

    .venv/bin/python -m training.train_sentences --data ../shared/data

Licence: the base model is Apache 2.0; see the data licences above.
"""


def main(argv: list[str] | None = None) -> int:
    """Train (unless ``--export-only``) and export."""
    args = parse_args(argv)
    best = args.out / "best" if args.export_only else train(args)
    settings = export(best, args)
    print(json.dumps(settings["validation_int8"], indent=2))
    print(f"verdict threshold {settings['verdict_threshold']}; exported to {args.export}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
