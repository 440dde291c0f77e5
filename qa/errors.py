"""The exceptions a user of Article QA can meet (defined in :mod:`index.errors`, the lowest layer)."""

from index.errors import (
    BadArticle,
    BadQuestion,
    BadSetting,
    EmptyQuestion,
    IndexCorrupt,
    IndexLocked,
    IndexNotFound,
    IndexWriteError,
    ModelMismatch,
    NoArticles,
    NotAnIndex,
    QAError,
    ReaderModelError,
)

__all__ = [
    "BadArticle",
    "BadQuestion",
    "BadSetting",
    "EmptyQuestion",
    "IndexCorrupt",
    "IndexLocked",
    "IndexNotFound",
    "IndexWriteError",
    "ModelMismatch",
    "NoArticles",
    "NotAnIndex",
    "QAError",
    "ReaderModelError",
]
