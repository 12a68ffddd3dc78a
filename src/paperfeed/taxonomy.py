"""arXiv's official category taxonomy, shipped as package data (data/arxiv_categories.txt).

Pure apart from reading that one packaged file once.
"""

from __future__ import annotations

import functools
from importlib import resources

from paperfeed.names import closest, did_you_mean


@functools.cache
def arxiv_categories() -> frozenset[str]:
    text = resources.files("paperfeed").joinpath("data/arxiv_categories.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip()[:1] not in "#")


def category_problem(category: str) -> str | None:
    """None for a real category; else what is wrong, with a did-you-mean ('cs.lg' → 'cs.LG')."""
    taxonomy = arxiv_categories()
    if category in taxonomy:
        return None
    same = [c for c in taxonomy if c.lower() == category.lower()]
    hint = did_you_mean(same[0] if same else closest(category, taxonomy))
    examples = " (e.g. cs.LG, cs.CL, stat.ML; see arxiv.org/category_taxonomy)"
    return f"{category!r} is not an arXiv category{hint or examples}"
