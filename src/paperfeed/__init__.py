"""paperfeed: a local-first reading pipeline for machine-learning learners.

`paperfeed.Paperfeed` is the library object (see `paperfeed.library`); it is imported on first
use, so `import paperfeed` stays light and never imports Prefect.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from paperfeed.library import Paperfeed

__version__ = "0.1.0"
__all__ = ["Paperfeed", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Paperfeed":
        from paperfeed.library import Paperfeed

        return Paperfeed
    raise AttributeError(f"module 'paperfeed' has no attribute {name!r}")
