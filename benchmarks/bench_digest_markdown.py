"""How a digest reads raw: backslashes per 1,000 characters, and where they are.

Counts, in each markdown file given: characters, backslashes, backslashes per 1,000 characters,
and the backslashes in heading lines, in the link labels of titles made of plain words (letters,
digits, spaces once unescaped), in link destinations, and in URLs written as text. Works on any
paperfeed digest (old or new layout), so the same real week can be compared before and after:

    paperfeed --home H digest --dry-run --since 2024-03-25 --until 2024-03-31 > after.md
    .venv/bin/python benchmarks/bench_digest_markdown.py before.md after.md
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

_LINK = re.compile(r"\[((?:\\.|[^\]\\])*)\]\(([^)\s]*)\)")
_TEXT_URL = re.compile(r"h\\?t\\?t\\?p\\?s?\\?:\\?/\\?/[^\s|)\]]*")
_PLAIN_WORDS = re.compile(r"[A-Za-z0-9 ]+")


def measure(text: str) -> dict[str, float]:
    headings = [line for line in text.splitlines() if line.startswith("#")]
    links = _LINK.findall(text)
    plain_labels = [label for label, _ in links if _PLAIN_WORDS.fullmatch(label.replace("\\", ""))]
    outside_links = _LINK.sub(" ", text)
    return {
        "chars": len(text),
        "backslashes": text.count("\\"),
        "per_1000_chars": round(1000 * text.count("\\") / max(len(text), 1), 2),
        "in_headings": sum(line.count("\\") for line in headings),
        "in_plain_word_titles": sum(label.count("\\") for label in plain_labels),
        "plain_word_titles": len(plain_labels),
        "in_link_destinations": sum(url.count("\\") for _, url in links),
        "in_text_urls": sum(m.count("\\") for m in _TEXT_URL.findall(outside_links)),
        "text_urls": len(_TEXT_URL.findall(outside_links)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    report = {str(path): measure(path.read_text(encoding="utf-8")) for path in args.files}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
