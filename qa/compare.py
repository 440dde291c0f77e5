"""Comparisons: what each article says, side by side.

"How do the two reports' estimates of the bridge's cost compare?" The articles compared are those whose best
passages speak of what the question names (:func:`qa.evidence.related_articles`, at most :data:`MAX_ARTICLES`),
and, when the question names someone or something (a capitalised word) that none of them mentions, the best
article that does ("Compare the gusts of Storm Edda and Storm Ilona": retrieval found Edda's story only).

Each article is then asked its own part of the question: the question without the words that only the other
articles hold ("... of Storm Edda and Storm" for Edda's story), read over that article's best passages for it.
Its part of the answer is the sentence holding the reader's best span there (its headline only when nothing
else), cited. The articles are shown best first; one article alone is still quoted (with a message that only
one article speaks of it).

Example::

    answer = answer_compare(asking)
    [(p.citation.title, p.citation.quote) for p in answer.parts]
"""

from __future__ import annotations

import re
from dataclasses import replace

from index.terms import stem, term_spans, terms
from qa.evidence import Asking, Evidence, answered, evidence, quoted_answer, related_articles
from qa.types import Part

MAX_ARTICLES = 3
PASSAGES_PER_ARTICLE = 2
"""Passages of each article read for its part of the question."""
_OPENING = re.compile(
    r"^\s*(?:what(?:'s|\s+is|\s+are)\s+the\s+differences?\s+between|compare|contrast|"
    r"how\s+(?:does|do|did|is|are|was|were|would|will|can|could))\s+",
    re.IGNORECASE,
)
_HOW = re.compile(r"^\s*how\b", re.IGNORECASE)
_CALENDAR = frozenset(
    (
        *("january", "february", "march", "april", "may", "june", "july", "august", "september", "october"),
        *("november", "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    )
)
"""Capitalised words that are not names of what is compared."""
_COMPARED_WITH = re.compile(r"\s+(?:compare|compares|compared|differ|differs|differed)\s+(?:with|from|to|against)\s+")
_COMPARED = re.compile(r"\s+(?:compare|differ)(?=\s*[?.!]?\s*$)")


def answer_compare(asking: Asking):
    """One sentence from each article that speaks of what the question names (see the module); ``None`` when
    the reader finds nothing."""
    articles = [p.article_id for p in related_articles(asking, MAX_ARTICLES)]
    words = {a: _words_of(asking, a) for a in articles}
    if asking.search is not None and len(articles) < MAX_ARTICLES:
        named = _named_elsewhere(asking, words)
        if named is not None:
            articles.append(named)
            words[named] = _words_of(asking, named)
    found: list[Evidence] = []
    for article in articles:
        others = set().union(*(words[a] for a in articles if a != article)) - words[article]
        part = _without(_as_factoid(asking.question), others)
        own = replace(asking, question=part if terms(part) else asking.question)
        found += _sentences(own, article)
    # one article alone must look like an answer; the best sentences of several that speak of it are the comparison
    if not found or (len(articles) < 2 and not answered(found)):
        return None
    best_of: dict[str, Evidence] = {}
    for item in found:  # each article's best sentence, its headline only when it has nothing else
        known = best_of.get(item.citation.article_id)
        if known is None or (_headline(known) and not _headline(item)):
            best_of[item.citation.article_id] = item
    sides = sorted(best_of.values(), key=lambda e: -e.confidence)
    parts = tuple(Part(e.citation.quote, e.citation.start, e.citation.end, e.citation) for e in sides)
    read = list({p.chunk_id: p for p in [*(e.passage for e in sides), *asking.passages]}.values())
    answer = quoted_answer(
        asking.question, "compare", [e.citation for e in sides], sides[0].confidence, read, asking.k, parts=parts
    )
    answer = replace(answer, start=None, end=None)  # one sentence an article: no one span; the parts have offsets
    if len(sides) == 1:
        answer = replace(answer, message="Only one of the indexed articles speaks of this.")
    return answer


def _sentences(asking: Asking, article: str) -> list[Evidence]:
    """The sentences of one article that answer its part of the question (``asking.question``), best first."""
    if asking.search is not None:
        read = asking.search(asking.question, (article,), PASSAGES_PER_ARTICLE)
    else:
        read = [p for p in asking.passages if p.article_id == article][:PASSAGES_PER_ARTICLE]
    return evidence(asking, read, depth=len(read)) if read else []


def _as_factoid(question: str) -> str:
    """The comparison asked as a question about its subjects together ("How does the bill in A compare with B's?"
    -> "What is the bill in A and B's?"): the reader was trained on such questions, not on comparisons."""
    if _HOW.match(question) and not (_COMPARED_WITH.search(question) or _COMPARED.search(question)):
        return question  # "How did the storm affect ferries, according to both reports?": a how-question as asked
    question = _OPENING.sub("What is ", question, count=1)
    question = _COMPARED_WITH.sub(" and ", question)
    return _COMPARED.sub("", question)


def _words_of(asking: Asking, article: str) -> set[str]:
    """The terms of an article's title and text."""
    try:
        record, text = asking.store.article(article), asking.store.article_text(article)
    except KeyError:  # passages given by the caller, of an article the index does not hold
        given = [p for p in asking.passages if p.article_id == article]
        record, text = None, " ".join(f"{p.title} {p.text}" for p in given)
    return set(terms(f"{record.title if record else ''} {text}"))


def _without(question: str, others: set[str]) -> str:
    """The question without the words whose terms are in ``others``."""
    kept, at = [], 0
    for term, start, end in term_spans(question, keep_stop_words=True):  # every word, as the index cuts them
        if term in others:
            kept.append(question[at:start])
            at = end
    kept.append(question[at:])
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def _named_elsewhere(asking: Asking, words: dict[str, set[str]]) -> str | None:
    """The best article that mentions a name of the question (a capitalised word after its first) that none of
    the articles in ``words`` mentions; ``None`` when there is no such name or article."""
    known = set().union(*words.values())
    if asking.question.isupper():  # every word capitalised: none is known to be a name
        return None
    names = [
        word
        for word in (
            asking.question[start:end].replace("’", "'")
            for _, start, end in term_spans(asking.question, keep_stop_words=True)[1:]
        )
        if word[0].isupper() and word.lower() not in _CALENDAR and terms(word) and stem(word) not in known
    ]
    if not names:
        return None
    wanted = {stem(n) for n in names}
    for passage in asking.search(" ".join(names), (), 2 * MAX_ARTICLES):
        if passage.article_id not in words and wanted & set(terms(f"{passage.title} {passage.text}")):
            return passage.article_id
    return None


def _headline(item: Evidence) -> bool:
    return item.citation.quote.strip() == item.citation.title.strip()
