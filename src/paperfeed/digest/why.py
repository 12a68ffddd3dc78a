""" "Why this": one honest sentence per digest item.

I/O rule: none; pure. What it may say, strongest first:
- the nearest item the learner read, saved or rated up *in the same focus area*, with the verb of
  what they did to it, and only when it is at least `NEAREST_MARK_SIMILARITY` close;
- the area's keywords the item names, as whole words or phrases;
- otherwise the words of the area's description it names most.
`distinct` makes the lines of one section different sentences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from paperfeed.digest import rank
from paperfeed.search.bm25 import content_words
from paperfeed.text import plain

# Cosine (all-MiniLM-L6-v2, normalised) from which two abstracts are on the same topic, not just
# the same field: 0.3 is shared by most papers of one arXiv category.
NEAREST_MARK_SIMILARITY = 0.5
DESCRIPTION_WORDS = 3
# Description words that say nothing about a topic.
_GENERIC = frozenset(
    [
        "about",
        "also",
        "behind",
        "every",
        "putting",
        "applied",
        "approach",
        "approaches",
        "area",
        "areas",
        "based",
        "better",
        "including",
        "like",
        "methods",
        "method",
        "model",
        "models",
        "new",
        "paper",
        "papers",
        "particularly",
        "practical",
        "problems",
        "research",
        "results",
        "study",
        "such",
        "systems",
        "techniques",
        "using",
        "work",
        "works",
    ]
)


@dataclass(frozen=True, slots=True)
class Marked:
    """Items the learner read, saved or rated up: their titles, areas, verbs and vectors."""

    titles: Sequence[str]
    areas: Sequence[str | None]
    verbs: Sequence[str]  # "read", "saved", "rated up", "read and saved", ...
    vectors: np.ndarray  # (m, d)


def verb_of(read: bool, saved: bool, rated_up: bool) -> str:
    done = [v for v, on in (("read", read), ("saved", saved), ("rated up", rated_up)) if on]
    return " and ".join(done)


def _nearest(vector: np.ndarray, area: str, marked: Marked) -> str | None:
    same = [i for i, a in enumerate(marked.areas) if a == area]
    if not same or not len(marked.vectors):
        return None
    sims = marked.vectors[same] @ vector
    best = int(np.argmax(sims))
    if sims[best] < NEAREST_MARK_SIMILARITY:
        return None
    index = same[best]
    return f"close to “{plain(marked.titles[index], 100)}”, which you {marked.verbs[index]}"


def description_words(title: str, summary: str, description: str) -> list[str]:
    """The description's topical words the item names, most named first (title counts twice;
    on a tie, the one the description names first)."""
    topical = {w for w in content_words(description) if len(w) > 3 and w not in _GENERIC}
    words = sorted(topical, key=description.lower().find)
    counts: Counter[str] = Counter()
    for word in words:
        in_title = len(rank.matched_keywords(title, "", [word]))
        in_summary = len(rank.matched_keywords("", summary, [word]))
        if in_title or in_summary:
            counts[word] = 2 * in_title + in_summary
    return [w for w, _ in counts.most_common(DESCRIPTION_WORDS)]


def why_line(
    title: str, summary: str, vector: np.ndarray, area: rank.Area, marked: Marked | None
) -> str:
    parts = []
    nearest = _nearest(vector, area.name, marked) if marked is not None else None
    if nearest:
        parts.append(nearest)
    hits = rank.matched_keywords(title, summary, area.keywords)
    if hits:
        parts.append("names " + ", ".join(f"“{k}”" for k in hits[:4]))
    named = {w for k in hits for w in k.lower().split()}
    words = [w for w in description_words(title, summary, area.description) if w not in named]
    if words:
        parts.append(f"about {', '.join(words)}, as the {area.name} description asks")
    if not parts:
        parts.append(f"the closest in meaning to the {area.name} description")
    return "; ".join(parts)


def highlight_line(title: str, summary: str, source: str | None, area: rank.Area) -> str:
    """A post too far from every area to go under one: say where it is from, and what of the
    nearest area's description it touches, if anything."""
    line = f"new from {source}" if source else "new this week"
    words = description_words(title, summary, area.description)
    return f"{line}; touches on {', '.join(words)} ({area.name})" if words else line


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def distinct(lines: Sequence[str]) -> list[str]:
    """The same lines, a repeated one told apart by its rank in the section."""
    seen = Counter(lines)
    return [
        f"{line}; ranked {_ordinal(n)} here" if seen[line] > 1 else line
        for n, line in enumerate(lines, 1)
    ]
