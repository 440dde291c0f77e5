"""Export a model to ONNX and quantize it to int8 with ONNX Runtime (the embedder's export; the span
reader's training uses :func:`quantize_int8` too). Nothing is downloaded: the model is exported locally."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_FILE = "model-int8.onnx"
ONNX_FLOAT_FILE = "model.onnx"


def quantize_int8(float_path: Path, int8_path: Path, per_channel: bool = False) -> None:
    """Quantize an ONNX graph's weights to int8 (dynamic quantization: activations scaled per batch;
    ``per_channel``: one weight scale per output channel instead of one per matrix)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    logging.disable(logging.WARNING)  # its advice to pre-process is for image models
    try:  # the quantizer configures the root logger (and then every library logs at DEBUG)
        quantize_dynamic(str(float_path), str(int8_path), weight_type=QuantType.QInt8, per_channel=per_channel)
    finally:
        logging.disable(logging.NOTSET)
        root.setLevel(level)
        root.handlers[:] = handlers


def export_onnx(model, folder: Path, keep_float: bool = False) -> None:
    """Export a mean-pooling sentence-transformers model to int8 ONNX in ``folder`` (written atomically).

    With ``keep_float``, the float32 graph it was quantized from stays beside it (:data:`ONNX_FLOAT_FILE`).

    Raises:
        ValueError: the model does not pool by the mean of its token vectors.
    """
    import torch

    pooling = next((m for m in model if type(m).__name__ == "Pooling"), None)
    config = pooling.get_config_dict() if pooling is not None else {}
    mean = config.get("pooling_mode") == "mean" or config.get("pooling_mode_mean_tokens") is True  # new, old names
    if not mean:
        raise ValueError("the onnx backend supports mean-pooling models only; use --backend torch for this model")

    class MeanPooled(torch.nn.Module):
        def __init__(self, transformer) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1), hidden

    graph = MeanPooled(model[0].auto_model.eval())
    sample = model.tokenizer(["a short text", "and another one"], padding=True, return_tensors="pt")
    if "token_type_ids" not in sample:
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=folder.parent))
    try:
        with (
            open(os.devnull, "w") as devnull,
            contextlib.redirect_stderr(devnull),
            warnings.catch_warnings(),
            torch.no_grad(),
        ):
            warnings.simplefilter("ignore")  # the tracer's notes on control flow that is constant for this graph
            torch.onnx.export(
                graph,
                tuple(sample[name] for name in ONNX_INPUTS),
                str(scratch / ONNX_FLOAT_FILE),
                input_names=list(ONNX_INPUTS),
                output_names=["embedding", "tokens"],
                dynamic_axes={name: {0: "batch", 1: "tokens"} for name in (*ONNX_INPUTS, "tokens")}
                | {"embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        quantize_int8(scratch / ONNX_FLOAT_FILE, scratch / ONNX_FILE)
        if not keep_float:
            (scratch / ONNX_FLOAT_FILE).unlink()
        model.tokenizer.save_pretrained(str(scratch))
        meta = {"max_tokens": int(model.max_seq_length), "dimension": int(model.get_embedding_dimension())}
        (scratch / "export.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
