"""What an index folder holds on disk: file names, the SQLite schema, the manifest, generations.

An index directory holds generations; the file ``CURRENT`` names the live one.
A generation holds:

- ``manifest.json``: format version, model, dimension, chunking settings, counts, times;
- ``store.sqlite``: articles (with their text), chunks and sentences;
- ``vectors.faiss``: the chunk vectors (inner product on unit vectors), keyed by chunk id, in
  the FAISS index that ``index.vectors`` chooses by corpus size; read memory-mapped;
- ``bm25/``: the bm25s lexical index of the chunks, and ``bm25_ids.npy`` mapping its rows to chunk ids.

Writers (``index.generation``) build a new generation beside the live one and switch ``CURRENT``
with an atomic rename, so readers (``index.store``) always see a whole index. Nothing is pickled.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path

from index.errors import IndexCorrupt, NotAnIndex
from index.terms import terms

FORMAT_VERSION = 2
"""2: articles carry author, site and excluded (boilerplate) ranges."""
CURRENT = "CURRENT"
LOCK = ".lock"
MANIFEST = "manifest.json"
DATABASE = "store.sqlite"
VECTORS = "vectors.faiss"
BM25_DIR = "bm25"
BM25_IDS = "bm25_ids.npy"
SHARDS = "SHARDS.json"
"""In a sharded index (see ``index.shards``): the shard manifest, naming the shard folders."""
GENERATION_MARKER = ".article-qa-generation"
"""Written first into every generation folder: only folders holding it (or, from before it existed, a
manifest of this tool) are ever removed as old generations."""

SCHEMA = """
CREATE TABLE articles(
    id TEXT PRIMARY KEY, title TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL,
    origin TEXT NOT NULL, content_hash TEXT NOT NULL, url TEXT, date TEXT, added_at TEXT NOT NULL,
    author TEXT, site TEXT, excluded TEXT NOT NULL DEFAULT '[]', excluded_chars INTEGER NOT NULL DEFAULT 0,
    pages TEXT);
CREATE INDEX articles_origin ON articles(origin);
CREATE INDEX articles_hash ON articles(content_hash);
CREATE TABLE chunks(
    id INTEGER PRIMARY KEY AUTOINCREMENT, article_id TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL);
CREATE INDEX chunks_article ON chunks(article_id, start);
CREATE TABLE sentences(
    id INTEGER PRIMARY KEY, article_id TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL);
CREATE INDEX sentences_article ON sentences(article_id, start);
"""

RETIRED_TABLES = ("spans", "term_df")
"""Tables of indexes built for the retired heuristic reader (entities and noun phrases, sentence document
frequencies); an update drops them. Such indexes' ``sentences`` also carry ``terms`` and ``vector`` columns."""


@dataclass(frozen=True)
class Manifest:
    """What an index says about itself."""

    format_version: int
    model: str
    dimension: int
    max_tokens: int
    chunk_tokens: int
    chunk_overlap: int
    articles: int
    chunks: int
    sentences: int
    built_at: str
    updated_at: str
    backend: str = "torch"
    vector_index: str = "auto"

    def to_json(self) -> str:
        """The manifest as indented JSON."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def read(cls, path: Path, index_dir: Path) -> Manifest:
        """Read and check a manifest file.

        Raises:
            IndexCorrupt: missing, unreadable, or from another format version.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(
                f"the index at {index_dir} has an unreadable manifest ({exc}). {rebuild_hint(index_dir)}"
            ) from exc
        version = data.get("format_version") if isinstance(data, dict) else None
        if version != FORMAT_VERSION:
            raise IndexCorrupt(
                f"the index at {index_dir} has format version {version}; this version of Article QA "
                f"reads version {FORMAT_VERSION}. {rebuild_hint(index_dir)}"
            )
        try:  # fields with a default were added later; older manifests lack them
            return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data or f.default is MISSING})
        except KeyError as exc:
            raise IndexCorrupt(f"the index manifest at {index_dir} lacks {exc}. {rebuild_hint(index_dir)}") from exc


def rebuild_hint(index_dir: Path) -> str:
    """The sentence telling a user how to rebuild an index."""
    return f"Rebuild it with: qa index build [PATH ...] --index {index_dir}"


def current_generation(index_dir: Path) -> Path | None:
    """The live generation directory of an index, or ``None`` if there is no index."""
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorrupt(f"cannot read {index_dir / CURRENT}: {exc}") from exc
    if not name or "/" in name or name.startswith("."):
        raise IndexCorrupt(f"{index_dir / CURRENT} names no generation. {rebuild_hint(index_dir)}")
    return index_dir / name


def is_own_generation(path: Path) -> bool:
    """Whether ``path`` is a generation folder this tool wrote (and may therefore remove)."""
    if not path.name.startswith("gen-") or path.is_symlink() or not path.is_dir():
        return False
    if (path / GENERATION_MARKER).is_file():
        return True
    try:
        return "format_version" in json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def check_index_dir(index_dir: Path) -> None:
    """Refuse to write into a folder that holds other things and is not an index.

    An index folder is one that does not exist yet, is empty, or holds this tool's ``CURRENT``
    file, writer lock or generations.

    Raises:
        NotAnIndex: the folder is not empty and not an index.
    """
    try:
        entries = list(index_dir.iterdir())
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise NotAnIndex(index_dir) from None
    names = {entry.name for entry in entries}
    if not entries or names & {CURRENT, LOCK, SHARDS} or any(is_own_generation(e) for e in entries):
        return
    raise NotAnIndex(index_dir)


def connect(path: Path, readonly: bool) -> sqlite3.Connection:
    """An SQLite connection; read-only connections cannot change the file."""
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, check_same_thread=False)
    return conn


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def has_pages_column(conn: sqlite3.Connection) -> bool:
    """Whether the ``articles`` table has the ``pages`` column (indexes made before PDFs were read lack it)."""
    return _has_column(conn, "articles", "pages")


def add_pages_column(conn: sqlite3.Connection) -> None:
    """Give an older index's ``articles`` table the ``pages`` column (NULL: no pages), so that it takes PDFs."""
    if not has_pages_column(conn):
        conn.execute("ALTER TABLE articles ADD COLUMN pages TEXT")


def drop_retired_tables(conn: sqlite3.Connection) -> None:
    """Remove what only the retired heuristic reader read from an older index's database (a new generation's
    copy): the :data:`RETIRED_TABLES`, and the ``sentences`` table's ``terms`` and ``vector`` columns."""
    for table in RETIRED_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    if _has_column(conn, "sentences", "vector"):
        conn.execute("DROP INDEX IF EXISTS sentences_article")
        conn.execute("ALTER TABLE sentences RENAME TO retired_sentences")
        conn.executescript(SCHEMA[SCHEMA.index("CREATE TABLE sentences") :])
        conn.execute(
            "INSERT INTO sentences(id, article_id, start, end) SELECT id, article_id, start, end FROM retired_sentences"
        )
        conn.execute("DROP TABLE retired_sentences")


def bm25_tokens(texts: list[str]) -> list[list[str]]:
    """The lexical index's view of texts: their content terms."""
    return [terms(text) for text in texts]
