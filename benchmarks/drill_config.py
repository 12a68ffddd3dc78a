"""B7 drill: a 482-byte key-alias bomb and a 50 MB sources.yaml, refused by the real CLI.

Usage: .venv/bin/python benchmarks/drill_config.py
Runs `paperfeed --config FILE sources` in a child process for each file (and for a small valid
file, the floor of the interpreter and its imports) and prints the exit code, wall seconds, peak
RSS of the child (/usr/bin/time) and the error line; then, in a fresh child that has only imported
paperfeed.config, the time of `load_config` alone and the growth of its peak RSS. Pass: refused
in < 1 s and < 100 MB RSS.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import cpu_model

CLI = Path(sys.executable).with_name("paperfeed")


def key_alias_bomb() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    return "\n".join(lines) + "\n? *a8\n: boom\nsources: []\n"


def fifty_megabytes() -> str:
    entry = "  - name: feed-{n}\n    type: feed\n    url: https://example.org/{n}.xml\n"
    text, n = ["sources:\n"], 0
    while sum(map(len, text)) < 50 * 2**20:
        text.append("".join(entry.format(n=n + k) for k in range(1000)))
        n += 1000
    return "".join(text)


def run(config: Path, home: Path) -> tuple[int, float, float, str]:
    """rc, wall seconds, peak RSS (MB) and the error line of one CLI run, measured by
    /usr/bin/time in the child itself (os.wait4 would also count the pages this parent
    process lends the child before it execs, 100+ MB here)."""
    command = ["/usr/bin/time", "-f", "%M %e", str(CLI), "--home", str(home), "--config"]
    command += [str(config), "sources"]
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    *lines, measured = done.stderr.strip().splitlines()
    kilobytes, seconds = measured.split()
    error = next((line for line in lines if line.startswith("error:")), "")
    return done.returncode, float(seconds), int(kilobytes) / 1024, error[-160:]


LOAD_ALONE = """
import resource, sys, time
from pathlib import Path
from paperfeed.config import load_config
from paperfeed.errors import ConfigError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.monotonic()
try:
    load_config(Path(sys.argv[1]))
    outcome = "accepted"
except ConfigError:
    outcome = "ConfigError"
seconds = time.monotonic() - started
growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(f"{outcome} in {seconds * 1000:.1f} ms, peak RSS +{growth:.1f} MB")
"""


def load_alone(config: Path) -> str:
    command = [sys.executable, "-c", LOAD_ALONE, str(config)]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()


def main() -> None:
    print(f"cpu: {cpu_model()}; cores: {os.cpu_count()}; load: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {
            "valid (floor)": "sources:\n  - {name: a, type: feed, url: https://example.org/f}\n",
            "key-alias bomb": key_alias_bomb(),
            "50 MB file": fifty_megabytes(),
        }
        for label, text in files.items():
            path = folder / f"{label.split()[0]}.yaml"
            path.write_text(text)
            rc, wall, rss, error = run(path, folder / "home")
            size = path.stat().st_size
            print(f"{label:15} {size:>10} B  CLI: rc={rc} {wall:5.2f} s {rss:6.1f} MB  {error}")
            print(f"{'':15} {'':>10}    load_config alone: {load_alone(path)}")


if __name__ == "__main__":
    main()
