"""`paperfeed init`: a first sources.yaml, from the commented one shipped with the package.

I/O rule: reads the packaged template, writes only the one new file, and never replaces an
existing file (the new file is linked into place, which fails when the name is taken).
"""

from __future__ import annotations

import os
import tempfile
from importlib import resources
from pathlib import Path

import yaml

from paperfeed.errors import ConfigError
from paperfeed.files import fsync_dir

STARTER_AREAS = 2  # focus areas the starter keeps, for the learner to edit


def shipped_config() -> str:
    return resources.files("paperfeed").joinpath("data/sources.yaml").read_text("utf-8")


def starter_config(text: str | None = None) -> str:
    """The shipped sources.yaml with its focus areas cut to the first STARTER_AREAS, comments
    and every source kept."""
    text = shipped_config() if text is None else text
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    assert isinstance(root, yaml.MappingNode)  # the shipped file, checked by its tests
    areas = next(v for k, v in root.value if k.value == "focus_areas")
    if len(areas.value) <= STARTER_AREAS:
        return text
    lines = text.splitlines(keepends=True)
    cut_from = cut_to = areas.value[STARTER_AREAS].start_mark.line
    while cut_to < len(lines) and (lines[cut_to].startswith(" ") or not lines[cut_to].strip()):
        cut_to += 1  # the remaining areas: indented lines and the blank lines between them
    return "".join(lines[:cut_from] + ["\n"] * (cut_to < len(lines)) + lines[cut_to:])


def write_starter_config(path: Path) -> None:
    """Write the starter to `path`; ConfigError when a file is already there."""
    if path.exists():
        raise ConfigError(f"{path} already exists: edit it, or give another path with --config")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(starter_config())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            raise ConfigError(f"{path} already exists: edit it, or give another path") from None
        fsync_dir(path.parent)
    finally:
        os.unlink(temp)
