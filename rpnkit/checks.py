"""Argument checks shared across rpnkit; each raises a one-line :class:`ConfigError`.

Every check returns the value it accepted (narrowed for the type checker), so a constructor
reads ``self.n_epochs = positive_int(n_epochs, "n_epochs")``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from rpnkit.errors import ConfigError, did_you_mean

__all__ = [
    "choice",
    "finite_number",
    "interval",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "seed",
    "short_repr",
]

_REPR_LIMIT = 80


def short_repr(value: object, limit: int = _REPR_LIMIT) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about user values.

    Error messages never show unbounded values: a long string or a large list is cut with
    ``...`` and its length.
    """
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not hide the real error
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text)} characters)"


def positive_int(value: object, field: str) -> int:
    """Return ``value`` if it is an integer >= 1, else raise naming ``field``.

    Parameters
    ----------
    value
        The value to check (booleans are rejected).
    field
        Name of the argument, used in the error message.

    Raises
    ------
    ConfigError
        If ``value`` is not an integer >= 1.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{field}={short_repr(value)} is not valid; expected an integer >= 1")
    return value


def non_negative_int(value: object, field: str) -> int:
    """Return ``value`` if it is an integer >= 0, else raise naming ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{field}={short_repr(value)} is not valid; expected an integer >= 0")
    return value


def positive_float(value: object, field: str) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise naming ``field``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ConfigError(
            f"{field}={short_repr(value)} is not valid; expected a number > 0 (finite)"
        )
    return float(value)


#: Seeds every generator takes: torch's and NumPy's need ``0 <= seed < 2**64`` (NumPy's
#: ``2**32`` limit is met by taking the seed modulo ``2**32``, see
#: :func:`rpnkit.learner.seeding.seed_everything`).
SEED_RANGE = (0, 2**64 - 1)


def seed(value: object, field: str = "seed", *, none: str = "None") -> int | None:
    """Return ``value`` if it is a valid random seed or ``None``, else raise naming ``field``.

    Parameters
    ----------
    value
        The seed (booleans are rejected).
    field
        Name of the argument, used in the error message.
    none
        How ``None`` is spelt where the value came from (``"null"`` in a YAML config).
    """
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not SEED_RANGE[0] <= value <= SEED_RANGE[1]
    ):
        raise ConfigError(
            f"{field}={short_repr(value)} is not valid; expected an integer from 0 to "
            f"2**64 - 1 or {none}"
        )
    return value


def finite_number(
    value: object,
    field: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> float:
    """Return ``value`` as a float if it is a finite real number within the given bounds.

    Parameters
    ----------
    value
        The value to check (booleans are rejected).
    field
        Name of the argument, used in the error message.
    above, at_least, at_most
        Optional bounds: ``value > above``, ``value >= at_least``, ``value <= at_most``.

    Raises
    ------
    ConfigError
        Naming the field, the value and the valid range.
    """
    bounds = []
    if above is not None:
        bounds.append(f"> {above:g}")
    if at_least is not None:
        bounds.append(f">= {at_least:g}")
    if at_most is not None:
        bounds.append(f"<= {at_most:g}")
    valid = (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and math.isfinite(value)
        and (above is None or value > above)
        and (at_least is None or value >= at_least)
        and (at_most is None or value <= at_most)
    )
    if not valid:
        expected = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise ConfigError(f"{field}={short_repr(value)} is not valid; expected {expected}")
    return float(value)  # type: ignore[arg-type]


def interval(value: object, field: str) -> tuple[float, float]:
    """Return ``value`` as ``(low, high)`` if it is a pair of numbers with ``low < high``."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        or not value[0] < value[1]
    ):
        raise ConfigError(
            f"{field}={short_repr(value)} is not valid; expected a pair (low, high) with low < high"
        )
    return float(value[0]), float(value[1])


def choice(value: Any, choices: Iterable[Any], field: str, *, allow_none: bool = False) -> Any:
    """Return ``value`` if it is one of ``choices`` (or ``None`` when allowed).

    Parameters
    ----------
    value
        The value to check.
    choices
        The valid values.
    field
        Name of the argument, used in the error message.
    allow_none
        Whether ``None`` is valid too.

    Raises
    ------
    ConfigError
        Naming the valid values, with close matches for a misspelt string.
    """
    valid = tuple(choices)
    if (value is None and allow_none) or value in valid:
        return value
    listed = ", ".join(map(repr, valid)) + (" or None" if allow_none else "")
    hint = did_you_mean(value, map(str, valid)) if isinstance(value, str) else ""
    raise ConfigError(f"{field}={short_repr(value)} is not valid{hint}; expected {listed}")
