"""The wheel ships every package and the flows: pyproject lists its packages explicitly (flows/
is mapped to `paperfeed_flows`), so a package added under src/paperfeed must be listed too.
scripts/check_wheel.sh builds and installs the wheel and checks that serve finds the flows."""

from __future__ import annotations

import tomllib

from conftest import REPO


def test_pyproject_lists_every_package_under_src_and_the_flows() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    src = REPO / "src"
    found = {
        ".".join(init.parent.relative_to(src).parts)
        for init in src.glob("paperfeed/**/__init__.py")
    }
    assert set(setuptools["packages"]) == found | {"paperfeed_flows"}
    assert setuptools["package-dir"]["paperfeed_flows"] == "flows"
    assert {"ingest.py", "digest.py", "__init__.py"} <= {p.name for p in (REPO / "flows").iterdir()}
