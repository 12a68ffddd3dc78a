"""RELIABILITY D3, store part: another PROCESS holding the file → StoreBusy within the wait."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperfeed.errors import StoreBusy
from paperfeed.store import Store
from paperfeed.store import backup as backups

# The child opens the file read-write, says "ready", and holds it until stdin closes or
# `hold` seconds pass, then releases it by closing the connection.
HOLDER = """
import sys, time, duckdb, select
conn = duckdb.connect(sys.argv[1])
print("ready", flush=True)
select.select([sys.stdin], [], [], float(sys.argv[2]))
conn.close()
print("released", flush=True)
time.sleep(30)
"""


def hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    return child


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "paperfeed.duckdb"
    Store.open(path).close()  # created and migrated
    return path


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        child.kill()
        child.communicate()


def test_busy_within_wait_plus_one_second(db: Path, children: list) -> None:
    children.append(hold(db, 60))
    started = time.monotonic()
    with pytest.raises(StoreBusy) as caught:
        Store.open(db, wait=1.0)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert elapsed <= 2.0, f"waited {elapsed:.2f} s"
    assert "busy" in message and "\n" not in message


def test_read_only_open_is_refused_too(db: Path, children: list) -> None:
    children.append(hold(db, 60))
    with pytest.raises(StoreBusy):
        Store.open(db, read_only=True, wait=0.2)


def test_open_succeeds_when_the_holder_releases_within_the_wait(db: Path, children: list) -> None:
    children.append(hold(db, 0.5))
    with Store.open(db, wait=10.0) as store:
        assert store.items.count() == 0


def test_file_connections_never_print_a_progress_bar(db: Path) -> None:
    # DuckDB prints its bar to stdout even without a TTY, which would corrupt --json output.
    with Store.open(db) as store:
        row = store.conn.execute("SELECT current_setting('enable_progress_bar')").fetchone()
        assert row == (False,)


def test_read_only_open_finishes_migrations_a_crash_left_undone(tmp_path: Path) -> None:
    """kill -9 during the very first open can leave a file with no tables; a later read-only
    open (a search right after the crash) must still work."""
    import duckdb

    from paperfeed.store import Store

    path = tmp_path / "paperfeed.duckdb"
    duckdb.connect(str(path)).close()  # the file exists, the migrations never ran

    with Store.open(path, read_only=True) as store:
        assert store.read_only
        assert store.items.count() == 0


def test_a_file_that_is_not_a_database_is_a_one_line_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paperfeed.cli import main
    from paperfeed.errors import DatabaseCorrupt
    from paperfeed.store import Store

    path = tmp_path / "paperfeed.duckdb"
    path.write_bytes(b"this is not a DuckDB file\n" * 100)
    with pytest.raises(DatabaseCorrupt, match="is damaged .* run `paperfeed recover`"):
        Store.open(path)
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "--config", str(config), "status"])
    assert result.exit_code == DatabaseCorrupt.exit_code == 65
    assert result.output.startswith("error: ") and result.output.count("\n") == 1


def test_lock_wait_comes_from_the_environment_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from paperfeed.errors import ConfigError
    from paperfeed.settings import LOCK_WAIT_SECONDS, Settings

    assert Settings.resolve().lock_wait == LOCK_WAIT_SECONDS
    monkeypatch.setenv("PAPERFEED_LOCK_WAIT", "2.5")
    assert Settings.resolve().lock_wait == 2.5
    for bad in ("soon", "-1", "nan", "inf"):
        monkeypatch.setenv("PAPERFEED_LOCK_WAIT", bad)
        with pytest.raises(ConfigError, match="PAPERFEED_LOCK_WAIT"):
            Settings.resolve()


# A second process tries to open the file for writing: "opened" or DuckDB's lock error.
WRITER_PROBE = """
import sys, duckdb
try:
    duckdb.connect(sys.argv[1]).close()
    print("opened")
except duckdb.Error as exc:
    print("refused" if "lock" in str(exc).lower() else f"other: {exc}")
"""


def _probe_writer(path: Path) -> str:
    probe = [sys.executable, "-c", WRITER_PROBE, str(path)]
    return subprocess.run(probe, capture_output=True, text=True, timeout=60).stdout.strip()


def test_no_writer_can_open_the_database_while_a_backup_copies_it(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    copy = shutil.copyfileobj

    def copy_and_probe(source: object, target: object, length: int = 0) -> None:
        seen.append(_probe_writer(db))
        copy(source, target, length)  # type: ignore[arg-type]

    monkeypatch.setattr(backups.shutil, "copyfileobj", copy_and_probe)
    made = backups.backup(db, tmp_path / "backups", keep=3)
    assert seen == ["refused"]
    assert made is not None and made.read_bytes() == db.read_bytes()
    assert _probe_writer(db) == "opened"  # the backup let go of it


def test_a_backup_is_skipped_while_another_process_writes(
    db: Path, tmp_path: Path, children: list
) -> None:
    children.append(hold(db, 30))
    assert backups.backup(db, tmp_path / "backups", keep=3) is None
    assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").iterdir())
