"""The weekly digest: `rank` scores the week's items against the focus areas, `build` turns them
into a `Digest` (pure data), `markdown` renders it, `run` gathers from the store and writes."""
