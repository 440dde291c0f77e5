"""Comparisons: what each article says, side by side.

"How do the two reports' estimates of the bridge's cost compare?" The best passages of the best
:data:`MAX_ARTICLES` articles among those retrieved are read together; each article's part is the sentence
holding the reader's best span in it, cited. The articles are shown best first; one article alone is still
quoted (with a message that only one article speaks of it).

Example::

    answer = answer_compare(asking)
    [(p.citation.title, p.citation.quote) for p in answer.parts]
"""

from __future__ import annotations

from dataclasses import replace

from qa.evidence import Asking, evidence, quoted_answer
from qa.explain import SENTENCE_CONFIDENCE
from qa.types import Part

MAX_ARTICLES = 3
PASSAGES_PER_ARTICLE = 2


def answer_compare(asking: Asking):
    """One sentence from each of the best articles (see the module); ``None`` when the reader finds nothing."""
    by_article: dict[str, list] = {}
    for passage in asking.passages:
        chosen = by_article.setdefault(passage.article_id, [])
        if len(chosen) < PASSAGES_PER_ARTICLE and len(by_article) <= MAX_ARTICLES:
            chosen.append(passage)
    if len(by_article) > MAX_ARTICLES:
        by_article.popitem()
    read = [p for passages in by_article.values() for p in passages]
    found = evidence(asking.reader, asking.read_as, read, depth=len(read)) if read else []
    best_of: dict[str, object] = {}
    for item in found:
        if item.probability >= SENTENCE_CONFIDENCE and item.citation.article_id not in best_of:
            best_of[item.citation.article_id] = item
    if not best_of:
        return None
    sides = sorted(best_of.values(), key=lambda e: -e.probability)
    parts = tuple(Part(e.citation.quote, e.citation.start, e.citation.end, e.citation) for e in sides)
    answer = quoted_answer(
        asking.question,
        "compare",
        [e.citation for e in sides],
        sides[0].probability,
        asking.passages,
        asking.k,
        parts=parts,
    )
    if len(sides) == 1:
        answer = replace(answer, message="Only one of the indexed articles speaks of this.")
    return answer
