"""Argument types and checks every command shares. Input that would otherwise crash deep inside
(a day DuckDB cannot store, `²` taken for a number, bytes that are not UTF-8, an `--out` that
cannot be written, a window that ends before it starts) is a one-line usage error, exit 2."""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

FIRST_DAY = date(1990, 1, 1)  # before arXiv; any earlier date is a typo
LAST_DAY = date(2100, 12, 31)
MAX_SHORT_ID = 2**63 - 1  # DuckDB BIGINT


def _utf8(value: Any, param_type: click.ParamType[Any, Any], param: Any, ctx: Any) -> str:
    """Python decodes argv bytes that are not UTF-8 to lone surrogates (surrogateescape)."""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        param_type.fail("is not valid UTF-8 text", param, ctx)
    return text


class Text(click.ParamType[str, Any]):
    """Any text, as long as it is valid UTF-8."""

    name = "text"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        return _utf8(value, self, param, ctx)


class ItemRef(click.ParamType[str, Any]):
    """A short id (ASCII digits), an arXiv id or a URL; resolved later by the store."""

    name = "ref"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        text = _utf8(value, self, param, ctx).strip()
        if not text:
            self.fail("is empty: give a short id, an arXiv id or a URL", param, ctx)
        looks_numeric = text.isdigit() or text.isdecimal() or text.isnumeric()
        if looks_numeric and not (text.isascii() and int(text) <= MAX_SHORT_ID):
            self.fail(f"{text!r} is not a short id (digits 0-9), an arXiv id or a URL", param, ctx)
        return text


class Day(click.ParamType[datetime, Any]):
    """YYYY-MM-DD, a real calendar day between 1990-01-01 and 2100-12-31 (a datetime at 00:00)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: Any, ctx: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        text = _utf8(value, self, param, ctx).strip()
        try:
            day = datetime.strptime(text, "%Y-%m-%d")
        except ValueError:
            self.fail(f"{text!r} is not a calendar day as YYYY-MM-DD", param, ctx)
        if not FIRST_DAY <= day.date() <= LAST_DAY:
            self.fail(f"{text} is outside {FIRST_DAY}..{LAST_DAY}", param, ctx)
        return day


class OutFile(click.ParamType[Path, Any]):
    """A file paperfeed may create or replace: its folder exists and takes a new file."""

    name = "file"

    def convert(self, value: Any, param: Any, ctx: Any) -> Path:
        path = Path(os.path.expanduser(_utf8(value, self, param, ctx)))
        if path.exists() and not path.is_file():
            self.fail(f"{path} exists and is not a regular file", param, ctx)
        folder = path.parent
        if not folder.is_dir():
            self.fail(f"folder {folder} does not exist", param, ctx)
        try:  # the only reliable test (root ignores permission bits; /proc refuses new files)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            self.fail(f"cannot write in {folder}: {exc.strerror or exc}", param, ctx)
        return path


def check_window(since: datetime | None, until: datetime | None) -> None:
    """`--since` must not be after `--until`."""
    if since is not None and until is not None and since > until:
        raise click.UsageError(
            f"--since {since:%Y-%m-%d} is after --until {until:%Y-%m-%d}: nothing can match"
        )


TEXT = Text()
ITEM_REF = ItemRef()
DAY = Day()
OUT_FILE = OutFile()
