"""sources.yaml: the learner's sources, focus areas and schedules.

I/O rule: `load_config` reads the file; everything else here is pure. The text is composed with
yaml.SafeLoader into a node tree (never into Python objects: a `!!python/...` tag is refused before
anything is built), then walked by a schema so every error names the file, the line and the key:
`sources.yaml:12: sources[3].weight: expected a number ≥ 0, got 'high'`.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from paperfeed.addresses import names_private_host
from paperfeed.errors import ConfigError
from paperfeed.keys import parse_arxiv_id
from paperfeed.names import suggest
from paperfeed.yamlnodes import NodeMap, NodeReader, cron_problem

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DEFAULT_BACKUPS_KEPT = 7  # a week of daily ingests
MAX_CONFIG_BYTES = 2**20  # a real sources.yaml is a few KB; bigger is a mistake or an attack


@dataclass(frozen=True, slots=True)
class SourceConfig:
    name: str
    type: str  # a registered source type (paperfeed.sources)
    url: str | None = None  # feed and html sources
    query: str | None = None  # arxiv: a search query (arXiv API syntax or plain words)
    categories: tuple[str, ...] = ()  # arxiv: e.g. ("cs.LG", "cs.CL")
    tags: tuple[str, ...] = ()
    weight: float = 1.0
    enabled: bool = True
    allow_private: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)  # set by the type's `read`
    line: int | None = None  # where the entry starts in sources.yaml


@dataclass(frozen=True, slots=True)
class FocusArea:
    name: str
    description: str
    keywords: tuple[str, ...] = ()
    weight: float = 1.0
    weekly_goal: int | None = None
    examples: tuple[str, ...] = ()  # arXiv ids without version, or item URLs: read from day one
    exclude: tuple[str, ...] = ()  # items naming any of these words are dropped from the area
    require: tuple[str, ...] = ()  # when set, items naming none of these are dropped


@dataclass(frozen=True, slots=True)
class Schedules:
    ingest_cron: str = "0 6 * * *"
    digest_cron: str = "0 7 * * 1"
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Config:
    path: Path
    sources: tuple[SourceConfig, ...] = ()
    focus_areas: tuple[FocusArea, ...] = ()
    model: str = DEFAULT_MODEL
    digest_dir: Path | None = None
    schedules: Schedules = Schedules()
    contact: str | None = None  # e-mail or URL for the User-Agent sent to arXiv and feeds
    backups_kept: int = DEFAULT_BACKUPS_KEPT  # dated database copies kept (0: none are made)

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def sources_of(self, stored: Iterable[str], categories: Iterable[str]) -> tuple[str, ...]:
        """The sources an item counts under: those that stored it, then every arXiv source
        naming one of its categories, whatever path (API, bulk import) brought it in."""
        cats = set(categories)
        by_category = [s.name for s in self.sources if cats.intersection(s.categories)]
        return tuple(dict.fromkeys([*stored, *by_category]))

    def tags_of(self, sources: Iterable[str], categories: Iterable[str]) -> set[str]:
        """An item's tags: those of its sources in sources.yaml, and its arXiv categories."""
        tags = set(categories)
        for name in sources:
            found = self.source(name)
            if found is not None:
                tags.update(found.tags)
        return tags

    def area_keywords(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(a.name, tuple(a.keywords)) for a in self.focus_areas]


# ---------------------------------------------------------------- schema

_TOP_KEYS = ("sources", "focus_areas", "settings")
_SETTINGS_KEYS = ("model", "digest_dir", "contact", "schedules", "backups_kept")
_SCHEDULE_KEYS = ("ingest", "digest", "timezone")
_AREA_KEYS = (
    "name",
    "description",
    "keywords",
    "weight",
    "weekly_goal",
    "examples",
    "exclude",
    "require",
)
_COMMON_SOURCE_KEYS = ("name", "type", "tags", "weight", "enabled", "allow_private")


# ---------------------------------------------------------------- sources


def _sources(reader: NodeReader, node: yaml.Node) -> tuple[SourceConfig, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise reader.error(node, "sources", "expected a list of sources (each item starts `- `)")
    first_line: dict[str, int] = {}
    sources = []
    for index, item in enumerate(node.value):
        source = _source(reader, item, f"sources[{index}]")
        if source.name in first_line:
            problem = (
                f"duplicate source name {source.name!r} (first at line {first_line[source.name]})"
            )
            raise reader.error(item, f"sources[{index}].name", problem)
        first_line[source.name] = item.start_mark.line + 1
        sources.append(source)
    return tuple(sources)


def _source(reader: NodeReader, node: yaml.Node, path: str) -> SourceConfig:
    from paperfeed.sources import source_types  # the declarations live with the adapters

    types = source_types()
    every_key = set(_COMMON_SOURCE_KEYS).union(*(t.options for t in types.values()))
    entry = reader.mapping(node, path, sorted(every_key), "a source")
    type_node = entry.require("type")
    kind = reader.text(type_node, entry.key("type"))
    if kind not in types:
        names = list(types)
        choices = ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
        problem = f"must be {choices}{suggest(kind, names)}"
        raise reader.error(type_node, entry.key("type"), problem)
    _check_type_keys(entry, kind, types[kind].options)
    source = SourceConfig(
        name=reader.text(entry.require("name"), entry.key("name")),
        type=kind,
        tags=entry.optional("tags", reader.text_list, ()),
        weight=entry.optional("weight", reader.number, 1.0),
        enabled=entry.optional("enabled", reader.boolean, True),
        allow_private=entry.optional("allow_private", reader.boolean, False),
        line=node.start_mark.line + 1,
        **types[kind].read(entry),
    )
    if not source.allow_private:
        _refuse_private(entry)
    return source


def _refuse_private(entry: NodeMap) -> None:
    """A URL naming this machine or a private network is refused at load, not at the first
    ingest: the learner opts in with `allow_private: true` (a local mirror, a test server)."""
    for key in ("url", "base_url"):
        node = entry.get(key)
        if node is not None and names_private_host(str(node.value)):
            problem = (
                "names a private or loopback address; add `allow_private: true` to this "
                "source to fetch it anyway"
            )
            raise entry.reader.error(node, entry.key(key), problem)


def _check_type_keys(entry: NodeMap, kind: str, options: tuple[str, ...]) -> None:
    allowed = (*_COMMON_SOURCE_KEYS, *options)
    for key_node, _ in entry.node.value:
        key = key_node.value
        if key not in allowed:
            hint = suggest(key, allowed)
            problem = f"not an option of {kind} sources{hint}"
            raise entry.reader.error(key_node, entry.key(key), problem)


# ---------------------------------------------------------------- focus areas, settings


def _focus_areas(reader: NodeReader, node: yaml.Node | None) -> tuple[FocusArea, ...]:
    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        raise reader.error(node, "focus_areas", "expected a list of focus areas")
    first_line: dict[str, int] = {}
    areas = []
    for index, item in enumerate(node.value):
        entry = reader.mapping(item, f"focus_areas[{index}]", _AREA_KEYS, "a focus area")
        area = _focus_area(reader, entry)
        if area.name in first_line:
            problem = f"duplicate focus area {area.name!r} (first at line {first_line[area.name]})"
            raise reader.error(item, entry.key("name"), problem)
        first_line[area.name] = item.start_mark.line + 1
        areas.append(area)
    return tuple(areas)


def _focus_area(reader: NodeReader, entry: NodeMap) -> FocusArea:
    exclude = entry.optional("exclude", _words(reader), ())
    require = entry.optional("require", _words(reader), ())
    both = sorted(set(map(str.lower, exclude)) & set(map(str.lower, require)))
    if both:
        problem = f"{both[0]!r} is also in `exclude`: an item cannot both need and lack it"
        raise reader.error(entry.values["require"], entry.key("require"), problem)
    return FocusArea(
        name=reader.text(entry.require("name"), entry.key("name")),
        description=reader.text(entry.require("description"), entry.key("description")),
        keywords=entry.optional("keywords", reader.text_list, ()),
        weight=entry.optional("weight", reader.number, 1.0),
        weekly_goal=entry.optional("weekly_goal", lambda n, k: reader.integer(n, k, 0), None),
        examples=entry.optional("examples", _examples(reader), ()),
        exclude=exclude,
        require=require,
    )


_WORD = re.compile(r"^[\w][\w .+#'-]*$")  # a word or phrase: letters or digits first


def _words(reader: NodeReader) -> Callable[[yaml.Node, str], tuple[str, ...]]:
    """A list of words or phrases matched whole and case-insensitively (`exclude`, `require`)."""

    def convert(node: yaml.Node, key: str) -> tuple[str, ...]:
        words = reader.text_list(node, key)
        for i, word in enumerate(words):
            if not _WORD.match(word.strip()):
                problem = f"{word!r} is not a word or phrase (letters, digits, spaces, - . + #)"
                raise reader.error(node.value[i], f"{key}[{i}]", problem)
        return tuple(w.strip() for w in words)

    return convert


def example_reference(value: str) -> str | None:
    """An example paper as paperfeed keeps it: the arXiv id without version (from an id, any
    version, or an arxiv.org URL), or any other http(s) URL as given; None if it is neither."""
    parsed = parse_arxiv_id(value)
    if parsed:
        return parsed[0]
    value = value.strip()
    return value if re.match(r"^https?://[^\s/]+\.[^\s]*$", value) else None


def _examples(reader: NodeReader) -> Callable[[yaml.Node, str], tuple[str, ...]]:
    def convert(node: yaml.Node, key: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            raise reader.error(node, key, "expected a list of arXiv ids or URLs, e.g. [2104.12255]")
        for i, item in enumerate(node.value):
            if not isinstance(item, yaml.ScalarNode):
                raise reader.error(item, f"{key}[{i}]", "expected an arXiv id or a URL")
        found: list[str] = []
        # the text as written: an unquoted id such as 2104.12250 would otherwise be a float
        for i, value in enumerate(str(item.value) for item in node.value):
            reference = example_reference(value)
            if reference is None:
                problem = f"{value!r} is not an arXiv id (2104.12255, v2 allowed) or a URL"
                raise reader.error(node.value[i], f"{key}[{i}]", problem)
            if reference not in found:
                found.append(reference)
        return tuple(found)

    return convert


def _settings(reader: NodeReader, node: yaml.Node | None) -> dict[str, Any]:
    if node is None:
        return {}
    entry = reader.mapping(node, "settings", _SETTINGS_KEYS, "settings")
    found: dict[str, Any] = {"model": entry.optional("model", reader.text, DEFAULT_MODEL)}
    digest_dir = entry.optional("digest_dir", reader.text, None)
    found["digest_dir"] = None if digest_dir is None else Path(digest_dir).expanduser()
    found["contact"] = entry.optional("contact", _contact(reader), None)
    if (kept := entry.get("backups_kept")) is not None:
        found["backups_kept"] = reader.integer(kept, entry.key("backups_kept"), 0, 1000)
    schedules = entry.get("schedules")
    found["schedules"] = Schedules() if schedules is None else _schedules(reader, schedules)
    return found


def _contact(reader: NodeReader) -> Callable[[yaml.Node, str], str]:
    def convert(node: yaml.Node, key: str) -> str:
        value = reader.text(node, key)
        if "@" not in value and not value.startswith(("http://", "https://")):
            raise reader.error(node, key, f"expected an e-mail address or URL, got {value!r}")
        return value

    return convert


def _schedules(reader: NodeReader, node: yaml.Node) -> Schedules:
    entry = reader.mapping(node, "settings.schedules", _SCHEDULE_KEYS, "schedules")
    default = Schedules()
    crons = {}
    for name in ("ingest", "digest"):
        value = entry.get(name)
        if value is None:
            crons[name] = getattr(default, f"{name}_cron")
            continue
        crons[name] = reader.text(value, entry.key(name))
        problem = cron_problem(crons[name])
        if problem:
            raise reader.error(value, entry.key(name), problem)
    tz_node = entry.get("timezone")
    timezone = default.timezone if tz_node is None else _timezone(reader, tz_node, entry)
    return Schedules(ingest_cron=crons["ingest"], digest_cron=crons["digest"], timezone=timezone)


def _timezone(reader: NodeReader, node: yaml.Node, entry: NodeMap) -> str:
    name = reader.text(node, entry.key("timezone"))
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        hint = suggest(name, zoneinfo.available_timezones())
        problem = f"unknown IANA time zone {name!r}{hint}"
        raise reader.error(node, entry.key("timezone"), problem) from None
    return name


# ---------------------------------------------------------------- loading


def load_config(path: Path) -> Config:
    """Read and validate sources.yaml. Raises ConfigError ("FILE:LINE: KEY: problem")."""
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            megabytes = f"{size / 2**20:.1f} MB"
            raise ConfigError(f"{path}:1: top level: file is {megabytes}; the limit is 1 MB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found (use --config or PAPERFEED_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    """Validate the text of a sources.yaml; `path` is only used in messages and Config.path."""
    reader = NodeReader(path)
    root = reader.compose(text)
    if root is None:
        raise ConfigError(f"{path}:1: sources: required (the file is empty)")
    reader.reject_unsafe_tags(root)
    top = reader.mapping(root, "", _TOP_KEYS, "the top level")
    sources = _sources(reader, top.require("sources"))
    areas = _focus_areas(reader, top.get("focus_areas"))
    settings = _settings(reader, top.get("settings"))
    return Config(path=path, sources=sources, focus_areas=areas, **settings)
