"""Search: `vectors` (exact or HNSW nearest neighbours) and `bm25` (the keyword index) are the
pure search structures, `files` keeps them on disk beside DuckDB as a rebuildable cache, and
`hybrid` fuses their scores into hits."""
