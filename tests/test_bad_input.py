"""Whatever is in a user's folder: each bad item is skipped with a message naming it, the rest is indexed."""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from index.chunk import Chunker
from index.ingest import ArticleStream, read_articles
from index.store import IndexStore
from qa import QA
from qa.cli import main
from qa.config import Config

GOOD = "Harbor news\n\nThe Port Alder council approved the harbor bridge on Tuesday.\n"


def only_problem(report) -> str:
    (problem,) = report.problems
    return str(problem)


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("story.txt", "A story inside a zip archive. " * 20)
    return buffer.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00\x1f\xf3\xffa"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "is empty"),
        ("spaces.md", b" \n\t \r\n  ", "is empty"),
        ("photo.txt", PNG, "looks like a binary file"),
        ("archive.md", zip_bytes(), "looks like a binary file"),
        ("scripts.html", b"<html><script>alert(1)</script><style>p{}</style></html>", "has no visible text"),
        ("broken.json", b'{"title": "x", "text": "unfinished', "is not valid JSON"),
        ("untitled.json", b'[{"title": "No body here"}]', "has no text field"),
        ("notext.json", b'{"title": "No body"}', "has no text field"),
        ("list.json", b'["just a string"]', "list.json:1: expected a JSON object"),
        ("page.pdf", b"%PDF-1.4", "is not a readable PDF (damaged, truncated or not a PDF)"),
        ("bad-utf16.txt", b"\xff\xfeA\x00\x00\xd8", "not valid UTF-16"),
        ("slides.pptx", b"PK\x03\x04", "unsupported file type '.pptx'"),
    ],
)
def test_bad_file_is_named_with_its_reason(tmp_path, name, content, reason):
    """Named beside a good file, or met with it in a folder: the good one is read, the bad one named with its
    reason (except a file of a type that is never an article, which a folder passes over without a word)."""
    (tmp_path / name).write_bytes(content)
    (tmp_path / "good.txt").write_text(GOOD)
    for paths in ([tmp_path / name, tmp_path / "good.txt"], [tmp_path]):
        report = read_articles(paths)
        assert [a.title for a in report.articles] == ["Harbor news"], paths
        if paths == [tmp_path] and name.endswith(".pptx"):
            assert report.problems == []
        else:
            message = only_problem(report)
            assert name in message and reason in message, paths


def test_legacy_encodings_are_decoded_not_refused(tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Zürich café, 5 °C, ½ price".encode("latin-1"))
    (tmp_path / "windows.txt").write_bytes("“Quoted” – Zürich".encode("cp1252"))
    (tmp_path / "utf16.txt").write_bytes("Überschrift\r\n\r\nText über Zürich.".encode("utf-16"))
    texts = sorted(a.text for a in read_articles([tmp_path]).articles)
    assert texts == ["Zürich café, 5 °C, ½ price", "Überschrift\n\nText über Zürich.", "“Quoted” – Zürich"]


def test_jsonl_bad_line_57_is_named_and_the_good_lines_are_indexed(tmp_path, capsys):
    lines = [json.dumps({"id": f"s{i}", "text": f"Story {i}: the ferry runs {i} times a week."}) for i in range(1, 81)]
    lines[56] = '{"id": "s57", "text": "cut off'
    (tmp_path / "feed.jsonl").write_text("\n".join(lines))
    index_dir = tmp_path / "index"
    assert main(["index", "build", str(tmp_path / "feed.jsonl"), "--index", str(index_dir)]) == 0
    captured = capsys.readouterr()
    assert "feed.jsonl:57: is not valid JSON" in captured.err
    assert "79 added" in captured.out and "1 bad input skipped" in captured.out
    assert {a.id for a in IndexStore.open(index_dir).articles()} == {f"s{i}" for i in range(1, 81)} - {"s57"}
    (problem,) = read_articles([tmp_path / "feed.jsonl"]).problems
    assert problem.line == 57


def test_same_id_with_different_content_keeps_the_first(tmp_path):
    (tmp_path / "a.jsonl").write_text(
        json.dumps({"id": "x", "text": "First version."}) + "\n" + json.dumps({"id": "x", "text": "Second version."})
    )
    report = read_articles([tmp_path])
    assert [a.text for a in report.articles] == ["First version."]
    assert "a.jsonl:2" in only_problem(report) and "duplicate id 'x'" in only_problem(report)


def test_missing_path_symlink_loop_and_pipe(tmp_path):
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "story.txt").write_text(GOOD)
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    os.mkfifo(folder / "pipe.txt")  # reading it would wait forever
    report = read_articles([folder, tmp_path / "nowhere"])
    assert [a.title for a in report.articles] == ["Harbor news"]
    messages = [str(p) for p in report.problems]
    assert any("pipe.txt" in m and "not a regular file" in m for m in messages)
    assert any("nowhere" in m and "does not exist" in m for m in messages)
    assert len(messages) == 2


def read_as_another_user(paths: list[Path]) -> list[str]:
    """The problems reading ``paths`` as an unprivileged user (root reads everything, so tests fork one)."""
    if os.geteuid() != 0:
        return [str(p) for p in read_articles(paths).problems]
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop to 'nobody', read, report, and leave without running pytest's teardown
        try:
            os.close(reader)
            os.setgid(65534)
            os.setuid(65534)
            problems = [str(p) for p in read_articles(paths).problems]
            os.write(writer, json.dumps(problems).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


def test_unreadable_file_and_folder_are_named():
    base = Path(tempfile.mkdtemp())  # not pytest's tmp dir: another user must be able to walk into it
    try:
        base.chmod(0o755)
        (base / "locked").mkdir()
        (base / "locked" / "inside.txt").write_text(GOOD)
        (base / "secret.txt").write_text(GOOD + "secret")
        (base / "open.txt").write_text(GOOD)
        (base / "secret.txt").chmod(0)
        (base / "locked").chmod(0)
        problems = read_as_another_user([base])
        assert any("secret.txt" in p and "cannot be read (Permission denied)" in p for p in problems)
        assert any("locked" in p and "cannot be read (Permission denied)" in p for p in problems)
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)


def test_100_mb_text_file_streams_in_parts_with_bounded_memory(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "w") as out:
        number = 0
        while out.tell() < 100 << 20:
            out.write("".join(f"The harbor council met for the {number + i}th time.\n\n" for i in range(10_000)))
            number += 10_000
    size = path.stat().st_size
    tracemalloc.start()
    try:
        parts = lengths = 0
        for article in ArticleStream([path]):
            parts += 1
            lengths += len(article.text)
            assert len(article.text) <= Config.part_chars and article.text.startswith("The harbor council")
            assert f"huge.txt, part {parts}" in article.source
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lengths == size and parts >= size // Config.part_chars
    assert peak < 16 << 20, f"reading a 100 MB file held {peak / 2**20:.1f} MB at once"


def test_one_5_mb_line_without_newline_is_cut_into_parts_that_chunk(tmp_path, encoder):
    words = "".join(f"minified text {i} without any line break " for i in range(5_000_000 // 40))
    blob = "Q" * 300_000  # and a run the tokenizer sees as a single unknown word
    path = tmp_path / "one-line.txt"
    path.write_text(words + blob)
    articles = read_articles([path]).articles
    assert "".join(a.text for a in articles) == words + blob
    chunker = Chunker(encoder.tokenizer, chunk_tokens=128, overlap_tokens=32, max_tokens=encoder.max_tokens)
    chunks = chunker.split(articles[-1])
    assert chunks and all(articles[-1].text[c.start : c.end] == c.text for c in chunks)
    assert max(c.end - c.start for c in chunks) <= 128 * 12


def test_long_file_parts_are_answerable_with_their_place_in_the_file(tmp_path, encoder, build_index):
    filler = "Nothing of note happened in the town that week. " * 12
    text = f"Town diary\n\n{filler}\n\nThe Ferrybank lighthouse was repainted red in 1987.\n\n{filler}"
    (tmp_path / "diary.txt").write_text(text)
    index_dir, report = build_index([tmp_path / "diary.txt"], part_chars=400)
    assert report.articles >= 3
    answer = QA(index_dir, encoder=encoder).ask("When was the Ferrybank lighthouse repainted?")
    citation = answer.citations[0]
    assert answer.text == "1987"
    assert "diary.txt, part" in citation.source and "(part" in citation.title
    assert text.find(citation.quote) >= 0


def test_cli_skips_bad_items_with_a_summary_and_strict_keeps_the_old_index(tmp_path, capsys):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "good.txt").write_text(GOOD)
    (folder / "empty.txt").write_text("")
    (folder / "photo.txt").write_bytes(PNG)
    (folder / "bad.json").write_text("{nope")
    index_dir = str(tmp_path / "index")
    assert main(["index", "build", str(folder / "good.txt"), "--index", index_dir]) == 0
    before = IndexStore.open(index_dir).manifest
    capsys.readouterr()

    assert main(["index", "add", str(folder), "--index", index_dir, "--strict"]) == 1
    assert "error:" in capsys.readouterr().err
    assert IndexStore.open(index_dir).manifest == before

    assert main(["index", "build", str(folder), "--index", index_dir]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("warning: ")]
    assert sorted(Path(line.split(":")[1].strip()).name for line in warnings) == ["bad.json", "empty.txt", "photo.txt"]
    assert "1 added, 3 bad inputs skipped" in captured.out


def test_file_name_that_is_not_utf8_is_read_and_named(tmp_path):
    folder = os.fsencode(tmp_path)
    with open(os.path.join(folder, b"caf\xe9.txt"), "wb") as out:
        out.write(b"Cafe news\n\nThe cafe opened in 2001.")
    with open(os.path.join(folder, b"empty-\xff.txt"), "wb"):
        pass
    report = read_articles([tmp_path])
    (article,) = report.articles
    assert article.source.endswith("caf\ufffd.txt") and article.source.encode("utf-8")
    assert "empty-\ufffd.txt: is empty" in only_problem(report)


def test_deeply_nested_json_and_html_are_refused_or_read_quickly(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    (tmp_path / "deep.jsonl").write_text('{"text": "Fine line."}\n' + "[" * 200_000 + "]" * 200_000 + "\n")
    (tmp_path / "deep.html").write_text("<div>" * 100_000 + "The quay opened in 1901." + "</div>" * 100_000)
    report = read_articles([tmp_path])
    assert sorted(a.text for a in report.articles) == ["Fine line.", "The quay opened in 1901."]
    messages = sorted(str(p) for p in report.problems)
    assert len(messages) == 2 and all("nested too deeply" in m for m in messages)
    assert "deep.jsonl:2" in messages[1]


def test_jsonl_line_longer_than_a_part_is_read_whole(tmp_path):
    body = " ".join(f"word{i}" for i in range(2000))
    (tmp_path / "long.jsonl").write_text(json.dumps({"id": "x", "text": body}) + "\n" + json.dumps({"text": "Short."}))
    assert [a.text for a in read_articles([tmp_path], part_chars=64).articles] == [body, "Short."]
