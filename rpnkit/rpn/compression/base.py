"""The :class:`Compression` base class: a data transformation κ with ``D <= m``."""

from __future__ import annotations

from typing import ClassVar

from rpnkit.checks import positive_int, short_repr
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.expansion.base import Expansion

__all__ = ["Compression", "check_D", "chosen_function"]


class Compression(Expansion):
    """Base class of the data compression functions κ: ``R^m -> R^D``, usually ``D <= m``.

    A compression is an :class:`~rpnkit.rpn.expansion.Expansion` (tinybig calls both
    "transformations"), so a head or a layer takes it as its ``expansion``. Subclasses
    implement :meth:`calculate_D` and :meth:`expand`; ``obj(x)`` applies pre-processing, the
    compression and post-processing.

    Attributes
    ----------
    tinybig_divergence
        One line saying where this class's numbers differ from tinybig 0.2.1's, or ``None``
        when they do not.
    """

    tinybig_divergence: ClassVar[str | None] = None


def check_D(D: int, m: int, label: str) -> int:
    """Return ``D`` if ``1 <= D <= m``, else raise a one-line :class:`ConfigError`."""
    positive_int(m, "m")
    if m < D:
        raise ConfigError(
            f"{label} D={D} is not valid for m={m} input features; expected 1 <= D <= {m}"
        )
    return D


def chosen_function(function: object, configs: object, choices: dict[str, str], field: str) -> str:
    """The name of the function tinybig's generic compressions are given, by name or config.

    Parameters
    ----------
    function
        A name (a key of ``choices``, or a tinybig class name mapped to one), or a tinybig
        object whose class name is one of them.
    configs
        tinybig's ``{"function_class": "<path>", "function_parameters": {...}}`` form.
    choices
        Accepted names, mapped to the canonical one.
    field
        The argument's name, for messages.

    Raises
    ------
    ConfigError
        If neither is given, both are, or the name is unknown.
    """
    if function is not None and configs is not None:
        raise ConfigError(f"{field} and {field}_configs were both given; give one")
    if function is None and configs is None:
        raise ConfigError(f"{field} is missing; expected one of {', '.join(sorted(choices))}")
    if configs is not None:
        path = configs.get("function_class") if isinstance(configs, dict) else None
        name = path.rpartition(".")[2] if isinstance(path, str) else None
        where = f"{field}_configs"
    elif isinstance(function, str):
        name, where = function, field
    else:
        name, where = type(function).__name__, field
    if name not in choices:
        raise ConfigError(
            f"{where}={short_repr(name if name is not None else configs)} is not valid"
            f"{did_you_mean(str(name), choices)}; expected one of {', '.join(sorted(choices))}"
        )
    return choices[name]
