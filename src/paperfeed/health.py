"""How each configured source is doing: the rows `paperfeed sources` and `paperfeed status` show.

I/O rule: none. The caller reads the source states and item counts from the store and passes
them in; these functions only join them with sources.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from paperfeed.config import Config, SourceConfig
from paperfeed.ingest.bulk import SOURCE_NAME as BULK_SOURCE
from paperfeed.records import SourceState
from paperfeed.sources import source_type


def source_rows(
    config: Config,
    states: Mapping[str, SourceState],
    counts: Mapping[str, int],
    stored: Mapping[str, int],
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured source, in the order of sources.yaml (`counts`: what
    each counts, an arXiv source every stored paper of its categories), then one per stored
    source that sources.yaml does not name (`stored`: a bulk import, a removed source)."""
    rows = [
        _row(s, states.get(s.name) or SourceState(s.name), counts.get(s.name, 0))
        for s in config.sources
    ]
    rows += [_unlisted(name, n) for name, n in stored.items() if config.source(name) is None]
    return rows


def listed(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of sources in sources.yaml (not the bulk import or removed sources)."""
    return [r for r in rows if r["type"] not in ("bulk", "-")]


def _unlisted(name: str, items: int) -> dict[str, Any]:
    bulk = name == BULK_SOURCE  # what `import arxiv-metadata` stores papers under
    return {
        "name": name,
        "type": "bulk" if bulk else "-",
        "url": "arXiv bulk import" if bulk else "not in sources.yaml",
        "enabled": False,
        "disabled": False,
        "disabled_reason": None,
        "items": items,
        "last_ok": None,
        "last_error": None,
        "consecutive_failures": 0,
        "moved_to": None,
    }


def _row(source: SourceConfig, state: SourceState, items: int) -> dict[str, Any]:
    return {
        "name": source.name,
        "type": source.type,
        "url": source.url or source_type(source.type).label(source),
        "enabled": source.enabled,
        "disabled": state.disabled,
        "disabled_reason": state.disabled_reason,
        "items": items,
        "last_ok": _iso(state.last_ok),
        "last_error": state.last_error,
        "consecutive_failures": state.consecutive_failures,
        "moved_to": state.moved_to,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def status_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """`paperfeed status`'s view of the sources: when one was last fetched, how many are ok,
    failing, disabled or off, and the rows of those that need attention."""
    mine = listed(rows)
    return {
        "last_ingest": max((r["last_ok"] for r in mine if r["last_ok"]), default=None),
        "sources": {
            "total": len(mine),
            "ok": sum(bool(r["last_ok"]) and not r["consecutive_failures"] for r in mine),
            "failing": sum(r["consecutive_failures"] > 0 and not r["disabled"] for r in mine),
            "disabled": sum(bool(r["disabled"]) for r in mine),
            "off": sum(not r["enabled"] for r in mine),
        },
        "attention": [
            r for r in mine if r["enabled"] and (r["disabled"] or r["consecutive_failures"])
        ],
    }
