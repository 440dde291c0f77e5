"""The ``qa`` command line.

    qa ask "question" [--index DIR] [--k N] [--json]
    qa index build [PATH ...] [--index DIR] [--model NAME] [--strict]
    qa index add PATH ... | remove ID ... | list | stats [--json] | verify

Errors are one line on stderr and exit code 1 (2 for a bad flag or value); never a traceback.
Text from articles is made safe for the terminal before it is printed (see :mod:`qa.terminal`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from qa.config import (
    BACKENDS,
    ENGINES,
    Config,
    default_articles,
    default_index_dir,
)
from qa.errors import QAError
from qa.terminal import missing_package_hint, print_answer, print_report, safe_json, safe_name, terminal_safe
from qa.types import Scope


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit code 2, the convention for usage errors)."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _iso_date(text: str) -> str:
    """An argparse type: an ISO date (``2024``, ``2024-03`` or ``2024-03-18``)."""
    try:
        Scope(since=text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an ISO date such as 2024-03-18, not {text!r}") from None
    return text


def _number(kind: type, what: str, *, above: float | None = None, low: float | None = None, high: float | None = None):
    """An argparse type: ``kind(text)``, finite, ``> above``, ``>= low`` and ``<= high``, else "must be WHAT"."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = None
        if (
            value is None
            or not math.isfinite(value)
            or (above is not None and value <= above)
            or (low is not None and value < low)
            or (high is not None and value > high)
        ):
            raise argparse.ArgumentTypeError(f"must be {what}, not {text!r}")
        return value

    return parse


positive_int = _number(int, "a positive integer", low=1)
non_negative_int = _number(int, "0 or more", low=0)
port_number = _number(int, "a port number (1-65535)", low=1, high=65535)
shard_count = _number(int, "a shard count (1-65536)", low=1, high=65536)
positive_float = _number(float, "a positive number", above=0.0)
probability = _number(float, "a number from 0 to 1", low=0.0, high=1.0)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index",
        metavar="DIR",
        help=f"index directory (default: $QA_INDEX_DIR, else {default_index_dir()})",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qa", description="Ask questions about your articles; get cited, verbatim answers.")
    commands = parser.add_subparsers(dest="command", required=True)

    ask = commands.add_parser("ask", help="answer a question from the indexed articles")
    ask.add_argument("question")
    _common(ask)
    ask.add_argument(
        "--k", type=positive_int, help="passages to return as sources (default: %(default)s)", default=Config.k
    )
    ask.add_argument("--model", help="embedding model (must be the index's)")
    ask.add_argument("--json", action="store_true", help="print the answer as JSON")
    scope = ask.add_argument_group("scope", "ask only some of the articles (all that are given must match)")
    scope.add_argument("--site", help="part of the site name or URL, e.g. gazette or example.com")
    scope.add_argument("--author", help="part of the byline")
    scope.add_argument("--since", type=_iso_date, metavar="DATE", help="published on or after DATE (2024, 2024-03-18)")
    scope.add_argument("--until", type=_iso_date, metavar="DATE", help="published on or before DATE")
    scope.add_argument("--article", action="append", metavar="ID", help="this article (repeat for several)")

    evaluate = commands.add_parser("eval", help="measure answer quality and speed on SQuAD-format data")
    evaluate.add_argument("file", help="a SQuAD v1.1 or v2.0 JSON file")
    evaluate.add_argument("--index", metavar="DIR", help="index directory (default: a cache per data file)")
    evaluate.add_argument("--limit", type=positive_int, help="ask at most N questions, evenly spaced over the file")
    evaluate.add_argument("--oracle", action="store_true", help="give the reader the gold paragraph")
    for sub in (ask, evaluate):
        sub.add_argument(
            "--reader-passages",
            type=positive_int,
            help=f"best passages the reader reads (default: {Config.reader_passages})",
        )
        sub.add_argument(
            "--min-confidence",
            type=probability,
            help="decline answers below this confidence (default: the reader's calibrated threshold)",
        )
    evaluate.add_argument("--rebuild", action="store_true", help="rebuild the cached index")
    evaluate.add_argument("--dump", metavar="FILE", help="write one JSON line per question to FILE")
    evaluate.add_argument("--json", action="store_true", help="print the figures as JSON")

    serve = commands.add_parser(
        "serve", help="the chat in the browser and the HTTP API, in one server (builds the seed index if there is none)"
    )
    serve.add_argument("--host", help=f"address to listen on (default: {Config.host}, this machine only)")
    serve.add_argument("--port", type=port_number, help=f"port (default: {Config.port})")
    serve.add_argument(
        "--auth", metavar="USER:PASSWORD", help="require this login on every route (default: $QA_AUTH, else none)"
    )
    serve.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API also takes 'Authorization: Bearer KEY', as OpenAI clients send (default: $QA_API_KEY; "
        "with --auth alone, the key is USER:PASSWORD)",
    )
    serve.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a public name the server is reached by (repeatable; *.example.org for every name under it); "
        "requests naming any other host are refused (this machine's names and IP addresses always work)",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        metavar="URL",
        help="a site (https://app.example.org) whose pages may call the API from the browser (repeatable; "
        "default: none, only the server's own pages)",
    )
    serve.add_argument("--no-chat", action="store_true", help="serve the HTTP API alone, without the chat")
    serve.add_argument(
        "--max-upload-mb", type=positive_float, help=f"largest upload (default: {Config.max_upload_mb:g})"
    )
    serve.add_argument("--no-examples", action="store_true", help="hide the example questions about the seeds")
    _common(serve)

    for sub in (ask, evaluate, serve):
        sub.add_argument(
            "--reader-dir",
            metavar="DIR",
            help="the reader's folder, e.g. one made by training.train_reader (default: the shipped models/reader)",
        )
        sub.add_argument(
            "--probes",
            type=positive_int,
            help=f"lists an approximate (IVF) vector index searches per question (default: {Config.probes})",
        )
        sub.add_argument(
            "--search-threads",
            type=non_negative_int,
            help=f"FAISS threads for searching; 0: FAISS's default (default: {Config.search_threads})",
        )

    index = commands.add_parser("index", help="build and update the index")
    actions = index.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="build the index from scratch (default PATH: seeds/)")
    build.add_argument("paths", nargs="*", metavar="PATH")
    build.add_argument("--model", help="sentence-transformers model name or path (default: all-MiniLM-L6-v2)")
    add = actions.add_parser("add", help="add new and changed articles")
    add.add_argument("paths", nargs="+", metavar="PATH")
    for sub in (build, evaluate):  # settings fixed when an index is built
        sub.add_argument(
            "--chunk-tokens", type=positive_int, help=f"chunk size in tokens (default: {Config.chunk_tokens})"
        )
        sub.add_argument(
            "--chunk-overlap", type=non_negative_int, help=f"overlap in tokens (default: {Config.chunk_overlap})"
        )
        sub.add_argument(
            "--backend",
            choices=BACKENDS,
            help="run the embedding model as int8 ONNX or by sentence-transformers (torch); "
            "auto: ONNX for the bundled model, torch for others (default: auto)",
        )
        sub.add_argument(
            "--vector-index",
            metavar="FACTORY",
            help="FAISS index of the chunk vectors: auto (exact below 200,000 chunks, IVF with 8-bit vectors "
            "beyond) or a FAISS factory string such as Flat, IVF1024,SQ8, HNSW32 (default: auto)",
        )
    for sub in (build, evaluate):  # a sharded index, built here or on Ray
        sub.add_argument(
            "--engine",
            choices=ENGINES,
            help="what computes the build: this process, or a Ray Data pipeline (on this machine, or the "
            "cluster of --address; needs: pip install -e '.[distributed]') (default: local)",
        )
        sub.add_argument(
            "--shards",
            type=shard_count,
            help="build a sharded index of N shards (articles placed by a hash of their id); default: an "
            "ordinary index, one shard with --engine ray, or as many shards as the index has",
        )
        sub.add_argument(
            "--address", metavar="HOST:PORT", help="the Ray cluster to build on (default: start Ray on this machine)"
        )
    for sub in (build, add, evaluate):
        sub.add_argument(
            "--workers",
            type=positive_int,
            help="processes that run spaCy over large batches, and batches the int8 model embeds at once "
            f"(default: {Config().workers}, from the CPU count)",
        )
    for sub in (build, add):
        _common(sub)
        sub.add_argument("--strict", action="store_true", help="fail on the first bad input; the index stays as it was")
        sub.add_argument(
            "--follow-links",
            action="store_true",
            help="also read links inside the folders that point outside them (skipped by default)",
        )
    remove = actions.add_parser("remove", help="remove articles by id")
    remove.add_argument("ids", nargs="+", metavar="ID")
    _common(remove)
    for name, text in (("list", "list the indexed articles"), ("stats", "show the index's manifest and counts")):
        sub = actions.add_parser(name, help=text)
        _common(sub)
        sub.add_argument("--json", action="store_true", help="print JSON")
    _common(actions.add_parser("verify", help="check that the index is whole and consistent (exit 1 if not)"))
    return parser


def _config(args: argparse.Namespace) -> Config:
    return Config().with_overrides(
        index_dir=getattr(args, "index", None),
        model=getattr(args, "model", None),
        strict=getattr(args, "strict", None) or None,
        follow_links=getattr(args, "follow_links", None) or None,
        chunk_tokens=getattr(args, "chunk_tokens", None),
        chunk_overlap=getattr(args, "chunk_overlap", None),
        max_upload_mb=getattr(args, "max_upload_mb", None),
        backend=getattr(args, "backend", None),
        workers=getattr(args, "workers", None),
        vector_index=getattr(args, "vector_index", None),
        probes=getattr(args, "probes", None),
        search_threads=getattr(args, "search_threads", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        allowed_hosts=tuple(getattr(args, "allowed_host", None) or ()) or None,
        allowed_origins=tuple(getattr(args, "allowed_origin", None) or ()) or None,
        reader_passages=getattr(args, "reader_passages", None),
        reader_dir=getattr(args, "reader_dir", None),
        min_confidence=getattr(args, "min_confidence", None),
        engine=getattr(args, "engine", None),
        shards=getattr(args, "shards", None),
        ray_address=getattr(args, "address", None),
    )


def _ask(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    scope = Scope(args.site, args.author, args.since, args.until, tuple(args.article or ()))
    answer = QA(config=config).ask(args.question, k=args.k, where=scope)
    if args.json:
        print(safe_json(answer.to_dict()))
    else:
        print_answer(answer, config.closest_passages)
    return 0


def _serve(args: argparse.Namespace, config: Config) -> int:
    from qa.api import serve_api
    from qa.guards import API_KEY_ENV, Access, parse_auth

    try:
        auth = parse_auth(args.auth)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    api_key = args.api_key if args.api_key is not None else os.environ.get(API_KEY_ENV) or None
    if args.no_chat:
        serve_api(config, Access(login=auth, api_key=api_key))
        return 0
    from ui.app import SEED_EXAMPLES, serve  # the one import of the UI: the command that starts it

    serve(config, auth=auth, examples=() if args.no_examples else SEED_EXAMPLES, api_key=api_key)
    return 0


def _build(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    print_report(QA.build(args.paths or default_articles(), config=config, progress=True))
    return 0


def _add(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    print_report(QA(config=config).add(args.paths, progress=True))
    return 0


def _remove(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    report = QA(config=config).remove(args.ids)
    print_report(report)
    return 1 if report.missing else 0


def _verify(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA, rebuild_hint

    engine = QA(config=config)
    problems = engine.verify()
    if problems:
        print(
            f"error: the index at {config.index_dir} is damaged: {'; '.join(problems)}. "
            f"{rebuild_hint(config.index_dir)}",
            file=sys.stderr,
        )
        return 1
    manifest = engine.stats()
    print(
        f"ok: the index at {config.index_dir} is whole: {manifest.articles} articles, {manifest.chunks} chunks, "
        f"{manifest.sentences} sentences, model {manifest.model}"
    )
    return 0


def _list(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    articles = QA(config=config).articles()
    if args.json:
        print(safe_json([vars(a) for a in articles]))
        return 0
    for article in articles:
        title = terminal_safe(article.title[:70])
        excluded = f", {article.excluded_chars:,} characters not indexed" if article.excluded_chars else ""
        print(f"{safe_name(article.id)}  {title}  ({safe_name(article.source)}, {article.chunks} chunks{excluded})")
    return 0


def _stats(args: argparse.Namespace, config: Config) -> int:
    from qa.engine import QA

    stats = vars(QA(config=config).stats()) | {"index_dir": str(config.index_dir)}
    if args.json:
        print(safe_json(stats))
        return 0
    for key, value in stats.items():
        print(f"{key:>15}: {terminal_safe(str(value))}")
    return 0


COMMANDS = {
    "ask": _ask,
    "serve": _serve,
    "build": _build,
    "add": _add,
    "remove": _remove,
    "verify": _verify,
    "list": _list,
    "stats": _stats,
}
"""The function that carries out each command (``qa index ACTION`` by its action)."""


def run(args: argparse.Namespace) -> int:
    """Carry out a parsed command; returns the exit code."""
    try:
        config = _config(args)
    except ValueError as error:  # a combination of flags out of range
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "eval":
        return _evaluate(args, config)
    return COMMANDS[args.action if args.command == "index" else args.command](args, config)


def _evaluate(args: argparse.Namespace, config: Config) -> int:
    from qa.evaluate import eval_index_dir, evaluate, format_report

    path = Path(args.file)
    if not path.is_file():
        print(f"error: {path} does not exist (SQuAD files: see ../shared/data/README.md)", file=sys.stderr)
        return 1
    if args.index is None:
        config = config.with_overrides(index_dir=eval_index_dir(path, config))
    try:
        report = evaluate(
            path, config, limit=args.limit, oracle=args.oracle, rebuild=args.rebuild, progress=True, dump=args.dump
        )
    except (ValueError, KeyError) as exc:
        print(f"error: {path}: not SQuAD-format data ({exc})", file=sys.stderr)
        return 1
    print(json.dumps(report.to_dict(), indent=2) if args.json else format_report(report))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qa`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command != "serve" and threading.current_thread() is threading.main_thread():
        # `kill` (SIGTERM) stops a build as Ctrl-C does: its unfinished generation is removed.
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        code = run(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except QAError as error:
        print(f"error: {terminal_safe(str(error))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`qa ask ... | head -1`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:  # a path that cannot be read or written, a full disk
        where = f": {terminal_safe(str(error.filename))}" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the index is as it was", file=sys.stderr)
        return 130
    except ImportError as error:
        print(
            f"error: a package Article QA needs is missing or broken ({terminal_safe(str(error))}); "
            f"{missing_package_hint(error)}",
            file=sys.stderr,
        )
        return 1
    except Exception as error:  # the README promises one line, never a traceback
        if os.environ.get("QA_DEBUG"):
            raise
        print(
            f"error: {terminal_safe(str(error)) or type(error).__name__} (QA_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
