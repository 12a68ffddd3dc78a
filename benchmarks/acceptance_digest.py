"""Issue 11's acceptance checks on a real home (run after benchmarks/digest_real_week.sh).

On a writable copy of a home (it records a digest, marks items, then forgets the digest):
1. budget: in OUT/budget90.md every focus area has an item and the minutes add up to <= 90;
2. sync: tick 3 boxes in a copy of the real digest, move two items, add a note line; sync gives
   3 read marks, a rerun 0, the file is byte-identical; unticking one gives 1 unread;
3. why this: with marks in two areas (read in one, saved and rated up in the other), the digest
   of the week before: how many lines cite a marked item, and how many cite one of another area
   or with the wrong verb;
4. forget: --forget returns the recorded digest's items to the pool.

    .venv/bin/python benchmarks/acceptance_digest.py HOME_COPY OUT_DIR
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEEK = ["--since", "2026-08-17", "--until", "2026-08-23"]
WEEK_BEFORE = ["--since", "2026-08-10", "--until", "2026-08-16"]
_TASK = re.compile(r"^- \[[ x]\] .* · (\d+) min · id (\d+)$", re.M)
_CITE = re.compile(r"close to “(.+?)”, which you ([a-z ]+?)(?:;|$)")


def pf(home: Path, config: Path, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-c", "from paperfeed.cli import main; main()"]
    done = subprocess.run(
        [*command, "--home", str(home), "--config", str(config), *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## (.+)$", markdown, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def check_budget(out: Path, areas: list[str]) -> dict[str, object]:
    found = sections((out / "budget90.md").read_text())
    per_area = {a: len(_TASK.findall(found.get(a, ""))) for a in areas}
    minutes = sum(int(m) for m, _ in _TASK.findall((out / "budget90.md").read_text()))
    return {"items_per_area": per_area, "minutes": minutes}


def check_sync(home: Path, config: Path, out: Path) -> tuple[dict[str, object], Path]:
    written = Path(pf(home, config, "digest", *WEEK).split()[1])
    lines = written.read_text().splitlines(keepends=True)
    tasks = [i for i, line in enumerate(lines) if line.startswith("- [ ] ")]
    for i in tasks[:3]:
        lines[i] = lines[i].replace("- [ ] ", "- [x] ", 1)
    moved = [lines.pop(tasks[-1]), lines.pop(tasks[-2])]
    lines[12:12] = [*moved, "A note of mine between items: read these two first.\n"]
    copy = out / "vault-copy.md"
    copy.write_text("".join(lines))
    before = copy.read_bytes()
    first = json.loads(pf(home, config, "sync", str(copy), "--json"))
    rerun = json.loads(pf(home, config, "sync", str(copy), "--json"))
    identical = copy.read_bytes() == before
    copy.write_text(before.decode().replace("- [x] ", "- [ ] ", 1))
    untick = json.loads(pf(home, config, "sync", str(copy), "--json"))
    result = {
        "read_marks": len(first["read"]),
        "rerun_read_marks": len(rerun["read"]),
        "file_identical": identical,
        "unread_after_unticking_one": len(untick["unread"]),
    }
    return result, written


def check_why(home: Path, config: Path, written: Path, areas: list[str]) -> dict[str, object]:
    """Marks in two areas: two items read in the first, one saved and one rated up in the third."""
    found = sections(written.read_text())
    plan = [
        (areas[0], 0, ["read"], "read"),
        (areas[0], 1, ["read"], "read"),
        (areas[2], 0, ["save"], "saved"),
        (areas[2], 1, ["rate", "up"], "rated up"),
    ]
    marked: dict[str, tuple[str, str]] = {}  # title -> (area, verb)
    for area, nth, command, verb in plan:
        line = [row for row in found[area].splitlines() if row.startswith("- [")][nth]
        item_id = line.rsplit("id ", 1)[1]
        title = re.match(r"- \[[ x]\] \[(.+?)\]\(", line)
        pf(home, config, command[0], item_id, *command[1:])
        marked[title.group(1) if title else item_id] = (area, verb)
    digest = sections(pf(home, config, "digest", "--dry-run", *WEEK_BEFORE))
    cited = wrong = 0
    for area, body in digest.items():
        for title, verb in _CITE.findall(body):
            cited += 1
            # the why line cuts a long title at 100 characters
            want = next((m for t, m in marked.items() if t.startswith(title.rstrip("…"))), None)
            if want is None or want[0] != area or want[1] != verb.strip():
                wrong += 1
    return {"marks": len(marked), "lines_citing_a_mark": cited, "wrong_area_or_verb": wrong}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    config = args.out / "sources.yaml"
    areas = re.findall(r"^  - name: (.+)$", config.read_text().split("focus_areas:")[1], re.M)
    report: dict[str, object] = {"budget_90": check_budget(args.out, areas)}
    report["sync"], written = check_sync(args.home, config, args.out)
    report["why_this"] = check_why(args.home, config, written, areas)
    forgot = pf(args.home, config, "digest", "--forget", "2026-W34").strip()
    again = json.loads(pf(args.home, config, "digest", "--dry-run", "--json", *WEEK))
    report["forget"] = {
        "said": forgot,
        "items_back": sum(len(s["items"]) for s in again["sections"]),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
