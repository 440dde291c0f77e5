"""Article QA: ask questions about a collection of articles, get verbatim, cited answers.

Example::

    from qa import ask, QA
    answer = ask("Why did SenseTime postpone its IPO?")
    print(answer.text, answer.citations[0].source)
"""

from qa.config import Config
from qa.engine import QA, ask
from qa.errors import (
    BadArticle,
    BadQuestion,
    EmptyQuestion,
    IndexCorrupt,
    IndexLocked,
    IndexNotFound,
    IndexWriteError,
    ModelMismatch,
    NoArticles,
    QAError,
)
from qa.types import Answer, Citation, Passage, Scope

__all__ = [
    "QA",
    "Answer",
    "BadArticle",
    "BadQuestion",
    "Citation",
    "Config",
    "EmptyQuestion",
    "IndexCorrupt",
    "IndexLocked",
    "IndexNotFound",
    "IndexWriteError",
    "ModelMismatch",
    "NoArticles",
    "Passage",
    "QAError",
    "Scope",
    "ask",
]
