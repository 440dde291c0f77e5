"""The stories of a news QA part as the index splits them: each article whole, with its sentences.

The part's articles are indexed as ``qa eval`` indexes them (cached under the evaluation cache), so that
the sentences the models of :mod:`training.train_summary` and :mod:`training.train_sentences` learn from are
the ones they will be given when answering.
"""

from __future__ import annotations

from pathlib import Path

from qa.types import Passage


def indexed_stories(part: Path) -> dict[str, Passage]:
    """Each article of a news part (``train/`` or ``dev/``) by title, whole, with every sentence."""
    from index.shards import open_store
    from qa.config import Config
    from qa.evaluate import build_eval_index, eval_index_dir, load_squad
    from qa.retrieve import passage_of

    [squad] = part.glob("news-*.json")
    articles, _, _ = load_squad(squad)
    config = Config()
    config = config.with_overrides(index_dir=eval_index_dir(squad, config))
    build_eval_index(articles, config)
    store = open_store(config.index_dir)
    stretches = store.stretches([(a.id, 0, len(a.text)) for a in articles])
    return {a.title: passage_of(s, 0, 1.0) for a, s in zip(articles, stretches, strict=True)}
