"""Embedding: `embedder` encodes items' title and abstract into vectors stored in DuckDB;
`query_encoder` is the light numpy encoder that search and the digest use for short queries."""
