"""Where index-build time goes, and what an ONNX Runtime int8 embedding model would change.

A measurement for planning the build speed-up (issue 6), not part of the product. Over the
first N SQuAD articles it times each build stage as ``index.build`` runs them (chunking,
spaCy annotation, embedding chunks, embedding sentences; and spaCy in 2 processes), then exports the bundled
all-MiniLM-L6-v2 to ONNX locally (``torch.onnx``; nothing is downloaded), quantizes it to int8
with ONNX Runtime's dynamic quantization, and compares query latency, batch throughput and
how far the vectors move (cosine to the torch model's).

    python benchmarks/build_stages.py ../shared/data/squad/dev-v1.1.json --articles 8
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.annotate import Annotator, _pieces, load_spacy  # noqa: E402
from index.chunk import Chunker  # noqa: E402
from index.embed import Encoder  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402

INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def stage_times(articles, encoder: Encoder) -> dict:
    """Seconds per build stage, the stages run as the builder runs them."""
    config = Config()
    chunker = Chunker(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap, encoder.max_tokens)
    chunks, chunking = timed(lambda: [c for a in articles for c in chunker.split(a)])
    annotations, annotating = timed(lambda: list(Annotator().annotate(articles)))
    # What a --workers option could give: the same spaCy pipeline over the same lines in 2 processes.
    pieces = [piece for article in articles for _, piece in _pieces(article.text)]
    _, annotating_2 = timed(lambda: list(load_spacy().pipe(pieces, batch_size=64, n_process=2)))
    sentences = [a.text[s.start : s.end] for a, (found, _) in zip(articles, annotations, strict=True) for s in found]
    _, chunk_embedding = timed(encoder.encode, [c.text for c in chunks], config.batch_size)
    _, sentence_embedding = timed(encoder.encode, sentences, config.batch_size)
    return {
        "articles": len(articles),
        "chunks": len(chunks),
        "sentences": len(sentences),
        "seconds": {
            "chunk": round(chunking, 1),
            "annotate (spaCy)": round(annotating, 1),
            "annotate (spaCy, 2 processes)": round(annotating_2, 1),
            "embed chunks": round(chunk_embedding, 1),
            "embed sentences": round(sentence_embedding, 1),
        },
        "texts": ([c.text for c in chunks], sentences),
    }


def export_onnx(encoder: Encoder, folder: Path) -> tuple[Path, Path]:
    """The bundled model as ONNX (mean pooling and normalization included), and its int8 version."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    class Pooled(torch.nn.Module):
        def __init__(self, transformer) -> None:
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.transformer(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    model = Pooled(encoder.model[0].auto_model.eval())
    sample = encoder.tokenizer(["a short text", "and another one"], padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "tokens"} for name in INPUTS} | {"embedding": {0: "batch"}}
    fp32, int8 = folder / "model.onnx", folder / "model-int8.onnx"
    torch.onnx.export(
        model,
        tuple(sample[name] for name in INPUTS),
        str(fp32),
        input_names=list(INPUTS),
        output_names=["embedding"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8


def onnx_encoder(path: Path, tokenizer, max_tokens: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
        # Longest first, as sentence-transformers does, so that a batch pads to similar lengths.
        order = np.argsort([-len(text) for text in texts], kind="stable")
        rows = []
        for first in range(0, len(texts), batch_size):
            batch = tokenizer(
                [texts[i] for i in order[first : first + batch_size]],
                padding=True,
                truncation=True,
                max_length=max_tokens,
                return_tensors="np",
            )
            rows.append(session.run(None, {name: batch[name].astype(np.int64) for name in INPUTS})[0])
        vectors = np.empty((len(texts), rows[0].shape[1]), dtype=np.float32)
        vectors[order] = np.vstack(rows)
        return vectors

    return encode


def query_p50_ms(encode, questions: list[str]) -> float:
    for question in questions[:10]:
        encode([question])
    times = []
    for question in questions:
        started = time.perf_counter()
        encode([question])
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a SQuAD JSON file")
    parser.add_argument("--articles", type=int, default=8, help="first N articles (default: %(default)s)")
    args = parser.parse_args()
    articles, questions, _ = load_squad(args.file)
    articles = articles[: args.articles]
    question_texts = [q.question for q in questions][:300]
    encoder = Encoder()
    profile = stage_times(articles, encoder)
    chunk_texts, sentence_texts = profile.pop("texts")
    backends = {"torch": lambda texts, batch_size=32: encoder.encode(texts, batch_size=batch_size)}
    with tempfile.TemporaryDirectory() as scratch:
        (fp32, int8), export_seconds = timed(export_onnx, encoder, Path(scratch))
        backends["onnx fp32"] = onnx_encoder(fp32, encoder.tokenizer, encoder.max_tokens)
        backends["onnx int8"] = onnx_encoder(int8, encoder.tokenizer, encoder.max_tokens)
        reference = encoder.encode(chunk_texts)
        compared = {}
        for name, encode in backends.items():
            vectors, seconds = timed(encode, chunk_texts)
            _, sentence_seconds = timed(encode, sentence_texts)
            cosine = (vectors * reference).sum(axis=1)
            compared[name] = {
                "query_p50_ms": query_p50_ms(encode, question_texts),
                "embed_chunks_s": round(seconds, 1),
                "embed_sentences_s": round(sentence_seconds, 1),
                "chunks_per_s": round(len(chunk_texts) / seconds, 1),
                "cosine_to_torch_min": round(float(cosine.min()), 4),
                "cosine_to_torch_median": round(float(np.median(cosine)), 4),
            }
    report = {"stages": profile, "export_and_quantize_s": round(export_seconds, 1), "backends": compared}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
