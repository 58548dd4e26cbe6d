"""Ingestion: article files -> Article -> Chunk -> embedded into Chroma + a lexical index.

Modules, in the order data flows through them:
``articles`` (parse files), ``chunking`` (token-bounded passages), ``embedding`` (MiniLM,
precision picked for the CPU), ``store`` (Chroma and the SQLite lexical index, kept in
step), ``ingest`` (incremental, idempotent, crash-safe runs with a report).
"""
