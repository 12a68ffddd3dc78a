"""Where paperfeed keeps its files: one explicit object, built once and passed down."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from paperfeed.errors import ConfigError

if TYPE_CHECKING:
    from paperfeed.config import Config

APP_NAME = "paperfeed"
LOCK_WAIT_SECONDS = 10.0  # how long a command waits for a database another process is writing


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    config_path: Path
    lock_wait: float = LOCK_WAIT_SECONDS

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        config: str | os.PathLike[str] | None = None,
    ) -> Settings:
        """Flags win over PAPERFEED_HOME / PAPERFEED_CONFIG, which win over the defaults."""
        home_path = Path(
            home or os.environ.get("PAPERFEED_HOME") or platformdirs.user_data_dir(APP_NAME)
        )
        config_value = config or os.environ.get("PAPERFEED_CONFIG")
        if config_value:
            config_path = Path(config_value)
        elif Path("sources.yaml").is_file():
            config_path = Path("sources.yaml")
        else:
            config_path = home_path / "sources.yaml"
        return cls(
            home=home_path.expanduser(),
            config_path=config_path.expanduser(),
            lock_wait=_lock_wait(os.environ.get("PAPERFEED_LOCK_WAIT")),
        )

    @property
    def db_path(self) -> Path:
        return self.home / "paperfeed.duckdb"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def backup_dir(self) -> Path:
        """Dated copies of the database, one after each successful ingest (store.backup)."""
        return self.home / "backups"

    @property
    def default_digest_dir(self) -> Path:
        return self.home / "digests"

    def digest_dir(self, config: Config) -> Path:
        """Where digests are written and synced from: sources.yaml's `digest_dir`, else the
        home's digests folder."""
        return config.digest_dir or self.default_digest_dir

    @property
    def read_marks_log(self) -> Path:
        """Append-only log of read/save/rate marks: the one state we cannot re-fetch."""
        return self.home / "read_marks.jsonl"

    @property
    def pending_marks(self) -> Path:
        """Marks made while the database was busy, applied at the next writable open."""
        return self.home / "pending_marks.jsonl"

    def ensure_home(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)


def _lock_wait(value: str | None) -> float:
    if value is None or not value.strip():
        return LOCK_WAIT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ConfigError(f"PAPERFEED_LOCK_WAIT must be a number of seconds, not {value!r}")
    return seconds
