"""Questions that are not a short span: what a story is about, why and how, yes/no, lists, comparisons.

Each kind is asked through ``QA.ask`` and the HTTP API over fixture news stories written for these tests
(``tests/fixtures/open``); every quoted word must be the article's own, at its exact offsets.
"""

from __future__ import annotations

import pytest

from qa.api import Access, create_app
from qa.config import Config
from qa.kinds import question_kind
from tests.support import FIXTURES

OPEN = FIXTURES / "open"
GLASSWORKS = "Up to 480 jobs to go at Merrow glassworks"


@pytest.fixture(scope="module")
def open_engine(tmp_path_factory, encoder):
    """An engine over the open-question stories and the other fixture articles (distractors)."""
    from index.build import IndexWriter
    from qa import QA

    index_dir = tmp_path_factory.mktemp("open-index")
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([OPEN, FIXTURES / "articles"])
    return QA(index_dir, encoder=encoder)


def _exact(engine, answer) -> None:
    """Every part and citation of the answer is its article's text at its offsets."""
    for citation in answer.citations:
        assert engine.store.article_text(citation.article_id)[citation.start : citation.end] == citation.quote
    for part in answer.parts:
        text = engine.store.article_text(part.citation.article_id)
        assert text[part.start : part.end] == part.text
        assert part.citation.start <= part.start and part.end <= part.citation.end  # inside the quoted sentence


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What is this article about?", "about"),
        ("Summarise the news about the glassworks.", "about"),
        ("Can you sum up what the storm has done to Harwick?", "about"),
        ("What's the latest on the bridge inquiry?", "about"),
        ("What do the articles say about the port?", "about"),
        ("What did Luther decide about the Catholic Church?", "factoid"),  # a sentence, not a summary
        ("Why is Vantelle cutting jobs?", "why"),
        ("According to the union, why were agency workers left out?", "why"),
        ("How did the fraud come to light?", "how"),
        ("How many jobs will go?", "factoid"),
        ("How full was the reservoir in 2012?", "factoid"),
        ("Did the union accept the company's figure?", "yesno"),
        ("Is SenseTime on a US blacklist?", "yesno"),
        ("Is the fare rise 8 or 12 percent?", "factoid"),
        ("Which brewers does the factory supply?", "list"),
        ("In which districts did residents block roads?", "list"),
        ("Which investor led the funding round?", "factoid"),
        ("Who is Tang Xiao'ou?", "about"),  # someone named, and nothing else: what the story says of them
        ("Tell me about Grace Whitlow", "about"),
        ("Who is the chair of Tolland Group?", "factoid"),  # a role: a name answers it
        ("Who is Ostwald Insurance's chief executive?", "factoid"),
        ("Who is Vantelle's CEO?", "factoid"),  # a possessive: a role
        ("Who is Émile Zola?", "about"),
        ("According to the paper, who is J.K. Rowling?", "about"),
        ("How do the council's and the operator's figures compare?", "compare"),
        ("What is the difference between the two estimates?", "compare"),
        ("What was the age difference between Newton and Manning?", "factoid"),
        ("Who founded it?", "factoid"),
        ("And why?", "why"),
        ("How so?", "how"),  # a follow-up asking the manner
        ("How?", "how"),
        ("How, exactly?", "how"),
    ],
)
def test_the_kind_of_question_is_recognised(question, kind):
    assert question_kind(question) == kind


def test_a_summary_quotes_key_sentences_in_the_articles_order(open_engine):
    answer = open_engine.ask("Summarise the news about the Merrow glassworks.")
    assert answer.found and answer.kind == "about"
    assert 2 <= len(answer.parts) <= 4
    assert {p.citation.title for p in answer.parts} == {GLASSWORKS}
    starts = [p.start for p in answer.parts]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert "Workers at the Calder Glass factory" in answer.parts[0].text  # the lead says what happened
    assert not any(p.text.startswith("By ") or p.text == GLASSWORKS for p in answer.parts)  # no byline, no headline
    assert answer.lead == f"In short, from “{GLASSWORKS}”:"
    _exact(open_engine, answer)


def test_a_question_about_several_articles_quotes_each(open_engine):
    answer = open_engine.ask("What do the articles say about the Kestle ferry fares?")
    assert answer.found and answer.kind == "about"
    assert len({p.citation.article_id for p in answer.parts}) == 2
    assert all("percent" in p.text for p in answer.parts)  # each article's own figure
    assert not any("bridge" in c.quote for c in answer.citations)  # an article that does not speak of it is left out
    _exact(open_engine, answer)


def test_who_is_someone_named_quotes_what_the_story_says_of_them(open_engine):
    # named only in the seventh paragraph: a summary of the story's lead would not say who she is
    answer = open_engine.ask("Who is Grace Whitlow?")
    assert answer.found and answer.kind == "about"
    assert answer.parts and all("Grace Whitlow" in p.text for p in answer.parts)
    assert any("Local MP Grace Whitlow" in c.quote for c in answer.citations)
    assert answer.lead == f"What “{answer.citations[0].title}” says of Grace Whitlow:"
    assert [p.start for p in answer.parts] == sorted(p.start for p in answer.parts)
    _exact(open_engine, answer)


def test_why_quotes_the_sentence_that_gives_the_reason(open_engine):
    answer = open_engine.ask("Why is Vantelle cutting jobs at the Merrow glassworks?")
    assert answer.found and answer.kind == "why"
    assert "furnaces need replacing" in answer.citations[0].quote
    (span,) = answer.parts
    assert span.text == answer.text and span.citation == answer.citations[0]
    _exact(open_engine, answer)


def test_why_finds_the_reason_in_the_sentence_after_the_one_naming_what_is_asked(open_engine):
    # the reader points at the lead, which says the ferry will not run; the reason is the sentence after it,
    # holding no span the reader finds (another story's ferry gives a reason of its own: "blaming higher fuel
    # and insurance costs")
    answer = open_engine.ask("Why will the Tarrow ferry not run this winter?")
    assert answer.found and answer.kind == "why"
    assert any("has trebled the premium for winter sailings" in c.quote for c in answer.citations)
    _exact(open_engine, answer)


def test_a_confidence_the_user_asks_for_governs_quoted_sentences_too(open_engine, encoder):
    from qa import QA

    question = "Why is Vantelle cutting jobs at the Merrow glassworks?"
    shown = open_engine.ask(question)
    assert shown.found and shown.kind == "why" and shown.score < 1.0
    index_dir = open_engine.config.index_dir
    strict = QA(index_dir, config=Config(min_confidence=shown.score + 0.001), encoder=encoder).ask(question)
    assert not strict.found or strict.score >= shown.score + 0.001  # never shown under the bar
    assert strict.citations != shown.citations
    kept = QA(index_dir, config=Config(min_confidence=shown.score), encoder=encoder).ask(question)
    assert kept.citations == shown.citations and kept.kind == "why"


def test_yes_no_quotes_the_sentence_that_settles_it(open_engine):
    answer = open_engine.ask("Did the union accept Vantelle's count of the jobs to be lost?")
    assert answer.found and answer.kind == "yesno"
    assert "rejected the company's figure" in answer.citations[0].quote
    assert answer.text == answer.citations[0].quote
    assert answer.verdict in (None, "no")  # a "yes" would be wrong
    assert answer.lead == ("No." if answer.verdict else "The article says:")
    _exact(open_engine, answer)


def _listed(engine, question: str):
    """The answer to a list question and its items, checked to be a list whose every quote is exact."""
    answer = engine.ask(question)
    assert answer.found and answer.kind == "list"
    _exact(engine, answer)
    return answer, [p.text for p in answer.parts]


def test_a_list_from_one_sentence_names_every_item(open_engine):
    answer, items = _listed(open_engine, "Which brewers does the Merrow factory supply?")
    assert items == ["Hollin Ales", "Brackwater Brewing", "Stannard & Sons"]
    assert answer.text == "Hollin Ales, Brackwater Brewing and Stannard & Sons"  # the article's words, whole


def test_a_list_from_two_sentences_names_every_item_once(open_engine):
    answer, items = _listed(open_engine, "Which countries have stopped importing poultry from Veldmark?")
    assert {"Japan", "South Korea", "Mexico", "Chile"} <= set(items)
    assert len(items) == len(set(items))
    assert "Four" not in items  # "Four countries have stopped ...": a count, not a country
    assert len({p.citation.start for p in answer.parts}) >= 2  # several sentences, each item cited to its own


def test_a_list_of_clauses_keeps_each_clause_whole(open_engine):
    # a colon opens the list; each item is a "that ..." clause, one of them holding "20,000"
    _, items = _listed(open_engine, "What does the Dunhallow housing review recommend?")
    assert "that the council repair every damp home within five years" in items
    assert "that tenants' complaints be answered within 10 working days" in items
    assert any(item.startswith("that a tenants' panel inspect 20,000 homes a year") for item in items)


def test_a_list_read_from_its_last_item_names_the_ones_before(open_engine):
    _, items = _listed(open_engine, "In which Dunhallow estates were the worst conditions found?")
    assert {"Carrow Hill", "Mill Fields", "Ashby Lane", "Tolgate Park"} <= set(items)


def test_a_list_names_only_the_items_of_the_story_it_is_read_from(tmp_path, encoder):
    # another story lists countries too (they lifted a ban on pork): its enumeration is not this list's
    from index.build import IndexWriter
    from qa import QA

    index_dir = tmp_path / "index"
    stories = [OPEN / "exports.txt", FIXTURES / "open-distractors", FIXTURES / "articles"]
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build(stories)
    engine = QA(index_dir, encoder=encoder)
    answer, items = _listed(engine, "Which countries have stopped importing poultry from Veldmark?")
    assert {"Mexico", "Chile"} <= set(items)
    assert not {"Norway", "Egypt", "Vietnam"} & set(items)
    assert {p.citation.title for p in answer.parts} == {"Veldmark poultry exports hit by bird flu bans"}
    assert answer.citations[0].title == "Veldmark poultry exports hit by bird flu bans"  # the reply's own span too


def test_a_comparison_quotes_each_article(open_engine):
    answer = open_engine.ask("How do the council's and the operator's figures for the Kestle ferry fare rise compare?")
    assert answer.found and answer.kind == "compare"
    titles = {p.citation.title for p in answer.parts}
    assert titles == {
        "Council sets Kestle ferry fare rise at 8 percent",
        "Ferry operator says Kestle fares will rise 12 percent",
    }
    assert answer.lead == "What each article says:"
    _exact(open_engine, answer)


BRANNOC = "Storm Brannoc closes Pellow bridge and cuts power to 9,000 homes"
CELLWEN = "Insurers brace for claims after Storm Cellwen floods Marrick"
GUSTS = "Compare the strongest wind gusts recorded during Storm Brannoc and Storm Cellwen."


def test_a_comparison_asks_each_article_its_own_part(open_engine):
    # each story's lead names its storm; only a later sentence of each gives the gust the question is about
    answer = open_engine.ask(GUSTS)
    assert answer.found and answer.kind == "compare"
    said = {p.citation.title: p.text for p in answer.parts}
    assert "87 mph" in said[BRANNOC] and "102 mph" in said[CELLWEN]
    _exact(open_engine, answer)


def test_a_comparison_finds_the_article_its_passages_missed(open_engine):
    import functools

    from index.scope import Scope
    from qa.compare import answer_compare
    from qa.engine import _search
    from qa.evidence import Asking

    brannoc = next(a.id for a in open_engine.articles() if a.title == BRANNOC)
    vector = open_engine.encoder.encode([GUSTS])[0]
    only_brannoc = open_engine.retriever.retrieve(
        GUSTS, vector, 8, open_engine.store.chunks_in(Scope(articles=(brannoc,)))
    )
    search = functools.partial(_search, open_engine.retriever, open_engine.store, vector, None)
    engine = open_engine
    asking = Asking(GUSTS, "compare", only_brannoc, engine.reader, engine.store, 5, "", engine.judge, search)
    answer = answer_compare(asking)
    assert {p.citation.title for p in answer.parts} == {BRANNOC, CELLWEN}  # Cellwen named, so looked for
    assert not answer.message
    assert {p.article_id for p in answer.passages} >= {p.citation.article_id for p in answer.parts}  # shown, cited


def test_a_scoped_comparison_looks_for_no_article_outside_its_scope(open_engine):
    from index.scope import Scope

    brannoc = next(a.id for a in open_engine.articles() if a.title == BRANNOC)
    answer = open_engine.ask(GUSTS, where=Scope(articles=(brannoc,)))
    assert answer.found and {p.citation.title for p in answer.parts} == {BRANNOC}
    assert answer.message == "Only one of the indexed articles speaks of this."


def test_a_factoid_span_that_is_one_item_of_a_list_answers_with_the_list(tmp_path, encoder):
    # "What will ... receive?" reads as a factoid; the reader's span is the first of three things received
    from index.build import IndexWriter
    from qa import QA

    index_dir = tmp_path / "index"
    IndexWriter(Config(index_dir=index_dir), encoder=encoder).build([FIXTURES / "listed", FIXTURES / "articles"])
    engine = QA(index_dir, encoder=encoder)
    answer, items = _listed(engine, "What will the Kollpa community receive under the agreement?")
    assert items == [
        "2.5 percent of the project's annual sales revenue",
        "priority for hiring and training",
        "seats on a water monitoring committee",
    ]
    assert answer.text == items[0] and {p.citation.start for p in answer.parts} == {answer.citations[0].start}
    # a figure followed by a comparison and a reason is still one figure
    cost = engine.ask("What will the Salar Verde project cost to build?")
    assert cost.found and cost.kind == "factoid" and cost.text == "1.34 billion dollars" and not cost.parts


def test_a_bare_why_after_an_answer_asks_why_of_that_answer(open_engine):
    first = open_engine.ask("When will production of wine bottles stop at the Merrow glassworks?")
    assert first.found and first.text == "June"
    answer = open_engine.ask("Why?", history=[first])
    assert answer.found and answer.kind == "why"
    assert "furnaces need replacing" in answer.citations[0].quote
    assert open_engine.ask("Why?").kind == "why"  # without a conversation it is still a why-question
    _exact(open_engine, answer)


def test_a_factoid_question_still_gets_its_span(open_engine):
    answer = open_engine.ask("Who is the local MP in Merrow?")
    assert answer.kind == "factoid" and answer.text == "Grace Whitlow" and not answer.parts


@pytest.fixture(scope="module")
def client(open_engine):
    from fastapi.testclient import TestClient

    return TestClient(create_app(open_engine, Access(), open_engine.config), base_url="http://localhost")


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Summarise the news about the Merrow glassworks.", "about"),
        ("Who is Grace Whitlow?", "about"),
        ("Why is Vantelle cutting jobs at the Merrow glassworks?", "why"),
        ("Did the union accept Vantelle's count of the jobs to be lost?", "yesno"),
        ("Which countries have stopped importing poultry from Veldmark?", "list"),
        ("How do the council's and the operator's figures for the Kestle ferry fare rise compare?", "compare"),
    ],
)
def test_every_kind_comes_whole_through_the_http_api(open_engine, client, question, kind):
    reply = client.post("/api/ask", json={"question": question})
    assert reply.status_code == 200
    data = reply.json()
    assert data["found"] and data["kind"] == kind and data["parts"]
    for part in data["parts"]:
        text = open_engine.store.article_text(part["citation"]["article_id"])
        assert text[part["start"] : part["end"]] == part["text"]
    chat = client.post(
        "/v1/chat/completions", json={"model": "article-qa", "messages": [{"role": "user", "content": question}]}
    )
    assert chat.status_code == 200
    message = chat.json()["choices"][0]["message"]
    assert message["answer"]["kind"] == kind
    assert [p["text"] for p in message["answer"]["parts"]] == [p["text"] for p in data["parts"]]
    first_line = message["content"].splitlines()[0]
    if kind == "about":
        assert first_line.startswith(("In short", "What “"))
    elif kind == "compare":
        assert first_line.startswith("What each article says")
    elif kind == "list":
        assert message["content"].splitlines()[1].startswith("- ")  # the items as a list
    else:  # why and yes/no lead with the sentence
        assert data["citations"][0]["quote"].split()[0] in first_line


def test_the_chat_shows_each_kind_plainly(open_engine):
    from ui.render import render_answer

    listed = render_answer(open_engine.ask("Which countries have stopped importing poultry from Veldmark?"))
    assert listed.count("<li><strong>") == 4 and "South Korea</strong>" in listed  # one bullet an item
    summary = render_answer(open_engine.ask("Summarise the news about the Merrow glassworks."))
    assert '<ul class="qa-parts">' in summary and "Confidence" not in summary  # no probability it does not have
    settled = render_answer(open_engine.ask("Did the union accept Vantelle's count of the jobs to be lost?"))
    assert settled.index("qa-answer-text") < settled.index("rejected the company") < settled.index("qa-confidence")
