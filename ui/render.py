"""Turn answers into the HTML of a chat reply.

Article text is untrusted: every piece of it goes through :func:`escape`, so an
article holding ``<script>`` or markup shows it as text. Replies are one line of
HTML (no blank line ends the HTML block, so the chat's Markdown renderer leaves
it alone), with the answer in bold, the supporting sentence quoted with the
answer span highlighted, its source and the confidence, and a collapsible
"Sources" list of the retrieved passages with the evidence highlighted.
"""

from __future__ import annotations

import html
import itertools
import re
from pathlib import PurePath
from urllib.parse import quote, urlparse

from qa.config import Config
from qa.types import Alternative, Answer, Citation, Passage

"""Passages shown when the answer is not in the articles."""
SNIPPET_CHARS = 600
"""Longer passages are cut (with an ellipsis) in the Sources list."""

# Markup characters, and those the chat's Markdown (or LaTeX) pass could read as formatting.
_ENTITIES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'\\*_`[]#~$|{}"})


def escape(text: str) -> str:
    """Text as inert HTML: markup escaped, Markdown characters neutralised, line breaks as ``<br>``."""
    return re.sub(r"\s*\n\s*", "<br>", text.translate(_ENTITIES))


def _marked(text: str, offset: int, marks: list[tuple[int, int, str]]) -> str:
    """``text`` (starting at article offset ``offset``) with the ``(start, end, css_class)`` ranges marked.

    Later ranges in ``marks`` win where ranges overlap (pass the evidence sentence before the answer span).
    """
    end_offset = offset + len(text)
    cuts = {offset, end_offset}
    for start, end, _ in marks:
        cuts.update(point for point in (start, end) if offset < point < end_offset)
    points = sorted(cuts)
    parts = []
    for left, right in itertools.pairwise(points):
        piece = escape(text[left - offset : right - offset])
        css = next((c for s, e, c in reversed(marks) if s <= left and right <= e), None)
        parts.append(f'<mark class="{css}">{piece}</mark>' if css else piece)
    return "".join(parts)


def _source_line(citation: Citation) -> str:
    """ "Title — story.html · example.com/story · 2024-05-14 · by A. Writer · characters 10–52"."""
    parts = []
    if citation.source:
        name = escape(PurePath(citation.source).name or citation.source)  # "business.jsonl:3" keeps its line
        if citation.page is not None:  # the file itself, opened at the page (served by the HTTP API)
            link = f"/api/articles/{quote(citation.article_id, safe='')}/file#page={citation.page}"
            href = html.escape(link, quote=True)
            name = f'<a href="{href}" target="_blank" rel="noopener">{name}, p. {citation.page}</a>'
        parts.append(name)
    url = citation.url
    if url and urlparse(url).scheme in ("http", "https"):
        parts.append(
            f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>'
        )
    if citation.date:
        parts.append(escape(citation.date))
    if citation.author:
        parts.append(f"by {escape(citation.author)}")
    if citation.field:
        parts.append("from the article's metadata (its text does not show it)")
    else:
        parts.append(f"characters {citation.start}–{citation.end}")
    return f'<span class="qa-title">{escape(citation.title or "Untitled")}</span> — {" · ".join(parts)}'


def _citation_block(citation: Citation, answer_start: int | None, answer_end: int | None) -> str:
    marks = [(answer_start, answer_end, "qa-answer")] if answer_start is not None else []
    quote = _marked(citation.quote, citation.start, marks)
    source = _source_line(citation)
    if citation.field:  # a date or byline from the page's metadata: there is no quote
        return f'<p class="qa-source">{source}</p>'
    return f'<blockquote class="qa-quote">“{quote}”</blockquote><p class="qa-source">{source}</p>'


def headline_only(passage: Passage) -> bool:
    """Whether a passage is only its article's headline (a title line that says nothing a reader can check)."""
    text = " ".join(passage.text.split())
    title = " ".join((passage.title or "").split())
    return bool(text) and (
        text.casefold() == title.casefold()
        or (
            passage.start == 0
            and "\n" not in passage.text.strip()
            and len(text.split()) <= 15
            and text[-1] not in ".!?\"”'"
        )
    )


def _sources(
    passages: tuple[Passage, ...],
    marks_by_article: dict[str, list[tuple[int, int, str]]],
    open_: bool,
    answer: Answer | None = None,
) -> str:
    """The retrieved passages, best first, each with its rank and whether it holds the answer or its quote;
    passages that are only a headline are left out."""
    items = []
    shown = [passage for passage in passages if not headline_only(passage)]
    for rank, passage in enumerate(shown, start=1):
        text = passage.text
        cut = len(text) > SNIPPET_CHARS
        body = _marked(text[:SNIPPET_CHARS], passage.start, marks_by_article.get(passage.article_id, []))
        title = escape(passage.title or "Untitled")
        role = _role(passage, answer) if answer is not None else ""
        items.append(
            f'<li><span class="qa-title">{title}</span> <span class="qa-rank">#{rank}{role}</span>'
            f'<div class="qa-passage">{body}{"…" if cut else ""}</div></li>'
        )
    summary = f"Sources ({len(shown)} passage{'s' if len(shown) != 1 else ''})"
    opened = " open" if open_ else ""
    return f'<details class="qa-sources"{opened}><summary>{summary}</summary><ol>{"".join(items)}</ol></details>'


def _role(passage: Passage, answer: Answer) -> str:
    """ " · holds the answer" / " · holds another article's answer" / "" for a passage of a found answer."""

    def holds(article_id: str | None, start: int | None) -> bool:
        return article_id == passage.article_id and start is not None and passage.start <= start < passage.end

    if holds(answer.article_id, answer.start):
        return " · holds the answer"
    if any(holds(a.citation.article_id, a.start) for a in answer.alternatives):
        return " · holds a differing answer"
    return ""


def _alternatives(answer: Answer, alternatives: tuple[Alternative, ...]) -> str:
    supporting = answer.citations[0]
    values = [(answer.text, supporting.title)] + [(a.text, a.citation.title) for a in alternatives]
    said = "; ".join(f"<strong>{escape(text)}</strong> according to “{escape(title)}”" for text, title in values)
    blocks = "".join(_citation_block(a.citation, a.start, a.end) for a in alternatives)
    return f'<div class="qa-disagree"><p>⚠ The articles disagree: {said}.</p>{blocks}</div>'


def render_answer(answer: Answer) -> str:
    """The chat reply for an answer, as one line of safe HTML."""
    if not answer.found:
        closest = answer.passages[: Config.closest_passages]
        note = " These are the closest passages:" if closest else ""
        return (
            f'<div class="qa-reply qa-not-found"><p><strong>{escape(answer.message)}</strong>{note}</p>'
            f"{_sources(closest, {}, open_=True) if closest else ''}</div>"
        )
    supporting = answer.citations[0]
    marks: dict[str, list[tuple[int, int, str]]] = {}
    for citation in answer.citations:
        marks.setdefault(citation.article_id, []).append((citation.start, citation.end, "qa-evidence"))
    for alternative in answer.alternatives:
        marks.setdefault(alternative.citation.article_id, []).append((alternative.start, alternative.end, "qa-answer"))
    if answer.start is not None:
        marks.setdefault(answer.article_id or "", []).append((answer.start, answer.end, "qa-answer"))
    if answer.listed:
        parts = [
            f'<div class="qa-reply qa-{answer.kind}"><p class="qa-answer-text">{escape(answer.lead)}</p>',
            _parts(answer),
        ]
    elif answer.kind in ("yesno", "why", "how") and answer.parts:
        span = answer.parts[0]
        lead = f"<strong>{escape(answer.lead)}</strong>" if answer.kind == "yesno" else ""
        parts = [
            f'<div class="qa-reply qa-{answer.kind}"><p class="qa-answer-text">{lead}</p>',
            _citation_block(supporting, span.start, span.end),
            *(_citation_block(citation, None, None) for citation in answer.citations[1:]),
        ]
    else:
        parts = [
            f'<div class="qa-reply"><p class="qa-answer-text"><strong>{escape(answer.text)}</strong></p>',
            _citation_block(supporting, answer.start, answer.end),
        ]
    caption = answer.summary_caption  # a summary's score is its match's retrieval score, not a probability
    if caption:
        parts.append(f'<p class="qa-confidence">{escape(caption)}</p>')
    else:
        parts.append(f'<p class="qa-confidence">Confidence {answer.score:.0%}</p>')
    if answer.message:  # "Only one of the indexed articles speaks of this."
        parts.append(f'<p class="qa-note">{escape(answer.message)}</p>')
    if answer.alternatives:
        parts.append(_alternatives(answer, answer.alternatives))
    parts.append(_sources(answer.passages, marks, open_=False, answer=answer))
    parts.append("</div>")
    return "".join(parts)


def _parts(answer: Answer) -> str:
    """A summary's sentences, a list's items or a comparison's sides as a list, each with its source line (a list's
    items in bold, with the sentence they come from)."""
    items = []
    for part in answer.parts:
        if answer.kind == "list":
            quote = _marked(part.citation.quote, part.citation.start, [(part.start, part.end, "qa-answer")])
            source = f'<span class="qa-source">{_source_line(part.citation)}</span>'
            items.append(f"<li><strong>{escape(part.text)}</strong> — “{quote}” {source}</li>")
        else:
            items.append(
                f'<li>“{escape(part.citation.quote)}” <span class="qa-source">{_source_line(part.citation)}</span></li>'
            )
    in_parts = {(p.citation.article_id, p.citation.start) for p in answer.parts}
    also = [c for c in answer.citations if answer.kind == "about" and (c.article_id, c.start) not in in_parts]
    more = "".join(f'<li>Also: “{escape(c.quote)}” <span class="qa-source">{_source_line(c)}</span></li>' for c in also)
    return f'<ul class="qa-parts">{"".join(items)}{more}</ul>'


def render_message(text: str) -> str:
    """A plain message (a problem with the question, a server error) as a reply."""
    return f'<div class="qa-reply qa-message"><p>{escape(text)}</p></div>'


STYLE = """
.qa-reply p { margin: 0.3em 0; }
.qa-answer-text strong { font-size: 1.15em; }
.qa-quote { margin: 0.4em 0; padding: 0.3em 0.8em; border-left: 4px solid #f59e0b; font-style: normal; }
mark.qa-answer { background: #fde68a; color: inherit; font-weight: 600; padding: 0 2px; border-radius: 3px; }
mark.qa-evidence { background: #e0f2fe; color: inherit; }
.qa-source, .qa-confidence, .qa-rank { font-size: 0.88em; opacity: 0.85; }
.qa-title { font-weight: 600; }
.qa-sources summary { cursor: pointer; font-size: 0.9em; }
.qa-sources li { margin: 0.4em 0; }
.qa-passage { font-size: 0.88em; white-space: normal; }
.qa-disagree { margin-top: 0.5em; padding: 0.3em 0.6em; border: 1px solid #f59e0b; border-radius: 6px; }
"""
"""CSS for the classes above."""
