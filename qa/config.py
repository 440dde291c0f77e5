"""All settings in one place (defined in :mod:`index.config`, the lowest layer)."""

from index.config import (
    ANNOTATIONS,
    BACKENDS,
    DEFAULT_MODEL,
    ENGINES,
    READERS,
    SENTENCE_VECTORS,
    Config,
    default_articles,
    default_index_dir,
    default_workers,
)

__all__ = [
    "ANNOTATIONS",
    "BACKENDS",
    "DEFAULT_MODEL",
    "ENGINES",
    "READERS",
    "SENTENCE_VECTORS",
    "Config",
    "default_articles",
    "default_index_dir",
    "default_workers",
]
