"""The qa command: exit codes and one-line messages, never a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.cli import main
from tests.support import ARTICLES, PAGES


@pytest.fixture
def built(tmp_path, fixture_index):
    """A private copy of the fixture index (built once per run), which a test may change."""
    index_dir = tmp_path / "cli-index"
    shutil.copytree(fixture_index, index_dir)
    return index_dir


def test_build_prints_a_summary_with_speed(tmp_path, capsys):
    assert main(["index", "build", str(ARTICLES), "--index", str(tmp_path / "i")]) == 0
    out = capsys.readouterr().out
    assert "6 added" in out and "chunks/s" in out


def test_ask_prints_answer_quote_and_source(built, capsys):
    assert main(["ask", "Where was Greenfield Energy founded?", "--index", str(built)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Lisbon"
    assert "“Greenfield Energy was founded in 2009 in Lisbon.”" in out
    assert "solar-farm.md" in out and "characters" in out


def test_a_summary_says_what_its_sentences_are_not_a_confidence(built, capsys):
    # a summary's score is its story's retrieval score: no "confidence" is printed for it
    assert main(["ask", "Summarise the article about Greenfield Energy", "--index", str(built)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("In short, from “") and "Greenfield Energy was founded in 2009 in Lisbon." in out
    assert out.rstrip().endswith("The key sentences of the best-matching article") and "confidence" not in out


def test_ask_json_is_the_answer_dict(built, capsys):
    assert main(["ask", "How much did the library repairs cost?", "--index", str(built), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"] == "$1.2 million" and data["citations"][0]["source"].endswith("business.jsonl:2")


def test_ask_uses_the_env_index_dir(built, capsys, monkeypatch):
    monkeypatch.setenv("QA_INDEX_DIR", str(built))
    assert main(["ask", "Where is Kestrel Works based?"]) == 0
    assert capsys.readouterr().out.startswith("Bristol")


def test_not_found_is_said_plainly(built, capsys):
    assert main(["ask", "What is the population of Tokyo?", "--index", str(built)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Not found in the indexed articles.") and "Closest passages" in out


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "the question is empty"), ("   \n", "the question is empty"), ("?!? 🚀", "the question has no words")],
)
def test_empty_question_is_a_clear_error(built, capsys, question, message):
    assert main(["ask", question, "--index", str(built)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and "Traceback" not in err


def test_ask_reads_with_the_reader_folder_it_is_given(built, tmp_path, capsys):
    from qa.read import default_reader_dir

    copy = tmp_path / "my-reader"
    shutil.copytree(default_reader_dir(), copy)
    assert main(["ask", "Where is Kestrel Works based?", "--index", str(built), "--reader-dir", str(copy)]) == 0
    assert capsys.readouterr().out.startswith("Bristol")
    (copy / "reader.json").unlink()
    assert main(["ask", "Where is Kestrel Works based?", "--index", str(built), "--reader-dir", str(copy)]) == 1
    err = capsys.readouterr().err
    assert str(copy / "reader.json") in err and len(err.strip().splitlines()) == 1


def test_no_index_says_how_to_build_one(tmp_path, capsys):
    assert main(["ask", "Anything?", "--index", str(tmp_path / "none")]) == 1
    assert "qa index build" in capsys.readouterr().err


def test_list_stats_add_remove(built, tmp_path, capsys):
    assert main(["index", "list", "--index", str(built), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 6 and {"id", "title", "source", "chunks"} <= set(listed[0])

    assert main(["index", "stats", "--index", str(built), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 6

    new = tmp_path / "new.txt"
    new.write_text("Ferry service resumes\n\nThe Port Alder ferry resumed service on Monday after a strike.\n")
    assert main(["index", "add", str(new), "--index", str(built)]) == 0
    assert "1 added" in capsys.readouterr().out

    assert main(["index", "remove", "kestrel-rail", "--index", str(built)]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert main(["index", "remove", "kestrel-rail", "--index", str(built)]) == 1
    assert "not in the index: kestrel-rail" in capsys.readouterr().out


def test_bad_input_warns_by_name_and_strict_fails(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("Fine story\n\nAll good.")
    (folder / "feed.jsonl").write_text('{"text": "One."}\n{bad\n')
    assert main(["index", "build", str(folder), "--index", str(tmp_path / "i")]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "feed.jsonl:2" in captured.err
    assert "1 bad input skipped" in captured.out

    assert main(["index", "build", str(folder), "--index", str(tmp_path / "j"), "--strict"]) == 1
    assert "feed.jsonl:2" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["ask", "Who founded SenseTime?", "--k", "0"], "argument --k: must be a positive integer, not '0'"),
        (["ask", "Who founded SenseTime?", "--k", "-1"], "argument --k: must be a positive integer, not '-1'"),
        (["ask", "Who founded SenseTime?", "--k", "many"], "argument --k: must be a positive integer, not 'many'"),
        (["ask", "Who?", "--probes", "0"], "argument --probes: must be a positive integer, not '0'"),
        (["ask", "Who?", "--search-threads", "-2"], "argument --search-threads: must be 0 or more, not '-2'"),
        (["eval", "x.json", "--limit", "0"], "argument --limit: must be a positive integer, not '0'"),
        (["serve", "--port", "70000"], "argument --port: must be a port number (1-65535), not '70000'"),
        (["serve", "--port", "0"], "argument --port: must be a port number (1-65535), not '0'"),
        (["serve", "--max-upload-mb", "0"], "argument --max-upload-mb: must be a positive number, not '0'"),
        (["serve", "--max-upload-mb", "nan"], "argument --max-upload-mb: must be a positive number, not 'nan'"),
        (["index", "build", "--chunk-tokens", "0"], "argument --chunk-tokens: must be a positive integer, not '0'"),
        (["index", "build", "--chunk-overlap", "-1"], "argument --chunk-overlap: must be 0 or more, not '-1'"),
        (["index", "build", "--chunk-tokens", "16", "--chunk-overlap", "16"], "chunk_overlap must be at least 0 and"),
        (["index", "build", "--workers", "0"], "argument --workers: must be a positive integer, not '0'"),
        (["index", "add", "x.txt", "--workers", "-1"], "argument --workers: must be a positive integer, not '-1'"),
        (["index", "frobnicate"], "invalid choice: 'frobnicate'"),
        (["ask"], "the following arguments are required: question"),
    ],
)
def test_bad_values_are_one_line_usage_errors(argv, says, capsys):
    try:
        code = main(argv)
    except SystemExit as exit_info:  # rejected by the parser
        code = exit_info.code
    assert code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1
    assert says in err


def test_unexpected_errors_are_one_line(built, capsys, monkeypatch):
    from qa import engine

    def broken(*args, **kwargs):
        raise RuntimeError("the reader fell over")

    monkeypatch.setattr(engine.QA, "ask", broken)
    assert main(["ask", "Where is Kestrel Works based?", "--index", str(built)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: the reader fell over") and err.count("\n") == 1


def test_a_missing_package_is_named_with_the_command_that_installs_it(tmp_path, capsys, monkeypatch):
    # What lxml raises when its HTML cleaner (a package of its own now) is not installed.
    from index import html

    def no_cleaner(markup):
        raise ImportError(
            "lxml.html.clean module is now a separate project lxml_html_clean.\n"
            "Install lxml[html-clean] or lxml_html_clean directly."
        )

    monkeypatch.setattr(html, "_extract", no_cleaner)
    assert main(["index", "build", str(PAGES), "--index", str(tmp_path / "index")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert err.rstrip().endswith("install it with: pip install lxml_html_clean")

    def not_installed(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'flumoxed'", name="flumoxed.core")

    monkeypatch.setattr(html, "_extract", not_installed)
    assert main(["index", "build", str(PAGES), "--index", str(tmp_path / "index")]) == 1
    assert capsys.readouterr().err.rstrip().endswith("install it with: pip install flumoxed")


def test_a_closed_pipe_ends_quietly(built):
    import subprocess
    import sys

    command = [sys.executable, "-m", "qa.cli", "ask", "Where is Kestrel Works based?", "--index", str(built)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone before anything is written, as with `| head -0`
    _, err = process.communicate(timeout=120)
    assert process.returncode == 141
    assert err == b""


def test_article_text_cannot_reach_the_terminal_raw(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "evil\nname.txt").write_text(
        "\x1b[31mRed title\x1b]0;pwned\x07\n\nThe \x1b[2Jlighthouse was built in 1874 by Ada Crane. "
        "It stands on the northern cliff above the harbour and its lamp can be seen from far out at sea.\n"
    )
    index_dir = tmp_path / "i"
    assert main(["index", "build", str(folder), "--index", str(index_dir)]) == 0
    assert main(["index", "list", "--index", str(index_dir)]) == 0
    assert main(["ask", "Who built the lighthouse?", "--index", str(index_dir)]) == 0
    assert main(["ask", "Who built the lighthouse?", "--index", str(index_dir), "--json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mRed title" in out
    listed = next(line for line in out.splitlines() if "Red title" in line)
    assert "'" in listed and "evil\\nname.txt" in listed  # the file name, quoted, on one line
