"""The HTTP API: JSON routes under ``/api`` and an OpenAI-compatible chat under ``/v1``, citations kept.

``qa serve`` runs these beside the chat in one process (the chat is mounted on this app by
:func:`ui.app.serve`); ``qa serve --no-chat`` serves them alone. FastAPI documents every route
at ``/docs`` and ``/openapi.json``. Errors are JSON, ``{"error": {"message", "type", "code"}}``
(the shape OpenAI clients read), with one clear line and the status that says what went wrong.

Example::

    from qa.api import create_app, run
    from qa.guards import Access
    run(create_app(QA(config=config), Access(login=("ana", "s3cret"))), "127.0.0.1", 7860)
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, Literal

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware

from index.layout import Manifest
from index.store import ArticleRecord
from qa.config import Config
from qa.engine import QA
from qa.errors import BadQuestion, IndexCorrupt, IndexLocked, IndexNotFound, QAError
from qa.guards import (
    Access,
    AccessGuard,
    HostGuard,
    allowed_hosts,
    error_body,
    inert_text,
    stored_file_response,
)
from qa.types import SOURCES_HEADING, Answer, Scope
from qa.uploads import check_upload, keep_uploads

log = logging.getLogger(__name__)

MODEL_ID = "article-qa"
"""The one model ``/v1/models`` lists; a chat completion answers whatever model it names."""
MAX_UPLOAD_FILES = 20
"""Files one upload request may carry; with each file at most ``Config.max_upload_mb``, this bounds its body."""


class ApiError(Exception):
    """An error the API answers with ``status`` and one line."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


# --- request and response models -------------------------------------------------------------------------


class ScopeIn(BaseModel):
    """Ask only the articles that match every field given (see ``qa.types.Scope``)."""

    model_config = ConfigDict(extra="forbid")

    site: str | None = Field(None, description="part of the article's site name or URL, case-insensitive")
    author: str | None = Field(None, description="part of the byline, case-insensitive")
    since: str | None = Field(None, description="earliest publication date, ISO (2024, 2024-03 or 2024-03-18)")
    until: str | None = Field(None, description="latest publication date, ISO, inclusive")
    articles: list[str] = Field(default_factory=list, description="article ids; the article must be one of them")


class AskRequest(BaseModel):
    """A question, with the conversation so far for follow-ups."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., description="the question", examples=["Who founded SenseTime?"])
    history: list[str | dict[str, Any]] = Field(
        default_factory=list,
        description="earlier turns, oldest first: questions (strings), earlier answers as /api/ask returned "
        "them (objects with 'question' and 'text'), or chat messages ({'role', 'content'})",
    )
    k: int | None = Field(None, ge=1, le=50, description="passages to retrieve (default: the server's)")
    scope: ScopeIn | None = None


class RefusedOut(BaseModel):
    """An uploaded file that was not indexed."""

    name: str
    reason: str


class ReportOut(BaseModel):
    """What an upload or a removal did to the index."""

    added: list[str]
    updated: list[str]
    removed: list[str]
    unchanged: int
    duplicates: int
    missing: list[str]
    problems: list[str] = Field(description="files that could not be read, each with its reason")
    notes: list[str]
    refused: list[RefusedOut] = Field(default_factory=list, description="uploads refused (type, size)")
    articles: int
    chunks: int
    seconds: float
    summary: str


class HealthOut(BaseModel):
    """Whether the server can answer, and what from."""

    status: Literal["ok"]
    index: str
    articles: int
    chunks: int
    model: str


class ChatMessage(BaseModel):
    """One message of an OpenAI chat (text content, or a list of parts whose text parts are read)."""

    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text."""
        if isinstance(self.content, list):
            return " ".join(str(part.get("text", "")) for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatRequest(BaseModel):
    """An OpenAI chat completion request: the last user message is the question, earlier turns the history.

    Sampling settings (``temperature``, ``max_tokens`` …) are accepted and have no effect: answers are
    extractive. ``scope`` (an extension, ``extra_body`` in the openai client) limits the articles asked.
    """

    model_config = ConfigDict(extra="allow")

    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False
    scope: ScopeIn | None = None


# --- the app ---------------------------------------------------------------------------------------------


def _scope(scope: ScopeIn | None) -> Scope | None:
    if scope is None:
        return None
    try:
        return Scope(scope.site or None, scope.author or None, scope.since, scope.until, tuple(scope.articles))
    except ValueError as error:
        raise ApiError(422, f"scope: {error}") from None


def _history(items: Sequence[object]) -> list[object]:
    """``AskRequest.history`` in the shapes :mod:`qa.conversation` reads."""
    turns: list[object] = []
    for number, item in enumerate(items):
        if isinstance(item, str) or (isinstance(item, dict) and "role" in item):
            turns.append(item)
        elif isinstance(item, dict) and isinstance(item.get("question"), str):
            turns.append((item["question"], item.get("text") if isinstance(item.get("text"), str) else ""))
        else:
            raise ApiError(422, f"history[{number}]: give a question, an earlier answer or a chat message")
    return turns


def _report(report, refused=()) -> ReportOut:
    return ReportOut(
        added=report.added,
        updated=report.updated,
        removed=report.removed,
        unchanged=report.unchanged,
        duplicates=report.duplicates,
        missing=report.missing,
        problems=[str(problem) for problem in report.problems],
        notes=report.notes,
        refused=[RefusedOut(name=r.name, reason=r.reason) for r in refused],
        articles=report.articles,
        chunks=report.chunks,
        seconds=round(report.seconds, 3),
        summary=report.summary(),
    )


def chat_content(answer: Answer) -> str:
    """An answer as a chat reply's text: the answer, then its numbered sources (title, date, quote). Article
    text in it is made inert (:func:`qa.guards.inert_text`); the structured citations keep it exact."""
    if not answer.found:
        return inert_text(answer.message)
    lines = [inert_text(answer.lead)]
    if answer.listed:
        numbers = {(c.article_id, c.start): n for n, c in enumerate(answer.citations, 1)}
        lines += [
            f"- {inert_text(p.text)} [{numbers.get((p.citation.article_id, p.citation.start), 1)}]"
            for p in answer.parts
        ]
    elif answer.kind in ("yesno", "why", "how") and answer.parts:  # the sentence that settles or explains it
        said = answer.citations[0].quote
        lines = [inert_text(f"{answer.lead} {said}" if answer.kind == "yesno" else said)]
    if answer.message:  # "Only one of the indexed articles speaks of this."
        lines += ["", inert_text(answer.message)]
    lines += ["", SOURCES_HEADING]
    for number, citation in enumerate(answer.citations, 1):
        dated = f" ({inert_text(citation.date)})" if citation.date else ""
        quote = f": “{inert_text(citation.quote)}”" if citation.quote else ""
        lines.append(f"[{number}] {inert_text(citation.title)}{dated}{quote}")
    return "\n".join(lines)


def _answer_fields(answer: Answer) -> dict:
    """What rides along with a chat reply: the structured citations and the answer's own span, kind, verdict and
    parts."""
    return {
        "citations": [asdict(citation) for citation in answer.citations],
        "answer": {
            "text": answer.text,
            "found": answer.found,
            "score": answer.score,
            "article_id": answer.article_id,
            "start": answer.start,
            "end": answer.end,
            "kind": answer.kind,
            "verdict": answer.verdict,
            "parts": [asdict(part) for part in answer.parts],
        },
    }


class _Engine:
    """The engine the routes share, opened on first use when the server started without an index."""

    def __init__(self, config: Config, engine: QA | None) -> None:
        self.config, self._engine, self._lock = config, engine, threading.Lock()

    def get(self) -> QA:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = QA(config=self.config)
        return self._engine


def create_app(engine: QA | None, access: Access | None = None, config: Config | None = None) -> FastAPI:
    """The API over ``engine`` (or, when ``None``, over the index at ``config.index_dir`` once there is one).

    Every route under ``/api`` and ``/v1``, and the docs, require ``access``'s login or key when set.
    """
    config = config or (engine.config if engine is not None else Config())
    access = access or Access()
    engines = _Engine(config, engine)
    app = FastAPI(
        title="Article QA",
        summary="Extractive answers from a collection of articles, each with its exact citation.",
        version="1",
    )

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError) -> JSONResponse:
        return JSONResponse(error_body(error.status, error.message, error.kind), status_code=error.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(422, _validation_message(error), "invalid_request_error"), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(error.status_code, str(error.detail), "invalid_request_error"), error.status_code
        )

    @app.exception_handler(QAError)
    async def _qa_error(request: Request, error: QAError) -> JSONResponse:
        status = _status_of(error)
        return JSONResponse(error_body(status, str(error), type(error).__name__), status_code=status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        message = "something went wrong while answering; the server log has the details"
        return JSONResponse(error_body(500, message, "server_error"), status_code=500)

    def ask(question: str, history: Sequence[object], k: int | None, scope: Scope | None) -> Answer:
        try:
            return engines.get().ask(question, history=history, k=k, where=scope)
        except BadQuestion as error:
            raise ApiError(422, str(error)) from None

    @app.post("/api/ask", response_model=Answer, tags=["answers"], summary="Answer a question, with citations")
    def api_ask(request: AskRequest) -> Answer:
        """The answer (``found`` false and ``message`` set when the articles do not say), its citations
        with character offsets into the article, the passages read, and other articles' differing answers."""
        return ask(request.question, _history(request.history), request.k, _scope(request.scope))

    @app.get("/api/articles", response_model=list[ArticleRecord], tags=["articles"], summary="The indexed articles")
    def api_articles() -> list[ArticleRecord]:
        """Every indexed article's id, title, source, URL, date, author, site and chunk count."""
        return engines.get().articles()

    @app.post("/api/articles", response_model=ReportOut, tags=["articles"], summary="Upload articles")
    def api_upload(files: list[UploadFile] = File(..., description="the files (.txt, .md, .html, .json, .jsonl)")):  # noqa: B008
        """Index the uploaded files (the chat's types, size limit and name rules); the build report back.

        A file over the size limit refuses the whole upload (413); a file of another type is listed in
        ``refused`` (415 when no file could be taken); a file that cannot be read (a damaged Word file, a
        zip bomb) gets a 422 naming it, with the report of the rest (indexed) under ``report``."""
        if len(files) > MAX_UPLOAD_FILES:
            raise ApiError(413, f"at most {MAX_UPLOAD_FILES} files per upload; send the rest in another request")
        contents = [(file.filename or "upload", file.file.read()) for file in files]
        too_large = [
            str(r) for r in (check_upload(n, len(d), config.max_upload_mb) for n, d in contents) if r and r.too_large
        ]
        if too_large:
            raise ApiError(413, "; ".join(too_large) + "; nothing was indexed")
        result = keep_uploads(engines.get(), contents)
        if result.report is None:
            raise ApiError(415, "; ".join(str(r) for r in result.refused))
        report = _report(result.report, result.refused)
        if result.unread:  # the readable files are indexed; the client must still see that some were not
            others = " (the other files were indexed)" if result.report.added or result.report.updated else ""
            message = "; ".join(str(problem) for problem in result.unread) + others
            return JSONResponse(
                error_body(422, message, "invalid_request_error") | {"report": report.model_dump()}, 422
            )
        return report

    @app.get(
        "/api/articles/{article_id}/file",
        tags=["articles"],
        summary="The file an article was read from",
        response_class=FileResponse,
    )
    def api_article_file(article_id: str):
        """The indexed file itself (a PDF opens at a page with ``#page=N``); 404 when unknown or moved away."""
        path = engines.get().article_file(article_id)
        if path is None:
            raise ApiError(
                404, f"no file for article {article_id!r} (unknown, or moved since it was indexed)", "not_found"
            )
        return stored_file_response(path)

    @app.delete("/api/articles/{article_id}", response_model=ReportOut, tags=["articles"], summary="Remove an article")
    def api_remove(article_id: str) -> ReportOut:
        """Remove one article by id (404 when the index has no such article)."""
        report = engines.get().remove([article_id])
        if report.missing:
            raise ApiError(404, f"no article with id {article_id!r} in the index", "not_found")
        return _report(report)

    @app.get("/api/stats", response_model=Manifest, tags=["index"], summary="The index's manifest and counts")
    def api_stats() -> Manifest:
        """Format, embedding model, chunking settings, article/chunk/sentence counts, build and update times."""
        return engines.get().stats()

    @app.get("/api/health", response_model=HealthOut, tags=["index"], summary="Whether the server can answer")
    def api_health() -> HealthOut:
        """``ok`` with the index's counts and model when it is loaded; 503 when there is no usable index."""
        current = engines.get()
        manifest = current.stats()
        return HealthOut(
            status="ok",
            index=str(current.config.index_dir),
            articles=manifest.articles,
            chunks=manifest.chunks,
            model=manifest.model,
        )

    @app.get("/v1/models", tags=["openai"], summary="The models (one: article-qa)")
    def v1_models() -> dict:
        """OpenAI's model list, with the one model this server answers as."""
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "article-qa"}]}

    @app.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completion")
    def v1_chat(request: ChatRequest):
        """The last user message is asked, earlier messages are the history. The reply's content is the
        answer and its numbered sources; ``message.citations`` (``delta.citations`` when streaming) holds
        them with offsets, ``message.answer`` the answer's own span and score."""
        users = [n for n, message in enumerate(request.messages) if message.role == "user"]
        if not users:
            raise ApiError(422, "messages: there is no user message to answer")
        last = users[-1]
        history = [{"role": m.role, "content": m.text()} for m in request.messages[:last] if m.role != "system"]
        answer = ask(request.messages[last].text(), history, None, _scope(request.scope))
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        content, extra = chat_content(answer), _answer_fields(answer)
        if not request.stream:
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": created,
                "model": request.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, **extra},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }

        def chunk(delta: dict, finish: str | None = None) -> str:
            body = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": request.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(body)}\n\n"

        events = [
            chunk({"role": "assistant", "content": ""}),
            chunk({"content": content, **extra}),  # the extractive answer comes whole, citations with it
            chunk({}, "stop"),
            "data: [DONE]\n\n",
        ]
        return StreamingResponse(iter(events), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    # Starlette adds each middleware outside the ones before it: the host and origin checks run first,
    # then CORS (closed unless origins are allowed; Gradio's own CORS policy defers to it), then credentials.
    app.add_middleware(AccessGuard, access=access, upload_limit=_upload_limit(config))
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(config.allowed_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["*"],  # the openai clients send headers of their own; the origins are named
    )
    app.add_middleware(
        HostGuard,
        hosts=allowed_hosts(config.host, config.allowed_hosts),
        origins=config.allowed_origins,
        origin_hosts=config.allowed_hosts,
    )
    return app


def _upload_limit(config: Config) -> int:
    """The largest upload request body: the most files at the largest size, with room for the form's framing."""
    return int(config.max_upload_mb * 1024 * 1024) * MAX_UPLOAD_FILES + 64 * 1024


def _status_of(error: QAError) -> int:
    if isinstance(error, IndexLocked):
        return 409
    if isinstance(error, (IndexNotFound, IndexCorrupt)):
        return 503
    if isinstance(error, BadQuestion):
        return 422
    return 400


def _validation_message(error: RequestValidationError) -> str:
    """One line for the first problem pydantic found ("question: Field required")."""
    first = error.errors()[0] if error.errors() else {}
    if first.get("type") == "json_invalid":
        where = [part for part in first.get("loc", ()) if isinstance(part, int)]
        at = f" at character {where[0]}" if where else ""
        return f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'cannot be parsed')}{at})"
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid request")
    return f"{where}: {message}" if where else message


def run(app, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn on ``host:port`` until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)


def serve_api(config: Config, access: Access | None = None) -> None:
    """``qa serve --no-chat``: the API alone, over the index (built from the seeds first if there is none)."""
    engine = QA.open_or_build(config, progress=True, say=lambda line: print(line, flush=True))
    print(f"Article QA API: http://{config.host}:{config.port}/api (docs at /docs; Ctrl+C stops it)", flush=True)
    run(create_app(engine, access, config), config.host, config.port)
