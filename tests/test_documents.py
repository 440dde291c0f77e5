"""PDF and Word articles: their text, pages, boilerplate, citations to the page, and bad files by name."""

from __future__ import annotations

import shutil

import pytest

from index.ingest import ArticleStream, read_articles
from index.pdf import PAGE_BREAK, page_characters
from qa.errors import BadArticle
from tests import documents


@pytest.fixture(scope="session")
def docs(tmp_path_factory):
    return documents.make_documents(tmp_path_factory.mktemp("documents"))


def _article(path):
    stream = ArticleStream([path])
    articles = list(stream)
    assert not stream.problems, stream.problems
    [article] = articles
    return article


def _included(article) -> str:
    """The article's text with its excluded ranges blanked out (what chunks can hold)."""
    text = list(article.text)
    for start, end in article.excluded:
        text[start:end] = " " * (end - start)
    return "".join(text)


def test_pdf_text_pages_and_metadata(docs):
    article = _article(docs / "report.pdf")
    assert article.title == "Port Alder Harbour Review 2024" and article.author == "Port Alder Council"
    assert article.date == "2000-01-01"  # reportlab's invariant creation date
    assert len(article.pages) == 3 and article.pages[0] == 0
    for number, start in enumerate(article.pages[1:], start=2):
        assert article.text[start - len(PAGE_BREAK) : start] == PAGE_BREAK
        assert f"Page {number} of 3" in article.text[start : start + 80]
    page_three = article.text[article.pages[2] :]
    assert documents.FERRY in page_three
    # the soft hyphen at the line end is joined; the page's lines become paragraphs
    assert "across the international shipping channel." in article.text
    assert "inter-" not in article.text
    assert "voted on 12 March 2024 to approve a new bridge across the harbour." in article.text


def test_without_a_metadata_title_the_largest_line_of_page_one_is_the_title(tmp_path):
    documents.report_pdf(tmp_path / "bare.pdf", metadata=False)
    article = _article(tmp_path / "bare.pdf")
    assert article.title == documents.REPORT_TITLE and article.author is None


def test_two_columns_are_read_column_by_column(docs):
    text = _article(docs / "report.pdf").text
    assert " ".join(documents.LEFT_COLUMN) + "\n\n" + " ".join(documents.RIGHT_COLUMN) in text
    for row in documents.TABLE:
        assert " ".join(row) in text


def test_running_headers_and_footers_are_kept_but_never_indexed(docs):
    article = _article(docs / "report.pdf")
    assert article.text.count(documents.HEADER) == 3
    indexed = _included(article)
    assert documents.HEADER not in indexed and "Page 2 of 3" not in indexed and "\f" not in indexed
    assert documents.REPORT_TITLE in indexed and documents.FERRY in indexed


def test_word_paragraphs_tables_and_properties(docs):
    article = _article(docs / "memo.docx")
    assert (article.title, article.author, article.date) == ("Lantern Hall memo", "Marisol Ortega", "2024-02-01")
    assert article.pages == ()
    rows = "\n".join(" | ".join(row) for row in documents.MEMO_TABLE)
    assert article.text.startswith("Lantern Hall opens\n\nThe Lantern Hall concert venue opened")
    assert f"paid for by the city.\n\n{rows}\n\nTickets for the opening season" in article.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("encrypted.pdf", "is an encrypted PDF (it needs a password)"),
        ("scanned.pdf", "has no text layer: scanned page images; OCR is not supported"),
        ("truncated.pdf", "is not a readable PDF (damaged, truncated or not a PDF)"),
        ("not-a-zip.docx", "is not a Word document (not a zip package)"),
    ],
)
def test_bad_documents_are_named_and_skipped_or_refused(docs, tmp_path, name, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(docs / name, folder / name)
    shutil.copy(docs / "memo.docx", folder / "memo.docx")
    report = read_articles([folder])
    assert [a.title for a in report.articles] == ["Lantern Hall memo"]
    [problem] = report.problems
    assert str(problem).endswith(f"{name}: {reason}" + ("; it cannot be read" if name == "encrypted.pdf" else ""))
    with pytest.raises(BadArticle, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_articles([folder], strict=True)


def test_a_bad_document_added_to_an_index_loses_nothing(docs, build_index, encoder, tmp_path):
    from qa import QA

    index_dir, _ = build_index([docs / "memo.docx"])
    engine = QA(index_dir, encoder=encoder)
    report = engine.add([docs / "encrypted.pdf", docs / "report.pdf"])
    assert len(report.added) == 1 and "encrypted.pdf" in str(report.problems[0])
    assert {a.title for a in engine.articles()} == {"Lantern Hall memo", "Port Alder Harbour Review 2024"}


def test_answers_cite_the_page_with_exact_offsets(docs, build_index, encoder):
    from qa import QA

    index_dir, _ = build_index([docs / "report.pdf", docs / "memo.docx"])
    engine = QA(index_dir, encoder=encoder)
    article = _article(docs / "report.pdf")
    answer = engine.ask("When will the harbour ferry service end?")
    assert answer.found and answer.text == "2027"
    assert article.text[answer.start : answer.end] == "2027"
    citation = answer.citations[0]
    assert citation.page == 3 and citation.quote == article.text[citation.start : citation.end]
    assert citation.source.endswith("report.pdf")
    cost = engine.ask("How much will the bridge cost?")
    assert cost.text == "$45 million" and cost.citations[0].page == 2
    memo = engine.ask("Who designed the Lantern Hall?")
    assert memo.text == "Marisol Ortega" and memo.citations[0].page is None
    assert engine.ask("When will the harbour ferry service end?").to_dict()["citations"][0]["page"] == 3


def test_the_highlight_boxes_cover_exactly_the_answer(docs, build_index, encoder, tmp_path):
    from PIL import Image

    from qa import QA
    from qa.pages import SCALE, PageRenderer

    index_dir, _ = build_index([docs / "report.pdf"])
    engine = QA(index_dir, encoder=encoder)
    renderer = PageRenderer(tmp_path)
    for question, expected, page in [
        ("How much will the bridge cost?", "$45 million", 2),
        ("When will the harbour ferry service end?", "2027", 3),
        ("How many vehicles a day will the bridge carry?", "18,000", 1),
    ]:
        answer = engine.ask(question)
        shown = renderer.highlight(engine.store, answer, crop=False)
        assert answer.text == expected and shown.page == page
        assert shown.boxed_text.replace(" ", "") == expected.replace(" ", "")  # the PDF's own characters
        assert len(shown.answer_boxes) == 1  # one line, one box
        image = Image.open(shown.path)
        assert image.size == (round(595.28 * SCALE), round(841.89 * SCALE))
        # the answer's box lies inside the quote's shading, and the pixels inside it are not blank
        (left, top, right, bottom) = shown.answer_boxes[0]
        assert any(
            q[0] <= left + 2 and right - 2 <= q[2] and q[1] <= top + 2 and bottom - 2 <= q[3] for q in shown.quote_boxes
        )
        inside = image.crop((int(left) + 4, int(top) + 4, int(right) - 4, int(bottom) - 4)).convert("L")
        assert min(inside.getdata()) < 100  # ink: the characters are there
        cropped = renderer.highlight(engine.store, answer)
        assert Image.open(cropped.path).height < image.height and cropped.top <= top
    not_pdf = engine.ask("What is the population of Tokyo?")
    assert renderer.highlight(engine.store, not_pdf) is None


def test_the_page_characters_spell_the_article_text(docs):
    article = _article(docs / "report.pdf")
    for number, start in enumerate(article.pages, start=1):
        end = article.pages[number] - len(PAGE_BREAK) if number < len(article.pages) else len(article.text)
        page = page_characters(docs / "report.pdf", number)
        assert page.text == article.text[start:end] and len(page.indices) == len(page.text)
        # every character the page's text took from the PDF is that character of the PDF, with a box on the page
        taken = [(ch, i) for ch, i in zip(page.text, page.indices, strict=True) if i >= 0]
        assert all(page.pdf_chars[i] == ch for ch, i in taken if ch != " ")
        assert all(0 <= page.boxes[i][0] < page.boxes[i][2] <= page.width for ch, i in taken if ch != " ")


def test_a_long_pdf_moves_the_progress_page_by_page(tmp_path):
    path = tmp_path / "minutes.pdf"
    documents.long_pdf(path, 30)
    stream = ArticleStream([path])
    pages = []
    stream.on_page = lambda: pages.append(len(pages) + 1)
    [article] = list(stream)
    assert pages == list(range(1, 31)) and len(article.pages) == 30


def test_the_command_line_names_the_page(docs, tmp_path, capsys):
    from qa.cli import main

    assert main(["index", "build", str(docs / "report.pdf"), "--index", str(tmp_path / "index")]) == 0
    capsys.readouterr()
    assert main(["ask", "When will the harbour ferry service end?", "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2027\n") and "report.pdf, p. 3, characters" in out
