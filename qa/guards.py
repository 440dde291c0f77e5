"""The HTTP server's guards, in front of every route (the API, its docs and the mounted chat).

- :class:`Access`: who may call (a login, an API key, both, or anyone) and what the chat's login page takes.
- :class:`HostGuard`: requests must name this server in ``Host`` (DNS rebinding) and state-changing requests
  from a browser must come from this server's own page (cross-site requests), unless their origin is allowed.
- :class:`AccessGuard`: the API's credentials (401) and the request body limits (413).
- :func:`stored_file_response`: an indexed file sent back, never rendered as a page of this origin.

Example::

    app.add_middleware(AccessGuard, access=Access(api_key="k"), upload_limit=100 << 20)
    app.add_middleware(HostGuard, hosts=allowed_hosts("127.0.0.1"), origins=())
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.responses import FileResponse

AUTH_ENV = "QA_AUTH"
"""Environment variable holding ``user:password`` when ``--auth`` is not given."""
API_KEY_ENV = "QA_API_KEY"
"""Environment variable holding the API key (``Authorization: Bearer …``) when ``--api-key`` is not given."""
MAX_JSON_BYTES = 1024 * 1024
"""The largest JSON request body (a question with a long history fits many times over)."""
MAX_DRAINED_BYTES = 32 * 1024 * 1024
"""A refused body up to this size is read to its end before the 413 is sent (see ``_drain``)."""
GUARDED_PREFIXES = ("/api/", "/v1/")
GUARDED_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Names a server on this machine always answers to."""
WILDCARD_HOSTS = ("0.0.0.0", "::", "")
"""Bound addresses that are not names a client uses (every interface)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
INLINE_TYPES = {".pdf": "application/pdf", ".txt": "text/plain; charset=utf-8", ".md": "text/plain; charset=utf-8"}
"""Stored files shown in the browser (as a PDF or as plain text); every other kind is sent as a download."""
STORED_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
"""Sent with every stored file: no type sniffing, and a sandbox (no script, no same-origin access) if a browser
ever renders it."""


INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})
"""Unicode categories removed from reply text: controls (escape sequences), format characters (direction
overrides, zero-width and tag characters), private-use and surrogate code points."""
_LINE_BREAKS = re.compile("[\n\r\u2028\u2029\x85]+")
_MARKUP = re.compile(r"([\\`*_\[\]<>|])")


def inert_text(text: str) -> str:
    """Article text for one line of a reply that clients render as Markdown (or HTML): line breaks made spaces
    (a quote cannot start a heading or a fake source line), control and format characters removed (direction
    overrides, zero-width and tag characters), and the characters that make markup (tags, links, code,
    emphasis, tables) backslash-escaped, so that they show as themselves and never format, link or run."""
    text = _LINE_BREAKS.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in INVISIBLE_CATEGORIES)
    return _MARKUP.sub(r"\\\1", text)


def error_body(status: int, message: str, kind: str) -> dict:
    """The JSON error shape every route answers with (the one OpenAI clients read)."""
    return {"error": {"message": message, "type": kind, "code": status}}


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``("user", "password")`` from ``"user:password"`` (default: ``$QA_AUTH``); ``None`` when unset.

    Raises:
        ValueError: the value has no ``:`` or an empty user or password.
    """
    value = value if value is not None else os.environ.get(AUTH_ENV)
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ValueError(f"--auth (or ${AUTH_ENV}) must look like user:password, got {value.split(':')[0]!r}:…")
    return user, password


@dataclass(frozen=True)
class Access:
    """Who may call the API: a login (HTTP Basic), an API key (``Bearer``), both, or anyone (neither set).

    With a login and no key, ``Bearer user:password`` is accepted too, so that OpenAI clients
    (which send only a bearer key) can be pointed at a server started with ``--auth`` alone.
    """

    login: tuple[str, str] | None = None
    api_key: str | None = None

    @property
    def is_open(self) -> bool:
        """Whether every request is let in."""
        return self.login is None and not self.api_key

    def chat_login(self):
        """What the chat's login page takes (Gradio's ``auth``): the login; with an API key alone, any user name
        with the key as the password; ``None`` when the server is open. The chat reads and changes the index,
        so no credential may leave it open."""
        if self.login is not None:
            return [self.login]
        if self.api_key:
            key = self.api_key.encode()
            return lambda user, password: secrets.compare_digest(str(password).encode(), key)
        return None

    def allows(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header value carries the login or the key."""
        if self.is_open:
            return True
        scheme, _, credentials = (authorization or "").partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "basic" and self.login is not None:
            try:
                given = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return secrets.compare_digest(given.encode(), ":".join(self.login).encode())
        if scheme.lower() == "bearer":
            key = self.api_key or (":".join(self.login) if self.login else "")
            return bool(key) and secrets.compare_digest(credentials.encode(), key.encode())
        return False


class _BodyTooLarge(Exception):
    pass


class AccessGuard:
    """ASGI middleware on the API's routes and docs: the access check (401) and the request body limits (413).

    The chat's own routes pass through untouched: Gradio checks its login itself.
    """

    def __init__(self, app, access: Access, upload_limit: int) -> None:
        self.app, self.access, self.upload_limit = app, access, upload_limit

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith(GUARDED_PREFIXES) or path in GUARDED_PATHS):
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value for name, value in scope.get("headers", ())}
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        if not self.access.allows(authorization):
            challenge = [] if path.startswith("/v1/") else [(b"www-authenticate", b'Basic realm="Article QA"')]
            message = "this server needs its login (HTTP Basic) or its API key (Authorization: Bearer …)"
            await send_json(send, 401, error_body(401, message, "authentication_error"), challenge)
            return
        upload = scope.get("method") == "POST" and path == "/api/articles"
        limit = self.upload_limit if upload else MAX_JSON_BYTES
        too_large = error_body(413, f"the request body is larger than {limit // 1024} KB", "invalid_request_error")
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _drain(receive, int(length))
            await send_json(send, 413, too_large)
            return
        received, started = 0, False

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await _drain(receive, MAX_DRAINED_BYTES)
                await send_json(send, 413, too_large)


async def _drain(receive, length: int) -> None:
    """Read and drop a refused request's body (up to :data:`MAX_DRAINED_BYTES`), so that a client still
    sending it reads the 413 instead of a broken pipe."""
    if length > MAX_DRAINED_BYTES:
        return
    more = True
    while more:
        message = await receive()
        more = message["type"] == "http.request" and message.get("more_body", False)


async def send_json(send, status: int, body: dict, headers: Sequence[tuple[bytes, bytes]] = (), scope=None) -> None:
    """Answer with a JSON body (a websocket is closed instead: it cannot carry one before it is accepted)."""
    if scope is not None and scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


def host_name(value: str) -> str:
    """The name in a ``Host`` header or an origin's network location, without its port, lower case
    (``[::1]:7860`` -> ``::1``)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(bound: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The names this server answers to: this machine's, the address it is bound to, and ``extra``
    (``--allowed-host``: a public name, or ``*.example.org`` for every name under it)."""
    names = {*LOCAL_HOSTS, *(host_name(name) for name in extra)}
    if bound not in WILDCARD_HOSTS:
        names.add(host_name(bound))
    return frozenset(names)


def is_allowed_host(name: str, allowed: frozenset[str]) -> bool:
    """Whether ``name`` (from :func:`host_name`) is one of ``allowed``. An IP address is always allowed:
    a rebinding page reaches the server under a name of its own, never under an address."""
    return any(_matches(name, pattern) for pattern in allowed) or _is_address(name)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostGuard:
    """ASGI middleware: the ``Host`` header must name this server (400), and a state-changing request (or a
    websocket) sent by a browser from another origin is refused (403), unless that origin is allowed.

    A page on another site can make the user's browser send requests to a server on their machine (planting
    an article with a cross-site form); a page whose name is rebound to this machine's address reads it
    under its own name. Browsers send ``Origin`` with every cross-origin POST, so a request without one
    (curl, the openai client) is let through: it cannot carry a visitor's cookies unwittingly.
    """

    def __init__(
        self, app, hosts: frozenset[str], origins: Sequence[str] = (), origin_hosts: Iterable[str] = ()
    ) -> None:
        self.app, self.hosts = app, hosts
        self.origins = frozenset(origin.rstrip("/").lower() for origin in origins)
        self.origin_hosts = frozenset(
            name for name in map(host_name, origin_hosts) if name not in LOCAL_HOSTS and not _is_address(name)
        )
        """Names a page of this server may be served under behind a proxy that rewrites ``Host`` (``--allowed-host``;
        never the names every server on the machine answers to, nor a bare address: a page of another local
        server, on another port, is another origin)."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {name.lower(): value.decode("latin-1") for name, value in scope.get("headers", ())}
        host = headers.get(b"host", "")
        if host and not is_allowed_host(host_name(host), self.hosts):
            message = f"this server does not answer to the host name {host_name(host)[:100]!r} (see --allowed-host)"
            await send_json(send, 400, error_body(400, message, "invalid_request_error"), scope=scope)
            return
        unsafe = scope["type"] == "websocket" or scope.get("method", "GET") not in SAFE_METHODS
        if unsafe and not self.same_or_allowed_origin(headers.get(b"origin"), headers.get(b"sec-fetch-site"), host):
            message = "cross-origin requests that change something are refused (see --allowed-origin)"
            await send_json(send, 403, error_body(403, message, "permission_error"), scope=scope)
            return
        await self.app(scope, receive, send)

    def same_or_allowed_origin(self, origin: str | None, fetch_site: str | None, host: str) -> bool:
        """Whether a request with these headers comes from this server's own page, an allowed origin, or no
        browser page at all."""
        if origin is None:
            return fetch_site in (None, "same-origin", "none")
        origin = origin.strip().lower().rstrip("/")
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if _without_default_port(parts.netloc, parts.scheme) == _without_default_port(
            host.strip().lower(), parts.scheme
        ):
            return True
        return any(_matches(parts.hostname, pattern) for pattern in self.origin_hosts)


def _matches(name: str, pattern: str) -> bool:
    """Whether a host name is ``pattern``, or lies under it when it is ``*.example.org``."""
    return name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:]))


def _without_default_port(netloc: str, scheme: str) -> str:
    """``host:port`` without the scheme's default port (``qa.example.org:443`` is ``qa.example.org`` for https)."""
    default = ":443" if scheme == "https" else ":80"
    return netloc.removesuffix(default)


def stored_file_response(path: Path) -> FileResponse:
    """An indexed file as a response that never runs as a page of this origin: a PDF or a text file inline
    (as itself, never sniffed), any other kind (an HTML page, a Word file) as a download; always sandboxed."""
    media_type = INLINE_TYPES.get(path.suffix.lower())
    return FileResponse(
        path,
        media_type=media_type or "application/octet-stream",
        filename=path.name,
        content_disposition_type="inline" if media_type else "attachment",
        headers=STORED_FILE_HEADERS,
    )
