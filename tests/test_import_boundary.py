"""The library does not need Prefect: importing paperfeed, its CLI, or running `paperfeed ingest`
and `paperfeed serve --help` never imports prefect (it costs seconds and is only for flows/).

Each check runs in a fresh interpreter, since this test session may have imported prefect.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from server import FixtureServer, status


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_importing_the_library_and_cli_does_not_import_prefect(tmp_path: Path) -> None:
    result = run_python(
        """
        import sys
        import paperfeed, paperfeed.cli, paperfeed.digest.run
        import paperfeed.ingest.collect, paperfeed.ingest.refresh
        paperfeed.cli.load_commands()  # command modules are imported on demand
        assert "paperfeed.cli.serve_cmds" in sys.modules
        leaked = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
        print(leaked)
        assert not leaked, leaked
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("args", [["ingest"], ["serve", "--help"]])
def test_running_commands_does_not_import_prefect(tmp_path: Path, args: list[str]) -> None:
    # one source answering 404 on 127.0.0.1: the ingest fails fast, never touching the network
    with FixtureServer({"/feed": status(404)}) as srv:
        config = tmp_path / "sources.yaml"
        config.write_text(
            "sources:\n"
            f"  - {{name: local, type: feed, url: '{srv.url('/feed')}', allow_private: true}}\n"
        )
        result = _run_cli(tmp_path, config, args)
    assert result.returncode == 0, result.stderr
    code = int(result.stdout.split()[-1])
    assert code == (3 if args == ["ingest"] else 0), result.stdout + result.stderr
    if args == ["ingest"]:
        assert srv.hits["/feed"] == 1  # the command really ran the ingest


def _run_cli(tmp_path: Path, config: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_python(
        f"""
        import sys
        from paperfeed.cli import main
        try:
            main({["--home", str(tmp_path / "home"), "--config", str(config), *args]!r})
        except SystemExit as exit:
            code = exit.code
        else:
            code = 0
        assert "prefect" not in sys.modules
        print("exit", code)
        """,
        tmp_path,
    )
