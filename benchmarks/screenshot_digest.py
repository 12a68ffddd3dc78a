"""Render a digest as a reader sees it: markdown-it (GFM-like, task lists) -> HTML -> a headless
Chromium screenshot. For looking at the digest, not a test (tests/test_digest_plan.py asserts
the DOM structure).

    .venv/bin/python benchmarks/screenshot_digest.py digest.md --out /tmp/digest.png
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
]
STYLE = (
    "body{font:15px/1.5 sans-serif;max-width:980px;margin:24px auto;color:#222}"
    "ul.contains-task-list{list-style:none;padding-left:0}li.task-list-item{margin:10px 0}"
    "li.task-list-item ul{color:#444;font-size:14px}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:3px 8px}"
)


def to_html(markdown: str) -> str:
    md = MarkdownIt("gfm-like", {"linkify": False}).use(front_matter_plugin).use(tasklists_plugin)
    return f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>{md.render(markdown)}"


def screenshot(html: str, out: Path, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("no chromium on PATH: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "digest.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [
                browser,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp}/profile",
                f"--window-size=1100,{height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            check=True,
            timeout=120,
            capture_output=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("markdown", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/paperfeed-digest.png"))
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args()
    html = to_html(args.markdown.read_text(encoding="utf-8"))
    args.out.with_suffix(".html").write_text(html, encoding="utf-8")
    screenshot(html, args.out.resolve(), args.height)
    print(args.out.resolve())


if __name__ == "__main__":
    main()
