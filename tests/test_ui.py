"""The chat page: replies are safe, cited HTML; uploads are checked; and the whole page works in Chromium."""

from __future__ import annotations

import base64
import dataclasses
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from qa.types import Answer, Citation, Part
from qa.uploads import safe_name
from tests import documents
from tests.support import CHROMIUM, CHROMIUM_FLAGS, serving
from ui.render import escape, render_answer

SCRIPT_ARTICLE = (
    "Museum website defaced\n\n"
    "On 3 May the Orchard Museum found the code <script>alert(1); window.pwned = 'script'</script> on its home"
    " page.\n\n"
    "Attackers had also added <img src=x onerror=\"alert(2); window.pwned = 'img'\"> to the donation page.\n\n"
    "The museum said no visitor data was taken.\n"
)
QUESTION_PAYLOAD = "<img src=y onerror=\"alert(3); window.pwned = 'question'\"><script>window.pwned = 'q'</script>"


def _answer_with(quote: str, answer_text: str) -> Answer:
    start = quote.index(answer_text)
    citation = Citation("a1", "A <b>title</b>", "news/a.txt", 100, 100 + len(quote), quote)
    return Answer("q?", answer_text, True, 0.9, "a1", 100 + start, 100 + start + len(answer_text), (citation,))


def test_article_markup_is_shown_as_text():
    html = render_answer(_answer_with("It printed <script>alert(1)</script> and <img src=x onerror=alert(2)>.", "It"))
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&#60;script&#62;alert(1)&#60;/script&#62;" in html


def test_answer_span_is_highlighted_inside_the_quote():
    html = render_answer(_answer_with("The bridge will cost $45 million, the council said.", "$45 million"))
    assert re.search(r'<mark class="qa-answer">&#36;45 million</mark>', html)
    assert "characters 100–151" in html
    assert "\n" not in html, "one line, so that Markdown leaves the HTML alone"


def test_sources_give_rank_and_what_they_hold_never_a_bare_score_nor_a_headline_alone():
    from qa.types import Passage

    body = "The bridge will cost $45 million, the council said."
    passages = (
        Passage(1, "a1", "Harbour bridge approved", "b.txt", 0, 23, "Harbour bridge approved", 0.98),
        Passage(2, "a1", "Harbour bridge approved", "b.txt", 100, 100 + len(body), body, 0.97),
        Passage(3, "a2", "Ferry news", "f.txt", 0, 40, "The ferry will stop running in 2027, too.", 0.5),
    )
    answer = dataclasses.replace(_answer_with(body, "$45 million"), passages=passages)
    html = render_answer(answer)
    assert "score 0.9" not in html and "Sources (2 passages)" in html
    assert html.count("<li>") == 2 and "Harbour bridge approved</span> <span" in html
    assert "#1 · holds the answer" in html and "#2</span>" in html


def test_a_pdf_citation_links_the_file_at_its_page():
    answer = _answer_with("The bridge will cost $45 million, the council said.", "$45 million")
    answer = dataclasses.replace(answer, citations=(dataclasses.replace(answer.citations[0], page=4),))
    html = render_answer(answer)
    assert '<a href="/api/articles/a1/file#page=4" target="_blank" rel="noopener">' in html
    assert ", p. 4</a>" in html


@pytest.mark.parametrize(
    ("question", "caption"),
    [
        ("What is this article about?", "The key sentences of the best-matching article"),
        (
            "Who is Grace Whitlow?",
            "The key sentences that name Grace Whitlow, from the first matching article that does",
        ),
        (
            "Tell me about Grace Whitlow",
            "The key sentences that name Grace Whitlow, from the first matching article that does",
        ),
    ],
)
def test_a_summary_says_which_sentences_it_quotes(question, caption):
    quote = "Grace Whitlow, 34, runs the Harbour Street bakery."
    citation = Citation("a1", "Bakery reopens", "news/a.txt", 0, len(quote), quote)
    part = Part(quote, 0, len(quote), citation)
    answer = Answer(question, quote, True, 0.4, "a1", None, None, (citation,), kind="about", parts=(part,))
    html = render_answer(answer)
    assert "Confidence" not in html  # a summary's score is a retrieval score, not a probability
    assert caption in html


def test_markdown_characters_do_not_format():
    assert escape("*bold* _it_ `code` [link](x) $x$") == (
        "&#42;bold&#42; &#95;it&#95; &#96;code&#96; &#91;link&#93;(x) &#36;x&#36;"
    )


def test_not_found_reply_says_so_and_shows_the_closest_passages(engine):
    html = render_answer(engine.ask("What is the population of Tokyo?"))
    assert "Not found in the indexed articles." in html
    assert "closest passages" in html and "<li>" in html


@pytest.fixture
def chat_app(fixture_index, tmp_path, encoder):
    from qa import QA
    from qa.config import Config
    from ui.app import ChatApp

    index_dir = tmp_path / "index"
    shutil.copytree(fixture_index, index_dir)
    config = Config(index_dir=index_dir, max_upload_mb=0.01)
    return ChatApp(config, QA(config=config, encoder=encoder))


def test_empty_question_gets_a_plain_message(chat_app):
    box, chat, turns = chat_app.respond("   ", [], [])
    assert box == "" and turns == []
    assert "Please type a question." in chat[-1]["content"]


@pytest.mark.parametrize("message", ["?!?", "🚀🔥", None, "Where is Kestrel Works based? " * 400])
def test_odd_questions_get_a_message_never_a_traceback(chat_app, message):
    box, chat, _ = chat_app.respond(message, [], [])
    reply = chat[-1]["content"]
    assert box == "" and "Traceback" not in reply and "Something went wrong" not in reply
    assert reply.startswith("<") and ("no words to search for" in reply or "Please type" in reply or "Bristol" in reply)


def test_chat_answers_and_follows_up(chat_app):
    _, chat, turns = chat_app.respond("Where is Kestrel Works based?", [], [])
    assert "<strong>Bristol</strong>" in chat[-1]["content"]
    _, chat, turns = chat_app.respond("When was it started?", chat, turns)
    assert "<strong>1998</strong>" in chat[-1]["content"]
    assert len(chat) == 4 and len(turns) == 2


def test_the_chat_filter_scopes_the_question_and_a_bad_date_gets_a_message(chat_app):
    _, chat, _ = chat_app.respond(
        "Where is Kestrel Works based?", [], [], "example.com", "", "2024-01-01", "2024-12-31"
    )
    reply = chat[-1]["content"]
    assert "<strong>Bristol</strong>" in reply and "2024-05-14" in reply  # the answer shows its article's date
    _, chat, _ = chat_app.respond("Where is Kestrel Works based?", [], [], "no-such-site")
    assert "No indexed article matches the scope (site &#39;no-such-site&#39;)" in chat[-1]["content"]
    _, chat, _ = chat_app.respond("Where is Kestrel Works based?", [], [], "", "", "last spring")
    assert "since must be an ISO date" in chat[-1]["content"] and "Traceback" not in chat[-1]["content"]


def test_upload_refuses_wrong_type_and_oversize_and_keeps_the_index(chat_app, tmp_path):
    before = chat_app.engine.store.manifest.articles
    slides = tmp_path / "report.pptx"
    slides.write_bytes(b"PK\x03\x04")
    big = tmp_path / "big.txt"
    big.write_text("Long article.\n\n" + "word " * 5000)
    message = chat_app.add_files([str(slides), str(big)])
    assert "report.pptx: not a supported type" in message
    assert "big.txt: larger than the 0.01 MB limit" in message
    assert chat_app.engine.store.manifest.articles == before


def test_uploaded_article_can_be_asked_about_at_once(chat_app, tmp_path):
    article = tmp_path / "museum.txt"
    article.write_text(SCRIPT_ARTICLE)
    assert "Added 1 article" in chat_app.add_files([str(article)])
    _, chat, _ = chat_app.respond("When did the Orchard Museum find the code?", [], [])
    assert "<strong>3 May</strong>" in chat[-1]["content"]
    assert any(row[0] == "Museum website defaced" for row in chat_app.article_rows())


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("../../escape.txt", "escape.txt"),
        ("..\\..\\escape.txt", "escape.txt"),
        ("/etc/escape.txt", "escape.txt"),
        ("....txt", "upload.txt"),
        ("a\x00b.txt", "a_b.txt"),
        ("notes.exe", "notes.exe"),
        ("ferry " + "é" * 150 + ".txt", "ferry " + "é" * 95 + ".txt"),
    ],
)
def test_upload_names_cannot_leave_the_upload_folder(name, kept):
    assert safe_name(name) == kept


def test_upload_with_a_path_in_its_name_is_kept_inside_the_index(chat_app, tmp_path):
    evil = tmp_path / "..\\..\\evil.txt"  # a legal file name on Linux, a path on Windows
    evil.write_text("Harbor night market\n\nThe night market opened on the quay in 2019.")
    assert "Added 1 article" in chat_app.add_files([str(evil)])
    kept = [p for p in chat_app.config.index_dir.rglob("*evil*")]
    assert [p.parent for p in kept] == [chat_app.config.index_dir / "uploads"]
    assert not any(p.name.endswith("evil.txt") for p in tmp_path.parent.iterdir())


def test_a_different_upload_with_the_same_name_is_kept_beside_the_first(chat_app, tmp_path):
    first, second = tmp_path / "a" / "notes.txt", tmp_path / "b" / "notes.txt"
    for path, text in ((first, "Orchard Museum\n\nIt opened in 1950."), (second, "Lakeside Zoo\n\nIt opened in 1972.")):
        path.parent.mkdir()
        path.write_text(text)
        assert "Added 1 article" in chat_app.add_files([str(path)])
    assert "unchanged" in chat_app.add_files([str(second)])
    titles = [row[0] for row in chat_app.article_rows()]
    assert "Orchard Museum" in titles and "Lakeside Zoo" in titles


def test_disagreement_is_shown_with_each_source():
    from qa.types import Alternative

    answer = _answer_with("The renovation will cost $120 million, the city said.", "$120 million")
    other = Citation("a2", "Contractor filing", "b.txt", 0, 44, "The builder says it will cost $165 million.")
    answer = dataclasses.replace(answer, alternatives=(Alternative("$165 million", 0.9, 29, 41, other),))
    html = render_answer(answer)
    assert "The articles disagree" in html
    assert "<strong>&#36;120 million</strong> according to “A &#60;b&#62;title&#60;/b&#62;”" in html
    assert "<strong>&#36;165 million</strong> according to “Contractor filing”" in html


@pytest.fixture
def server(fixture_index, tmp_path):
    with serving(fixture_index, tmp_path, "--no-examples") as url:
        yield url


def test_password_keeps_the_chat_and_its_api_closed(fixture_index, tmp_path):
    with serving(fixture_index, tmp_path, "--no-examples", "--auth", "ana:s3cret") as url:

        def status(path: str, data: bytes | None = None, cookie: str = "", login: str = "") -> tuple[int, str]:
            headers = {"Cookie": cookie} | (
                {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()} if login else {}
            )
            request = urllib.request.Request(url + path, data=data, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status, response.headers.get("Set-Cookie", "")
            except urllib.error.HTTPError as error:
                return error.code, ""

        assert status("/config")[0] == 401 and status("/gradio_api/info")[0] == 401
        assert status("/login", b"username=ana&password=wrong")[0] >= 400
        code, cookie = status("/login", b"username=ana&password=s3cret")
        assert code == 200 and cookie
        assert status("/config", cookie=cookie.split(";")[0])[0] == 200
        # The HTTP API beside the chat takes the same login (HTTP Basic), and nothing opens without it.
        for path in ("/api/health", "/api/articles", "/v1/models", "/docs", "/openapi.json"):
            assert status(path)[0] == 401 and status(path, login="ana:wrong")[0] == 401
            assert status(path, login="ana:s3cret")[0] == 200


def _ask(page, question: str):
    """Type a question, press Enter, and return the new reply's element once it is there."""
    replies = page.locator("#chat .qa-reply")
    before = replies.count()
    page.fill("#question textarea", question)
    page.keyboard.press("Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .qa-reply').length > {before}", timeout=60_000)
    return replies.nth(before)


def _uncovered(page, question: str) -> bool:
    """Whether the user's bubble showing ``question`` is visible whole: its text not cut, nothing over it."""
    return page.evaluate(
        """(question) => {
            const bubble = [...document.querySelectorAll('#chat .message.user')]
                .find(m => m.innerText.trim() === question);
            if (!bubble) return false;
            bubble.scrollIntoView({block: 'center'});
            const r = bubble.getBoundingClientRect();
            const points = [[0.5, 0.5], [0.1, 0.5], [0.9, 0.5], [0.5, 0.2], [0.5, 0.8]];
            const at = ([x, y]) => document.elementFromPoint(r.x + r.width * x, r.y + r.height * y);
            return points.every(point => bubble.contains(at(point))) && bubble.scrollWidth <= bubble.clientWidth + 1;
        }""",
        question,
    )


def _fetch(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


@pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"the browser test drives Debian's Chromium at {CHROMIUM}, which is missing: "
    "install Debian's chromium (make test does)",
)
def test_chat_in_a_real_browser(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server)

        reply = _ask(page, "Where is Kestrel Works based?")
        assert reply.locator(".qa-answer-text").inner_text() == "Bristol"
        assert _uncovered(page, "Where is Kestrel Works based?"), "the question bubble must be visible whole"
        assert "the engineering firm based in Bristol" in reply.locator(".qa-quote").inner_text()
        assert reply.locator("mark.qa-answer").first.inner_text() == "Bristol"

        follow = _ask(page, "When was it started?")
        assert follow.locator(".qa-answer-text").inner_text() == "1998"
        assert "Kestrel Works" in follow.locator(".qa-source").inner_text()
        page.screenshot(path=tmp_path / "chat-two-questions.png", full_page=True)

        article = tmp_path / "museum.txt"
        article.write_text(SCRIPT_ARTICLE)
        report = tmp_path / "harbour-review.pdf"
        documents.report_pdf(report)
        page.set_input_files("#upload input[type=file]", [str(article), str(report)])
        page.wait_for_function(
            "document.querySelector('#upload-status')?.innerText.includes('Added 2 articles')", timeout=60_000
        )
        uploaded = _ask(page, "What code did the Orchard Museum find on its home page?")
        assert "<script>alert(1); window.pwned = 'script'</script>" in uploaded.locator(".qa-quote").inner_text()
        assert "Museum website defaced" in uploaded.locator(".qa-source").inner_text()
        donation = _ask(page, "What had attackers added to the donation page?")
        assert "onerror=" in donation.inner_text()
        _ask(page, QUESTION_PAYLOAD)
        assert QUESTION_PAYLOAD in page.locator("#chat").inner_text(), "the question is shown as typed, as text"
        # every image in the chat has loaded or failed (an injected one would have fired its handler by then)
        page.wait_for_function("[...document.querySelectorAll('#chat img')].every(i => i.complete)")
        assert page.locator("#chat script").count() == 0 and page.locator("#chat img[onerror]").count() == 0
        assert page.evaluate("window.pwned") is None and not dialogs, "article and question text must never run"

        ferry = _ask(page, "When will the harbour ferry service end?")
        assert ferry.locator(".qa-answer-text").inner_text() == "2027"
        link = ferry.locator(".qa-source a", has_text="harbour-review.pdf, p. 3")
        assert link.get_attribute("href").endswith("/file#page=3")
        shown = page.locator('#chat img[src*="/gradio_api/file="]').last
        shown.wait_for(timeout=30_000)
        page.wait_for_function("[...document.querySelectorAll('#chat img')].some(i => i.naturalWidth > 1000)")
        assert shown.evaluate("i => i.naturalWidth") > 1000  # the page at 144 dpi, a band around the quote
        status, pdf = _fetch(server + link.get_attribute("href").split("#")[0])
        assert status == 200 and pdf.startswith(b"%PDF")
        shown.scroll_into_view_if_needed()
        page.screenshot(path=tmp_path / "chat-pdf-page.png")

        declined = _ask(page, "What is the population of Tokyo?")
        assert "Not found in the indexed articles." in declined.inner_text()
        page.screenshot(path=tmp_path / "chat.png", full_page=True)
        assert "Traceback" not in page.content()
        browser.close()


def _listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net shows them) with a socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_serve_listens_on_this_machine_only_by_default(server):
    port = int(server.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}, "only 127.0.0.1 (little-endian hex), no other interface"
    from qa.cli import _config, _parser

    assert _parser().parse_args(["serve"]).auth is None
    assert _config(_parser().parse_args(["serve", "--host", "0.0.0.0"])).host == "0.0.0.0"


def test_auth_from_flag_or_environment(monkeypatch):
    from qa.guards import parse_auth

    monkeypatch.delenv("QA_AUTH", raising=False)
    assert parse_auth(None) is None
    assert parse_auth("ana:s3cret:x") == ("ana", "s3cret:x")
    monkeypatch.setenv("QA_AUTH", "bob:pw")
    assert parse_auth(None) == ("bob", "pw")
    with pytest.raises(ValueError, match="user:password"):
        parse_auth("nopassword")
