"""Repository for per-source and per-host state: `source_state`, `host_state`, `source_errors`.

I/O rule: only this module reads or writes those tables, always with parameter binding; each
write is one transaction (joining the caller's, if one is open). A failing source is data: its
failures are counted and logged here, and the run goes on.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from paperfeed.records import SourceState, Validators
from paperfeed.store.connection import as_utc, transaction

_SELECT_ONE = """
    SELECT name, etag, last_modified, moved_to, last_ok, last_status, last_error,
           consecutive_failures, disabled, disabled_reason, retry_after, cursor, moved_from
    FROM source_state WHERE name = $1
"""

_SELECT_ALL = """
    SELECT name, etag, last_modified, moved_to, last_ok, last_status, last_error,
           consecutive_failures, disabled, disabled_reason, retry_after, cursor, moved_from
    FROM source_state ORDER BY name
"""

_ENSURE = "INSERT INTO source_state (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"

_SUCCESS = """
    UPDATE source_state SET
        etag = CASE WHEN $2 THEN $3 ELSE etag END,
        last_modified = CASE WHEN $2 THEN $4 ELSE last_modified END,
        moved_to = CASE WHEN $5 IS NOT NULL THEN $5
                        WHEN moved_from IS DISTINCT FROM $9 AND moved_from IS NOT NULL THEN NULL
                        ELSE moved_to END,
        moved_from = CASE WHEN $5 IS NOT NULL THEN $9
                          WHEN moved_from IS DISTINCT FROM $9 THEN NULL
                          ELSE moved_from END,
        cursor = $6, last_status = $7,
        last_attempt_at = $8, last_ok = $8, last_error = NULL,
        consecutive_failures = 0, retry_after = NULL
    WHERE name = $1
"""

_FAILURE = """
    UPDATE source_state SET
        consecutive_failures = consecutive_failures + 1, last_status = 'failed',
        last_error = $2, last_attempt_at = $3,
        disabled = disabled OR consecutive_failures + 1 >= $4,
        disabled_reason = CASE WHEN NOT disabled AND consecutive_failures + 1 >= $4 THEN $5
                               ELSE disabled_reason END
    WHERE name = $1
"""

_UNREACHABLE = """
    UPDATE source_state SET last_status = 'unreachable', last_error = $2, last_attempt_at = $3
    WHERE name = $1
"""

_DEFERRED = """
    UPDATE source_state SET retry_after = $2, last_status = 'deferred', last_attempt_at = $3
    WHERE name = $1
"""

_PARTIAL = """
    UPDATE source_state SET cursor = $2, last_status = 'partial', last_attempt_at = $3
    WHERE name = $1
"""

_DISABLE = """
    UPDATE source_state SET disabled = TRUE, disabled_reason = $2, last_attempt_at = $3
    WHERE name = $1
"""

_ENABLE = """
    UPDATE source_state SET disabled = FALSE, disabled_reason = NULL,
        consecutive_failures = 0, retry_after = NULL
    WHERE name = $1
"""

_LOG_ERROR = (
    "INSERT INTO source_errors (occurred_at, source, kind, message) VALUES ($1, $2, $3, $4)"
)

_SET_HOST = """
    INSERT INTO host_state (host, retry_after) VALUES ($1, $2)
    ON CONFLICT (host) DO UPDATE SET retry_after = excluded.retry_after
"""


def _state(row: tuple[Any, ...]) -> SourceState:
    (
        name,
        etag,
        last_modified,
        moved_to,
        last_ok,
        last_status,
        last_error,
        failures,
        disabled,
        disabled_reason,
        retry_after,
        cursor,
        moved_from,
    ) = row
    return SourceState(
        name=name,
        validators=Validators(etag, last_modified),
        moved_to=moved_to,
        moved_from=moved_from,
        last_ok=as_utc(last_ok),
        last_status=last_status,
        last_error=last_error,
        consecutive_failures=failures,
        disabled=disabled,
        disabled_reason=disabled_reason,
        retry_after=as_utc(retry_after),
        cursor=cursor,
    )


class SourceStateRepo:
    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def get(self, name: str) -> SourceState:
        """The stored state, or a default SourceState(name) for a source never seen."""
        row = self.conn.execute(_SELECT_ONE, [name]).fetchone()
        return _state(row) if row else SourceState(name)

    def all(self) -> dict[str, SourceState]:
        return {row[0]: _state(row) for row in self.conn.execute(_SELECT_ALL).fetchall()}

    def record_success(
        self,
        name: str,
        *,
        status: str,
        validators: Validators | None,
        moved_to: str | None,
        cursor: str | None,
        now: datetime,
        config_url: str | None = None,
    ) -> None:
        """A fetch that worked: failures reset, retry window cleared. `validators` None keeps
        the stored ones; `moved_to` None keeps a remembered redirect, unless it was learnt for
        another configured URL than `config_url` (then it is forgotten); `cursor` None clears
        it."""
        keep = validators is None
        etag = None if validators is None else validators.etag
        last_modified = None if validators is None else validators.last_modified
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(
                _SUCCESS,
                [name, not keep, etag, last_modified, moved_to, cursor, status, now, config_url],
            )

    def record_failure(
        self, name: str, *, kind: str, message: str, now: datetime, disable_after: int = 3
    ) -> SourceState:
        """Count one failure, log it, disable the source when the count reaches
        `disable_after`. Returns the new state."""
        reason = f"{disable_after} consecutive failures; last: {message}"
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(_FAILURE, [name, message, now, disable_after, reason])
            self.conn.execute(_LOG_ERROR, [now, name, kind, message])
        return self.get(name)

    def record_unreachable(self, name: str, *, kind: str, message: str, now: datetime) -> None:
        """A failure that says nothing about the source (this machine is offline): logged and
        shown, but not counted towards disabling it."""
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(_UNREACHABLE, [name, message, now])
            self.conn.execute(_LOG_ERROR, [now, name, kind, message])

    def record_deferred(self, name: str, *, until: datetime, message: str, now: datetime) -> None:
        """The server asked us to come back later: not a failure, the counter stays."""
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(_DEFERRED, [name, until, now])
            self.conn.execute(_LOG_ERROR, [now, name, "deferred", message])

    def record_partial(self, name: str, *, cursor: str | None, message: str, now: datetime) -> None:
        """Stopped early with a resume point: store the cursor without counting a failure."""
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(_PARTIAL, [name, cursor, now])
            self.conn.execute(_LOG_ERROR, [now, name, "partial", message])

    def disable(self, name: str, *, reason: str, now: datetime) -> None:
        with transaction(self.conn):
            self.conn.execute(_ENSURE, [name])
            self.conn.execute(_DISABLE, [name, reason, now])
            self.conn.execute(_LOG_ERROR, [now, name, "disabled", reason])

    def enable(self, name: str) -> None:
        """Clear a disabled flag, the failure counter and any retry window."""
        self.conn.execute(_ENABLE, [name])

    def host_retry_after(self, host: str) -> datetime | None:
        row = self.conn.execute(
            "SELECT retry_after FROM host_state WHERE host = $1", [host.lower()]
        ).fetchone()
        return as_utc(row[0]) if row else None

    def set_host_retry_after(self, host: str, until: datetime) -> None:
        self.conn.execute(_SET_HOST, [host.lower(), until])

    def recent_errors(
        self, name: str | None = None, limit: int = 20
    ) -> list[tuple[datetime, str, str, str]]:
        """(occurred_at, source, kind, message), newest first; all sources when `name` is None."""
        found = self.conn.execute(
            "SELECT occurred_at, source, kind, message FROM source_errors"
            " WHERE $1::VARCHAR IS NULL OR source = $1 ORDER BY occurred_at DESC LIMIT $2",
            [name, limit],
        ).fetchall()
        return [(at.astimezone(UTC), source, kind, message) for at, source, kind, message in found]
