"""Split articles into overlapping, sentence-aware chunks sized in model tokens.

Splitting is langchain-text-splitters' ``RecursiveCharacterTextSplitter``
(paragraphs, then lines, then sentences, then clauses, then words), measured with
the embedding model's own tokenizer. Each chunk records where it sits in its
article: ``article.text[chunk.start:chunk.end] == chunk.text``.

Example::

    chunker = Chunker(encoder.tokenizer, chunk_tokens=128, overlap_tokens=32, max_tokens=256)
    chunks = chunker.split(article)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from index.boilerplate import included_ranges
from index.ingest import Article
from index.textfile import strip_span

# Paragraphs, lines, sentence ends, clause punctuation, words. No "" (characters): splitting a long
# run without spaces into single characters is slow (seconds per 100 KB); such runs are cut by
# the tokenizer's offsets instead (see Chunker._within_limit).
SEPARATORS = ["\n\n", "\n", r"(?<=[.!?])\s+", r"(?<=[;:,])\s+", r"\s+"]
MAX_CHARS_PER_TOKEN = 12
"""Chunks are also cut at ``limit * MAX_CHARS_PER_TOKEN`` characters: a run the tokenizer reads as one
unknown token (a long string without spaces) would otherwise make one huge chunk."""
# [CLS] and [SEP] (or their equivalents) take two of the model's positions.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class Chunk:
    """A span of an article that is embedded and retrieved as one unit."""

    article_id: str
    start: int
    end: int
    text: str


def chunk_limit(chunk_tokens: int, max_tokens: int) -> int:
    """The largest chunk, in tokens, that a model reading at most ``max_tokens`` gets when ``chunk_tokens`` are
    asked for (room is left for its special tokens); what the index's manifest records."""
    return min(chunk_tokens, max_tokens - SPECIAL_TOKENS)


class Chunker:
    """Splits article text into chunks of at most ``chunk_tokens`` model tokens.

    Consecutive chunks overlap by the whole trailing pieces (sentences, or
    clauses or words when a sentence is too long) of the first that fit in
    ``overlap_tokens``: overlap never cuts a sentence in two.

    Args:
        tokenizer: the embedding model's Hugging Face tokenizer.
        chunk_tokens: the largest chunk, in tokens; capped at ``max_tokens - 2``.
        overlap_tokens: the most tokens consecutive chunks share.
        max_tokens: the model's maximum sequence length.
    """

    def __init__(self, tokenizer, chunk_tokens: int, overlap_tokens: int, max_tokens: int) -> None:
        if chunk_tokens <= 0:
            raise ValueError(f"chunk_tokens must be greater than 0. Currently, chunk_tokens is {chunk_tokens}")
        if not 0 <= overlap_tokens < chunk_tokens:
            raise ValueError(
                f"overlap_tokens must be in [0, chunk_tokens). Currently, overlap_tokens is {overlap_tokens}"
            )
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.tokenizer = tokenizer
        self.limit = chunk_limit(chunk_tokens, max_tokens)
        self.overlap = min(overlap_tokens, self.limit - 1)
        self._splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
            tokenizer,
            chunk_size=self.limit,
            chunk_overlap=self.overlap,
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            strip_whitespace=True,
        )

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text``, special tokens excluded."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def split(self, article: Article) -> list[Chunk]:
        """The article's chunks, in order, each with exact offsets; its excluded ranges (boilerplate) get none."""
        chunks: list[Chunk] = []
        for first, last in included_ranges(len(article.text), article.excluded):
            for start, end in self._split_range(article.id, article.text[first:last]):
                chunks.append(Chunk(article.id, first + start, first + end, article.text[first + start : first + end]))
        return chunks

    def _split_range(self, article_id: str, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` of the chunks of one indexed stretch of an article, in its own offsets."""
        spans: list[tuple[int, int]] = []
        cursor = end = 0
        for piece in self._splitter.split_text(text):
            if not piece.strip():
                continue
            # The piece may overlap the previous chunk, but must reach past it: with repeated text,
            # an earlier copy of the piece inside the previous chunk is not this piece.
            start = text.find(piece, cursor)
            while start >= 0 and start + len(piece) <= end:
                start = text.find(piece, start + 1)
            if start < 0:  # the splitter only ever returns substrings; fail loudly if that changes
                raise RuntimeError(f"chunk not found in article {article_id}: {piece[:60]!r}")
            for sub_start, sub_end in self._within_limit(text, start, start + len(piece)):
                # A piece cut to fit can leave a tail that the next piece repeats as its overlap.
                while spans and sub_start <= spans[-1][0] and spans[-1][1] <= sub_end:
                    spans.pop()
                if spans and sub_start < spans[-1][1]:
                    sub_start = self._overlap_start(text, sub_start, spans[-1][1], sub_end)
                if sub_start < sub_end and (not spans or sub_end > spans[-1][1]):
                    spans.append((sub_start, sub_end))
            cursor, end = start + 1, start + len(piece)
        return spans

    def _overlap_start(self, text: str, start: int, previous_end: int, end: int) -> int:
        """Where a chunk overlapping the previous one starts: its own start, or the previous chunk's end
        when the shared text measures more than the overlap allows (a piece cut inside a word re-tokenizes longer).
        """
        if self.count_tokens(text[start:previous_end]) <= self.overlap:
            return start
        return strip_span(text, previous_end, end)[0]

    def _within_limit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Cut a span until every piece has at most ``limit`` tokens and ``limit * MAX_CHARS_PER_TOKEN`` characters.

        Token counts of merged pieces are not always additive, and a piece cut inside a word
        tokenizes differently on its own ("##uper" becomes "up", "##er"), so every piece is
        measured again, and cut again if it still does not fit.
        """
        max_chars = self.limit * MAX_CHARS_PER_TOKEN
        pending, spans = [(start, end)], []
        while pending:
            span_start, span_end = pending.pop()
            offsets = self.tokenizer(text[span_start:span_end], add_special_tokens=False, return_offsets_mapping=True)[
                "offset_mapping"
            ]
            if len(offsets) <= self.limit and span_end - span_start <= max_chars:
                span_start, span_end = strip_span(text, span_start, span_end)
                if span_end > span_start:
                    spans.append((span_start, span_end))
                continue
            if len(offsets) > self.limit:
                cuts = [span_start + offsets[i][0] for i in range(self.limit, len(offsets), self.limit)]
            else:
                cuts = list(range(span_start + max_chars, span_end, max_chars))
            cuts = [cut for cut in cuts if span_start < cut < span_end] or [(span_start + span_end + 1) // 2]
            bounds = [span_start, *cuts, span_end]
            pending.extend(reversed(list(itertools.pairwise(bounds))))
        return spans
