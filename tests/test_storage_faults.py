"""Storage faults through the real CLI (RELIABILITY D2/D4 and issue 14): a full disk, a damaged
or truncated database and a read-only home are one line each with their own exit code, never a
traceback, and a rerun after the fault is removed loses nothing."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ingest_helpers import item_count, serve_shared_feeds

from paperfeed.settings import Settings

CLI = Path(sys.executable).with_name("paperfeed")
FEEDS = "fixtures/feeds/ml_org_feeds_scraped/olshansk_rss-feeds"
NAMES = ["feed_anthropic_news.xml", "feed_openai_research.xml", "feed_google_ai.xml"]


PHASES = {"fetching", "storing", "embedding", "indexing"}  # ingest's progress lines


def paperfeed(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(CLI), "--home", str(settings.home), "--config", str(settings.config_path)]
    env = {**os.environ, "PAPERFEED_LOCK_WAIT": "1"}
    return subprocess.run([*command, *args], capture_output=True, text=True, env=env, timeout=120)


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, words: str) -> None:
    """The fault is one `error:` line, the last one; any line before it is a progress phase line
    that ingest prints off a terminal (`fetching: 3 sources, 0 failed (0.3 s)`)."""
    assert "Traceback" not in result.stderr
    *before, last = result.stderr.splitlines()
    assert last.startswith("error: ") and words in last
    assert all(line.split(":")[0] in PHASES for line in before), before
    assert result.returncode == code


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Settings]:
    with serve_shared_feeds(tmp_path / "cfg", FEEDS, NAMES) as settings:
        yield settings


def _at(settings: Settings, home: Path) -> Settings:
    return Settings(home=home, config_path=settings.config_path)


FIRST_BLOCK = 3 * 4096  # after DuckDB's three 4 KiB header pages: the first 256 KiB block


def _damage_page(path: Path) -> None:
    """One 4 KiB page of random bytes at the start of the first block (it holds metadata, so
    every command reads it; a page in free space would go unnoticed until it is used)."""
    with open(path, "r+b") as fh:
        fh.seek(FIRST_BLOCK)
        fh.write(os.urandom(4096))


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _damage_header(path: Path) -> None:
    with open(path, "r+b") as fh:
        fh.write(os.urandom(64))


@pytest.mark.parametrize("damage", [_truncate, _damage_page, _damage_header])
@pytest.mark.parametrize("command", [["status"], ["read", "1"], ["ingest", "--no-embed"]])
def test_damaged_database_is_one_line_exit_65(
    served: Settings, tmp_path: Path, damage, command: list[str]
) -> None:
    settings = _at(served, tmp_path / "home")
    assert paperfeed(settings, "ingest", "--no-embed").returncode == 0
    damage(settings.db_path)
    assert_one_line(paperfeed(settings, *command), 65, "paperfeed recover")


@contextlib.contextmanager
def mounted(folder: Path, *options: str) -> Iterator[None]:
    """A tmpfs or a read-only bind mount at `folder` (root only: a chmod does not stop root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs or a read-only bind needs root")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(["mount", *options, str(folder)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("mount is not permitted here (a container without CAP_SYS_ADMIN)")
    try:
        yield
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def test_disk_full_is_one_line_exit_74_and_the_rerun_loses_nothing(
    served: Settings, tmp_path: Path
) -> None:
    clean = _at(served, tmp_path / "clean")
    assert paperfeed(clean, "ingest", "--no-embed").returncode == 0
    expected = item_count(clean)
    disk = tmp_path / "disk"
    with mounted(disk, "-t", "tmpfs", "-o", "size=16m", "tmpfs"):
        settings = _at(served, disk / "home")
        first = paperfeed(settings, "ingest", "--no-embed", "--source", NAMES[0][:-4])
        assert first.returncode == 0, first.stderr  # an existing database, then the disk fills
        filler = disk / "filler"
        with open(filler, "wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * (16 * 2**20))  # the disk is now full
        assert_one_line(paperfeed(settings, "ingest", "--no-embed"), 74, "disk full")
        filler.unlink()
        rerun = paperfeed(settings, "ingest", "--no-embed")
        assert rerun.returncode == 0, rerun.stderr
        assert item_count(settings) == expected


def test_read_only_home_is_one_line_exit_73_and_reads_still_work(
    served: Settings, tmp_path: Path
) -> None:
    settings = _at(served, tmp_path / "home")
    assert paperfeed(settings, "ingest", "--no-embed").returncode == 0
    before = sorted(p.name for p in settings.home.iterdir())
    home = str(settings.home)
    with mounted(settings.home, "--bind", home):
        subprocess.run(["mount", "-o", "remount,ro,bind", home], check=True)
        assert paperfeed(settings, "status").returncode == 0
        assert_one_line(paperfeed(settings, "ingest", "--no-embed"), 73, "read-only")
        assert_one_line(paperfeed(settings, "read", "1"), 73, "read-only")
    assert sorted(p.name for p in settings.home.iterdir()) == before
    assert shutil.disk_usage(settings.home)  # still mounted as before, nothing left behind
