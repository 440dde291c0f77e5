"""Chunking: exact offsets, the model's token limit, overlap, sentence-aware cuts."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunk import Chunker
from index.ingest import Article, read_articles
from tests.support import ARTICLES


@pytest.fixture(scope="module")
def chunker(encoder):
    return Chunker(encoder.tokenizer, chunk_tokens=40, overlap_tokens=10, max_tokens=encoder.max_tokens)


def article(text: str) -> Article:
    return Article("a1", "t", text, "s", "o", "h")


def test_offsets_are_exact_and_within_limit(chunker):
    for item in read_articles([ARTICLES]).articles:
        chunks = chunker.split(item)
        assert chunks
        for chunk in chunks:
            assert item.text[chunk.start : chunk.end] == chunk.text
            assert chunker.count_tokens(chunk.text) <= 40


def test_consecutive_chunks_overlap_by_whole_sentences_and_cover_the_text(encoder):
    chunker = Chunker(encoder.tokenizer, chunk_tokens=60, overlap_tokens=20, max_tokens=encoder.max_tokens)
    sentences = [f"Sentence number {i} tells about the harbor bridge and its cost." for i in range(30)]
    text = " ".join(sentences)
    chunks = chunker.split(article(text))
    assert len(chunks) > 3
    for before, after in itertools.pairwise(chunks):
        shared = text[after.start : before.end]
        assert shared in sentences, "consecutive chunks share one whole sentence"
        assert chunker.count_tokens(shared) <= 20
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_cuts_fall_on_sentence_ends_when_possible(chunker):
    text = " ".join(f"Fact {i} is that the council met on day {i}." for i in range(20))
    for chunk in chunker.split(article(text)):
        assert chunk.text.endswith(".")


def test_chunk_size_is_capped_by_the_model(encoder):
    capped = Chunker(encoder.tokenizer, chunk_tokens=10_000, overlap_tokens=10, max_tokens=encoder.max_tokens)
    assert capped.limit == encoder.max_tokens - 2
    long_word = "x" * 5000
    for chunk in capped.split(article(f"Start. {long_word} end.")):
        assert capped.count_tokens(chunk.text) <= capped.limit


def test_bad_settings_name_the_value(encoder):
    with pytest.raises(ValueError, match="overlap_tokens"):
        Chunker(encoder.tokenizer, chunk_tokens=10, overlap_tokens=10, max_tokens=256)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=600).filter(lambda t: t.strip()))
def test_any_unicode_maps_back_exactly(chunker, text):
    for chunk in chunker.split(article(text)):
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunker.count_tokens(chunk.text) <= chunker.limit
