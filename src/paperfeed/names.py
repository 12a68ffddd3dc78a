"""Names the learner types (sources, tags, focus areas) matched against the known ones. Pure.

One rule everywhere a name is typed (`search --source`, `ingest --source`, `sources enable`,
`list --area`): an exact match wins, then a unique case-insensitive match; anything else is an
UnknownName that offers the closest known name, or lists them all when none is close.
`suggest` is the one did-you-mean, also for config keys, categories and time zones.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from paperfeed.errors import UnknownName

_LISTED = 12  # list at most this many known names in a message


def resolve_name(typed: str, known: Iterable[str], what: str) -> str:
    """The known name `typed` means; UnknownName ("no source 'x' (did you mean 'X y'?)")."""
    names = sorted(set(known), key=str.lower)
    if typed in names:
        return typed
    folded = [n for n in names if n.casefold() == typed.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise UnknownName(f"no {what} {typed!r}{_hint(typed, names, what)}")


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice most like `word`, None when none is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(name: str | None) -> str:
    return f" (did you mean {name!r}?)" if name else ""


def suggest(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" for the closest choice, "" when none is close."""
    return did_you_mean(closest(word, choices))


def _hint(typed: str, names: list[str], what: str) -> str:
    if not names:
        return f" (there are no {what} names yet)"
    by_fold = {n.casefold(): n for n in names}
    close = closest(typed.casefold(), by_fold)
    starting = [n for fold, n in by_fold.items() if fold.startswith(typed.casefold())]
    if close or len(starting) == 1:
        return did_you_mean(by_fold[close] if close else starting[0])
    shown = ", ".join(repr(n) for n in names[:_LISTED])
    more = f" and {len(names) - _LISTED} more" if len(names) > _LISTED else ""
    return f"; known: {shown}{more}"
