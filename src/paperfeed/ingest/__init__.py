"""Ingest: `collect` fetches every source through its source type, `record` writes what each
result means for its source to DuckDB, `refresh` embeds what is new and brings the search
indexes up to date, `bulk` imports the arXiv metadata snapshot."""
