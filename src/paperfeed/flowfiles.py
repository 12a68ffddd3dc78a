"""Where the Prefect flow files are, and loading them by path (this module never imports Prefect).

flows/ lives beside the package (the flows are deployment code, not library code): in a source
checkout (`pip install -e .`) it is found next to `src/`; an installed wheel carries it as the
`paperfeed_flows` package; --flows-dir or PAPERFEED_FLOWS point elsewhere.

I/O rule: reads only the flow files it is asked to load.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from paperfeed.errors import ConfigError


def default_flows_dir() -> Path:
    """flows/ of the source checkout this package runs from (src/paperfeed/..), else the copy
    an installed wheel carries as the `paperfeed_flows` package."""
    import paperfeed

    checkout = Path(paperfeed.__file__).resolve().parents[2] / "flows"
    if checkout.is_dir():
        return checkout
    spec = importlib.util.find_spec("paperfeed_flows")  # finds the folder, runs nothing
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return checkout


def load_flow_module(folder: Path, name: str) -> ModuleType:
    """flows/<name>.py loaded by path, once per process (flows/digest.py uses the same names)."""
    module_name = f"paperfeed_flows_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    path = folder / f"{name}.py"
    if not path.is_file():
        raise ConfigError(f"flow file {path} not found; pass --flows-dir or set PAPERFEED_FLOWS")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load flow file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
