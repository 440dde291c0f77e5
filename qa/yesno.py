"""Yes/no questions: the sentence that settles it, quoted, and a verdict only where it can be trusted.

"Does the union agree with the company's count?" The sentence is the one the sentence judge (:mod:`qa.judge`)
ranks best among those holding the span reader's candidates for the question and the sentences just after the
best of them, with the next best as a second citation (as for why and how, :mod:`qa.explain`; the sentences that
follow: news dev yes/no evidence quoted 0.847 -> 0.889, the training part's 0.746 -> 0.777). The judge has read
the question against the best one; "Yes" or "No" leads the reply only when its
confidence in the verdict is at or above the threshold shipped with it (chosen where its verdicts were
right at least 90 % of the time on the news dev questions). Otherwise the reply is "The article says: ..."
with the sentence, and ``Answer.verdict`` is ``None``.

Example::

    answer = answer_yesno(asking)
    answer.verdict, answer.text     # ("no", "The union put the true figure closer to 700, ...")
"""

from __future__ import annotations

from qa.evidence import Asking, answered, evidence, quoted_answer
from qa.explain import FOLLOWED, SENTENCES


def answer_yesno(asking: Asking):
    """The settling sentence and, when confident enough, the verdict (see the module); ``None`` when nothing in the
    passages may answer."""
    found = evidence(asking, following=FOLLOWED)
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
