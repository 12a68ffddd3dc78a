"""README "How it works" draws the tree of src/paperfeed, one line per package and module: this
test keeps the drawing and the code in step (a module added, moved or removed shows here)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import REPO

SRC = REPO / "src" / "paperfeed"


def _drawn() -> set[str]:
    readme = (REPO / "README.md").read_text()
    block = readme.split("```\nsrc/paperfeed/\n", 1)[1].split("```", 1)[0]
    paths, stack = set(), []
    for line in block.splitlines():
        match = re.match(r"^([│ ]*)[├└]── (\S+)", line)
        assert match, line
        depth, name = len(match.group(1)) // 4, match.group(2)
        stack[depth:] = [name.rstrip("/")]
        paths.add("/".join(stack))
    return paths


def _modules() -> set[str]:
    found = set()
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC)
        if path.name == "__init__.py" and relative.parent != Path("."):
            found.add(relative.parent.as_posix())  # a package: drawn as its folder
        elif relative.parent == Path("cli") and path.name.endswith("_cmds.py"):
            found.add("cli/*_cmds.py")
        else:
            found.add(relative.as_posix())
    return found


def test_the_readme_tree_names_every_module_and_nothing_else() -> None:
    drawn = _drawn() - {"sources/__init__.py"}  # drawn for what the registry holds
    assert drawn == _modules()
