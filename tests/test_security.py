"""What a hostile probe of ``qa serve`` found, replayed against a real server: each request must now be refused.

The probe (issue 28): payload paths that made the mounted chat read any server file, an uploaded page's
script run from our origin, Word zip bombs and damaged Word files, the chat open beside an API key,
cross-site requests and foreign Host names, markup and control characters in ``/v1`` content, over-long
upload names, an indexed file swapped for a link, refused uploads left behind, impossible scope dates.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from tests import documents
from tests.support import ARTICLES, CHROMIUM, CHROMIUM_FLAGS, ROOT, serving

pytestmark = pytest.mark.xdist_group("security")

SECRET = "The vault code is 7341-CARDINAL-ORCHID."
FILE_DATA = {"_type": "gradio.FileData"}
GOOD_ARTICLE = (
    "Lantern Hall opens in Port Alder\n\n"
    "The Lantern Hall concert venue opened on 2 February 2024 with seats for 1,400 people.\n\n"
    "It was designed by the architect Marisol Ortega and cost $12 million, paid by the city.\n"
)
HOSTILE_PAGE = """<!doctype html><html><head><title>Harbour notice</title></head><body>
<article><h1>Harbour notice</h1><p>The harbour master said the north quay reopens on 4 March after repairs
to the crane rails, which cost the port authority 2.1 million euros.</p></article>
<script>
  window.pwned = true;
  fetch('/api/articles').then(r => r.text()).then(t => { document.title = 'stolen:' + t.length; });
</script></body></html>"""
MARKUP_ARTICLE = (
    "Quay works notice\n\n"
    "The quay contractor is Brightwater \x1b[31mMarine\x1b[0m Ltd <script>alert(1)</script>, "
    "see [the plan](javascript:alert(2)) for details.\n\n"
    "Work on the quay starts in April and lasts eleven weeks.\n"
)


def request(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    """(status, headers, body bytes) of one request."""
    prepared = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(prepared, timeout=120) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def call_json(url: str, method: str = "GET", payload: object = None, headers: dict | None = None):
    """(status, parsed JSON) of one request with a JSON body."""
    body = json.dumps(payload).encode() if payload is not None else None
    status, _, data = request(url, method, body, {"Content-Type": "application/json"} | (headers or {}))
    return status, json.loads(data)


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body with ``files`` as its ``files`` field, and its content type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
        for name, data in files
    ]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(url: str, files: list[tuple[str, bytes]], headers: dict | None = None):
    """(status, parsed JSON) of an upload to ``/api/articles``."""
    body, content_type = multipart(files)
    status, _, data = request(url + "/api/articles", "POST", body, {"Content-Type": content_type} | (headers or {}))
    return status, json.loads(data)


def articles(url: str) -> list[dict]:
    status, listed = call_json(url + "/api/articles")
    assert status == 200
    return listed


def gradio_event(url: str, elem_id: str, trigger: str, data: list) -> dict:
    """Send one event of the chat page as its browser would (``/gradio_api/queue/join``), naming the component
    by its ``elem_id``; the final message of the event's stream (``process_completed``)."""
    config = json.loads(request(url + "/config")[2])
    by_id = {component["id"]: component for component in config["components"]}
    dependency = next(
        d
        for d in config["dependencies"]
        if any(
            by_id[target].get("props", {}).get("elem_id") == elem_id and event == trigger
            for target, event in d["targets"]
        )
    )
    session = uuid.uuid4().hex
    body = {
        "data": data,
        "event_data": None,
        "fn_index": dependency["id"],
        "trigger_id": dependency["targets"][0][0],
        "session_hash": session,
    }
    status, joined = call_json(url + "/gradio_api/queue/join", "POST", body)
    assert status == 200, joined
    with urllib.request.urlopen(url + f"/gradio_api/queue/data?session_hash={session}", timeout=120) as stream:
        for line in stream:
            if line.startswith(b"data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("the event's stream ended without its result")


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A folder of articles (the fixture articles and a notice) and a secret file outside it."""
    root = tmp_path_factory.mktemp("corpus")
    folder = root / "articles"
    folder.mkdir()
    for article in ARTICLES.iterdir():
        (folder / article.name).write_bytes(article.read_bytes())
    (folder / "notice.txt").write_text(
        "Ferry notice\n\nThe evening ferry to Gull Island leaves at 18:40 from pier 3.\n"
    )
    (root / "secret.txt").write_text(f"Private notes\n\n{SECRET}\n")
    return folder


@pytest.fixture(scope="module")
def corpus_index(corpus, tmp_path_factory, encoder) -> Path:
    from index.build import IndexWriter
    from qa.config import Config

    index_dir = tmp_path_factory.mktemp("corpus-index")
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([corpus])
    return index_dir


@pytest.fixture(scope="module")
def server(corpus_index, tmp_path_factory):
    """``qa serve`` with the chat, no credentials (the default setup), Gradio's cache in a folder of its own."""
    folder = tmp_path_factory.mktemp("security-server")
    cache = folder / "gradio-cache"
    with serving(corpus_index, folder, "--no-examples", env={"GRADIO_TEMP_DIR": str(cache)}) as url:
        yield url, folder / "served-index", cache


def test_a_payload_naming_a_server_file_reads_nothing(server, corpus):
    url, index_dir, cache = server
    secret = corpus.parent / "secret.txt"
    before = len(articles(url))
    history = [{"role": "user", "content": [{"type": "file", "file": {"path": str(secret), "meta": FILE_DATA}}]}]
    asked = gradio_event(url, "question", "submit", ["What is the vault code?", history, None, "", "", "", ""])
    shown = json.dumps(asked)
    assert SECRET not in shown and "secret.txt" not in shown
    for payload in ({"path": str(secret), "meta": FILE_DATA}, {"path": f"{cache}/../../secret.txt", "meta": FILE_DATA}):
        result = gradio_event(url, "upload", "upload", [[payload]])
        assert result["success"] is False or "nothing was indexed" in json.dumps(result), result
    assert all(SECRET not in path.read_text(errors="replace") for path in files_under(cache))
    assert all(SECRET not in path.read_text(errors="replace") for path in files_under(index_dir / "uploads"))
    assert len(articles(url)) == before
    status, answer = call_json(url + "/api/ask", "POST", {"question": "What is the vault code?"})
    assert status == 200 and "CARDINAL" not in json.dumps(answer)

    # A file the page itself sent (through Gradio's upload route) is still taken.
    body, content_type = multipart([("lantern.txt", GOOD_ARTICLE.encode())])
    status, _, data = request(url + "/gradio_api/upload", "POST", body, {"Content-Type": content_type})
    assert status == 200
    (path,) = json.loads(data)
    added = gradio_event(url, "upload", "upload", [[{"path": path, "orig_name": "lantern.txt", "meta": FILE_DATA}]])
    assert added["success"] is True and "Added 1 article" in json.dumps(added)
    assert len(articles(url)) == before + 1


def test_an_uploaded_page_never_runs_as_our_origin(server, tmp_path):
    from playwright.sync_api import Error, sync_playwright

    url, _, _ = server
    documents.report_pdf(tmp_path / "harbour-review.pdf")
    files = [("notice.html", HOSTILE_PAGE.encode()), ("notice-copy.txt", HOSTILE_PAGE.encode())]
    status, report = upload(url, [*files, ("harbour-review.pdf", (tmp_path / "harbour-review.pdf").read_bytes())])
    assert status == 200 and len(report["added"]) == 3, report
    by_source = {Path(a["source"]).name: a["id"] for a in articles(url)}
    page_url = f"{url}/api/articles/{by_source['notice.html']}/file"
    text_url = f"{url}/api/articles/{by_source['notice-copy.txt']}/file"
    pdf_url = f"{url}/api/articles/{by_source['harbour-review.pdf']}/file"
    status, headers, _ = request(page_url)
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Content-Security-Policy"] == "sandbox"
    status, headers, _ = request(text_url)
    assert headers["Content-Type"].startswith("text/plain") and headers["Content-Security-Policy"] == "sandbox"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(accept_downloads=True)
        page.goto(url + "/api/health")
        # a download is not a page: Chromium aborts the navigation
        with page.expect_download() as download, contextlib.suppress(Error):
            page.goto(page_url)
        assert download.value.suggested_filename == "notice.html"
        assert page.evaluate("window.pwned") is None and not page.title().startswith("stolen")
        page.goto(text_url)
        page.wait_for_timeout(300)
        assert "<script>" in page.inner_text("body")
        assert page.evaluate("window.pwned") is None and not page.title().startswith("stolen")
        page.goto(pdf_url)  # a PDF still opens in the browser's viewer, sandbox and all
        page.wait_for_function("document.contentType === 'application/pdf'")
        assert "pdf_embedder" in page.content()
        browser.close()


def test_damaged_and_bomb_word_files_are_named_and_skipped_through_the_api(server, tmp_path):
    url, index_dir, _ = server
    made = {}
    for name in ("malformed.docx", "laughs.docx", "long-text.docx", "bomb.docx"):
        documents.HOSTILE_DOCX[name](tmp_path / name)
        made[name] = (tmp_path / name).read_bytes()
    status, body = upload(
        url, [*made.items(), ("ferry fares.txt", b"Ferry fares\n\nA return ticket costs 14 euros.\n")]
    )
    assert status == 422, body
    message = body["error"]["message"]
    assert all(name in message for name in made) and "the other files were indexed" in message
    assert len(body["report"]["added"]) == 1
    status, answer = call_json(url + "/api/ask", "POST", {"question": "How much does a return ferry ticket cost?"})
    assert answer["text"] == "14 euros"
    assert sorted(path.name for path in files_under(index_dir / "uploads") if path.suffix == ".docx") == []


def test_cross_site_requests_and_foreign_host_names_are_refused(server):
    url, _, _ = server
    before = len(articles(url))
    body, content_type = multipart([("planted.txt", b"Planted\n\nThe mayor resigned on Tuesday.\n")])
    status, _, data = request(
        url + "/api/articles", "POST", body, {"Content-Type": content_type, "Origin": "http://evil.example"}
    )
    assert status == 403 and "cross-origin" in json.loads(data)["error"]["message"]
    other_local_server = url.rsplit(":", 1)[0] + ":8000"  # another server on this machine is another origin
    for origin in ("null", "http://127.0.0.1.evil.example", other_local_server):
        status, _, _ = request(url + "/api/ask", "POST", b'{"question": "x"}', {"Origin": origin})
        assert status == 403
    status, _, _ = request(url + "/gradio_api/queue/join", "POST", b"{}", {"Origin": "http://evil.example"})
    assert status == 403
    assert len(articles(url)) == before
    # the server's own page may post (same origin), and a preflight from elsewhere gets no CORS grant
    same = url.replace("http://", "")
    status, _, _ = request(url + "/api/ask", "POST", b'{"question": "Who designed the bridge?"}',
                           {"Origin": url, "Content-Type": "application/json"})  # fmt: skip
    assert status == 200
    status, headers, _ = request(
        url + "/api/articles",
        "OPTIONS",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in headers
    for path in ("/api/articles", "/", "/config"):
        status, _, data = request(url + path, headers={"Host": "evil.example:7860"})
        assert status == 400 and b"evil.example" in data
    assert request(url + "/api/health", headers={"Host": same})[0] == 200
    assert request(url + "/api/health", headers={"Host": "localhost"})[0] == 200


def test_an_allowed_host_and_origin_are_let_in(fixture_index, tmp_path):
    options = ("--no-chat", "--allowed-host", "qa.example.org", "--allowed-origin", "https://app.example.org")
    with serving(fixture_index, tmp_path, *options) as url:
        assert request(url + "/api/health", headers={"Host": "qa.example.org"})[0] == 200
        assert request(url + "/api/health", headers={"Host": "evil.example"})[0] == 400
        status, headers, _ = request(
            url + "/api/ask",
            "POST",
            b'{"question": "Who designed the bridge?"}',
            {"Origin": "https://app.example.org", "Content-Type": "application/json"},
        )
        assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://app.example.org"
        # behind a proxy that sends its own Host, the server's page (served under the allowed name) may post
        proxied = {"Origin": "https://qa.example.org", "Host": "127.0.0.1:7860", "Content-Type": "application/json"}
        assert request(url + "/api/ask", "POST", b'{"question": "Who designed the bridge?"}', proxied)[0] == 200
        proxied["Origin"] = "https://evil.example"
        assert request(url + "/api/ask", "POST", b'{"question": "Who designed the bridge?"}', proxied)[0] == 403


def test_an_api_key_alone_closes_the_chat_too(fixture_index, tmp_path):
    with serving(fixture_index, tmp_path, "--no-examples", "--api-key", "k3y-only") as url:
        for path, method in (("/config", "GET"), ("/gradio_api/info", "GET"), ("/gradio_api/upload", "POST")):
            assert request(url + path, method, b"" if method == "POST" else None)[0] == 401, path
        status, _, _ = request(url + "/gradio_api/queue/join", "POST", b"{}", {"Content-Type": "application/json"})
        assert status == 401
        assert request(url + "/api/articles")[0] == 401
        assert request(url + "/api/articles", headers={"Authorization": "Bearer k3y-only"})[0] == 200
        # the chat's login page takes the key as its password
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        assert request(url + "/login", "POST", b"username=ana&password=wrong", form)[0] >= 400
        status, headers, _ = request(url + "/login", "POST", b"username=ana&password=k3y-only", form)
        assert status == 200
        cookie = headers["Set-Cookie"].split(";")[0]
        assert request(url + "/config", headers={"Cookie": cookie})[0] == 200


def test_v1_content_carries_no_control_characters_or_live_markup(server):
    url, _, _ = server
    status, report = upload(url, [("quay.txt", MARKUP_ARTICLE.encode())])
    assert status == 200 and len(report["added"]) == 1
    status, reply = call_json(
        url + "/v1/chat/completions",
        "POST",
        {"model": "article-qa", "messages": [{"role": "user", "content": "Who is the quay contractor?"}]},
    )
    message = reply["choices"][0]["message"]
    content = message["content"]
    assert "Brightwater" in content, content
    assert not any(ord(c) < 32 and c not in "\n\t" for c in content), content
    # as a chat client shows it: Markdown with raw HTML allowed (CommonMark)
    shown = MarkdownIt("commonmark", {"html": True}).render(content)
    assert "<script" not in shown and "<a " not in shown and "&lt;script&gt;" in shown, shown
    quotes = [citation["quote"] for citation in message["citations"]]
    assert any("\x1b[31m" in quote and "<script>" in quote for quote in quotes), "citations keep the exact text"


def test_a_long_upload_name_is_shortened(server):
    url, index_dir, _ = server
    name = "ferry timetable " + "é" * 150 + ".txt"  # 318 bytes in UTF-8: over any file system's limit
    status, report = upload(url, [(name, b"Winter timetable\n\nThe first winter ferry leaves at 06:15.\n")])
    assert status == 200 and len(report["added"]) == 1, report
    kept = [p for p in files_under(index_dir / "uploads") if p.name.startswith("ferry timetable")]
    assert len(kept) == 1 and len(kept[0].name.encode()) <= 255 and kept[0].suffix == ".txt"


def test_an_upload_name_with_a_path_stays_in_the_upload_folder(server):
    url, index_dir, _ = server
    status, report = upload(
        url, [("../../../escape-notes.txt", b"Pier notes\n\nThe pier lights were fixed on Friday.\n")]
    )
    assert status == 200 and len(report["added"]) == 1, report
    assert (index_dir / "uploads" / "escape-notes.txt").is_file()
    assert not list(index_dir.parent.rglob("escape-notes.txt"))[1:], "one copy, inside uploads/"


def test_an_indexed_file_swapped_for_a_link_is_not_served(server, corpus):
    url, _, _ = server
    by_source = {Path(a["source"]).name: a["id"] for a in articles(url)}
    file_url = f"{url}/api/articles/{by_source['notice.txt']}/file"
    status, _, data = request(file_url)
    assert status == 200 and b"Gull Island" in data
    original = corpus / "notice.txt"
    kept = original.read_bytes()
    original.unlink()
    original.symlink_to(corpus.parent / "secret.txt")
    try:
        status, _, data = request(file_url)
        assert status == 404 and SECRET.encode() not in data
    finally:
        original.unlink()
        original.write_bytes(kept)
    for bad in ("no-such-article", "..", "%2e%2e%2fsecret.txt"):
        assert request(f"{url}/api/articles/{bad}/file")[0] == 404


def test_an_impossible_scope_date_gets_422(server):
    url, _, _ = server
    for date in ("2024-13-45", "2023-02-29"):
        status, error = call_json(url + "/api/ask", "POST", {"question": "Who?", "scope": {"since": date}})
        assert status == 422 and "since" in error["error"]["message"]
    status, _ = call_json(url + "/api/ask", "POST", {"question": "Who?", "scope": {"since": "2024-02-29"}})
    assert status == 200


def test_a_build_names_and_skips_bad_word_files_and_keeps_the_good_ones(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    documents.memo_docx(folder / "memo.docx")
    for name, make in documents.HOSTILE_DOCX.items():
        make(folder / name)
    command = [sys.executable, "-m", "qa.cli", "index", "build", str(folder), "--index", str(tmp_path / "index")]
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    assert all(f"{name}:" in printed for name in documents.HOSTILE_DOCX), printed
    assert "1 added" in printed
    strict = subprocess.run([*command, "--strict"], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert strict.returncode != 0 and any(f"{name}:" in strict.stderr for name in documents.HOSTILE_DOCX)
    assert len(strict.stderr.strip().splitlines()) == 1, strict.stderr
