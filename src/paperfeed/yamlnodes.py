"""Checked reading of YAML node trees: values with the file, line and key of every problem.

Pure: works on nodes from `yaml.compose(..., Loader=yaml.SafeLoader)`, which builds no Python
objects; scalars are converted by PyYAML's SafeConstructor only after `reject_unsafe_tags` has
refused every tag beyond plain YAML. Also checks cron lines (no croniter dependency).
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from paperfeed.errors import ConfigError
from paperfeed.names import suggest

YAML_TAG = "tag:yaml.org,2002:"
_SAFE_TAGS = frozenset(
    YAML_TAG + t for t in ("null", "bool", "int", "float", "str", "timestamp", "seq", "map")
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class NodeMap:
    """A validated YAML mapping: its node, its key path for messages, and its values."""

    node: yaml.MappingNode
    path: str
    values: dict[str, yaml.Node]
    reader: NodeReader

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str) -> yaml.Node | None:
        """The value node, or None when the key is absent or its value is empty (null)."""
        node = self.values.get(name)
        return None if node is None or node.tag == YAML_TAG + "null" else node

    def require(self, name: str) -> yaml.Node:
        node = self.get(name)
        if node is None:
            raise self.reader.error(self.node, self.key(name), "required key is missing or empty")
        return node

    def optional(self, name: str, convert: Callable[[yaml.Node, str], Any], default: Any) -> Any:
        """The converted value of `name`, or `default` when it is absent or empty."""
        node = self.get(name)
        return default if node is None else convert(node, self.key(name))


class NodeReader:
    """Turns YAML nodes into checked Python values; every failure is a ConfigError with a line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._constructor = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}:{node.start_mark.line + 1}: {key}: {problem}")

    def compose(self, text: str) -> yaml.Node | None:
        try:
            return yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            problem = exc.problem or exc.context or "syntax error"
            raise ConfigError(f"{self.path}:{line}: invalid YAML: {problem}") from None
        except yaml.YAMLError as exc:  # ReaderError: a character YAML does not allow
            position = getattr(exc, "position", 0)
            line = text.count("\n", 0, position) + 1
            raise ConfigError(f"{self.path}:{line}: invalid YAML: {exc}") from None

    def reject_unsafe_tags(self, root: yaml.Node) -> None:
        """Refuse any tag beyond plain YAML (`!!python/...`, `!!binary`, custom `!tags`), and
        keys that are not plain text (a list, a mapping or an alias as a key)."""
        seen: set[int] = set()
        references: Counter[int] = Counter()
        keys: list[tuple[yaml.Node, str]] = []
        stack: list[tuple[yaml.Node, str]] = [(root, "top level")]
        while stack:
            node, path = stack.pop()
            references[id(node)] += 1
            if id(node) in seen:  # an alias: the same node again
                continue
            seen.add(id(node))
            if node.tag not in _SAFE_TAGS:
                tag = node.tag.replace(YAML_TAG, "!!")
                raise self.error(node, path, f"YAML tag {tag} is not allowed in sources.yaml")
            if isinstance(node, yaml.MappingNode):
                keys += self._plain_keys(node, path)
            stack.extend(_children(node, "" if path == "top level" else path))
        for key, path in keys:
            if references[id(key)] > 1:
                raise self.error(key, path, "an alias (*name) cannot be a key")

    def _plain_keys(self, node: yaml.MappingNode, path: str) -> list[tuple[yaml.Node, str]]:
        # Checked before any key is turned into text: a key built from nested aliases prints
        # as a string that doubles with every level (482 bytes of YAML, gigabytes of text).
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode):
                raise self.error(key, path, "a key must be plain text, not a list or a mapping")
        return [(key, path) for key, _ in node.value]

    def mapping(self, node: yaml.Node, path: str, allowed: Iterable[str], where: str) -> NodeMap:
        if not isinstance(node, yaml.MappingNode):
            raise self.error(node, path or "top level", f"expected a mapping of keys for {where}")
        allowed = tuple(allowed)
        values: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node)
            label = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                raise self.error(key_node, label, "keys must be text")
            if key not in allowed:
                hint = suggest(key, allowed) or f" (allowed: {', '.join(allowed)})"
                raise self.error(key_node, label, f"unknown key in {where}{hint}")
            if key in values:
                raise self.error(key_node, label, "duplicate key")
            values[key] = value_node
        return NodeMap(node, path, values, self)

    def _scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return node
        return self._constructor.construct_object(node)

    def text(self, node: yaml.Node, key: str) -> str:
        value = self._scalar(node)
        if not isinstance(value, str):
            raise self.error(node, key, f"expected text, got {describe(value)} (quote it)")
        value = value.strip()
        if not value:
            raise self.error(node, key, "must not be empty")
        if _CONTROL.search(value):
            raise self.error(node, key, "must be one line without control characters")
        return value

    def number(self, node: yaml.Node, key: str) -> float:
        value = self._scalar(node)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(node, key, f"expected a number ≥ 0, got {describe(value)}")
        if not math.isfinite(value) or value < 0:
            raise self.error(node, key, f"expected a number ≥ 0, got {value}")
        return float(value)

    def integer(self, node: yaml.Node, key: str, low: int, high: int | None = None) -> int:
        value = self._scalar(node)
        span = f"from {low} to {high}" if high is not None else f"≥ {low}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(node, key, f"expected a whole number {span}, got {describe(value)}")
        if value < low or (high is not None and value > high):
            raise self.error(node, key, f"expected a whole number {span}, got {value}")
        return value

    def boolean(self, node: yaml.Node, key: str) -> bool:
        value = self._scalar(node)
        if not isinstance(value, bool):
            raise self.error(node, key, f"expected true or false, got {describe(value)}")
        return value

    def text_list(self, node: yaml.Node, key: str) -> tuple[str, ...]:
        if not isinstance(node, yaml.SequenceNode):
            got = describe(self._scalar(node))
            raise self.error(node, key, f"expected a list of text, e.g. [a, b], got {got}")
        return tuple(self.text(item, f"{key}[{i}]") for i, item in enumerate(node.value))

    def url(self, node: yaml.Node, key: str) -> str:
        value = self.text(node, key)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
            raise self.error(node, key, f"expected an http(s) URL, got {value!r}")
        return value


def _children(node: yaml.Node, path: str) -> list[tuple[yaml.Node, str]]:
    """Child nodes with their key paths, keys included (a key can carry a tag too)."""
    if isinstance(node, yaml.SequenceNode):
        return [(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
    if not isinstance(node, yaml.MappingNode):
        return []
    found = []
    for key, value in node.value:
        name = f"{path}.{key.value}" if path else str(key.value)
        found += [(key, name), (value, name)]
    return found


def describe(value: Any) -> str:
    if isinstance(value, yaml.SequenceNode):
        return "a list"
    if isinstance(value, yaml.MappingNode):
        return "a mapping"
    if value is None:
        return "nothing"
    return repr(value) if isinstance(value, str) else f"{type(value).__name__} {value!r}"


# ---------------------------------------------------------------- cron

_CRON_MACROS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@annually", "@midnight")
_CRON_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day", 1, 31),
    ("month", 1, 12),
    ("weekday", 0, 7),
)
_CRON_NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "weekday": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
_CRON_PART = re.compile(r"^(\*|\w+(?:-\w+)?)(?:/(\d+))?$")


def cron_problem(expression: str) -> str | None:
    """None when `expression` is a valid five-field cron line (or @daily etc.), else why not."""
    if expression.strip().lower() in _CRON_MACROS:
        return None
    fields = expression.split()
    if len(fields) != 5:
        return (
            f"expected 5 cron fields (minute hour day month weekday), e.g. '0 7 * * 1'; "
            f"got {expression!r}"
        )
    for text, (label, low, high) in zip(fields, _CRON_FIELDS, strict=True):
        if not all(_cron_part_ok(part, label, low, high) for part in text.split(",")):
            return f"bad cron {label} field {text!r} in {expression!r}"
    return None


def _cron_part_ok(part: str, label: str, low: int, high: int) -> bool:
    match = _CRON_PART.match(part)
    if not match:
        return False
    if match.group(2) is not None and int(match.group(2)) == 0:
        return False
    if match.group(1) == "*":
        return True
    names = _CRON_NAMES.get(label, [])
    for value in match.group(1).split("-"):
        if value.lower() in names:
            continue
        if not value.isdigit() or not low <= int(value) <= high:
            return False
    return True


# ---------------------------------------------------------------- editing YAML text


def plain_scalar(value: str) -> str:
    """Plain when YAML reads it back unchanged, else a double-quoted (JSON) string."""
    with contextlib.suppress(yaml.YAMLError):
        if yaml.safe_load(f"k: {value}") == {"k": value} and "#" not in value:
            return value
    return json.dumps(value, ensure_ascii=False)


def end_of_node_line(text: str, node: yaml.Node) -> int:
    """Index just past the line where `node`'s last value ends."""
    while isinstance(node, yaml.CollectionNode) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end = node.end_mark.index
    if end > 0 and text[end - 1] == "\n":  # block scalars end after their own line break
        return end
    newline = text.find("\n", end)
    return len(text) if newline < 0 else newline + 1
