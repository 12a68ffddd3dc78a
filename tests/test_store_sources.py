"""SourceStateRepo: success resets, failures count and disable, deferrals wait, host windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paperfeed.records import SourceState, Validators
from paperfeed.store import Store
from paperfeed.store.sources import SourceStateRepo

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def repo() -> SourceStateRepo:
    return Store.memory().sources


def succeed(repo: SourceStateRepo, name: str = "blog", **changes: object) -> None:
    values: dict[str, object] = {
        "status": "new",
        "validators": Validators("W/1", "Mon"),
        "moved_to": None,
        "cursor": None,
        "now": T0,
    }
    values.update(changes)
    repo.record_success(name, **values)  # type: ignore[arg-type]


def test_unknown_source_gets_a_default_state(repo: SourceStateRepo) -> None:
    assert repo.get("never-seen") == SourceState("never-seen")
    assert repo.all() == {}


def test_success_stores_validators_cursor_and_status(repo: SourceStateRepo) -> None:
    succeed(repo, cursor='{"offset": 100}', moved_to="https://new.example/feed")
    state = repo.get("blog")
    assert state.validators == Validators("W/1", "Mon")
    assert (state.cursor, state.moved_to, state.last_status) == (
        '{"offset": 100}',
        "https://new.example/feed",
        "new",
    )
    assert state.last_ok == T0
    assert list(repo.all()) == ["blog"]


def test_success_with_no_validators_keeps_the_old_ones(repo: SourceStateRepo) -> None:
    succeed(repo, moved_to="https://new.example/feed", cursor="c1")
    succeed(repo, validators=None, status="unchanged", now=T0 + timedelta(hours=1))
    state = repo.get("blog")
    assert state.validators == Validators("W/1", "Mon")
    assert state.moved_to == "https://new.example/feed"  # None keeps a remembered redirect
    assert state.cursor is None  # None clears the cursor
    assert (state.last_status, state.last_ok) == ("unchanged", T0 + timedelta(hours=1))


def test_failures_count_then_disable_at_the_threshold(repo: SourceStateRepo) -> None:
    states = [
        repo.record_failure(
            "blog", kind="HttpStatusError", message=f"HTTP 500 #{n}", now=T0 + timedelta(minutes=n)
        )
        for n in range(3)
    ]
    assert [s.consecutive_failures for s in states] == [1, 2, 3]
    assert [s.disabled for s in states] == [False, False, True]
    assert states[-1].disabled_reason is not None and "HTTP 500 #2" in states[-1].disabled_reason
    assert (states[-1].last_status, states[-1].last_error) == ("failed", "HTTP 500 #2")
    errors = repo.recent_errors("blog")
    assert [e[3] for e in errors] == ["HTTP 500 #2", "HTTP 500 #1", "HTTP 500 #0"]
    assert errors[0][:3] == (T0 + timedelta(minutes=2), "blog", "HttpStatusError")


def test_success_resets_failures_and_clears_the_error(repo: SourceStateRepo) -> None:
    repo.record_failure("blog", kind="TransportError", message="refused", now=T0)
    repo.record_deferred("blog", until=T0 + timedelta(hours=1), message="429", now=T0)
    succeed(repo, now=T0 + timedelta(hours=2))
    state = repo.get("blog")
    assert (state.consecutive_failures, state.last_error, state.retry_after) == (0, None, None)


def test_deferred_sets_retry_after_without_counting(repo: SourceStateRepo) -> None:
    repo.record_failure("blog", kind="TransportError", message="refused", now=T0)
    until = T0 + timedelta(minutes=30)
    repo.record_deferred("blog", until=until, message="429 Retry-After 1800", now=T0)
    state = repo.get("blog")
    assert (state.retry_after, state.consecutive_failures, state.last_status) == (
        until,
        1,
        "deferred",
    )


def test_partial_keeps_the_cursor_without_a_failure(repo: SourceStateRepo) -> None:
    repo.record_partial("arxiv", cursor='{"offset": 200}', message="retries exhausted", now=T0)
    state = repo.get("arxiv")
    assert (state.cursor, state.last_status, state.consecutive_failures) == (
        '{"offset": 200}',
        "partial",
        0,
    )


def test_disable_and_enable(repo: SourceStateRepo) -> None:
    repo.disable("blog", reason="410 Gone", now=T0)
    assert (repo.get("blog").disabled, repo.get("blog").disabled_reason) == (True, "410 Gone")
    repo.record_failure("blog", kind="x", message="y", now=T0)
    repo.record_deferred("blog", until=T0 + timedelta(days=1), message="503", now=T0)
    repo.enable("blog")
    state = repo.get("blog")
    assert (
        state.disabled,
        state.disabled_reason,
        state.consecutive_failures,
        state.retry_after,
    ) == (False, None, 0, None)


def test_host_retry_after_round_trip_and_overwrite(repo: SourceStateRepo) -> None:
    assert repo.host_retry_after("export.arxiv.org") is None
    repo.set_host_retry_after("export.arxiv.org", T0)
    repo.set_host_retry_after("Export.arXiv.org", T0 + timedelta(minutes=5))
    assert repo.host_retry_after("export.arxiv.org") == T0 + timedelta(minutes=5)


def test_recent_errors_filters_and_limits(repo: SourceStateRepo) -> None:
    for n in range(5):
        repo.record_failure("a", kind="k", message=f"a{n}", now=T0 + timedelta(seconds=n))
    repo.record_failure("b", kind="k", message="b0", now=T0 + timedelta(seconds=10))
    assert [e[3] for e in repo.recent_errors("a", limit=2)] == ["a4", "a3"]
    assert [e[1] for e in repo.recent_errors(limit=2)] == ["b", "a"]
    assert len(repo.recent_errors()) == 6
