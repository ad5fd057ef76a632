"""Checks particular to the RPN components: tinybig's width/depth allocation and built kinds.

The general argument checks live in :mod:`rpnkit.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from rpnkit import build
from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError


def allocation(
    total: object,
    alloc: object,
    count: int,
    total_field: str,
    alloc_field: str,
    items_field: str,
) -> list[int]:
    """Return how many times each of ``count`` configs is used (tinybig's num/alloc rule).

    * ``alloc`` given (an integer or a list of integers >= 1, one per config): it is the
      answer, and ``total``, if given, must be its sum;
    * otherwise ``total`` missing or equal to ``count``: each config once;
    * otherwise a single config: ``total`` times.

    Parameters
    ----------
    total
        The total number asked for (``width``, ``depth``) or ``None``.
    alloc
        The allocation (``width_alloc``, ``depth_alloc``) or ``None``.
    count
        Number of configs.
    total_field, alloc_field, items_field
        Names of the three fields, used in error messages.

    Returns
    -------
    list of int
        One repeat count per config.

    Raises
    ------
    ConfigError
        If there are no configs or the three do not agree.
    """
    if count < 1:
        raise ConfigError(f"{items_field} is empty; expected at least one config")
    number = None if total is None else positive_int(total, total_field)
    if alloc is None:
        if number is None or number == count:
            return [1] * count
        if count == 1:
            return [number]
        raise ConfigError(
            f"{total_field}={total} does not match the {count} {items_field}; give "
            f"{alloc_field}, one count per config"
        )
    counts = [alloc] if isinstance(alloc, int) else alloc
    if (
        isinstance(counts, (str, bytes))
        or not isinstance(counts, Sequence)
        or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in counts)
    ):
        shown = counts if isinstance(counts, Sequence) and len(counts) <= 8 else "a value"
        raise ConfigError(
            f"{alloc_field}={shown!r} is not valid; expected a list of integers >= 1, one per config"
        )
    if len(counts) != count:
        raise ConfigError(
            f"{alloc_field} has {len(counts)} entries for {count} {items_field}; expected one "
            "count per config"
        )
    if number is not None and number != sum(counts):
        raise ConfigError(
            f"{total_field}={total} does not match {alloc_field}, whose sum is {sum(counts)}"
        )
    return list(counts)


def build_component(group: str, spec: Any, kind: type, field: str, **overrides: Any) -> Any:
    """Build ``spec`` through the registry group ``group`` and check it is a ``kind``.

    Parameters
    ----------
    group
        Registry group (``"expansion"``, ``"reconciliation"``, ``"remainder"``).
    spec
        A name, config dict, class or instance (see :func:`rpnkit.build`).
    kind
        The base class the result must be an instance of.
    field
        Name of the configuration field, used in error messages.
    **overrides
        Keyword arguments for the constructor.

    Returns
    -------
    object
        The built component.

    Raises
    ------
    ConfigError
        If the result is not a ``kind``.
    """
    component = build(group, spec, **overrides)
    if not isinstance(component, kind):
        raise ConfigError(
            f"{field}={spec!r} built a {type(component).__qualname__}, which is not a "
            f"{kind.__qualname__}; expected a name from `rpnkit list {group}`, a config dict or "
            "an instance"
        )
    return component


def check_sizes(component: nn.Module, field: str, user: str, **sizes: Any) -> None:
    """Raise if a component instance was built for other sizes than ``user`` needs."""
    for name, expected in sizes.items():
        actual = getattr(component, name)
        if actual != expected:
            shown = list(actual) if isinstance(actual, tuple) else actual
            wanted = list(expected) if isinstance(expected, tuple) else expected
            raise ConfigError(
                f"{field} {type(component).__name__} was built with {name}={shown}, but the "
                f"{user} needs {name}={wanted}; give a name or config dict so the {user} "
                "builds it"
            )
