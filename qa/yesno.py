"""Yes/no questions: the sentence that settles it, quoted, and a verdict only where it can be trusted.

"Does the union agree with the company's count?" The sentence is the one holding the span reader's best
candidate for the question, with the next one it points at as a second citation (as for why and how,
:mod:`qa.explain`). The yes/no classifier
(:mod:`qa.verdict`) then reads the question against those sentences; "Yes" or "No" leads the reply only when
its confidence in the verdict is at or above the threshold shipped with it (chosen where its verdicts were
right at least 90 % of the time on the news dev questions). Otherwise the reply is "The article says: ..."
with the sentence, and ``Answer.verdict`` is ``None``.

Example::

    answer = answer_yesno(asking)
    answer.verdict, answer.text     # ("no", "The union put the true figure closer to 700, ...")
"""

from __future__ import annotations

from qa.evidence import Asking, evidence, quoted_answer
from qa.explain import SENTENCE_CONFIDENCE, SENTENCES


def answer_yesno(asking: Asking):
    """The settling sentence and, when confident enough, the verdict (see the module); ``None`` when the reader
    finds nothing."""
    found = evidence(asking.reader, asking.read_as, asking.passages)
    if not found or found[0].probability < SENTENCE_CONFIDENCE:
        return None
    best, quotes = found[0], [f.citation for f in found[:SENTENCES]]
    verdict = None
    if asking.verdicts is not None:
        yes = asking.verdicts.yes_probability(asking.question, " ".join(q.quote for q in quotes))
        if max(yes, 1.0 - yes) >= asking.verdicts.shown_from:
            verdict = "yes" if yes >= 0.5 else "no"
    return quoted_answer(
        asking.question,
        "yesno",
        quotes,
        best.probability,
        asking.passages,
        asking.k,
        parts=(best.span,),
        verdict=verdict,
        text=best.citation.quote,
    )
