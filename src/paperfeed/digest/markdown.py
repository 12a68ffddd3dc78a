"""Safe markdown: untrusted text stays text, and only URLs paperfeed builds become links.

I/O rule: pure string functions, no files. Everything that came from a feed or an API (titles,
summaries, authors, source errors) goes through `escape_text` (mid-line) or `escape_line` (at the
start of a line or list item) before it touches the markdown: bidi and zero-width controls are
stripped, every run of whitespace (newlines included) folds to one space, and only the characters
that could change the structure at that position are backslash-escaped, so the raw file stays
readable in a terminal, a diff or Obsidian's source view:
- anywhere: `[ ] < ` `` ` `` ` * ~ |`, `_` not after a letter or digit (snake_case and `x_{i}`
  stay: such a `_` can close emphasis but never open it), `&` that would start
  an entity, a backslash before punctuation or at the end, and the `:` of `://` and the `.` of
  `www.` (GitHub and Obsidian turn bare URLs into links);
- at a line start also `# > - + = _` and the `.` or `)` of `12.` / `12)`.
So no untrusted character can open a link, an image, an HTML tag, a heading, a list, a code
fence, a link reference definition or a table cell (RELIABILITY G1-G4).

Links are built only by `link`, from a URL that `safe_url` accepts: `^https?://` with a host,
with `( ) < >`, whitespace, quotes, backslashes, brackets, pipes and non-ASCII percent-encoded.

`render_markdown` turns a `paperfeed.digest.run.Digest` (pure data) into the digest document: one
task line per item (`- [ ] [Title](url) · cs.CL · 2024-04-03 · 25 min · id 1234`, which
`paperfeed sync` reads back by its id) with snippet, why, code and explained-in as sub-items.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from paperfeed.text import INVISIBLE, plain, safe_http_url, visible

if TYPE_CHECKING:
    from paperfeed.digest.model import Digest, DigestEntry

HIGHLIGHTS = "Blog and newsletter highlights"
SUB_ITEM = "    - "  # an item's snippet, why, code and explained-in: one rendered line each

_INLINE_SPECIAL = re.compile(
    r"[\[\]<`*~|]"  # links, images, HTML and autolinks, code spans, emphasis, tables
    r"|\\(?=[!-/:-@\[-`{-~]|$)"  # a backslash that would escape what follows (or break the line)
    r"|&(?=#?[A-Za-z0-9]+;)"  # an entity reference
    r"|(?<![A-Za-z0-9])_"  # a `_` that could open emphasis (after a letter or digit it cannot)
    r"|(?<=[A-Za-z]):(?=//)|(?i:(?<=\bwww))\."  # bare URLs that GFM and Obsidian autolink
)
# a line start that would open a heading, quote, list, setext underline or thematic break
_LINE_START = re.compile(r"^(?:[#>+=_-]|\d{1,9}(?=[.)]))")
_TAG_JUNK = re.compile(r"[^a-z0-9]+")
# Kept as they are in a URL; everything else outside [A-Za-z0-9_.~-] is percent-encoded.
_URL_SAFE = "/:?#@!$&*+,;=%-"


def _escape_inline(text: str) -> str:
    return _INLINE_SPECIAL.sub(lambda m: "\\" + m.group(0), text)


def escape_text(text: str | None, limit: int | None = None) -> str:
    """Untrusted text as inert markdown in the middle of a line: only structure is escaped."""
    return _escape_inline(plain(text, limit))


def escape_line(text: str | None, limit: int | None = None) -> str:
    """Untrusted text as inert markdown at the start of a line or list item."""
    escaped = escape_text(text, limit)
    found = _LINE_START.match(escaped)
    if not found:
        return escaped
    if found.group(0).isdigit():  # `12.` or `12)`: escape the delimiter
        cut = found.end()
        return f"{escaped[:cut]}\\{escaped[cut:]}"
    return "\\" + escaped


def heading_text(text: str | None) -> str:
    """Heading text: a line start, and a trailing `#` run would be read as a closing sequence."""
    escaped = escape_line(text)
    return escaped[:-1] + "\\#" if escaped.endswith("#") else escaped


def safe_url(url: str | None) -> str | None:
    """An http(s) URL (as `safe_http_url` accepts it) made safe for a markdown link destination:
    None when it carries an invisible or control character, else percent-encoded."""
    checked = safe_http_url(url.strip()) if url else None
    if checked is None or INVISIBLE.search(checked):
        return None
    if any(not visible(char) for char in checked if not char.isspace()):
        return None
    scheme, rest = checked.split("://", 1)
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


def tag_of(name: str) -> str:
    """An Obsidian/YAML-safe tag: lower case, runs of anything but letters and digits as `-`."""
    return _TAG_JUNK.sub("-", name.lower()).strip("-") or "area"


def front_matter(digest: Digest) -> list[str]:
    """YAML front matter; every value is a JSON scalar or list, which YAML reads unchanged."""
    areas = [s.focus_area for s in digest.sections]
    fields = {
        "period": digest.period,
        "window_start": _timestamp(digest.window_start),
        "window_end": _timestamp(digest.window_end),
        "created": _timestamp(digest.created_at),
        "items": len(digest.entries),
        "focus_areas": areas,
        "tags": ["paperfeed", *dict.fromkeys(tag_of(a) for a in areas)],
        "generator": "paperfeed",
    }
    return ["---", *(f"{key}: {json.dumps(value)}" for key, value in fields.items()), "---", ""]


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _where(entry: DigestEntry) -> str:
    """A paper's primary category and cross-lists; a post's source."""
    if entry.categories:
        primary, *cross = entry.categories
        also = f" (also {', '.join(cross[:3])}{', …' if len(cross) > 3 else ''})" if cross else ""
        return escape_text(primary + also)
    return escape_text(entry.source or "unknown source")


def _authors(authors: Sequence[str]) -> str:
    names = ", ".join(plain(a, 60) for a in authors[:3])
    return escape_text(names + (" et al." if len(authors) > 3 else ""))


def task_line(entry: DigestEntry) -> str:
    """`- [ ] [Title](url) · cs.CL · 2024-04-03 · 25 min · id 1234`: the id last, for sync."""
    parts = [link(plain(entry.item.title, 300), entry.url), _where(entry)]
    if entry.item.authors:
        parts.append(_authors(entry.item.authors))
    if entry.date is not None:
        parts.append(entry.date.isoformat())
    parts += [f"{entry.minutes} min", f"id {entry.item.id}"]
    return "- [ ] " + " · ".join(parts)


def _entry_lines(entry: DigestEntry) -> list[str]:
    lines = [task_line(entry)]
    if entry.snippet:
        lines.append(f"{SUB_ITEM}{escape_line(entry.snippet)}")
    lines.append(f"{SUB_ITEM}Why this: {escape_text(entry.why)}")
    if entry.code_url:
        lines.append(f"{SUB_ITEM}Code: {link(entry.code_url.split('://', 1)[-1], entry.code_url)}")
    if entry.explained_in:
        posts = ", ".join(link(plain(title, 120), url) for title, url in entry.explained_in)
        lines.append(f"{SUB_ITEM}Explained in: {posts}")
    return lines


def _section(title: str, entries: Sequence[DigestEntry], empty: str) -> list[str]:
    lines = [f"## {heading_text(title)}", ""]
    if not entries:
        return [*lines, f"*{escape_text(empty)}*", ""]
    for entry in entries:
        lines.extend(_entry_lines(entry))
    return [*lines, ""]


def _progress(digest: Digest) -> list[str]:
    rows = []
    for row in digest.progress:
        goal = f"{row.read} / {row.goal}" if row.goal is not None else f"{row.read} (no goal)"
        rows.append([escape_text(row.area), goal + (" ✓ goal met" if row.met else "")])
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
    end = digest.last_day.isoformat()
    lines = front_matter(digest) if with_front_matter else []
    lines += [f"# Paperfeed digest {heading_text(digest.period)}", "", f"*{start} to {end}*", ""]
    for section in digest.sections:
        lines += _section(section.focus_area, section.entries, "Nothing new in this area.")
    lines += _section(HIGHLIGHTS, digest.highlights, "No new posts.")
    lines += _progress(digest)
    lines += _attention(digest)
    return "\n".join(lines).rstrip("\n") + "\n"
