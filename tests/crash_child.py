"""Child process for the kill -9 harness (test_crash.py): a real ingest, embedding and index
write, with an fsynced acknowledgement line after every committed source."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from fakes import HashingEmbedder  # noqa: E402

from paperfeed.config import load_config  # noqa: E402
from paperfeed.ingest.collect import RetryPolicy, ingest  # noqa: E402
from paperfeed.ingest.record import SourceSummary  # noqa: E402
from paperfeed.ingest.refresh import refresh_embeddings  # noqa: E402
from paperfeed.settings import Settings  # noqa: E402


def main(config_path: str, home: str, ack_path: str) -> None:
    settings = Settings(home=Path(home), config_path=Path(config_path))
    config = load_config(settings.config_path)
    with open(ack_path, "a", encoding="utf-8") as ack:

        def acknowledge(summary: SourceSummary) -> None:
            ack.write(json.dumps({"source": summary.name, "new_ids": list(summary.new_ids)}) + "\n")
            ack.flush()
            os.fsync(ack.fileno())

        ingest(
            settings, config, retry=RetryPolicy(attempts=1, backoff=()), on_source_done=acknowledge
        )
    refresh_embeddings(settings, config, embedder=HashingEmbedder(config.model))


if __name__ == "__main__":
    main(*sys.argv[1:4])
