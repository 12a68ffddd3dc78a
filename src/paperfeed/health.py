"""How each configured source is doing: the rows `paperfeed sources` and `paperfeed status` show.

I/O rule: none. The caller reads the source states and item counts from the store and passes
them in; these functions only join them with sources.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from paperfeed.config import Config, SourceConfig
from paperfeed.records import SourceState
from paperfeed.sources import source_type


def source_rows(
    config: Config, states: Mapping[str, SourceState], counts: Mapping[str, int]
) -> list[dict[str, Any]]:
    """One JSON-ready row per configured source, in the order of sources.yaml."""
    return [
        _row(s, states.get(s.name) or SourceState(s.name), counts.get(s.name, 0))
        for s in config.sources
    ]


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


def status_rows(
    config: Config, states: Mapping[str, SourceState], counts: Mapping[str, int]
) -> list[dict[str, Any]]:
    """The shorter rows of `paperfeed status`: items, last success, failures, disabled."""
    rows = []
    for source in config.sources:
        state = states.get(source.name)
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "items": counts.get(source.name, 0),
                "last_ok": state.last_ok if state else None,
                "last_error": state.last_error if state else None,
                "consecutive_failures": state.consecutive_failures if state else 0,
                "disabled": bool(state and state.disabled),
            }
        )
    return rows
