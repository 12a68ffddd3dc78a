"""Search: `vectors` and the keyword index are the pure search structures, `files` keeps them on
disk beside DuckDB (a rebuildable cache), `hybrid` fuses dense and keyword scores into hits."""
