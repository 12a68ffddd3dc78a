"""A focus area's example papers: `examples:` in sources.yaml, `paperfeed area add-example`.

Examples count as papers the learner read in that area, from the first digest on. I/O rule:
`add_examples` reads sources.yaml and replaces it atomically (only the area's `examples` list
changes: comments and layout stay), and fetches the examples the store lacks through the arXiv
adapter (`paperfeed.sources.arxiv.fetch_papers`, the shared HttpClient), storing them under the
source name "examples". `with_examples`, the text edit, is pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from paperfeed.config import Config, example_reference, parse_config
from paperfeed.errors import ConfigError, NotFound
from paperfeed.files import write_text_atomic
from paperfeed.keys import ARXIV_ID
from paperfeed.names import suggest
from paperfeed.sources.arxiv_query import API_URL
from paperfeed.yamlnodes import end_of_node_line, plain_scalar

if TYPE_CHECKING:
    from paperfeed.http import HttpClient
    from paperfeed.store import Store

EXAMPLES_SOURCE = "examples"


@dataclass(frozen=True, slots=True)
class ExamplesReport:
    area: str
    added: list[str]  # new in sources.yaml
    already: list[str]  # were there before
    fetched: list[str]  # were not in the store, now are
    missing: list[str]  # in sources.yaml but not in the store (arXiv does not know them, or URLs)

    def as_json(self) -> dict[str, object]:
        return {
            "area": self.area,
            "added": self.added,
            "already": self.already,
            "fetched": self.fetched,
            "missing": self.missing,
        }


def references(values: Sequence[str], where: str) -> list[str]:
    """The examples as sources.yaml keeps them (arXiv ids without version, or URLs); `where`:
    the `sources.yaml:LINE: KEY` an error names."""
    found = []
    for value in values:
        reference = example_reference(value)
        if reference is None:
            raise ConfigError(
                f"{where}: {value!r} is not an arXiv id (2104.12255, v2 allowed) or a URL"
            )
        found.append(reference)
    return found


def _area_node(text: str, path: Path, area: str) -> yaml.MappingNode:
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    areas: list[yaml.Node] = []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "focus_areas" and isinstance(value, yaml.SequenceNode):
                areas = value.value
    names = []
    for node in areas:
        if isinstance(node, yaml.MappingNode):
            name = next((v.value for k, v in node.value if k.value == "name"), None)
            if name == area:
                return node
            names.append(str(name))
    raise ConfigError(f"{path}: focus_areas: unknown focus area {area!r}{suggest(area, names)}")


def with_examples(text: str, path: Path, area: str, new: Sequence[str]) -> str:
    """`text` with `new` appended to the area's `examples` list (the key added when missing)."""
    node = _area_node(text, path, area)
    newline = "\r\n" if "\r\n" in text else "\n"
    if node.flow_style:
        raise ConfigError(
            f"{path}:{node.start_mark.line + 1}: focus_areas: {area!r} is written as {{...}}; "
            "write it as `key: value` lines to add examples to it"
        )
    current = next((v for k, v in node.value if k.value == "examples"), None)
    if current is None:
        indent = " " * node.value[0][0].start_mark.column
        line = f"{indent}examples: [{', '.join(map(plain_scalar, new))}]{newline}"
        at = end_of_node_line(text, node)
        return text[:at] + line + text[at:]
    if not isinstance(current, yaml.SequenceNode):
        line = current.start_mark.line + 1
        raise ConfigError(f"{path}:{line}: focus_areas.{area}.examples: expected a list")
    if current.flow_style or not current.value:
        values = [v.value for v in current.value] + list(new)
        flow = "[" + ", ".join(map(plain_scalar, values)) + "]"
        return text[: current.start_mark.index] + flow + text[current.end_mark.index :]
    first = current.value[0].start_mark
    dash = text[text.rfind("\n", 0, first.index) + 1 : first.index]  # e.g. "      - "
    lines = "".join(f"{dash}{plain_scalar(value)}{newline}" for value in new)
    at = end_of_node_line(text, current)
    return text[:at] + lines + text[at:]


def _write(config: Config, text: str, area: str, new: list[str]) -> None:
    """Replace sources.yaml with `text` once it is checked: the same file but for the examples."""
    updated = parse_config(text, config.path)
    before = {a.name: a for a in config.focus_areas}
    after = {a.name: a for a in updated.focus_areas}
    expected = (*before[area].examples, *new)
    if after[area].examples != expected or updated.sources != config.sources:
        raise ConfigError(f"{config.path}: could not add examples safely; file unchanged")
    target = config.path.resolve() if config.path.is_symlink() else config.path
    write_text_atomic(target, text)


def _base_url(config: Config) -> tuple[str, bool]:
    """The arXiv API of the first arxiv source (a mirror or test server), else arXiv's own."""
    for source in config.sources:
        if source.type == "arxiv":
            return str(source.options.get("base_url", API_URL)), source.allow_private
    return API_URL, False


def fetch_missing(store: Store, http: HttpClient, config: Config, wanted: list[str]) -> list[str]:
    """Fetch and store the arXiv examples the store lacks; the ids now stored."""
    from paperfeed.sources.arxiv import fetch_papers

    absent = [r for r in wanted if ARXIV_ID.fullmatch(r) and not _in_store(store, r)]
    base_url, allow_private = _base_url(config)
    items = fetch_papers(http, absent, base_url=base_url, allow_private=allow_private)
    store.items.upsert(items, EXAMPLES_SOURCE)
    return [r for r in absent if _in_store(store, r)]


def _in_store(store: Store, reference: str) -> bool:
    try:
        store.items.resolve(reference)
    except NotFound:
        return False
    return True


def add_examples(
    config: Config, area: str, values: Sequence[str], store: Store, http: HttpClient
) -> ExamplesReport:
    """Add example papers to a focus area in sources.yaml and make sure the store holds them."""
    text = config.path.read_bytes().decode("utf-8")
    node = _area_node(text, config.path, area)  # an unknown area fails before any fetch
    index = [a.name for a in config.focus_areas].index(area)
    where = f"{config.path}:{node.start_mark.line + 1}: focus_areas[{index}].examples"
    wanted = list(dict.fromkeys(references(values, where)))
    old = next(a.examples for a in config.focus_areas if a.name == area)
    new = [r for r in wanted if r not in old]
    fetched = fetch_missing(store, http, config, wanted)
    if new:
        _write(config, with_examples(text, config.path, area, new), area, new)
    missing = [r for r in wanted if not _in_store(store, r)]
    return ExamplesReport(area, new, [r for r in wanted if r in old], fetched, missing)
