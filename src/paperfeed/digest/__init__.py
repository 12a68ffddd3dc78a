"""The weekly digest: `gather` reads what it needs from the store, `rank` scores the week's
items against the focus areas, `build` turns them into a `Digest` (`model`, pure data),
`markdown` renders it, `run` goes end to end and writes and records it."""
