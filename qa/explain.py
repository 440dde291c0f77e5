"""Why and how: the sentence that gives the reason or the manner, with the reader's span inside it.

"Why is Vantorre cutting jobs?" is answered by quoting the sentence that holds the span reader's best
candidate for the question (the reader was trained on why and how questions too, and points at the reason
even when its exact span is not sure), cited, and the next sentence it points at as a second citation. The
answer's text is the span itself (as for a factoid question, so that a why-question with a short answer keeps
it), and its one part, highlighted inside the sentence; the answer's score is the span's calibrated
probability, as for a factoid. The sentence is quoted when the sentence judge's probability that it is evidence
(the reader's span probability without a judge, :mod:`qa.evidence`) is at least :data:`qa.evidence.SENTENCE_CONFIDENCE`;
below it the span reader answers (or declines) as for any question.

Example::

    answer = answer_explain(asking)   # answer.citations[0].quote is the sentence, answer.text the reader's span
"""

from __future__ import annotations

from qa.evidence import Asking, answered, evidence, quoted_answer

SENTENCES = 2
"""Sentences quoted, best first: the reader's best sentence is the gold one about half the time on the news dev
why/how questions, one of its best two about 60 % of the time (BENCHMARKS.md)."""


def answer_explain(asking: Asking):
    """The sentence that explains (see the module); ``None`` when the reader finds nothing to read."""
    found = evidence(asking)
    if not answered(found):
        return None
    best = found[0]
    span = best.span
    return quoted_answer(
        asking.question,
        asking.kind,
        [f.citation for f in found[:SENTENCES]],
        best.probability,  # the span's: the answer's text is the span (a why-question's short answer keeps its score)
        asking.passages,
        asking.k,
        parts=(span,),
        text=span.text,
        span=(span.start, span.end),
    )
