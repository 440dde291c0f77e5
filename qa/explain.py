"""Why and how: the sentence that gives the reason or the manner, with the reader's span inside it.

"Why is Vantorre cutting jobs?" is answered by quoting the sentence the sentence judge ranks best among those
holding the span reader's candidates for the question (the reader was trained on why and how questions too, and
points at the reason even when its exact span is not sure) and the sentences just after the best of them
(:data:`FOLLOWED`: a reason is often given in the sentence after the one that names what is asked about), cited, and
the next best as a second citation. The answer's text is the reader's span in that sentence (as for a factoid
question, so that a why-question with a short answer keeps it), and its one part, highlighted inside the sentence;
the answer's score is the span's calibrated probability, as for a factoid. A sentence holding no span is the answer
whole, its score the judge's probability that it is evidence. The sentence is quoted when the sentence judge's
probability that it is evidence (the reader's span probability without a judge, :mod:`qa.evidence`) is at least
:data:`qa.evidence.SENTENCE_CONFIDENCE`; below it the span reader answers (or declines) as for any question.

Example::

    answer = answer_explain(asking)   # answer.citations[0].quote is the sentence, answer.text the reader's span
"""

from __future__ import annotations

from qa.evidence import Asking, answered, evidence, quoted_answer

SENTENCES = 2
"""Sentences quoted, best first: the reader's best sentence is the gold one about half the time on the news dev
why/how questions, one of its best two about 60 % of the time (BENCHMARKS.md)."""
FOLLOWED = 3
"""The sentences after the reader's best this many are judged too (the news dev why/how questions: an evidence
sentence holding a key phrase among the best two 0.639 -> 0.681; after only the best one 0.667, after all of
them 0.681 with a sentence more to judge; the training part's 0.604 -> 0.636; BENCHMARKS.md)."""
READER_WEIGHT = 0.25
"""The reader's weight in the ranking (:func:`qa.evidence.evidence`): lighter than for the other kinds, as the
sentences that follow hold no span of their own (0.5: 0.653 on the dev questions above, 0.636 on training)."""


def answer_explain(asking: Asking):
    """The sentence that explains (see the module); ``None`` when the reader finds nothing to read."""
    found = evidence(asking, following=FOLLOWED, reader_weight=READER_WEIGHT)
    if not answered(found):
        return None
    best = found[0]
    span = best.span
    return quoted_answer(
        asking.question,
        asking.kind,
        [f.citation for f in found[:SENTENCES]],
        # the span's: the answer's text is the span (a why-question's short answer keeps its score)
        best.probability if best.probability > 0 else best.confidence,
        asking.passages,
        asking.k,
        parts=(span,),
        text=span.text,
        span=(span.start, span.end),
    )
