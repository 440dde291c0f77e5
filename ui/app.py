"""The browser chat: ask, read the cited answer, add articles, see what is indexed.

Example::

    from qa.config import Config
    from ui.app import serve
    serve(Config(port=7860))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import gradio as gr

from qa.api import create_app, run
from qa.config import Config
from qa.engine import MAX_QUESTION_CHARS, QA, SUPPORTED_SUFFIXES
from qa.errors import EmptyQuestion, QAError
from qa.guards import Access
from qa.types import Scope
from qa.uploads import keep_uploads
from ui.render import STYLE, escape, render_answer, render_message

log = logging.getLogger(__name__)

SEED_EXAMPLES = (
    "How much was SenseTime's planned IPO worth?",
    "Why did SenseTime postpone its IPO?",
    "Who founded SenseTime?",
    "When was it founded?",
)
"""Example questions about the bundled seed article."""
KEPT_MESSAGES = 200
"""The chat keeps this many of a conversation's latest messages (on the server, per browser session)."""


def _report_lines(report) -> list[str]:
    """The page's lines for an upload's build report."""
    lines = [f"✗ {problem}" for problem in report.problems] + [f"ℹ {note}" for note in report.notes]
    done = len(report.added) + len(report.updated)
    if done:
        lines.append(
            f"✓ Added {done} article{'s' if done != 1 else ''}; ask about {'them' if done != 1 else 'it'} now."
        )
    elif report.unchanged or report.duplicates:
        lines.append("✓ Already in the index, unchanged.")
    return lines


class ChatApp:
    """The state behind the page: one engine shared by every visitor.

    Args:
        config: settings (index directory, upload limit, concurrency).
        engine: an engine already open on ``config.index_dir`` (default: opened here).
    """

    def __init__(self, config: Config, engine: QA | None = None) -> None:
        self.config = config
        self.engine = engine or QA(config=config)
        self.uploaded: set[str] | None = None
        """Paths of the files received through the page's upload route (Gradio's record, once the page is built);
        the upload handler takes no other."""

    def respond(
        self, message: str, chat: list, turns: list, site: str = "", author: str = "", since: str = "", until: str = ""
    ) -> tuple[str, list, list]:
        """Answer ``message``, asked of the articles the filter fields match (empty: all); returns the cleared
        textbox, the chat and the conversation turns."""
        chat = list(chat or [])
        turns = list(turns or [])
        question = (message or "").strip()
        answer = None
        try:
            where = Scope(*((value or "").strip() or None for value in (site, author, since, until)))
            answer = self.engine.ask(question, history=turns, where=where)
        except EmptyQuestion:
            return "", [*chat, {"role": "assistant", "content": render_message("Please type a question.")}], turns
        except (QAError, ValueError) as error:  # a bad question, or a filter date that is not a date
            reply = render_message(str(error))
        except Exception:  # the page shows a plain message; the traceback goes to the server log
            log.exception("answering %r failed", question)
            reply = render_message("Something went wrong while answering; the server log has the details.")
        else:
            reply = render_answer(answer)
            turns.append((answer.question, answer.text))
        shown = question if len(question) <= MAX_QUESTION_CHARS else question[:MAX_QUESTION_CHARS] + "…"
        chat += [{"role": "user", "content": escape(shown)}, {"role": "assistant", "content": reply}]
        page = self._page_image(answer) if answer is not None and answer.found else None
        if page is not None:
            chat.append({"role": "assistant", "content": page})
        return "", chat, turns

    def _page_image(self, answer) -> dict | None:
        """The chat message showing a PDF answer on its page (answer boxed, quote shaded), or ``None``."""
        try:
            shown = self.engine.page_highlight(answer)
        except Exception:  # the answer stands without its picture; the reason goes to the server log
            log.exception("rendering the page of %r failed", answer.question)
            return None
        if shown is None:
            return None
        return {"path": str(shown.path), "alt_text": f"Page {shown.page}, the answer boxed and its sentence shaded"}

    def add_files(self, files: Sequence[object] | None) -> str:
        """Add uploaded files to the index; returns a message for the page."""
        paths = [Path(getattr(f, "name", f)) for f in files or []]
        if not paths:
            return ""
        foreign = [path for path in paths if self.uploaded is not None and str(path) not in self.uploaded]
        if foreign:  # a request naming a server file instead of sending one: nothing of it is kept
            log.warning("upload refused: %s were not received through the upload route", [str(p) for p in foreign])
            return "- ✗ only files sent from this page can be added; nothing was indexed"
        try:  # the writer's own lock turns a concurrent upload (another tab, `qa index add`) into IndexLocked
            result = keep_uploads(self.engine, [(path.name, path.read_bytes()) for path in paths])
        except QAError as error:
            lines = [f"✗ {error}"]
        except OSError as error:  # a full disk, an index folder that cannot be written
            lines = [f"✗ could not keep the upload ({error.strerror or error}); the index is unchanged"]
        else:
            lines = [f"✗ {refused}" for refused in result.refused]
            if result.report is not None:
                lines += _report_lines(result.report)
        return "\n".join(f"- {escape(line)}" for line in lines)

    def index_summary(self) -> str:
        """Markdown: counts and the model of the open index."""
        manifest = self.engine.stats()
        return (
            f"**{manifest.articles}** articles · **{manifest.chunks}** chunks · model `{manifest.model}`  \n"
            f"Updated {manifest.updated_at}"
        )

    def article_rows(self) -> list[list[object]]:
        """One row per indexed article: title, source file, site, date, author, chunks."""
        return [
            [a.title, Path(a.source).name, a.site or "", a.date or "", a.author or "", a.chunks]
            for a in self.engine.articles()
        ]

    def build(self, examples: Sequence[str] = SEED_EXAMPLES) -> gr.Blocks:
        """The page."""
        types = ", ".join(sorted(SUPPORTED_SUFFIXES))
        with gr.Blocks(title="Article QA") as page:
            gr.Markdown(
                "# Article QA\nAsk a question about the articles. Every answer is quoted from an article, "
                "with the source and the exact place; when the articles do not say, you are told so."
            )
            turns = gr.State([])
            # The messages shown live on the server (a State): the chat's own value is never taken from the
            # browser, whose copy could name any file on the server for Gradio to read back.
            messages = gr.State([])
            with gr.Row():
                with gr.Column(scale=3):
                    chat = gr.Chatbot(
                        label="Chat",
                        show_label=False,  # the label and a toolbar sat over the first message
                        buttons=["copy"],
                        height=640,
                        elem_id="chat",
                        latex_delimiters=[],
                        sanitize_html=True,
                        feedback_options=None,
                        group_consecutive_messages=False,
                        placeholder="Ask about the articles: answers come with their quote and source.",
                    )
                    with gr.Row():
                        question = gr.Textbox(
                            placeholder="Ask a question about the articles…",
                            show_label=False,
                            scale=5,
                            max_lines=3,
                            elem_id="question",
                        )
                        ask = gr.Button("Ask", variant="primary", scale=1, elem_id="ask")
                    with gr.Accordion("Only ask some articles", open=False, elem_id="scope"), gr.Row():
                        site = gr.Textbox(label="Site or URL contains", elem_id="scope-site", max_lines=1)
                        author = gr.Textbox(label="Author contains", elem_id="scope-author", max_lines=1)
                        since = gr.Textbox(label="Since (YYYY-MM-DD)", elem_id="scope-since", max_lines=1)
                        until = gr.Textbox(label="Until (YYYY-MM-DD)", elem_id="scope-until", max_lines=1)
                    if examples:
                        gr.Examples(examples=[[e] for e in examples], inputs=question, label="Examples")
                    new_chat = gr.Button("New conversation", size="sm")
                with gr.Column(scale=2):
                    with gr.Accordion("Add articles", open=True):
                        upload = gr.File(
                            label=f"Upload {types} (up to {self.config.max_upload_mb:g} MB)",
                            file_count="multiple",
                            file_types=sorted(SUPPORTED_SUFFIXES),
                            elem_id="upload",
                        )
                        upload_status = gr.Markdown(elem_id="upload-status")
                    with gr.Accordion("Index", open=False, elem_id="index-panel"):
                        summary = gr.Markdown(self.index_summary)
                        table = gr.Dataframe(
                            value=self.article_rows,
                            headers=["Title", "File", "Site", "Date", "Author", "Chunks"],
                            interactive=False,
                            wrap=True,
                            column_widths=["34%", "18%", "13%", "12%", "15%", "8%"],
                            max_height=360,
                            latex_delimiters=[],
                            label="Articles",
                        )
            inputs = [question, messages, turns, site, author, since, until]
            outputs = [question, chat, messages, turns]
            question.submit(self._respond_event, inputs, outputs, api_visibility="private")
            ask.click(self._respond_event, inputs, outputs, api_visibility="private")
            new_chat.click(lambda: ([], [], []), None, [chat, messages, turns], api_visibility="private")
            upload.upload(self.add_files, upload, upload_status, concurrency_limit=1, api_visibility="private").then(
                lambda: (self.index_summary(), self.article_rows(), None),
                None,
                [summary, table, upload],
                api_visibility="private",
            )
        page.queue(default_concurrency_limit=self.config.concurrency)
        self.uploaded = page.upload_file_set
        return page

    def _respond_event(self, message: str, messages: list, turns: list, *scope: str) -> tuple[str, list, list, list]:
        """:meth:`respond` as the page calls it: the messages go to the chat and back into the server's State
        (the last :data:`KEPT_MESSAGES` of them, and of the turns: a conversation's memory is bounded)."""
        cleared, chat, turns = self.respond(message, messages, turns, *scope)
        chat, turns = chat[-KEPT_MESSAGES:], turns[-KEPT_MESSAGES:]
        return cleared, chat, chat, turns


def serve(
    config: Config,
    auth: tuple[str, str] | None = None,
    examples: Sequence[str] = SEED_EXAMPLES,
    api_key: str | None = None,
) -> None:
    """Start the chat at ``/`` and the HTTP API (``/api``, ``/v1``, docs at ``/docs``) on ``config.host:config.port``,
    in one process (blocking), building the seed index first if there is none.

    ``auth`` is the login every route needs (the chat's login page; HTTP Basic for the API), ``api_key`` the
    bearer key the API also takes, and the chat's password when there is no login (see :class:`qa.guards.Access`).
    """
    engine = QA.open_or_build(config, progress=True, say=lambda line: print(line, flush=True))
    access = Access(login=auth, api_key=api_key)
    app = mount_chat(create_app(engine, access, config), ChatApp(config, engine).build(examples), access, config)
    host, port = config.host, config.port
    print(
        f"Article QA: open http://{host}:{port} in a browser; the API is at http://{host}:{port}/api "
        "(docs at /docs). Ctrl+C stops it.",
        flush=True,
    )
    run(app, host, port)


def mount_chat(app, page: gr.Blocks, access: Access, config: Config):
    """``app`` with the chat ``page`` mounted at ``/``, behind the same credentials as the API."""
    app = gr.mount_gradio_app(
        app,
        page,
        path="",
        auth=access.chat_login(),
        max_file_size=f"{config.max_upload_mb:g}mb",
        css=STYLE,
        footer_links=[],
        run_history=False,
        show_error=False,
    )
    # Gradio checks that every file path an event's payload names was uploaded by a user only once its
    # Blocks "launched" (gradio/processing_utils.py, _check_allowed, in 6.31): mounting never sets the flag,
    # so without this line a request could have any server file copied into the cache and served back.
    # tests/test_security.py replays that request against a real server.
    page.has_launched = True
    return app
