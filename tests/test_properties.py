"""Properties that hold for any text: offsets map back exactly, chunks cover the article, limits hold."""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from index.annotate import Annotator
from index.chunk import MAX_CHARS_PER_TOKEN, Chunker
from index.ingest import Article
from index.textfile import iter_text

# Pieces that break naive offset arithmetic: combining marks, emoji (with joiners and skin tones),
# right-to-left scripts, CRLF and lone CR, NUL and other controls, very long words, odd spaces.
AWKWARD = [
    "e\u0301", "n\u0303a\u0308", "👩‍👩‍👧", "👍🏽", "🇫🇷", "שלום עולם.", "مرحبا بالعالم.", "\u202eevil\u202c",
    "\r\n", "\r", "\n\n", "\x00", "\x07", "\t", "\u00a0", "\u2028", "\u200b", "ﬁ", "Ⅻ", "ß", "İ",
    "x" * 700, "Supercalifragilistic" * 30, "$1.2 million", "U.S.", "Dr. Okafor said.", "Yes! No? ",
]  # fmt: skip
WORDS = st.sampled_from(["The", "council", "met", "on", "Tuesday", "bridge", "cost", "Bristol", "1998", ".", ","])
TEXT = st.lists(st.one_of(st.sampled_from(AWKWARD), WORDS, st.text(max_size=12)), min_size=30, max_size=200).map(
    " ".join
)
# QA_PROPERTY_EXAMPLES=1500 runs a deeper search than the suite's default.
PROPERTY = settings(
    max_examples=int(os.environ.get("QA_PROPERTY_EXAMPLES", 80)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def chunker(encoder):
    return Chunker(encoder.tokenizer, chunk_tokens=48, overlap_tokens=12, max_tokens=encoder.max_tokens)


def article(text: str) -> Article:
    return Article("a1", "t", text, "s", "o", "h")


@PROPERTY
@given(TEXT)
def test_chunks_map_back_cover_the_text_overlap_as_promised_and_fit_the_model(chunker, text):
    chunks = chunker.split(article(text))
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text and chunk.text.strip()
        assert chunker.count_tokens(chunk.text) <= chunker.limit
        assert len(chunk.text) <= chunker.limit * MAX_CHARS_PER_TOKEN
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    # Every character is in a chunk, except whitespace and what the tokenizer drops (controls, format marks).
    missed = {text[i] for i in range(len(text)) if i not in covered}
    assert all(not chunker.count_tokens(ch) or ch.isspace() for ch in missed), missed
    for before, after in itertools.pairwise(chunks):
        assert after.start > before.start and after.end > before.end, "chunks move forward"
        if after.start < before.end:
            assert chunker.count_tokens(text[after.start : before.end]) <= 12, "overlap stays within its budget"


@settings(max_examples=40, deadline=None)
@given(TEXT)
def test_sentences_map_back_in_order(text):
    (sentences,) = list(Annotator().annotate([article(text)]))
    for sentence in sentences:
        piece = text[sentence.start : sentence.end]
        assert piece and piece == piece.strip() and "\n" not in piece
    for before, after in itertools.pairwise(sentences):
        assert before.end <= after.start


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXT, st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]), st.integers(min_value=8, max_value=400))
def test_streamed_file_text_is_the_whole_text_in_parts(tmp_path, text, encoding, part_chars):
    text = text.replace("\x00", "")  # a NUL makes a file binary, which is refused (tested elsewhere)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    assume(controls <= 0.05 * len(text))  # more reads as binary and is refused (tested elsewhere)
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode(encoding))
    parts = list(iter_text(path, "article.txt", part_chars))
    assert "".join(parts) == text.replace("\r\n", "\n").replace("\r", "\n")
    assert all(len(part) <= part_chars for part in parts)
