"""Training and validation examples for the span reader, from SQuAD-format files.

The validation split is held out by *unit*: a whole article (a Wikipedia page, a product's
reviews), or a single paragraph where a file's "article" is only a grab bag (the Reddit posts,
the SQuAD training sample). Each split gets extra unanswerable examples: a question paired
with another paragraph of its article that holds none of its answers (another article's
when there is none), so that the reader learns, and is checked on, saying "no answer".
"""

from __future__ import annotations

import collections
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from qa.spans import SpecialTokens, Window, answer_tokens, encode_texts, windows_for

TRAIN_FILES = (
    "squad-train-parts.json",
    "squadshifts-new-wiki.json",
    "squadshifts-reddit.json",
    "squadshifts-amazon-reviews.json",
)
GRAB_BAG_TITLES = {"squad-train-sample"}
"""Articles that are collections of unrelated paragraphs: split by paragraph."""


@dataclass(frozen=True)
class Example:
    """One question over one context, with its gold answers (none: unanswerable from this context)."""

    qid: str
    question: str
    context: str
    answers: tuple[tuple[str, int], ...]
    unit: str
    article: str
    source: str

    @property
    def answerable(self) -> bool:
        """Whether the context holds an answer."""
        return bool(self.answers)

    def label(self) -> tuple[str, int] | None:
        """The answer trained on: the one most annotators gave, the shortest on a tie."""
        if not self.answers:
            return None
        counts = collections.Counter(self.answers)
        return min(counts, key=lambda a: (-counts[a], len(a[0]), a[1]))


@dataclass(frozen=True)
class Feature:
    """One training window: the model input and the start/end token labels (0, 0: no answer)."""

    window: Window
    start: int
    end: int


def _in_validation(unit: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f"{seed}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def load_examples(data_dir: Path, val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Every question of the training files, split into (train, validation) by unit."""
    train: list[Example] = []
    val: list[Example] = []
    for name in TRAIN_FILES:
        data = json.loads((Path(data_dir) / name).read_text(encoding="utf-8"))
        grab_bag_file = len(data["data"]) == 1
        for article in data["data"]:
            title = article.get("title", "")
            for number, paragraph in enumerate(article["paragraphs"]):
                by_paragraph = grab_bag_file or title in GRAB_BAG_TITLES
                unit = f"{name}/{title}" + (f"/{number}" if by_paragraph else "")
                split = val if _in_validation(unit, val_fraction, seed) else train
                for qa in paragraph["qas"]:
                    answers = (
                        ()
                        if qa.get("is_impossible")
                        else tuple((a["text"], int(a["answer_start"])) for a in qa["answers"])
                    )
                    split.append(
                        Example(qa["id"], qa["question"], paragraph["context"], answers, unit, f"{name}/{title}", name)
                    )
    return train, val


def add_unanswerable(examples: list[Example], fraction: float, seed: int, retrieved: bool = False) -> list[Example]:
    """``examples`` plus, for ``fraction`` of the answerable ones, the question over another paragraph.

    The other paragraph is taken from the same article when one holds none of the answers
    (a hard case: same topic, no answer), else from another article of the same file. With
    ``retrieved``, it is the paragraph of the same file that BM25 ranks highest for the question
    among those holding none of the answers: the wrong passage a retriever would hand the reader.
    """
    rng = random.Random(seed)
    contexts_by_article: dict[str, list[str]] = collections.defaultdict(list)
    contexts_by_source: dict[str, list[str]] = collections.defaultdict(list)
    for example in examples:
        if not contexts_by_article[example.article] or contexts_by_article[example.article][-1] != example.context:
            contexts_by_article[example.article].append(example.context)
            contexts_by_source[example.source].append(example.context)
    ranked = _ranked_contexts([e for e in examples if e.answerable], contexts_by_source) if retrieved else {}
    extra = []
    for example in examples:
        if not example.answerable or rng.random() >= fraction:
            continue
        answers = [text.lower() for text, _ in example.answers]
        candidates = [c for c in contexts_by_article[example.article] if c != example.context]
        rng.shuffle(candidates)
        candidates = [c for c in ranked.get(example.qid, ()) if c != example.context] + candidates
        context = next((c for c in candidates[:20] if not any(a in c.lower() for a in answers)), None)
        if context is None:
            pool = contexts_by_source[example.source]
            context = pool[rng.randrange(len(pool))]
            if context == example.context or any(a in context.lower() for a in answers):
                continue
        extra.append(
            Example(
                f"{example.qid}-other", example.question, context, (), example.unit, example.article, example.source
            )
        )
    return examples + extra


def _ranked_contexts(examples: list[Example], contexts_by_source: dict[str, list[str]]) -> dict[str, list[str]]:
    """For each example, the 10 paragraphs of its file that BM25 ranks highest for its question."""
    import bm25s

    ranked: dict[str, list[str]] = {}
    for source, contexts in contexts_by_source.items():
        asking = [e for e in examples if e.source == source]
        if not asking:
            continue
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(contexts, stopwords="en", show_progress=False), show_progress=False)
        k = min(10, len(contexts))
        rows, _ = retriever.retrieve(
            bm25s.tokenize([e.question for e in asking], stopwords="en", show_progress=False), k=k, show_progress=False
        )
        for example, row in zip(asking, rows, strict=True):
            ranked[example.qid] = [contexts[i] for i in row]
    return ranked


def make_features(examples: list[Example], tokenizer, max_tokens: int, stride: int) -> list[list[Feature]]:
    """The labelled windows of each example (a list per example, in order)."""
    special = SpecialTokens(tokenizer)
    questions = encode_texts(tokenizer, [e.question for e in examples])
    contexts = encode_texts(tokenizer, [e.context for e in examples])
    features = []
    for example, (question_ids, _), (context_ids, offsets) in zip(examples, questions, contexts, strict=True):
        windows = windows_for(question_ids, context_ids, offsets, special, max_tokens, stride) if context_ids else []
        label = example.label()
        rows = []
        for window in windows:
            start, end = answer_tokens(window, label[1], label[1] + len(label[0])) if label else (0, 0)
            rows.append(Feature(window, start, end))
        features.append(rows)
    return features
