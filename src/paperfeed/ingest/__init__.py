"""Ingest: `collect` fetches every source through its adapter and records the results in DuckDB,
`refresh` embeds what is new and brings the search indexes up to date, `bulk` imports the arXiv
metadata snapshot."""
