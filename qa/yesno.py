"""Yes/no questions: the sentence that settles it, quoted, and a verdict only where it can be trusted.

"Does the union agree with the company's count?" The sentence is the one holding the span reader's best
candidate for the question, with the next one it points at as a second citation (as for why and how,
:mod:`qa.explain`). The sentence judge
(:mod:`qa.judge`) has read the question against the best one; "Yes" or "No" leads the reply only when its
confidence in the verdict is at or above the threshold shipped with it (chosen where its verdicts were
right at least 90 % of the time on the news dev questions). Otherwise the reply is "The article says: ..."
with the sentence, and ``Answer.verdict`` is ``None``.

Example::

    answer = answer_yesno(asking)
    answer.verdict, answer.text     # ("no", "The union put the true figure closer to 700, ...")
"""

from __future__ import annotations

from qa.evidence import Asking, answered, evidence, quoted_answer
from qa.explain import SENTENCES


def answer_yesno(asking: Asking):
    """The settling sentence and, when confident enough, the verdict (see the module); ``None`` when nothing in the
    passages may answer."""
    found = evidence(asking)
    if not answered(found):
        return None
    best = found[0]
    verdict = None
    shown_from = asking.judge.verdict_threshold if asking.judge else 1.0
    if best.yes is not None and shown_from < 1.0 and max(best.yes, 1.0 - best.yes) >= shown_from:  # 1.0: never
        verdict = "yes" if best.yes >= 0.5 else "no"
    return quoted_answer(
        asking.question,
        "yesno",
        [f.citation for f in found[:SENTENCES]],
        best.confidence,
        asking.passages,
        asking.k,
        parts=(best.span,),
        verdict=verdict,
        text=best.citation.quote,
    )
