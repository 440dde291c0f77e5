"""The HTTP API as another program calls it: a real ``qa serve --no-chat`` on 127.0.0.1, over the fixture index."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import shutil
import urllib.error
import urllib.request
import uuid

import pytest

from qa.api import Access, create_app
from qa.config import Config
from tests.support import ARTICLES, serving

# One worker holds each server (starting one loads the models), so that the module's tests share it.
pytestmark = pytest.mark.xdist_group("http-api")

BRIDGE = ARTICLES / "harbor-bridge.txt"
NEW_ARTICLE = (
    "Lantern Hall opens in Port Alder\n\n"
    "The Lantern Hall concert venue opened on 2 February 2024 with seats for 1,400 people.\n\n"
    "It was designed by the architect Marisol Ortega and cost $12 million, paid by the city.\n"
)


def call(url: str, method: str = "GET", body: object = None, headers: dict | None = None, raw: bytes | None = None):
    """(status, parsed JSON or text) of one request."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if body is not None or raw is not None:
        request.add_header("Content-Type", (headers or {}).get("Content-Type", "application/json"))
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, text


def upload(url: str, files: list[tuple[str, bytes]], headers: dict | None = None):
    """POST files to ``/api/articles`` as multipart/form-data."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    headers = (headers or {}) | {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return call(url + "/api/articles", "POST", headers=headers, raw=body)


def ask(url: str, question: str, **fields):
    return call(url + "/api/ask", "POST", {"question": question, **fields})


@pytest.fixture(scope="module")
def api(fixture_index, tmp_path_factory):
    with serving(fixture_index, tmp_path_factory.mktemp("api"), "--no-chat") as url:
        yield url


def test_ask_answers_with_offsets_that_match_the_file(api):
    status, answer = ask(api, "How many vehicles will the bridge carry a day?")
    assert status == 200 and answer["found"] and answer["text"] == "18,000"
    text = BRIDGE.read_text()
    assert text[answer["start"] : answer["end"]] == answer["text"]
    first = answer["citations"][0]
    assert first["source"].endswith("harbor-bridge.txt") and text[first["start"] : first["end"]] == first["quote"]
    assert first["start"] <= answer["start"] and answer["end"] <= first["end"]
    assert answer["passages"] and 0 <= answer["score"] <= 1


def test_follow_up_through_history(api):
    _, first = ask(api, "Where is Kestrel Works based?")
    assert first["text"] == "Bristol"
    status, follow = ask(api, "When was it started?", history=[first])
    assert status == 200 and follow["text"] == "1998"
    _, from_question = ask(api, "When was it started?", history=["Where is Kestrel Works based?"])
    assert from_question["text"] == "1998"


def test_scope_limits_the_articles_asked(api):
    _, unscoped = ask(api, "Who designed the bridge?")
    assert unscoped["found"] and unscoped["citations"][0]["source"].endswith("harbor-bridge.txt")
    _, elsewhere = ask(api, "Who designed the bridge?", scope={"articles": ["kestrel-rail"]})
    assert elsewhere["article_id"] in (None, "kestrel-rail")
    assert all(p["article_id"] == "kestrel-rail" for p in elsewhere["passages"])
    status, nothing = ask(api, "Who designed the bridge?", scope={"since": "2090-01-01"})
    assert status == 200 and not nothing["found"] and "No indexed article matches the scope" in nothing["message"]
    status, error = ask(api, "Who designed the bridge?", scope={"since": "next week"})
    assert status == 422 and "since" in error["error"]["message"]


def test_upload_then_ask_then_delete(api):
    status, report = upload(api, [("lantern hall.txt", NEW_ARTICLE.encode()), ("notes.exe", b"MZ")])
    assert status == 200 and len(report["added"]) == 1, report
    assert [r["name"] for r in report["refused"]] == ["notes.exe"]
    article_id = report["added"][0]
    _, answer = ask(api, "Who designed the Lantern Hall?")
    assert answer["text"] == "Marisol Ortega" and answer["article_id"] == article_id
    assert NEW_ARTICLE[answer["start"] : answer["end"]] == "Marisol Ortega"
    _, listed = call(api + "/api/articles")
    assert article_id in [a["id"] for a in listed]

    status, removed = call(api + f"/api/articles/{article_id}", "DELETE")
    assert status == 200 and removed["removed"] == [article_id]
    _, after = ask(api, "Who designed the Lantern Hall?")
    assert after["article_id"] != article_id
    status, error = call(api + f"/api/articles/{article_id}", "DELETE")
    assert status == 404 and article_id in error["error"]["message"]


def test_stats_health_and_docs(api):
    _, listed = call(api + "/api/articles")
    status, stats = call(api + "/api/stats")
    assert status == 200 and stats["articles"] == len(listed) and stats["model"] == "all-MiniLM-L6-v2"
    status, health = call(api + "/api/health")
    assert status == 200 and health["status"] == "ok" and health["articles"] == len(listed)
    assert health["chunks"] == stats["chunks"] and health["model"] == stats["model"]
    status, spec = call(api + "/openapi.json")
    assert status == 200
    assert {"/api/ask", "/api/articles", "/api/articles/{article_id}", "/v1/chat/completions"} <= set(spec["paths"])
    assert "citations" in json.dumps(spec["components"]["schemas"]["Answer"])
    status, page = call(api + "/docs")
    assert status == 200 and "swagger" in page.lower()


def test_bad_requests_get_their_status_and_one_line(api):
    status, error = call(api + "/api/ask", "POST", raw=b'{"question": ')
    assert status == 422 and "not valid JSON" in error["error"]["message"]
    assert "\n" not in error["error"]["message"] and "Traceback" not in json.dumps(error)
    status, error = ask(api, "   ")
    assert status == 422 and error["error"]["message"].startswith("the question is empty")
    status, error = call(api + "/api/ask", "POST", {"k": 3})
    assert status == 422 and error["error"]["message"] == "question: Field required"
    status, error = upload(api, [("big.txt", b"word " * (6 * 1024 * 1024 // 5))])
    assert status == 413 and "big.txt: larger than the 5 MB limit" in error["error"]["message"]
    status, error = call(api + "/api/ask", "POST", raw=b'{"question": "' + b"a" * (2 * 1024 * 1024) + b'"}')
    assert status == 413
    status, error = upload(api, [("slides.pptx", b"PK")])
    assert status == 415 and "slides.pptx: not a supported type" in error["error"]["message"]
    status, answer = ask(api, "Where is Kestrel Works based? " * 200)
    assert status == 200 and len(answer["question"]) == 1000  # cut as the CLI cuts it


def test_upload_while_another_writer_holds_the_index(fixture_index, tmp_path):
    from index.lock import writer_lock

    with serving(fixture_index, tmp_path, "--no-chat") as url, writer_lock(tmp_path / "served-index"):
        status, error = upload(url, [("lantern.txt", NEW_ARTICLE.encode())])
        assert status == 409 and "being updated by process" in error["error"]["message"]
        assert not list((tmp_path / "served-index" / "uploads").glob("*")), "a refused upload leaves nothing behind"
        status, answer = ask(url, "Where is Kestrel Works based?")  # answering goes on meanwhile
        assert status == 200 and answer["text"] == "Bristol"


def test_concurrent_asks_during_an_upload_are_all_answered(api):
    questions = ["Where is Kestrel Works based?", "How many vehicles will the bridge carry a day?"] * 16
    expected = {"Where is Kestrel Works based?": "Bristol", "How many vehicles will the bridge carry a day?": "18,000"}
    big = "\n\n".join(f"Paragraph {n} of the council minutes about the market square." for n in range(400))
    with concurrent.futures.ThreadPoolExecutor(33) as pool:
        uploading = pool.submit(upload, api, [("minutes.txt", f"Market square minutes\n\n{big}".encode())])
        asked = [pool.submit(ask, api, q) for q in questions]
        results = [future.result() for future in asked]
        status, report = uploading.result()
    try:
        assert status == 200 and len(report["added"]) == 1
        assert [status for status, _ in results] == [200] * 32
        assert all(answer["text"] == expected[q] for q, (_, answer) in zip(questions, results, strict=True))
    finally:  # the server is shared by the module: leave its index as it was
        for article_id in report.get("added", []) if isinstance(report, dict) else []:
            removed, _ = call(api + f"/api/articles/{article_id}", "DELETE")
            assert removed == 200


def test_the_openai_client_gets_the_answer_and_its_citations(api):
    from openai import OpenAI

    client = OpenAI(base_url=api + "/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == ["article-qa"]
    reply = client.chat.completions.create(
        model="article-qa", messages=[{"role": "user", "content": "How many vehicles will the bridge carry a day?"}]
    )
    message = reply.choices[0].message
    assert message.content.startswith("18,000\n\nSources:\n[1] Port Alder approves new harbor bridge")
    citations = message.model_extra["citations"]
    text = BRIDGE.read_text()
    assert citations[0]["quote"] == text[citations[0]["start"] : citations[0]["end"]]
    assert citations[0]["quote"] in message.content
    span = message.model_extra["answer"]
    assert text[span["start"] : span["end"]] == "18,000"

    follow = client.chat.completions.create(
        model="article-qa",
        messages=[
            {"role": "system", "content": "You answer from the articles."},
            {"role": "user", "content": "Where is Kestrel Works based?"},
            {"role": "assistant", "content": "Bristol"},
            {"role": "user", "content": "When was it started?"},
        ],
    )
    assert follow.choices[0].message.content.startswith("1998")

    chunks = list(
        client.chat.completions.create(
            model="article-qa",
            messages=[{"role": "user", "content": "How many vehicles will the bridge carry a day?"}],
            stream=True,
        )
    )
    content = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert content == message.content
    streamed = [c.choices[0].delta.model_extra.get("citations") for c in chunks if c.choices]
    assert [c for c in streamed if c] == [citations]
    assert chunks[-1].choices[0].finish_reason == "stop"

    declined = client.chat.completions.create(
        model="article-qa", messages=[{"role": "user", "content": "What is the population of Tokyo?"}]
    )
    assert declined.choices[0].message.content == "Not found in the indexed articles."
    assert declined.choices[0].message.model_extra["citations"] == []


def test_with_a_login_every_route_needs_it(fixture_index, tmp_path):
    from openai import AuthenticationError, OpenAI

    basic = {"Authorization": "Basic " + base64.b64encode(b"ana:s3cret").decode()}
    with serving(fixture_index, tmp_path, "--no-chat", "--auth", "ana:s3cret", "--api-key", "k-123") as url:
        status, spec = call(url + "/openapi.json", headers=basic)
        assert status == 200
        routes = [(path, method.upper()) for path, item in spec["paths"].items() for method in item]
        assert len(routes) == 9  # /api: 7, /v1: 2
        for path, method in routes:
            concrete = url + path.replace("{article_id}", "kestrel-rail")
            body = {"question": "Where is Kestrel Works based?"} if method == "POST" else None
            assert call(concrete, method, body)[0] == 401, (path, method)
            wrong = {"Authorization": "Basic " + base64.b64encode(b"ana:wrong").decode()}
            assert call(concrete, method, body, headers=wrong)[0] == 401, (path, method)
        for page in ("/docs", "/openapi.json", "/redoc"):
            assert call(url + page)[0] == 401
        assert call(url + "/docs", headers=basic)[0] == 200
        assert call(url + "/api/health", headers=basic)[0] == 200
        assert call(url + "/api/articles", headers={"Authorization": "Bearer k-123"})[0] == 200
        status, answer = call(url + "/api/ask", "POST", {"question": "Where is Kestrel Works based?"}, headers=basic)
        assert status == 200 and answer["text"] == "Bristol"

        with pytest.raises(AuthenticationError):
            OpenAI(base_url=url + "/v1", api_key="wrong").models.list()
        client = OpenAI(base_url=url + "/v1", api_key="k-123")
        reply = client.chat.completions.create(
            model="article-qa", messages=[{"role": "user", "content": "Where is Kestrel Works based?"}]
        )
        assert reply.choices[0].message.content.startswith("Bristol")


def test_without_an_index_the_api_says_it_is_not_ready(tmp_path):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(None, Access(), Config(index_dir=tmp_path / "none")), base_url="http://localhost")
    response = client.get("/api/health")
    assert response.status_code == 503 and "no index at" in response.json()["error"]["message"]
    assert client.post("/api/ask", json={"question": "Who?"}).status_code == 503
    shutil.rmtree(tmp_path / "none", ignore_errors=True)
