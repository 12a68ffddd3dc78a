"""Shared test fixtures. Tests never touch the network: recorded data comes from ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PAPERFEED_SHARED", REPO.parent / "shared"))


def shared_path(relative: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"needs ../shared/{relative} (real data, not in the repository); absent here")
    return path


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the user's real home or config, or lets Prefect phone home."""
    monkeypatch.setenv("PAPERFEED_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERFEED_CONFIG", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
