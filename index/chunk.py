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

from dataclasses import dataclass

from index.ingest import Article

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
        self.limit = min(chunk_tokens, max_tokens - SPECIAL_TOKENS)
        self._splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
            tokenizer,
            chunk_size=self.limit,
            chunk_overlap=min(overlap_tokens, self.limit - 1),
            separators=SEPARATORS,
            is_separator_regex=True,
            keep_separator="end",
            strip_whitespace=True,
        )

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in ``text``, special tokens excluded."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def split(self, article: Article) -> list[Chunk]:
        """The article's chunks, in order, each with exact offsets."""
        chunks: list[Chunk] = []
        cursor = 0
        for piece in self._splitter.split_text(article.text):
            if not piece.strip():
                continue
            start = article.text.find(piece, cursor)
            if start < 0:  # the splitter only ever returns substrings; fail loudly if that changes
                raise RuntimeError(f"chunk not found in article {article.id}: {piece[:60]!r}")
            for sub_start, sub_end in self._within_limit(article.text, start, start + len(piece)):
                chunks.append(Chunk(article.id, sub_start, sub_end, article.text[sub_start:sub_end]))
            cursor = start + 1
        return chunks

    def _within_limit(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """Cut a span at token boundaries if it has more tokens (or characters) than the limit.

        Token counts of merged pieces are not always additive (unusual Unicode),
        so the splitter's result is checked, and cut by the tokenizer's offsets.
        """
        max_chars = self.limit * MAX_CHARS_PER_TOKEN
        encoding = self.tokenizer(text[start:end], add_special_tokens=False, return_offsets_mapping=True)
        offsets = encoding["offset_mapping"]
        if len(offsets) <= self.limit and end - start <= max_chars:
            return [(start, end)]
        spans = []
        for first in range(0, len(offsets), self.limit):
            window = offsets[first : first + self.limit]
            spans.append((start + window[0][0], start + window[-1][1]))
        return [
            (span_start + cut, min(span_start + cut + max_chars, span_end))
            for span_start, span_end in spans
            for cut in range(0, span_end - span_start, max_chars)
        ]
