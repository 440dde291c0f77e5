"""Everything done before a question is asked: ingest, chunk, annotate, embed, store, update."""
