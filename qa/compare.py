"""Comparisons: what each article says, side by side.

"How do the two reports' estimates of the bridge's cost compare?" The best passages of the articles that
speak of what the question names (:func:`qa.evidence.related_articles`, at most :data:`MAX_ARTICLES`) are
read together; each article's part is the sentence holding the reader's best span in it (its headline only
when nothing else), cited. The articles are shown best first; one article alone is still
quoted (with a message that only one article speaks of it).

Example::

    answer = answer_compare(asking)
    [(p.citation.title, p.citation.quote) for p in answer.parts]
"""

from __future__ import annotations

from dataclasses import replace

from qa.evidence import Asking, Evidence, answered, evidence, quoted_answer, related_articles
from qa.types import Part

MAX_ARTICLES = 3
PASSAGES_PER_ARTICLE = 2


def answer_compare(asking: Asking):
    """One sentence from each article that speaks of what the question names (see the module); ``None`` when
    the reader finds nothing."""
    articles = {p.article_id for p in related_articles(asking, MAX_ARTICLES)}
    read: list = []
    for passage in asking.passages:
        if (
            passage.article_id in articles
            and sum(p.article_id == passage.article_id for p in read) < PASSAGES_PER_ARTICLE
        ):
            read.append(passage)
    found = evidence(asking, read, depth=len(read)) if read else []
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
    answer = quoted_answer(
        asking.question,
        "compare",
        [e.citation for e in sides],
        sides[0].confidence,
        asking.passages,
        asking.k,
        parts=parts,
    )
    answer = replace(answer, start=None, end=None)  # one sentence an article: no one span; the parts have offsets
    if len(sides) == 1:
        answer = replace(answer, message="Only one of the indexed articles speaks of this.")
    return answer


def _headline(item: Evidence) -> bool:
    return item.citation.quote.strip() == item.citation.title.strip()
