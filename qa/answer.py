"""Pick the answer out of retrieved passages: a verbatim span and the sentence that supports it.

1. The question is analyzed (spaCy): which kind of fact it asks for (a person, a
   date, a place, an amount, a thing named by a noun, a reason) and its content terms.
2. Every sentence of the retrieved passages is scored against the question:
   cosine of the stored sentence vector and the question vector, IDF-weighted
   overlap of content terms, and the passage's rank.
3. For a typed question, the candidate spans of the best sentences (entities and
   noun phrases found at build time, and number patterns) are scored by type,
   by nearness to the question's words in the sentence, and by not repeating
   the question. For a "why" question the reason clause is taken; otherwise the
   sentence itself is the answer.
4. A confidence in [0, 1] comes from these scores; below the threshold the
   answer is "not found".

Example::

    answerer = ExtractiveAnswerer(store)
    answer = answerer.answer(question, question_vector, passages)
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, replace

import numpy as np

from index.annotate import NOUN_PHRASE, Span, tag
from index.store import IndexStore, SentenceRecord
from index.terms import stem, stop_words, term_spans, terms
from qa.metrics import same_value
from qa.types import Alternative, Answer, Citation, Passage

PERSON = ("PERSON", "ORG", "NORP", "GPE")
DATE = ("DATE", "TIME", "EVENT")
PLACE = ("GPE", "LOC", "FAC", "ORG")
COUNT = ("CARDINAL", "QUANTITY", "MONEY", "PERCENT")
AMOUNT = ("MONEY", "PERCENT", "QUANTITY", "CARDINAL")
DURATION = ("DATE", "TIME", "QUANTITY", "CARDINAL")
SIZE = ("QUANTITY", "CARDINAL", "PERCENT")
REASON = ("REASON",)
NAME_LABELS = {"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT", "WORK_OF_ART"}
THING = (NOUN_PHRASE,)

HOW_WORDS = {
    "many": COUNT, "much": AMOUNT, "long": DURATION, "old": DURATION, "often": DURATION,
    "far": SIZE, "big": SIZE, "large": SIZE, "tall": SIZE, "high": SIZE, "deep": SIZE,
    "wide": SIZE, "heavy": SIZE, "fast": SIZE, "small": SIZE,
}  # fmt: skip
FOCUS_LABELS = {
    **dict.fromkeys(["year", "date", "day", "month", "decade", "century", "time", "period", "era", "season"], DATE),
    **dict.fromkeys(
        ["country", "city", "state", "nation", "place", "region", "province", "town", "continent", "capital",
         "location", "area", "county", "island", "territory", "village", "district"], PLACE),
    **dict.fromkeys(
        ["company", "firm", "organization", "organisation", "agency", "group", "bank", "exchange", "university",
         "team", "party", "startup", "start-up", "business", "institution", "department", "government", "body",
         "newspaper", "club", "school", "college", "corporation", "network", "channel"], ("ORG", "NORP", "GPE")),
    **dict.fromkeys(
        ["person", "man", "woman", "president", "leader", "founder", "ceo", "author", "player", "academic",
         "scientist", "king", "queen", "official", "minister", "chairman", "director", "coach", "singer",
         "writer", "artist", "actor", "emperor", "pope", "general", "architect", "engineer", "inventor"], PERSON),
    **dict.fromkeys(["percentage", "percent", "proportion", "share", "rate"], ("PERCENT", "CARDINAL", "QUANTITY")),
    **dict.fromkeys(
        ["price", "cost", "amount", "sum", "value", "fee", "salary", "budget", "revenue"],
        ("MONEY", "CARDINAL", "QUANTITY")),
    **dict.fromkeys(["number", "population", "total"], COUNT),
    **dict.fromkeys(["nationality", "religion", "ethnicity"], ("NORP",)),
    **dict.fromkeys(["language"], ("LANGUAGE", "NORP")),
}  # fmt: skip
# Words that say "kind of X" / "name of X": the real focus is X.
LIGHT_NOUNS = {"kind", "type", "sort", "name", "form", "part", "piece", "amount", "number", "title"}
WH_WORDS = {"who", "whom", "whose", "when", "where", "why", "how", "what", "which"}
QUESTION_TERMS = {stem(w) for w in WH_WORDS | {"name", "describe", "explain", "does", "did", "do"}}
REASON_MARKERS = re.compile(
    r"\b(because(?: of)?|due to|owing to|as a result of|in order to|so that|after|since|amid|over|following|to)\b",
    re.IGNORECASE,
)
DURATION_UNIT = re.compile(
    r"\b(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?|centuries|century|millennia)\b", re.I
)
PRONOUN_START = re.compile(r"(?:it|its|he|his|she|her|they|their|this|these|the company|the firm)\b", re.IGNORECASE)
NUMBER = re.compile(
    r"(?:[$€£¥]\s?)?\d[\d,]*(?:\.\d+)?(?:\s?(?:%|percent|per cent|million|billion|trillion|thousand|bn|m)\b)?",
    re.IGNORECASE,
)
# The weights were set by hand, checked against an evenly spaced 1,000-question sample of
# SQuAD 1.1 dev; BENCHMARKS.md has the full-set figures. The cosine weight went from 0.40 to 0.60
# when sentence vectors came to be pooled from the chunk pass (F1 on the sample: flat from 0.5 to 0.8).
WEIGHT_COSINE, WEIGHT_LEXICAL, WEIGHT_CONTEXT, WEIGHT_RANK = 0.60, 0.30, 0.20, 0.10
MIN_CONFIDENCE = 0.47
"""Its threshold, calibrated on SQuAD 2.0 development data when it was the default reader (see BENCHMARKS.md)."""
SPAN_WEIGHT = 0.40
# A span's fit: a base, plus how near it sits to the question's words, plus how much of it is new.
FIT_BASE, FIT_NEARNESS, FIT_NOVELTY = 0.2, 0.55, 0.25
# The centre keeps the calibrated threshold (qa eval on SQuAD 2.0) at Config.min_confidence, 0.47:
# 0.45 with sentences encoded alone, 0.562 with the mixed sentence vectors and cosine weight 0.60.
CONFIDENCE_CENTER, CONFIDENCE_SLOPE = 0.562, 12.0
SENTENCES_FOR_SPANS = 4
# An answer from another article scoring this close to the best one is a disagreement to show.
DISAGREEMENT_MARGIN = 0.08
MAX_ALTERNATIVES = 2
FOCUS_WEIGHT = 0.35
# Two stems match when one is a prefix of the other ("found"/"founder"), both long enough.
PREFIX_MIN, PREFIX_SLACK = 5, 3


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks for.

    Attributes:
        wh: the question word (``who``, ``how`` ...), or ``None``.
        expected: the entity labels that would answer it, best first; ``()`` for an open question.
        terms: stems of its content words, then of the conversation context's.
        weights: how much each of ``terms`` counts (context terms count half).
        words: lower-cased words and stems of the question and context, not to be repeated in the answer.
        focus: stem of the noun the question asks about ("what *industry*", "how many *teams*"), if any.
    """

    wh: str | None
    expected: tuple[str, ...]
    terms: tuple[str, ...]
    words: frozenset[str]
    weights: tuple[float, ...] = ()
    focus: str | None = None


CONTEXT_TERM_WEIGHT = 0.5


def analyze_question(question: str, context: str = "") -> QuestionAnalysis:
    """Classify a question by the kind of fact it asks for.

    Args:
        question: the question.
        context: words borrowed from the conversation for a follow-up (they count less).
    """
    tokens = list(tag(question))
    lower = [t.lower_ for t in tokens]
    wh_index = next((i for i, word in enumerate(lower) if word in WH_WORDS), None)
    wh = lower[wh_index] if wh_index is not None else None
    expected: tuple[str, ...] = ()
    focus = None
    if wh in ("who", "whom", "whose"):
        expected = PERSON
    elif wh == "when":
        expected = DATE
    elif wh == "where":
        expected = PLACE
    elif wh == "why":
        expected = REASON
    elif wh == "how" and wh_index + 1 < len(tokens):
        expected = HOW_WORDS.get(lower[wh_index + 1], ())
        if lower[wh_index + 1] in ("many", "much"):
            focus = _focus_noun(tokens, wh_index + 1)  # "how many *teams*"
    elif wh in ("what", "which"):
        focus = _focus_noun(tokens, wh_index)
        expected = FOCUS_LABELS.get(focus, THING) if focus else THING
    own = list(dict.fromkeys(t for t, _, _ in term_spans(question) if t not in QUESTION_TERMS))
    borrowed = [t for t in dict.fromkeys(t for t, _, _ in term_spans(context)) if t not in own]
    words = {w.lower() for w in re.findall(r"\w+", f"{question} {context}")}
    weights = (1.0,) * len(own) + (CONTEXT_TERM_WEIGHT,) * len(borrowed)
    words |= {stem(w) for w in words}
    focus_stem = stem(focus) if focus and focus not in LIGHT_NOUNS else None
    return QuestionAnalysis(wh, expected, tuple(own + borrowed), frozenset(words), weights, focus_stem)


def _focus_noun(tokens, wh_index: int) -> str | None:
    """The noun a what/which question asks about ("what *company* ...", "the name of the *river*")."""
    j = wh_index + 1
    # "What is the name of the river ..." / "Which of the companies ..."
    if j < len(tokens) and tokens[j].lemma_ in ("be", "of"):
        j += 1
    while j < len(tokens) and tokens[j].pos_ in ("DET", "ADJ", "NUM", "ADV"):
        j += 1
    focus = None
    while j < len(tokens) and tokens[j].pos_ in ("NOUN", "PROPN"):
        focus = tokens[j].lemma_.lower()
        j += 1
    if focus in LIGHT_NOUNS and j < len(tokens) and tokens[j].lower_ == "of":
        return _focus_noun(tokens, j) or focus
    return focus


@dataclass(frozen=True)
class _Candidate:
    """A scored answer candidate."""

    score: float
    evidence: float
    sentence: SentenceRecord
    start: int
    end: int


class ExtractiveAnswerer:
    """Extracts a verbatim answer and its supporting sentence from passages.

    Args:
        store: the open index (sentences, vectors and spans are read from it).
        min_confidence: below this, the answer is "not found".
    """

    def __init__(self, store: IndexStore, min_confidence: float = MIN_CONFIDENCE) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in [0, 1]. Currently, min_confidence is {min_confidence}")
        self.store = store
        self.min_confidence = min_confidence

    def answer(
        self,
        question: str,
        question_vector: np.ndarray,
        passages: list[Passage],
        context: str = "",
        k: int | None = None,
    ) -> Answer:
        """The answer to ``question`` from ``passages`` (best first), or "not found".

        Every sentence of every passage is read; the answer's ``passages`` are the ``k``
        best of them (default: all), reordered by their best sentence.

        Args:
            question: the question as asked.
            question_vector: the unit vector of the question (with its context).
            passages: retrieved candidate passages, best first.
            context: words a follow-up borrows from the conversation (see :mod:`qa.conversation`).
            k: how many passages the answer keeps.
        """
        analysis = analyze_question(question, context)
        ranked = self.rank_sentences(analysis, question_vector, passages)
        passages = rerank(passages, ranked)[:k]
        if not ranked:
            return Answer.not_found(question, 0.0, tuple(passages))
        candidates = self._candidates(analysis, ranked)
        best = candidates[0]
        confidence = _confidence(best.evidence)
        if confidence < self.min_confidence:
            return Answer.not_found(question, round(confidence, 4), tuple(passages))
        text = self.store.article_text(best.sentence.article_id)
        return Answer(
            question=question,
            text=text[best.start : best.end],
            found=True,
            score=round(confidence, 4),
            article_id=best.sentence.article_id,
            start=best.start,
            end=best.end,
            citations=tuple(self._citations(best.sentence, ranked)),
            passages=tuple(passages),
            message="",
            alternatives=tuple(self._alternatives(analysis, best, candidates[1:])),
        )

    def rank_sentences(
        self, analysis: QuestionAnalysis, question_vector: np.ndarray, passages: list[Passage]
    ) -> list[tuple[float, SentenceRecord]]:
        """Sentences of the passages with their scores, best first."""
        seen: dict[tuple[str, int], tuple[int, SentenceRecord, float]] = {}
        idf = self._idf(analysis)
        total = sum(idf.values()) or 1.0
        inherited: dict[tuple[str, int], frozenset[str]] = {}
        question = {term: _near_stems(term) for term in idf}
        matched: dict[tuple[str, int], frozenset[str]] = {}  # question terms each sentence contains

        def terms_in(sentence: SentenceRecord) -> frozenset[str]:
            key = (sentence.article_id, sentence.start)
            if key not in matched:
                matched[key] = _matched_terms(question, sentence.terms)
            return matched[key]

        for rank, passage in enumerate(passages):
            # How much of the question the passage speaks about: a name the articles never
            # mention ("France", "CEO") lowers every sentence of it.
            text = self.store.article_text(passage.article_id)
            # One sentence before the passage too, for the pronoun rule below.
            window = self.store.sentences(passage.article_id, max(passage.start - 1, 0), passage.end)
            # The passage's terms: its sentences' (computed at build time) and its title's.
            passage_matches = _matched_terms(question, _title_terms(passage.title)).union(
                *(terms_in(s) for s in window if s.end > passage.start)
            )
            context = sum(idf[term] for term in passage_matches) / total
            for previous, sentence in zip([None, *window], window, strict=False):
                key = (sentence.article_id, sentence.start)
                if sentence.end <= passage.start or key in seen:
                    continue
                seen[key] = (rank, sentence, context)
                if previous is not None and PRONOUN_START.match(text, sentence.start):
                    inherited[key] = terms_in(previous)
        scored = []
        for rank, sentence, context in seen.values():
            cosine = float(np.dot(sentence.vector, question_vector))
            own = terms_in(sentence)
            lexical = sum(idf[term] for term in own)
            # "Its founder, Amara Okafor, ...": a sentence opening with a pronoun is about
            # the previous sentence's subject, so half its terms count here too.
            previous_terms = inherited.get((sentence.article_id, sentence.start))
            if previous_terms:
                lexical += 0.5 * sum(idf[term] for term in previous_terms - own)
            lexical /= total
            score = (
                WEIGHT_COSINE * cosine + WEIGHT_LEXICAL * lexical + WEIGHT_CONTEXT * context + WEIGHT_RANK / (1 + rank)
            )
            scored.append((score, sentence))
        scored.sort(key=lambda pair: (-pair[0], pair[1].article_id, pair[1].start))
        return scored

    def _idf(self, analysis: QuestionAnalysis) -> dict[str, float]:
        """Each question term's weight: its inverse sentence frequency, times its own weight."""
        n = max(self.store.n_sentences, 1)
        frequencies = self.store.document_frequencies(list(analysis.terms))
        weights = dict(zip(analysis.terms, analysis.weights or (1.0,) * len(analysis.terms), strict=False))
        return {term: weights[term] * math.log((n + 1) / (df + 0.5)) for term, df in frequencies.items()}

    def _candidates(self, analysis: QuestionAnalysis, ranked: list[tuple[float, SentenceRecord]]) -> list[_Candidate]:
        """Answer candidates, best first: typed spans of the best sentences, else the best sentence."""
        top_score, top_sentence = ranked[0]
        fallback = [_Candidate(top_score, top_score, top_sentence, top_sentence.start, top_sentence.end)]
        if not analysis.expected:
            return fallback
        found = [
            _Candidate(score + SPAN_WEIGHT * fit, score, sentence, start, end)
            for score, sentence in ranked[:SENTENCES_FOR_SPANS]
            for start, end, fit in self._spans(analysis, sentence)
        ]
        found.sort(key=lambda candidate: -candidate.score)  # stable: ties keep the better sentence first
        return found or fallback

    def _alternatives(
        self, analysis: QuestionAnalysis, best: _Candidate, others: list[_Candidate]
    ) -> list[Alternative]:
        """Different values for the same typed fact from other articles, nearly as good as ``best``."""
        if not analysis.expected or analysis.expected in (THING, REASON):
            return []
        best_text = normalize_words(self.store.article_text(best.sentence.article_id)[best.start : best.end])
        seen_articles = {best.sentence.article_id}
        alternatives: list[Alternative] = []
        for other in others:
            if other.score < best.score - DISAGREEMENT_MARGIN or len(alternatives) >= MAX_ALTERNATIVES:
                break
            article_id = other.sentence.article_id
            confidence = _confidence(other.evidence)
            if article_id in seen_articles or confidence < self.min_confidence:
                continue
            text = self.store.article_text(article_id)[other.start : other.end]
            value = normalize_words(text)
            if same_value(value, best_text):
                continue  # the same value, or one contains the other ("2021" / "March 2021")
            seen_articles.add(article_id)
            citation = self._cite(other.sentence)
            alternatives.append(Alternative(text, round(confidence, 4), other.start, other.end, citation))
        return alternatives

    def _spans(self, analysis: QuestionAnalysis, sentence: SentenceRecord) -> list[tuple[int, int, float]]:
        """``(start, end, fit)`` for the answer candidates in one sentence; fit in [0, 1]."""
        text = self.store.article_text(sentence.article_id)
        sentence_terms = term_spans(text[sentence.start : sentence.end])
        matched: dict[str, list[tuple[int, int]]] = {}
        for term, start, end in sentence_terms:
            for question_term in analysis.terms:
                if _stems_match(term, question_term):
                    matched.setdefault(question_term, []).append((start, end))
        if analysis.expected == REASON:
            return _reason_spans(text, sentence, matched)
        focus = [
            (sentence.start + start, sentence.start + end)
            for term, start, end in sentence_terms
            if analysis.focus and _stems_match(term, analysis.focus)
        ]
        candidates: dict[tuple[int, int], float] = {}
        labels = analysis.expected
        for span in self._typed_spans(text, sentence, labels, focus):
            if span.label == labels[0]:
                type_fit = 1.0
            elif span.label in labels:
                type_fit = 0.85
            elif labels[0] in NAME_LABELS and span.label in NAME_LABELS:
                type_fit = 0.7  # the small NER model often swaps PERSON, ORG and GPE on unfamiliar names
            elif span.label == NOUN_PHRASE:
                type_fit = 0.3
            else:
                continue
            phrase = text[span.start : span.end]
            if labels == DURATION and not DURATION_UNIT.search(phrase):
                type_fit *= 0.6  # "how long": "three years", rather than the date "June"
            novelty = _novelty(phrase, analysis)
            if novelty <= 0.0:
                continue
            nearness = _nearness(span.start - sentence.start, span.end - sentence.start, matched)
            fit = type_fit * (FIT_BASE + FIT_NEARNESS * nearness + FIT_NOVELTY * novelty)
            fit += FOCUS_WEIGHT * _next_to(span, focus)
            key = (span.start, span.end)
            candidates[key] = max(fit, candidates.get(key, 0.0))
        return [(start, end, fit) for (start, end), fit in candidates.items()]

    def _typed_spans(
        self, text: str, sentence: SentenceRecord, labels: tuple[str, ...], focus: list[tuple[int, int]]
    ) -> list[Span]:
        spans = self.store.spans(sentence.article_id, sentence.start, sentence.end)
        # "the British lace industry" for "what industry ...": the phrase's words before the
        # focus noun are a candidate of their own ("the British lace").
        for span in list(spans):
            for focus_start, _ in focus:
                if span.start < focus_start < span.end and text[span.start : focus_start].strip():
                    spans.append(
                        Span(span.start, span.start + len(text[span.start : focus_start].rstrip()), span.label)
                    )
        if set(labels) & {"MONEY", "PERCENT", "CARDINAL", "QUANTITY", "DATE"}:
            covered = [(s.start, s.end) for s in spans if s.label != NOUN_PHRASE]
            for match in NUMBER.finditer(text, sentence.start, sentence.end):
                start, end = match.span()
                if not any(a <= start and end <= b for a, b in covered):
                    spans.append(Span(start, end, _number_label(match.group())))
        return spans

    def _citations(self, sentence: SentenceRecord, ranked: list[tuple[float, SentenceRecord]]) -> list[Citation]:
        """The supporting sentence first, then the best sentence of each other article that scores close to it."""
        citations = [self._cite(sentence)]
        best_score = ranked[0][0]
        cited_articles = {sentence.article_id}
        for score, other in ranked[1:]:
            if score < 0.9 * best_score or len(citations) >= 3:
                break
            if other.article_id not in cited_articles:
                cited_articles.add(other.article_id)
                citations.append(self._cite(other))
        return citations

    def _cite(self, sentence: SentenceRecord) -> Citation:
        article = self.store.article(sentence.article_id)
        text = self.store.article_text(sentence.article_id)
        return Citation(
            article_id=sentence.article_id,
            title=article.title if article else "",
            source=article.source if article else "",
            start=sentence.start,
            end=sentence.end,
            quote=text[sentence.start : sentence.end],
            url=article.url if article else None,
            date=article.date if article else None,
        )


def _stems_match(a: str, b: str) -> bool:
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= PREFIX_MIN and len(long_) - len(short) <= PREFIX_SLACK and long_.startswith(short)


@functools.lru_cache(maxsize=4096)
def _title_terms(title: str) -> frozenset[str]:
    return frozenset(terms(title))


def _near_stems(term: str) -> list[str]:
    """The shorter stems that :func:`_stems_match` pairs with ``term`` ("founder" -> "found", "founde")."""
    return [term[:length] for length in range(max(PREFIX_MIN, len(term) - PREFIX_SLACK), len(term))]


@functools.lru_cache(maxsize=65_536)
def _near_set(sentence_terms: frozenset[str]) -> frozenset[str]:
    """Every near stem of a sentence's terms (the same sentences come back question after question)."""
    return frozenset(prefix for term in sentence_terms for prefix in _near_stems(term))


def _matched_terms(question: dict[str, list[str]], sentence_terms: frozenset[str]) -> frozenset[str]:
    """The question terms (each with its :func:`_near_stems`) that ``sentence_terms`` contains, near stems
    included (:func:`_stems_match`), by set lookups rather than comparing every pair of terms."""
    near = _near_set(sentence_terms)
    return frozenset(
        term
        for term, prefixes in question.items()
        if term in sentence_terms or term in near or any(p in sentence_terms for p in prefixes)
    )


def rerank(passages: list[Passage], ranked: list[tuple[float, SentenceRecord]]) -> list[Passage]:
    """Passages ordered by their best sentence's score, which becomes their ``score``.

    The sentence scores weigh the question's rare words and the sentence's own meaning,
    which a whole-chunk vector and BM25 blur; reading 30 candidates this way puts the
    chunk holding the answer first far more often than fusion alone (see BENCHMARKS.md).
    """
    by_article: dict[str, list[tuple[int, Passage]]] = {}
    for index, passage in enumerate(passages):
        by_article.setdefault(passage.article_id, []).append((index, passage))
    best: dict[int, float] = {}
    for score, sentence in ranked:
        for index, passage in by_article.get(sentence.article_id, ()):
            if passage.start <= sentence.start < passage.end:
                best[index] = max(best.get(index, 0.0), score)
    order = sorted(range(len(passages)), key=lambda index: (-best.get(index, 0.0), index))
    return [replace(passages[i], score=round(min(max(best.get(i, 0.0), 0.0), 1.0), 6)) for i in order]


def normalize_words(text: str) -> str:
    """Lower-cased words joined by single spaces, for comparing answer values."""
    return " ".join(re.findall(r"\w+", text.lower()))


def _confidence(score: float) -> float:
    return 1.0 / (1.0 + math.exp(-CONFIDENCE_SLOPE * (score - CONFIDENCE_CENTER)))


def _novelty(phrase: str, analysis: QuestionAnalysis) -> float:
    """Share of the phrase's words that the question does not already say."""
    words = [w.lower() for w in re.findall(r"\w+", phrase)]
    content = [w for w in words if w not in stop_words()]
    if not content:  # "she", "the one": says nothing by itself
        return 0.0
    new = [w for w in content if w not in analysis.words and stem(w) not in analysis.words]
    return len(new) / len(content)


def _nearness(start: int, end: int, matched: dict[str, list[tuple[int, int]]]) -> float:
    """How close a span sits to the question's words in its sentence, in [0, 1].

    The mean, over the question terms the sentence contains, of 1 / (1 + gap / 25
    characters) to the term's nearest occurrence: the span among the question's
    words beats one next to a single of them.
    """
    if not matched:
        return 0.3
    closeness = [
        1.0 / (1.0 + min(max(m_start - end, start - m_end, 0) for m_start, m_end in places) / 25.0)
        for places in matched.values()
    ]
    return sum(closeness) / len(closeness)


def _next_to(span: Span, focus: list[tuple[int, int]]) -> float:
    """1 when the span sits right before the focus noun ("*seven* turnovers", "*lace* industry"), or right after it."""
    for focus_start, focus_end in focus:
        if 0 <= focus_start - span.end <= 12 or 0 <= span.start - focus_end <= 4:
            return 1.0
    return 0.0


def _number_label(token: str) -> str:
    lowered = token.lower()
    if any(c in lowered for c in "$€£¥"):
        return "MONEY"
    if "%" in lowered or "percent" in lowered or "per cent" in lowered:
        return "PERCENT"
    digits = lowered.replace(",", "")
    if digits.isdigit() and len(digits) == 4 and 1000 <= int(digits) <= 2100:
        return "DATE"
    return "CARDINAL"


def _reason_spans(
    text: str, sentence: SentenceRecord, matched: dict[str, list[tuple[int, int]]]
) -> list[tuple[int, int, float]]:
    """Clauses that give a reason ("because ...", "after ...", "over ..."), in article offsets."""
    spans = []
    for match in REASON_MARKERS.finditer(text, sentence.start, sentence.end):
        start = match.start()
        end = sentence.end
        clause_end = re.search(r"[;.!?]", text[start:end])
        if clause_end:
            end = start + clause_end.start()
        if end - start < len(match.group()) + 3:
            continue
        strength = 1.0 if match.group().lower().startswith(("because", "due", "owing", "as a result")) else 0.6
        nearness = _nearness(start - sentence.start, end - sentence.start, matched)
        spans.append((start, end, 0.6 * strength + 0.4 * nearness))
    return spans
