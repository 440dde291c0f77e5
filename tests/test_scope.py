"""Questions scoped to part of the archive: applied inside retrieval, so each scope gets its own answer."""

from __future__ import annotations

import json

import pytest

from index.scope import Scope
from index.store import IndexStore
from qa import QA
from qa.cli import main

REPORTS = [
    {
        "id": "gazette-bridge",
        "title": "Council sets bridge budget",
        "site": "Port Alder Gazette",
        "url": "https://gazette.example/bridge",
        "author": "Maria Lindqvist",
        "date": "2024-03-18",
        "text": "The Port Alder bridge will cost $45 million, the council said on Monday.",
    },
    {
        "id": "herald-bridge",
        "title": "Bridge costs climb, opponents say",
        "site": "Dunmore Herald",
        "url": "https://herald.example/bridge-costs",
        "author": "Tom Reyes",
        "date": "2024-09-02",
        "text": "The Port Alder bridge will cost $52 million, according to a group opposing the project.",
    },
]
QUESTION = "How much will the Port Alder bridge cost?"


@pytest.fixture(scope="module")
def reports_index(tmp_path_factory, encoder):
    from index.build import IndexWriter
    from qa.config import Config

    folder = tmp_path_factory.mktemp("reports")
    (folder / "reports.jsonl").write_text("\n".join(json.dumps(r) for r in REPORTS) + "\n")
    index_dir = folder / "index"
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([folder])
    return index_dir


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        (Scope(site="gazette"), "$45 million"),
        (Scope(site="herald.example"), "$52 million"),
        (Scope(author="reyes"), "$52 million"),
        (Scope(until="2024-06"), "$45 million"),
        (Scope(since="2024-09-01"), "$52 million"),
        (Scope(articles=("gazette-bridge",)), "$45 million"),
    ],
)
def test_articles_that_disagree_are_answered_each_in_its_own_scope(reports_index, encoder, scope, expected):
    answer = QA(reports_index, encoder=encoder).ask(QUESTION, where=scope)
    assert answer.found and answer.text == expected
    assert all(p.article_id == answer.article_id for p in answer.passages)  # nothing from outside the scope


def test_a_scope_that_matches_nothing_says_so(reports_index, encoder):
    answer = QA(reports_index, encoder=encoder).ask(QUESTION, where=Scope(site="nowhere", since="2030"))
    assert not answer.found and answer.message == "No indexed article matches the scope (site 'nowhere', since 2030)."


def test_the_store_selects_chunks_by_scope(reports_index):
    store = IndexStore.open(reports_index)
    everything = store.chunks_in(Scope())
    gazette = store.chunks_in(Scope(site="GAZETTE"))
    assert 0 < len(gazette) < len(everything) and set(gazette) <= set(everything)
    assert len(store.chunks_in(Scope(since="2024", until="2024"))) == len(everything)
    assert len(store.chunks_in(Scope(until="2023-12-31"))) == 0


@pytest.mark.parametrize("bad", ["March 2024", "2024-3-1", "yesterday"])
def test_a_date_that_is_not_iso_is_refused_with_its_name(bad):
    with pytest.raises(ValueError, match="since must be an ISO date"):
        Scope(since=bad)


def test_cli_scopes_a_question_and_says_when_the_scope_is_empty(reports_index, capsys):
    assert main(["ask", QUESTION, "--index", str(reports_index), "--site", "herald", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "$52 million"
    assert main(["ask", QUESTION, "--index", str(reports_index), "--article", "nope"]) == 0
    assert "No indexed article matches the scope (articles nope)." in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_code:
        main(["ask", QUESTION, "--index", str(reports_index), "--since", "last week"])
    assert exit_code.value.code == 2 and "must be an ISO date" in capsys.readouterr().err
