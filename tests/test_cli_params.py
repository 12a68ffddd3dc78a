"""Inputs that used to crash a command deep inside are one-line usage errors, exit 2
(paperfeed.cli.params); untrusted text reaches the terminal without bidi or control characters
and JSON keeps them, escaped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from paperfeed.cli import main

CLI = Path(sys.executable).with_name("paperfeed")


def run(tmp_path: Path, *args: str):
    config = tmp_path / "sources.yaml"
    config.write_text("sources: []\n")
    home = ["--home", str(tmp_path / "home"), "--config", str(config)]
    return CliRunner().invoke(main, [*home, *args])


CASES = {
    "until-year-9999": (["search", "--until", "9999-12-31", "x"], "outside 1990-01-01..2100-12-31"),
    "digest-since-year-1": (["digest", "--since", "0001-01-01"], "outside 1990-01-01..2100-12-31"),
    "impossible-day": (["search", "--since", "2024-02-30", "x"], "is not a calendar day"),
    "month-13": (["digest", "--until", "2024-13-45"], "is not a calendar day"),
    "superscript-two-as-id": (["read", "²"], "is not a short id (digits 0-9)"),
    "arabic-indic-digits": (["rate", "٤٢", "up"], "is not a short id (digits 0-9)"),
    "id-beyond-bigint": (["save", "99999999999999999999"], "is not a short id"),
    "non-utf8-query": (["search", "caf\udce9"], "is not valid UTF-8"),
    "non-utf8-ref": (["similar", "\udcff1"], "is not valid UTF-8"),
    "out-in-proc": (["digest", "--out", "/proc/version"], "cannot write in /proc"),
    "out-is-a-folder": (["digest", "--out", "/tmp"], "is not a regular file"),
    "out-folder-missing": (["digest", "--out", "/nonexistent/d.md"], "does not exist"),
    "since-after-until": (
        ["search", "--since", "2025-02-01", "--until", "2025-01-01", "x"],
        "is after --until",
    ),
}


@pytest.mark.parametrize(("args", "words"), CASES.values(), ids=CASES.keys())
def test_bad_input_is_a_one_line_usage_error(tmp_path: Path, args: list[str], words: str) -> None:
    result = run(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert words in result.output
    assert not (tmp_path / "home").exists()  # refused before anything was opened or created


def test_non_utf8_bytes_on_the_real_command_line(tmp_path: Path) -> None:
    """What the shell really passes: raw bytes, decoded by Python with surrogateescape."""
    command = [os.fsencode(CLI), b"--home", os.fsencode(tmp_path), b"search", b"\xff\xfequery"]
    result = subprocess.run(command, capture_output=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count(b"\n") == 1 and b"is not valid UTF-8" in result.stderr
    assert b"Traceback" not in result.stderr


HOSTILE = "Safe title \u202egnp.exe\u202c with\x1b[31m escape\u200b and\nnewline"


def test_search_lines_strip_bidi_and_controls_and_json_keeps_them_escaped(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from paperfeed.cli.search_cmds import _print_hits

    hit = SimpleNamespace(
        id=7,
        read=False,
        saved=False,
        snippet="snippet\u202e with\x1b[31m controls",
        score=0.5,
        title=HOSTILE,
        published="2025-01-02",
        source="blog\u202e",
        arxiv_id=None,
        url="https://example.org/p",
        as_json=lambda: {"id": 7, "title": HOSTILE},
    )
    _print_hits([hit], "for 'x'", as_json=False)
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 4  # count, column header, the result, its snippet
    assert not any(ch in out for ch in "\u202e\u202c\u200b\x1b")
    assert "Safe title gnp.exe with[31m escape and newline" in out.splitlines()[2]

    _print_hits([hit], "for 'x'", as_json=True)
    text = capsys.readouterr().out
    assert "\\u202e" in text and "\u202e" not in text and "\\u200b" in text
    assert json.loads(text)[0]["title"] == HOSTILE
