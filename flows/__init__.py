"""The Prefect flows (ingest, digest). Loaded by path by `paperfeed serve`; shipped in the wheel
as the `paperfeed_flows` package so an installed paperfeed finds them too."""
