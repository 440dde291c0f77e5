"""Article QA: ask questions about a collection of articles, get verbatim, cited answers.

Example::

    from qa import ask, QA
    answer = ask("Why did SenseTime postpone its IPO?")
    print(answer.text, answer.citations[0].source)
"""

from qa.config import Config
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
from qa.types import Answer, Citation, Passage


def __getattr__(name: str):
    # The engine pulls in the index side (and torch); importing it lazily keeps
    # `import qa.errors` light and free of import cycles with `index`.
    if name in ("QA", "ask"):
        from qa import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'qa' has no attribute {name!r}")


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
    "ask",
]
