"""The exception family of rpnkit.

Every exception raised for a user mistake derives from :class:`RpnkitError` and carries a
one-line message naming the field, the offending value and what would be valid. Bugs are
ordinary tracebacks; user mistakes are these.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ComponentNotFoundError",
    "ConfigError",
    "DuplicateComponentError",
    "GroupNotFoundError",
    "PluginError",
    "RpnkitError",
    "TrainingError",
    "close_matches",
    "did_you_mean",
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
        Close matches, best first (case-insensitive comparison).
    """
    pool = {c.lower(): c for c in choices}
    found = difflib.get_close_matches(name.lower(), list(pool), n=n, cutoff=0.6)
    return [pool[f] for f in found]


def did_you_mean(name: str, choices: Iterable[str], n: int = 3) -> str:
    """Return ``" (did you mean 'a', 'b'?)"`` for close matches, or ``""`` if none."""
    matches = close_matches(name, choices, n=n)
    if not matches:
        return ""
    return " (did you mean " + ", ".join(repr(m) for m in matches) + "?)"
