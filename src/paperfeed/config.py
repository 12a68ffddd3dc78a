"""sources.yaml: the learner's sources, focus areas and schedules.

Loaded with yaml.safe_load semantics (no Python tags) and validated; every error names the file,
the line and the offending key. Reading the file is the only I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE_TYPES = ("arxiv", "feed", "html")
DEFAULT_MODEL = "all-MiniLM-L6-v2"


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    type: str  # one of SOURCE_TYPES
    url: str | None = None  # feed and html sources
    query: str | None = None  # arxiv: a search query (arXiv API syntax or plain words)
    categories: tuple[str, ...] = ()  # arxiv: e.g. ("cs.LG", "cs.CL")
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    enabled: bool = True
    allow_private: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # type options, see README
    line: int | None = None  # where the entry starts in sources.yaml


@dataclass(frozen=True, slots=True)
class FocusArea:
    name: str
    description: str
    keywords: tuple[str, ...] = ()
    weight: float = 1.0
    weekly_goal: int | None = None


@dataclass(frozen=True, slots=True)
class Schedules:
    ingest_cron: str = "0 6 * * *"
    digest_cron: str = "0 7 * * 1"
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    sources: tuple[SourceConfig, ...] = ()
    focus_areas: tuple[FocusArea, ...] = ()
    model: str = DEFAULT_MODEL
    digest_dir: Path | None = None
    schedules: Schedules = Schedules()
    contact: str | None = None  # e-mail or URL for the User-Agent sent to arXiv and feeds

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)
