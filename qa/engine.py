"""The question-answering engine: retrieve, then extract.

Example::

    from qa import QA
    engine = QA("~/.local/share/article-qa/index")
    answer = engine.ask("Who founded SenseTime?")
    print(answer.text, answer.citations[0].quote)
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from index.build import BuildReport
from index.embed import Encoder, canonical_model_name, make_encoder
from index.errors import IndexNotFound
from index.ingest import SUPPORTED_SUFFIXES
from index.layout import Manifest, rebuild_hint
from index.scope import Scope
from index.sharded_build import make_writer
from index.shards import open_store
from index.store import ArticleRecord
from qa.about import answer_about, metadata_field
from qa.compare import answer_compare
from qa.config import Config, default_articles
from qa.conversation import followup_context
from qa.errors import BadQuestion, EmptyQuestion, ModelMismatch
from qa.evidence import Asking
from qa.explain import answer_explain
from qa.judge import SentenceJudge, default_judge_dir
from qa.kinds import may_ask_for_several, question_kind
from qa.lists import answer_list, list_around_span
from qa.read import make_reader
from qa.retrieve import HybridRetriever
from qa.summary import answer_summary
from qa.types import Answer, Passage
from qa.yesno import answer_yesno

__all__ = ["MAX_QUESTION_CHARS", "QA", "SUPPORTED_SUFFIXES", "ask", "clean_question", "rebuild_hint"]

MAX_QUESTION_CHARS = 1000
"""Longer questions are cut here; the model reads at most 256 tokens anyway."""

ANSWERERS = {
    "about": answer_summary,
    "why": answer_explain,
    "how": answer_explain,
    "yesno": answer_yesno,
    "list": answer_list,
    "compare": answer_compare,
}
"""How each kind of question (:mod:`qa.kinds`) is answered; each returns ``None`` when the span reader should
answer instead, and factoid questions go to the span reader directly."""
RETRIEVAL_DEPTH = {"compare": 8}
"""Passages retrieved for a kind that reads more than ``Config.k`` (a comparison needs several articles)."""


def clean_question(question: object) -> str:
    """The question without control characters, stripped, and cut to :data:`MAX_QUESTION_CHARS`.

    Raises:
        TypeError: it is not a string.
        EmptyQuestion: it is empty or whitespace.
        BadQuestion: it has no letters or digits (only punctuation, symbols or emoji).
    """
    if not isinstance(question, str):
        raise TypeError(f"question must be a string, not {type(question).__name__}")
    question = "".join(ch if ch.isprintable() else " " for ch in question).strip()
    if not question:
        raise EmptyQuestion()
    if not any(ch.isalnum() for ch in question):
        raise BadQuestion(
            "the question has no words to search for (only punctuation, symbols or emoji); "
            "type a question about the indexed articles"
        )
    return question[:MAX_QUESTION_CHARS]


class QA:
    """Answers questions from one index; safe to share between threads.

    Args:
        index_dir: the index directory (default: ``config.index_dir``).
        config: settings; defaults documented on :class:`~qa.config.Config`.
        model: the embedding model to query with; must match the index's.
        encoder: an already loaded encoder to reuse.

    Raises:
        IndexNotFound, IndexCorrupt, ModelMismatch: the index cannot be used.
    """

    def __init__(
        self,
        index_dir: str | os.PathLike | None = None,
        *,
        config: Config | None = None,
        model: str | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.config = (config or Config()).with_overrides(index_dir=index_dir, model=model)
        self._lock = threading.Lock()
        self._pages = None
        if self.config.search_threads:
            import faiss

            # One question is searched fastest by one thread: the embedding model's threads are still
            # spinning for work right after it, and FAISS's would compete with them (process-wide).
            faiss.omp_set_num_threads(self.config.search_threads)
        self.judge = SentenceJudge() if default_judge_dir().is_dir() else None
        self.reader = make_reader(self.config, judge=self.judge)
        self._open()
        if encoder is not None and canonical_model_name(encoder.name) != self.store.manifest.model:
            raise ModelMismatch(self.config.index_dir, self.store.manifest.model, encoder.name)
        if encoder is not None and encoder.backend != self.store.manifest.backend:
            encoder = None  # the question must be embedded as the index was
        self.encoder = encoder or make_encoder(self.store.manifest.model, self.store.manifest.backend)

    def _open(self) -> None:
        store = open_store(self.config.index_dir, model=self.config.model)
        store.set_probes(self.config.probes)
        self.store = store
        self.retriever = HybridRetriever(store, self.config.candidates, self.config.rrf_k)

    @classmethod
    def build(
        cls, paths: Sequence[str | os.PathLike] | None = None, *, config: Config | None = None, progress: bool = False
    ) -> BuildReport:
        """Build the index at ``config.index_dir`` from scratch (default paths: the seed articles).

        Raises:
            NoArticles, BadArticle (strict), IndexLocked, NotAnIndex: see :meth:`index.build.IndexWriter.build`;
            with ``config.shards`` or ``config.engine="ray"`` the index is sharded (see ``index.sharded_build``).
        """
        config = config or Config()
        return make_writer(config, progress=progress).build(list(paths or default_articles()))

    @classmethod
    def open_or_build(cls, config: Config | None = None, *, progress: bool = False, say=print) -> QA:
        """Open the index at ``config.index_dir``, first building it from the seed articles if there is none.

        ``say`` is told (one line each) that the seeds are being indexed and the build's summary.
        """
        config = config or Config()
        try:
            return cls(config=config)
        except IndexNotFound:
            say(f"No index at {config.index_dir} yet: building one from {default_articles()[0]} …")
            say(cls.build(config=config, progress=progress).summary())
            return cls(config=config)

    def add(self, paths: Sequence[str | os.PathLike], *, progress: bool = False) -> BuildReport:
        """Add new and changed articles from files and folders (see :meth:`index.build.IndexWriter.add`);
        the engine answers from them at once."""
        report = make_writer(self.config, encoder=self.encoder, progress=progress).add(list(paths))
        self.refresh()
        return report

    def remove(self, article_ids: Sequence[str]) -> BuildReport:
        """Remove articles by id (ids not in the index are listed in ``report.missing``)."""
        report = make_writer(self.config, encoder=self.encoder).remove(list(article_ids))
        self.refresh()
        return report

    def articles(self) -> list[ArticleRecord]:
        """The indexed articles (id, title, source, date, chunks ...), in the index's order."""
        self.refresh()
        return self.store.articles()

    def stats(self) -> Manifest:
        """The index's manifest: format, model, settings and counts."""
        self.refresh()
        return self.store.manifest

    def verify(self) -> list[str]:
        """Check that the index is whole (see :meth:`index.store.IndexStore.verify`); the problems found."""
        self.refresh()
        return self.store.verify()

    def page_highlight(self, answer: Answer):
        """The answer on its PDF page, rendered with the answer boxed and the quote shaded
        (:class:`qa.pages.PageHighlight`), or ``None`` when the answer is not cited to a PDF page."""
        from qa.pages import PageRenderer

        with self._lock:
            if self._pages is None:
                self._pages = PageRenderer()
        return self._pages.highlight(self.store, answer)

    def article_file(self, article_id: str) -> Path | None:
        """The file an indexed article was read from, if it is still there (``None``: unknown article, gone, or
        no longer that file: a link now stands at its path, or the path now resolves somewhere else)."""
        self.refresh()
        return self.store.current_file(article_id)

    def refresh(self) -> None:
        """Switch to the index's newest generation if another writer has changed it."""
        if self.store.stale():
            with self._lock:
                if self.store.stale():
                    self._open()

    def ask(
        self,
        question: str,
        history: Sequence[object] | None = None,
        k: int | None = None,
        where: Scope | None = None,
    ) -> Answer:
        """Answer a question from the articles, or say it is not found.

        The question's kind (:func:`qa.kinds.question_kind`) decides the answer's shape: a span for a factoid,
        key sentences for "what is this about", the explaining or settling sentences for why/how and yes/no,
        items for a list, one sentence an article for a comparison (:data:`ANSWERERS`); ``Answer.kind`` says it.

        Args:
            question: the question.
            history: earlier turns of the conversation, oldest first (see
                :mod:`qa.conversation` for the accepted shapes); follow-ups such as
                "Who founded it?" are resolved against it.
            k: passages to retrieve (default ``config.k``).
            where: ask only the articles this :class:`~index.scope.Scope` matches (a site, an author,
                a date range, article ids); applied inside retrieval. When it matches no article, the
                answer is "not found" with a message that says so.

        Raises:
            TypeError: the question is not a string.
            EmptyQuestion: the question is empty.
            BadQuestion: the question has no words (only punctuation, symbols or emoji).
        """
        return self.ask_timed(question, history, k, where=where)[0]

    def ask_timed(
        self,
        question: str,
        history: Sequence[object] | None = None,
        k: int | None = None,
        passages: Sequence[Passage] | None = None,
        where: Scope | None = None,
    ) -> tuple[Answer, dict[str, float]]:
        """Like :meth:`ask`, also returning milliseconds spent to ``embed``, ``retrieve`` and ``answer``.

        ``passages``, when given, are read instead of retrieved ones (``qa eval --oracle`` gives the gold paragraph).
        """
        question = clean_question(question)
        k = self.config.k if k is None else k
        if not isinstance(k, int) or k <= 0:
            raise ValueError(f"k must be a positive integer. Currently, k is {k!r}")
        self.refresh()
        retriever, store = self.retriever, self.store  # one generation for the whole question
        context = followup_context(question, history)
        query = f"{question} {context}".strip()
        within = None if where is None or where.is_everything else store.chunks_in(where)
        if within is not None and not len(within):
            message = f"No indexed article matches the scope ({where.describe()})."
            return replace(Answer.not_found(question, 0.0, ()), message=message), {}
        kind = question_kind(question)
        t0 = time.perf_counter()
        vector = self.encoder.encode([query])[0]
        t1 = time.perf_counter()
        search = None  # passages given by the caller are all an answerer may read
        if passages is None:
            depth = max(k, self.reader.depth, RETRIEVAL_DEPTH.get(kind, 0))
            passages = retriever.retrieve(query, vector, depth, within)
            search = functools.partial(_search, retriever, store, vector, within)
        t2 = time.perf_counter()
        field = metadata_field(question)  # when was it published, who wrote it
        answer = answer_about(question, field, list(passages), store, k) if field else None
        if answer is None and kind in ANSWERERS:
            asking = Asking(question, kind, list(passages), self.reader, store, k, context, self.judge, search)
            answer = ANSWERERS[kind](asking)
            bar = self.config.min_confidence
            if answer is not None and bar is not None and kind != "about" and answer.score < bar:
                # under the confidence the user asked for: the reader's span answers if it clears it (a summary's
                # score is its story's retrieval score, not a probability: no bar applies to it)
                answer = None
        if answer is None:
            answer = replace(self.reader.read(question, list(passages), context=context, k=k), kind=kind)
            if kind == "factoid" and may_ask_for_several(question):  # the span may be one item of a list
                answer = list_around_span(answer) or answer
        t3 = time.perf_counter()
        timings = {"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000, "answer": (t3 - t2) * 1000}
        return answer, timings


def _search(
    retriever: HybridRetriever, store, vector, within, query: str, articles: tuple[str, ...], depth: int
) -> list[Passage]:
    """Retrieval again for an answerer (:attr:`qa.evidence.Asking.search`): ``query``'s words, the question's
    vector, among ``articles`` (every article the question may see when empty), inside the question's scope."""
    scope = within
    if articles:
        scope = store.chunks_in(Scope(articles=articles))
        if within is not None:
            scope = scope[np.isin(scope, within)]
        if not len(scope):
            return []
    return retriever.retrieve(query, vector, depth, scope)


_engines: dict[Path, QA] = {}
_engines_lock = threading.Lock()


def ask(
    question: str, index: str | os.PathLike | None = None, k: int | None = None, where: Scope | None = None
) -> Answer:
    """Answer one question from the index at ``index`` (default: ``$QA_INDEX_DIR`` or the user data dir).

    The engine is loaded once per index and reused.

    Example::

        from qa import ask
        print(ask("When was SenseTime founded?").text)
    """
    index_dir = Config().with_overrides(index_dir=index).index_dir.resolve()
    with _engines_lock:
        engine = _engines.get(index_dir)
        if engine is None:
            engine = _engines[index_dir] = QA(index_dir)
    return engine.ask(question, k=k, where=where)
