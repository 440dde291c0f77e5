"""What a story is about: its key sentences, quoted in the article's order.

"What is this article about?", "Summarise the news about the glassworks": the article of the best retrieved
passage is the story; its key sentences are chosen by a small logistic model over where a sentence stands
(a news story's first sentences say what happened), how many of the question's and the headline's words it
holds, its length, and whether it quotes someone or gives a figure. Bylines, datelines, the headline repeated
and captions are not sentences of the story. Other articles that speak of what the question names
(:func:`qa.evidence.related_articles`) are named as "also about this" (the first sentence of their prose,
cited); a question about several articles gets the key sentence of each; a question that names someone or
something and nothing else ("Who is Tang Xiao'ou?", :func:`qa.kinds.named_subject`) gets the key sentences among
those that name it, from the first matching story that does. Methods compared on the news dev "about"
questions (the lead, centrality over sentence vectors, the question's words, this model) in BENCHMARKS.md
("Open questions").

Example::

    key_sentences(sentences, "Summarise the news about the job cuts.", title)  # [(start, end, text), ...]
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from index.terms import terms
from qa.evidence import Asking, quoted_answer, related_articles
from qa.kinds import named_subject
from qa.read import cite
from qa.retrieve import passage_of
from qa.types import Answer, Citation, Part, Passage

KEY_SENTENCES = 4
"""Sentences in a summary (2-4 say what a story is about; with 4, at least 2 of the gold key sentences are quoted
most often on the news dev questions, BENCHMARKS.md)."""
MAX_ARTICLES = 4
"""Matching articles quoted: the best one's key sentences and one sentence of each of the others."""
_SEVERAL = re.compile(r"\b(articles|stories|reports|pieces|sources|coverage)\b", re.IGNORECASE)
"""A question about several articles ("What do the articles say about ...?")."""
_NOT_PROSE = re.compile(
    r"^(by|reporting by|writing by|editing by|additional reporting|photo|pictured|image|file photo|caption|"
    r"updated|published|posted|source|read more|related|advertisement)\b",
    re.IGNORECASE,
)
_MIN_WORDS = 6
_CREDIT = re.compile(
    r"\((photo|picture|image|pic|credit|file photo)\b[^)]*\)|\b(photo|picture|image|credit)s?\s*:|"
    r"/\s*(AFP|Reuters|AP|Getty Images|EPA|PA)\b",
    re.IGNORECASE,
)


def story_sentences(passage: Passage) -> list[tuple[int, int, str]]:
    """The sentences of an article's prose: not the headline repeated, bylines, datelines or captions (a line
    holding a photo credit, "(Photo by ... / AFP)")."""
    title = passage.title.strip().lower()
    kept = []
    for start, end, text in passage.sentences:
        line = text.strip()
        if line.lower() == title or _NOT_PROSE.match(line) or len(line.split()) < _MIN_WORDS:
            continue
        if passage.start <= start and end <= passage.end:
            at = start - passage.start
            opened = passage.text.rfind("\n", 0, at) + 1
            closed = passage.text.find("\n", at)
            if _CREDIT.search(passage.text[opened : closed if closed >= 0 else len(passage.text)]):
                continue
        kept.append((start, end, text))
    return kept


def sentence_features(sentences: list[tuple[int, int, str]], question: str, title: str) -> list[list[float]]:
    """What the key-sentence model reads of each of a story's sentences: its position (first, second, third, how
    far in), the share of the question's and of the headline's words it holds, its length, and whether it quotes
    someone or gives a figure."""
    asked, headline = set(terms(question)), set(terms(title))
    rows = []
    for i, (_, _, text) in enumerate(sentences):
        words = set(terms(text))
        rows.append(
            [
                float(i == 0),
                float(i == 1),
                float(i == 2),
                min(i, 30) / 30,
                i / len(sentences),
                len(asked & words) / (len(asked) or 1),
                len(headline & words) / (len(headline) or 1),
                min(len(text.split()), 60) / 60,
                float('"' in text or "\u201c" in text),
                float(any(ch.isdigit() for ch in text)),
            ]
        )
    return rows


@functools.cache
def _weights() -> tuple[list[float], float]:
    from importlib.resources import files

    model = json.loads(Path(str(files("models") / "summary" / "weights.json")).read_text(encoding="utf-8"))
    return model["weights"], model["bias"]


def key_sentences(
    sentences: list[tuple[int, int, str]], question: str, title: str, n: int = KEY_SENTENCES
) -> list[tuple[int, int, str]]:
    """The ``n`` key sentences of a story's ``sentences`` (its prose, in order), in the article's order: those the
    key-sentence model (``models/summary``, a logistic regression over :func:`sentence_features`, trained by
    :mod:`training.train_summary` on the news training part's "about" questions) scores highest."""
    if len(sentences) <= n:
        return sentences
    weights, bias = _weights()
    scores = [
        bias + sum(w * x for w, x in zip(weights, row, strict=True))
        for row in sentence_features(sentences, question, title)
    ]
    best = sorted(range(len(sentences)), key=lambda i: -scores[i])[:n]
    return [sentences[i] for i in sorted(best)]


def _whole(asking: Asking, passage: Passage) -> Passage:
    """The whole article of ``passage``, with every sentence."""
    text = asking.store.article_text(passage.article_id)
    [stretch] = asking.store.stretches([(passage.article_id, 0, len(text))])
    return passage_of(stretch, passage.chunk_id, passage.score)


def answer_summary(asking: Asking):
    """The key sentences of the best passage's article, each cited, and the first sentence of the others that
    speak of the same thing; for a question about several articles ("What do the articles say about the
    ferry?"), the key sentence of each. ``None`` (the reader answers instead) when nothing was retrieved."""
    articles = related_articles(asking, MAX_ARTICLES)
    if not articles:
        return None
    wholes = [_whole(asking, passage) for passage in articles]
    subject = named_subject(asking.question)
    if subject is not None:
        return _about_subject(asking, wholes, subject)
    if _SEVERAL.search(asking.question) and len(wholes) > 1:
        chosen = [(whole, key_sentences(story_sentences(whole), asking.question, whole.title, 1)) for whole in wholes]
        quotes = [cite(whole, s, e) for whole, picked in chosen for s, e, _ in picked[:1]]
        if quotes:  # else (no article has sentences of prose) the best article's summary below
            parts = tuple(Part(q.quote, q.start, q.end, q) for q in quotes)
            answer = quoted_answer(
                asking.question, "about", quotes, articles[0].score, asking.passages, asking.k, parts=parts
            )
            return replace(answer, start=None, end=None)  # several sentences: no one span; the parts have offsets
    best = wholes[0]
    chosen = key_sentences(story_sentences(best), asking.question, best.title) or list(best.sentences[:1])
    if not chosen:
        return None
    quotes = [cite(best, start, end) for start, end, _ in chosen]
    also = []
    for whole in wholes[1:]:
        lead = story_sentences(whole)[:1] or list(whole.sentences[:1])
        also += [cite(whole, start, end) for start, end, _ in lead]
    return _key_sentences_answer(asking, quotes, articles[0].score, also)


def _key_sentences_answer(
    asking: Asking, quotes: list[Citation], score: float, also: Sequence[Citation] = ()
) -> Answer:
    """A story's key sentences (``quotes``) as the answer: its parts and its text, cited beside ``also`` (other
    articles' sentences, named)."""
    parts = tuple(Part(q.quote, q.start, q.end, q) for q in quotes)
    answer = quoted_answer(
        asking.question,
        "about",
        [*quotes, *also],
        score,
        asking.passages,
        asking.k,
        parts=parts,
        text=" ".join(q.quote for q in quotes),
    )
    return replace(answer, start=None, end=None)  # several sentences: no one span; the parts have offsets


def _terms_of(text: str) -> set[str]:
    return set(terms(text.replace("\u2019", "'")))  # "Xiao’ou" as "Xiao'ou"


def _about_subject(asking: Asking, wholes: list[Passage], subject: str) -> Answer | None:
    """What the first of the matching stories that names ``subject`` says of it: its key sentences among those
    naming it whole (else, when no story does, by its last word: "Moura" for "Beatriz Moura"), in the article's
    order, each cited. ``None`` (the reader answers, as for any question) when no story names it."""
    wanted = _terms_of(subject)
    if not wanted:
        return None
    last = _terms_of(subject.split()[-1]) or wanted
    stories = [
        (whole, [(sentence, _terms_of(sentence[2])) for sentence in story_sentences(whole) or whole.sentences])
        for whole in wholes
    ]
    for name in (wanted, last):
        for whole, sentences in stories:
            naming = [sentence for sentence, words in sentences if name <= words]
            if naming:
                chosen = key_sentences(naming, asking.question, whole.title)
                return _key_sentences_answer(asking, [cite(whole, s, e) for s, e, _ in chosen], whole.score)
    return None
