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
ONNX_FUSED_FILE = "model-fused.onnx"


def fuse_bert(float_path: Path, fused_path: Path, num_heads: int, hidden_size: int) -> dict[str, int]:
    """ONNX Runtime's transformer fusions on a BERT-like float graph (attention, embedding and skip layer norms,
    bias GELU); returns how many of each were fused.

    The graph must come from an export with eager attention: PyTorch's scaled-dot-product attention exports
    as a pattern the fusion does not recognise (and, on ONNX Runtime 1.32, runs slower: BENCHMARKS.md).
    """
    import onnxruntime
    from onnxruntime.transformers import optimizer

    from index.embed import onnx_session_options

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    basic = fused_path.with_suffix(".basic.onnx")
    try:
        # What the optimizer's opt_level=1 does (ONNX Runtime's basic optimizations, constant sharing off), with
        # this process's session options: its own would ask for a thread pool per session, which a process
        # running on the global pool refuses.
        options = onnx_session_options(1)  # (no run: its threads do not matter)
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(basic)
        onnxruntime.InferenceSession(
            str(float_path), options, providers=["CPUExecutionProvider"], disabled_optimizers=["ConstantSharing"]
        )
        fused = optimizer.optimize_model(
            str(basic), model_type="bert", num_heads=num_heads, hidden_size=hidden_size, opt_level=0
        )
        fused.save_model_to_file(str(fused_path))
        return {name: count for name, count in fused.get_fused_operator_statistics().items() if count}
    finally:
        basic.unlink(missing_ok=True)
        root.setLevel(level)
        root.handlers[:] = handlers


def quantize_int8(float_path: Path, int8_path: Path, per_channel: bool = False) -> None:
    """Quantize an ONNX graph's weights to int8 (dynamic quantization: activations scaled per batch;
    ``per_channel``: one weight scale per output channel instead of one per matrix). The graph may hold
    ONNX Runtime's fused operators (:func:`fuse_bert`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    logging.disable(logging.WARNING)  # its advice to pre-process is for image models
    try:  # the quantizer configures the root logger (and then every library logs at DEBUG)
        quantize_dynamic(
            str(float_path),
            str(int8_path),
            weight_type=QuantType.QInt8,
            per_channel=per_channel,
            # fused operators come from another domain, which shape inference cannot type
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        logging.disable(logging.NOTSET)
        root.setLevel(level)
        root.handlers[:] = handlers


def export_onnx(model, folder: Path, keep_float: bool = False, fuse: bool = True) -> None:
    """Export a mean-pooling sentence-transformers model to int8 ONNX in ``folder`` (written atomically).

    The model is exported with eager attention and the float graph fused (:func:`fuse_bert`) before it is
    quantized; ``fuse=False`` exports as before (PyTorch's own attention, nothing fused: for comparison,
    ``benchmarks/onnx_speed.py``). With ``keep_float``, the float32 graph as exported (unfused) stays beside
    it (:data:`ONNX_FLOAT_FILE`).

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

    transformer = model[0].auto_model.eval()
    transformer.set_attn_implementation("eager" if fuse else "sdpa")  # eager: the pattern fuse_bert recognises
    graph = MeanPooled(transformer)
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
        config = transformer.config
        if fuse:
            fuse_bert(
                scratch / ONNX_FLOAT_FILE, scratch / ONNX_FUSED_FILE, config.num_attention_heads, config.hidden_size
            )
        quantize_int8(scratch / (ONNX_FUSED_FILE if fuse else ONNX_FLOAT_FILE), scratch / ONNX_FILE)
        (scratch / ONNX_FUSED_FILE).unlink(missing_ok=True)
        if not keep_float:
            (scratch / ONNX_FLOAT_FILE).unlink()
        model.tokenizer.save_pretrained(str(scratch))
        meta = {"max_tokens": int(model.max_seq_length), "dimension": int(model.get_embedding_dimension())}
        (scratch / "export.json").write_text(json.dumps(meta), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(scratch, folder)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
