"""Safe markdown: untrusted text stays text, and only URLs paperfeed builds become links.

I/O rule: pure string functions, no files. Everything that came from a feed or an API (titles,
summaries, authors, source errors) goes through `escape_text` before it touches the markdown:
bidi and zero-width controls are stripped, every run of whitespace (newlines included) folds to
one space, and every ASCII punctuation character is backslash-escaped, which CommonMark allows for
all of them. So no untrusted character can open a link, an image, an HTML tag, a heading, a list,
a code fence, a link reference definition or a table cell (RELIABILITY G1-G4).

Links are built only by `link`, from a URL that `safe_url` accepts: `^https?://` with a host,
with `( ) < >`, whitespace, quotes, backslashes, brackets, pipes and non-ASCII percent-encoded.

`render_markdown` turns a `paperfeed.digest.run.Digest` (pure data) into the digest document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from paperfeed.text import INVISIBLE, plain, visible

if TYPE_CHECKING:
    from paperfeed.digest.model import Digest, DigestEntry

_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
# Kept as they are in a URL; everything else outside [A-Za-z0-9_.~-] is percent-encoded.
_URL_SAFE = "/:?#@!$&*+,;=%-"


def escape_text(text: str | None, limit: int | None = None) -> str:
    """Untrusted text as inert markdown: one line, every ASCII punctuation character escaped."""
    return _ASCII_PUNCTUATION.sub(r"\\\1", plain(text, limit))


def safe_url(url: str | None) -> str | None:
    """An http(s) URL made safe for a markdown link destination, or None when not acceptable."""
    if not url:
        return None
    url = url.strip()
    if not _SCHEME.match(url) or INVISIBLE.search(url):
        return None
    if any(not visible(char) for char in url if not char.isspace()):
        return None
    try:
        host = urlsplit(url).netloc
    except ValueError:
        return None
    if not host:
        return None
    scheme, rest = url.split("://", 1)
    return f"{scheme.lower()}://{quote(rest, safe=_URL_SAFE)}"


def link(label: str, url: str | None) -> str:
    """`[label](url)` with the label escaped, or the escaped label alone when the URL is unsafe."""
    text = escape_text(label) or "untitled"
    target = safe_url(url)
    return f"[{text}]({target})" if target else text


def table_row(cells: Sequence[str]) -> str:
    """One table row from cells that are already escaped (no raw `|` or newline can remain)."""
    return "| " + " | ".join(cell or " " for cell in cells) + " |"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = [table_row([escape_text(h) for h in header]), table_row(["---"] * len(header))]
    lines.extend(table_row(row) for row in rows)
    return lines


# ---------------------------------------------------------------- the digest document


def front_matter(digest: Digest) -> list[str]:
    """YAML front matter; every value is a JSON scalar, which YAML reads unchanged."""
    fields = {
        "period": digest.period,
        "window_start": digest.window_start.isoformat(),
        "window_end": digest.window_end.isoformat(),
        "created": digest.created_at.isoformat(),
        "items": sum(len(s.entries) for s in digest.sections) + len(digest.highlights),
        "focus_areas": [s.focus_area for s in digest.sections],
        "generator": "paperfeed",
    }
    return ["---", *(f"{key}: {json.dumps(value)}" for key, value in fields.items()), "---", ""]


def _meta(entry: DigestEntry) -> str:
    item = entry.item
    parts = [escape_text(entry.source or "unknown source")]
    if item.published_at is not None:
        parts.append(item.published_at.date().isoformat())
    if item.authors:
        names = ", ".join(plain(a, 60) for a in item.authors[:3])
        parts.append(escape_text(names + (" et al." if len(item.authors) > 3 else "")))
    parts.append(f"{entry.minutes} min")
    return " · ".join(parts)


def _entry_lines(entry: DigestEntry) -> list[str]:
    lines = [f"- {link(plain(entry.item.title, 300), entry.url)}", f"  {_meta(entry)}"]
    if entry.snippet:
        lines.append(f"  {escape_text(entry.snippet)}")
    lines.append(f"  *Why this:* {escape_text(entry.why)}")
    if entry.code_url:
        lines.append(f"  *Code:* {link(entry.code_url.split('://', 1)[-1], entry.code_url)}")
    if entry.explained_in:
        posts = ", ".join(link(plain(title, 120), url) for title, url in entry.explained_in)
        lines.append(f"  *Explained in:* {posts}")
    return [*lines, ""]


def _section(title: str, entries: Sequence[DigestEntry], empty: str) -> list[str]:
    lines = [f"## {escape_text(title)}", ""]
    if not entries:
        return [*lines, f"*{escape_text(empty)}*", ""]
    for entry in entries:
        lines.extend(_entry_lines(entry))
    return lines


def _progress(digest: Digest) -> list[str]:
    rows = []
    for row in digest.progress:
        goal = str(row.goal) if row.goal is not None else "no goal"
        rows.append([escape_text(row.area), escape_text(f"{row.read} / {goal}")])
    return ["## Progress", "", *table(["Focus area", "Read this week / goal"], rows), ""]


def _attention(digest: Digest) -> list[str]:
    lines = ["## Needs attention", ""]
    if not digest.attention:
        return [*lines, "*All sources healthy.*", ""]
    rows = [[escape_text(a.source, 80), escape_text(a.problem, 300)] for a in digest.attention]
    return [*lines, *table(["Source", "Problem"], rows), ""]


def headings_expected(digest: Digest) -> int:
    """How many headings `render_markdown` writes: the title, one per area, three more."""
    return 1 + len(digest.sections) + 3


def render_markdown(digest: Digest, *, with_front_matter: bool = True) -> str:
    """The digest as one markdown document (front matter, title, sections)."""
    start = digest.window_start.date().isoformat()
    end = digest.window_end.date().isoformat()
    lines = front_matter(digest) if with_front_matter else []
    lines += [f"# Paperfeed digest {escape_text(digest.period)}", "", f"*{start} to {end}*", ""]
    for section in digest.sections:
        lines += _section(section.focus_area, section.entries, "Nothing new in this area.")
    lines += _section("Blog and newsletter highlights", digest.highlights, "No new posts.")
    lines += _progress(digest)
    lines += _attention(digest)
    return "\n".join(lines).rstrip("\n") + "\n"
