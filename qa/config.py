"""All settings in one place (defined in :mod:`index.config`, the lowest layer)."""

from index.config import (
    BACKENDS,
    DEFAULT_MODEL,
    ENGINES,
    Config,
    default_articles,
    default_index_dir,
    default_workers,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "ENGINES",
    "Config",
    "default_articles",
    "default_index_dir",
    "default_workers",
]
