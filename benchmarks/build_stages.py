"""Where index-build time goes, and what an ONNX Runtime int8 embedding model would change.

A measurement for planning the build speed-up (issue 6), not part of the product. Over the
first N SQuAD articles it times each build stage as ``index.build`` runs them (chunking,
sentences by spaCy's sentencizer, embedding chunks), then exports the bundled
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

from index.annotate import Annotator  # noqa: E402
from index.chunk import Chunker  # noqa: E402
from index.embed import Encoder, TorchEncoder, onnx_encode  # noqa: E402
from index.onnx_export import ONNX_FILE, ONNX_FLOAT_FILE, export_onnx  # noqa: E402
from qa.config import Config  # noqa: E402
from qa.evaluate import load_squad  # noqa: E402


def timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def stage_times(articles, encoder: Encoder) -> dict:
    """Seconds per build stage, the stages run as the builder runs them."""
    config = Config()
    chunker = Chunker(encoder.tokenizer, config.chunk_tokens, config.chunk_overlap, encoder.max_tokens)
    chunks, chunking = timed(lambda: [c for a in articles for c in chunker.split(a)])
    found, annotating = timed(lambda: list(Annotator().annotate(articles)))
    sentences = [
        a.text[s.start : s.end] for a, article_sentences in zip(articles, found, strict=True) for s in article_sentences
    ]
    _, chunk_embedding = timed(encoder.encode, [c.text for c in chunks], config.batch_size)
    return {
        "articles": len(articles),
        "chunks": len(chunks),
        "sentences": len(sentences),
        "seconds": {
            "chunk": round(chunking, 1),
            "sentences (spaCy's sentencizer)": round(annotating, 1),
            "embed chunks": round(chunk_embedding, 1),
        },
        "texts": ([c.text for c in chunks], sentences),
    }


def onnx_encoder(path: Path, tokenizer, max_tokens: int):
    """``encode(texts, batch_size)`` running one exported graph with ONNX Runtime, as the product does."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda texts, batch_size=32: onnx_encode(session, tokenizer, texts, max_tokens, batch_size)


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
    encoder = TorchEncoder()  # the baseline the ONNX export is compared with
    profile = stage_times(articles, encoder)
    chunk_texts, sentence_texts = profile.pop("texts")
    backends = {"torch": lambda texts, batch_size=32: encoder.encode(texts, batch_size=batch_size)}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "export"
        _, export_seconds = timed(export_onnx, encoder.model, folder, True)
        backends["onnx fp32"] = onnx_encoder(folder / ONNX_FLOAT_FILE, encoder.tokenizer, encoder.max_tokens)
        backends["onnx int8"] = onnx_encoder(folder / ONNX_FILE, encoder.tokenizer, encoder.max_tokens)
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
