"""OPML import: read a feed reader's export and append its feeds to sources.yaml.

I/O rule: `parse_opml` and `plan_additions` / `append_sources` are pure (bytes and text in,
values out); only `add_feeds` touches the disk, reading sources.yaml once and replacing it
atomically (temp file in the same folder, fsync, os.replace). The file is edited as text, never
re-dumped, so its comments and layout stay exactly as the learner wrote them.

OPML is parsed with expat and any DOCTYPE or entity declaration is refused: no external entities,
no entity expansion (defusedxml's rule, without the dependency).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from xml.parsers import expat

import yaml

from paperfeed.config import Config, parse_config
from paperfeed.errors import ConfigError, ParseError
from paperfeed.files import write_text_atomic
from paperfeed.keys import normalize_url
from paperfeed.yamlnodes import end_of_node_line, plain_scalar

NEW_CONFIG = "# paperfeed sources (created by `paperfeed sources import-opml`)\nsources: []\n"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    xml_url: str
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class AddReport:
    added: list[str] = field(default_factory=list)  # names of the new sources
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (feed URL, why)


class _Refused(Exception):
    pass


# ---------------------------------------------------------------- parsing


def parse_opml(body: bytes, *, name: str = "OPML") -> list[OpmlFeed]:
    """Every outline with an xmlUrl, at any depth, in document order. Raises ParseError."""
    feeds: list[OpmlFeed] = []
    root: list[str] = []
    parser = expat.ParserCreate()

    def refuse(*_: object) -> None:
        raise _Refused("DOCTYPE and entity declarations are not allowed in OPML")

    def start(tag: str, attrs: dict[str, str]) -> None:
        if not root:
            root.append(tag)
        if tag.lower() == "outline":
            feed = _feed(attrs)
            if feed is not None:
                feeds.append(feed)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.StartElementHandler = start
    try:
        parser.Parse(body, True)
    except _Refused as exc:
        raise ParseError(f"{name}:{parser.CurrentLineNumber}: {exc}") from None
    except expat.ExpatError as exc:
        raise ParseError(
            f"{name}:{exc.lineno}: not well-formed XML: {expat.errors.messages[exc.code]}"
        ) from None
    if root[:1] != ["opml"]:
        raise ParseError(f"{name}: not an OPML file (root element {root[:1] or 'missing'})")
    return feeds


def _feed(attrs: dict[str, str]) -> OpmlFeed | None:
    by_name = {key.lower(): value.strip() for key, value in attrs.items()}
    xml_url = by_name.get("xmlurl")
    if not xml_url:
        return None
    html_url = by_name.get("htmlurl") or None
    title = _SPACES.sub(" ", by_name.get("title") or by_name.get("text") or "").strip()
    if not title:
        title = urlsplit(html_url or xml_url).hostname or xml_url
    return OpmlFeed(title=title, xml_url=xml_url, html_url=html_url)


# ---------------------------------------------------------------- planning (pure)


def plan_additions(
    config: Config, feeds: Iterable[OpmlFeed]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(new (name, url) pairs, skipped (url, reason) pairs) for feeds not already configured."""
    known = {normalize_url(s.url): s.name for s in config.sources if s.url}
    names = {s.name for s in config.sources}
    imported: dict[str, str] = {}
    new: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    for feed in feeds:
        parts = urlsplit(feed.xml_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in feed.xml_url:
            skipped.append((feed.xml_url, "not an http(s) URL"))
            continue
        key = normalize_url(feed.xml_url)
        if key in known:
            skipped.append((feed.xml_url, f"already in sources as {known[key]!r}"))
        elif key in imported:
            skipped.append((feed.xml_url, f"listed twice in the OPML (added as {imported[key]!r})"))
        else:
            name = _unique_name(feed.title, names)
            names.add(name)
            imported[key] = name
            new.append((name, feed.xml_url))
    return new, skipped


def _unique_name(title: str, taken: set[str]) -> str:
    if title not in taken:
        return title
    suffix = 2
    while f"{title}-{suffix}" in taken:
        suffix += 1
    return f"{title}-{suffix}"


# ---------------------------------------------------------------- editing sources.yaml (pure)


def append_sources(text: str, path: Path, entries: Sequence[tuple[str, str]]) -> str:
    """`text` with one `type: feed` item per (name, url) added at the end of `sources`.

    Only inserts lines; everything already in the file stays byte for byte."""
    if not entries:
        return text
    node = _sources_node(text, path)
    newline = "\r\n" if "\r\n" in text else "\n"
    if node.flow_style:
        if node.value:
            raise ConfigError(
                f"{path}:{node.start_mark.line + 1}: sources: written as a [...] "
                "list; write it as `- name: ...` items to import into it"
            )
        block = "".join(_item(name, url, 2, 4, newline) for name, url in entries)
        return (
            text[: node.start_mark.index]
            + newline
            + block.rstrip("\r\n")
            + text[node.end_mark.index :]
        )
    dash = node.start_mark.column
    key = node.value[0].start_mark.column
    gap = newline if _blank_line_before(text, node.value[-1]) else ""
    block = "".join(gap + _item(name, url, dash, key, newline) for name, url in entries)
    at = end_of_node_line(text, node)
    prefix = "" if at == 0 or text[at - 1] == "\n" else newline
    return text[:at] + prefix + block + text[at:]


def _sources_node(text: str, path: Path) -> yaml.SequenceNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "sources" and isinstance(value, yaml.SequenceNode):
                return value
    raise ConfigError(f"{path}: sources: expected a list of sources")


def _item(name: str, url: str, dash: int, key: int, newline: str) -> str:
    pad = " " * key
    return (
        f"{' ' * dash}-{' ' * (key - dash - 1)}name: {plain_scalar(name)}{newline}"
        f"{pad}type: feed{newline}{pad}url: {plain_scalar(url)}{newline}"
    )


def _blank_line_before(text: str, node: yaml.Node) -> bool:
    line_start = text.rfind("\n", 0, node.start_mark.index)
    previous = text.rfind("\n", 0, max(line_start, 0))
    return line_start > 0 and text[previous + 1 : line_start].strip() == ""


# ---------------------------------------------------------------- the one I/O function


def add_feeds(config_path: Path, feeds: Iterable[OpmlFeed], *, dry_run: bool = False) -> AddReport:
    """Append the feeds not already configured to sources.yaml (created when missing).

    Raises ConfigError when the current file is invalid; the file is then left untouched."""
    target = config_path.resolve() if config_path.is_symlink() else config_path
    text = target.read_bytes().decode("utf-8") if target.exists() else NEW_CONFIG
    config = parse_config(text, config_path)
    new, skipped = plan_additions(config, feeds)
    if new and not dry_run:
        updated = append_sources(text, config_path, new)
        _check_appended(config, parse_config(updated, config_path), new)
        write_text_atomic(target, updated)
    return AddReport(added=[name for name, _ in new], skipped=skipped)


def _check_appended(before: Config, after: Config, new: list[tuple[str, str]]) -> None:
    """The edited text must hold the old sources unchanged, then exactly the new ones."""
    count = len(before.sources)
    appended = [(s.name, s.url) for s in after.sources[count:]]
    if after.sources[:count] != before.sources or appended != new:
        raise ConfigError(f"{before.path}: could not append to sources safely; file unchanged")
