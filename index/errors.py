"""The exceptions a user of Article QA can meet (``qa.errors`` re-exports them all).

They live here, in the lowest layer, because the index side raises most of them and the
question side raises the rest; ``qa`` never has to be imported by ``index``. The library
raises these; the CLI turns each into a one-line message and exit code 1, and the UI into
a friendly message. Anything else is a bug.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class of every error this project raises on purpose."""


class IndexNotFound(QAError):
    """No index exists at the given directory."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(f"no index at {index_dir}. Build one with: qa index build [PATH ...] --index {index_dir}")
        self.index_dir = index_dir


class IndexCorrupt(QAError):
    """The index exists but is damaged or from an incompatible format."""


class IndexLocked(QAError):
    """Another process is writing the index."""


class IndexWriteError(QAError):
    """Writing the index failed (a full disk, no permission); the index is as it was before."""


class ModelMismatch(QAError):
    """The index was built with a different embedding model than the one requested."""

    def __init__(self, index_dir: object, index_model: str, requested_model: str) -> None:
        super().__init__(
            f"the index at {index_dir} was built with model '{index_model}', "
            f"but model '{requested_model}' was requested. Rebuild it with: "
            f"qa index build [PATH ...] --index {index_dir} --model {requested_model}"
        )
        self.index_model = index_model
        self.requested_model = requested_model


class BadQuestion(QAError, ValueError):
    """The question cannot be asked: it has no words to search for."""


class EmptyQuestion(BadQuestion):
    """The question is empty or only whitespace."""

    def __init__(self) -> None:
        super().__init__("the question is empty; type a question about the indexed articles")


class BadArticle(QAError):
    """An input file (or one record in it) cannot be indexed.

    Attributes:
        path: the file, as the user named it.
        line: the 1-based line (JSONL) or item (JSON list) number, when it applies.
        reason: what is wrong, in plain words.
    """

    def __init__(self, path: object, reason: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {reason}")
        self.path = path
        self.line = line
        self.reason = reason

    def __reduce__(self):
        # pickled between a Ray build's processes; Exception's default would call __init__ with the message only
        return type(self), (self.path, self.reason, self.line)


class NoArticles(QAError):
    """A build found nothing that could be indexed."""


class BadSetting(QAError, ValueError):
    """A setting that cannot be used, such as a FAISS factory string FAISS does not understand."""


class NotAnIndex(QAError):
    """The index directory holds other files and is not an index: nothing in it is touched."""

    def __init__(self, index_dir: object) -> None:
        super().__init__(f"{index_dir} is not an index and is not empty; choose another --index")


class ReaderModelError(QAError):
    """A file of a shipped model used at answer time (the span reader, the sentence judge) is missing or damaged.

    ``model`` names it (its folder under ``models/``), ``retrain`` the training module that reproduces it.
    """

    def __init__(
        self, path: object, problem: str, model: str = "reader", retrain: str = "training.train_reader"
    ) -> None:
        super().__init__(
            f"the {model} model file {path} {problem}; restore it with `git checkout -- models/{model}` "
            f"(or reinstall Article QA), or retrain it: python -m {retrain}"
        )
