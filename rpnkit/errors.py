"""The exception family of rpnkit.

Every exception raised for a user mistake derives from :class:`RpnkitError` and carries a
one-line message naming the field, the offending value and what would be valid. Bugs are
ordinary tracebacks; user mistakes are these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ComponentNotFoundError",
    "ConfigError",
    "DuplicateComponentError",
    "GroupNotFoundError",
    "PluginError",
    "RpnkitError",
    "TrainingError",
    "TrainingInterrupted",
    "close_matches",
    "did_you_mean",
    "one_line",
]


class RpnkitError(Exception):
    """Base class of every error rpnkit raises for a user mistake."""


class ComponentNotFoundError(RpnkitError, LookupError):
    """A component name is not registered in its group and is not an importable path."""


class GroupNotFoundError(RpnkitError, LookupError):
    """A registry group does not exist."""


class DuplicateComponentError(RpnkitError, ValueError):
    """Two plugins registered the same name in one group without asking to override."""


class ConfigError(RpnkitError, ValueError):
    """A configuration value or argument is invalid (wrong value, type or shape)."""


class PluginError(RpnkitError):
    """A plugin could not be imported or raised inside one of its hooks."""


class TrainingError(RpnkitError, RuntimeError):
    """Training cannot go on, e.g. the loss became NaN or infinite."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, SIGTERM) between or inside epochs.

    It is a :class:`KeyboardInterrupt`, so code that does not know it stops as before; it
    carries what was learned so far.

    Attributes
    ----------
    record
        The training record up to the last completed epoch.
    completed
        The number of epochs whose history row is complete.
    """

    def __init__(self, record: Any, completed: int) -> None:
        super().__init__(f"training interrupted after {completed} complete epoch(s)")
        self.record = record
        self.completed = completed


def close_matches(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``choices`` that look like ``name``.

    Parameters
    ----------
    name
        The unknown name the user typed.
    choices
        Valid names.
    n
        Maximum number of suggestions.

    Returns
    -------
    list of str
        Every entry one edit away (an insertion, deletion, replacement or swap), then the
        closest others, up to ``n`` in all unless more are one edit away (case-insensitive).
    """
    pool = {c.lower(): c for c in choices}
    key = name.lower()
    one_edit = sorted(c for c in pool if c != key and _one_edit_apart(key, c))
    found = difflib.get_close_matches(key, list(pool), n=n, cutoff=0.6)
    ordered = [*one_edit, *(f for f in found if f not in one_edit)]
    return [pool[f] for f in ordered[: max(n, len(one_edit))]]


def _one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one character inserted, deleted, replaced or two swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``" (did you mean 'a', 'b'?)"`` for close matches, or ``""`` if none."""
    matches = close_matches(name, choices, n=n)
    if not matches:
        return ""
    return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"


def one_line(text: object, limit: int | None = None) -> str:
    """``str(text)`` on one line (every run of whitespace one space), cut to ``limit``.

    For quoting a library's exception text inside rpnkit's one-line error messages.
    """
    flat = " ".join(str(text).split())
    return flat if limit is None else flat[:limit]
