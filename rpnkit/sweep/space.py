"""A sweep's search space: config keys and the values each may take, checked before any trial.

A space maps a config key, spelled as ``--set`` spells it
(``model.parameters.layers.0.expansion``), to one of::

    [taylor, bspline, chebyshev]      # categorical: these values (a grid axis)
    int(8, 64)  int(8, 64, 8)         # an integer range (inclusive), optionally stepped
    uniform(0.0, 0.5)                 # a float range
    loguniform(1e-4, 1e-1)            # a float range sampled on a log scale

:func:`parse_space` turns the text into :class:`Dimension` objects; :func:`check_space` checks
every key against the config and every component name against the registry, building nothing,
and returns every problem, one line each (:func:`~rpnkit.sweep.plan.check_values` then builds
the values).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from rpnkit.checks import short_repr

__all__ = ["Dimension", "assignment", "check_space", "parse_space"]

_RANGE = re.compile(r"^\s*(int|uniform|float|loguniform)\s*\((.*)\)\s*$")
_FORMS = "a list of values, int(LOW, HIGH[, STEP]), uniform(LOW, HIGH) or loguniform(LOW, HIGH)"


def assignment(key: str, value: Any) -> str:
    """The ``--set KEY=VALUE`` text giving ``key`` the value ``value`` (YAML that reads back
    as the same value: ``1.0e-08``, never ``1e-08``, which YAML reads as a string)."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**9)
    return f"{key}={text.removesuffix(chr(10) + '...' + chr(10)).strip()}"


@dataclass(frozen=True)
class Dimension:
    """One searched key.

    Attributes
    ----------
    key
        The config key, dotted as ``--set`` spells it.
    kind
        ``"choice"``, ``"int"``, ``"float"`` or ``"loguniform"``.
    choices
        The values of a ``choice`` (YAML values: names, numbers, mappings).
    low, high, step
        The bounds of a range (inclusive) and an integer range's step.
    """

    key: str
    kind: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    step: int = 1

    def text(self) -> str:
        """The dimension as it is written in a space."""
        if self.kind == "choice":
            return json.dumps(list(self.choices), default=str)
        if self.kind == "int":
            step = f", {self.step}" if self.step != 1 else ""
            return f"int({int(self.low)}, {int(self.high)}{step})"
        name = "uniform" if self.kind == "float" else "loguniform"
        return f"{name}({self.low:g}, {self.high:g})"

    def ends(self) -> list[Any]:
        """The values checked before the sweep: every choice, or both ends of a range."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


def _number(text: str) -> int | float | None:
    """``"8"`` -> 8, ``"1e-4"`` -> 0.0001 (as Python reads numbers; YAML 1.1 reads ``1e-4`` as
    text), anything else -> None."""
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return None


def _parse_one(key: str, value: Any) -> tuple[Dimension | None, str | None]:
    where = f"sweep key {key!r}"
    if isinstance(value, list):
        if not value:
            return None, f"{where}: the list of values is empty; give at least one value"
        encoded = [json.dumps(v, sort_keys=True, default=str) for v in value]
        if len(set(encoded)) < len(encoded):
            return None, f"{where}: the list {short_repr(value)} repeats a value"
        return Dimension(key, "choice", tuple(value)), None
    match = _RANGE.match(value) if isinstance(value, str) else None
    if match is None:
        return None, f"{where}={short_repr(value)} is not a search range; expected {_FORMS}"
    kind, inside = match.group(1), match.group(2)
    parsed = [_number(part) for part in inside.split(",")]
    numbers = [n for n in parsed if n is not None]
    arity = (2, 3) if kind == "int" else (2,)
    if len(numbers) not in arity or not all(
        isinstance(n, int | float) and not isinstance(n, bool) for n in numbers
    ):
        wanted = "LOW, HIGH[, STEP]" if kind == "int" else "LOW, HIGH"
        return None, f"{where}={value!r}: expected {kind}({wanted}) with numbers"
    low, high = float(numbers[0]), float(numbers[1])
    if kind == "int" and not all(isinstance(n, int) for n in numbers):
        return None, f"{where}={value!r}: int() takes integers"
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        return None, f"{where}={value!r} is an empty range; LOW must be below HIGH"
    if kind == "loguniform" and low <= 0:
        return None, f"{where}={value!r}: loguniform needs 0 < LOW < HIGH"
    step = int(numbers[2]) if len(numbers) == 3 else 1
    if step < 1:
        return None, f"{where}={value!r}: the step must be an integer >= 1"
    kind = "float" if kind in ("uniform", "float") else kind
    return Dimension(key, kind, low=low, high=high, step=step), None


def parse_space(space: Mapping[str, Any]) -> tuple[list[Dimension], list[str]]:
    """The dimensions of ``space`` (key -> list or range text) and every problem, one line each."""
    dimensions, problems = [], []
    for key, value in space.items():
        if not isinstance(key, str) or not key.strip() or key != key.strip():
            problems.append(f"sweep key {key!r} is not a dotted config key")
            continue
        dimension, problem = _parse_one(key, value)
        if problem is not None:
            problems.append(problem)
        elif dimension is not None:
            dimensions.append(dimension)
    if not space:
        problems.append(
            "the sweep has no search space; give --space KEY=VALUES or a sweep.space section"
        )
    return dimensions, problems


def _lookup(raw: Any, key: str) -> tuple[bool, Any, str | None]:
    """``(found, value, problem)`` of the dotted ``key`` in the raw config."""
    parts = key.split(".")
    node = raw
    for depth, part in enumerate(parts):
        where = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return False, None, f"{where} needs a list index from 0 to {len(node) - 1}"
            node = node[int(part)]
        elif isinstance(node, Mapping):
            if part not in node:
                if last:
                    return False, None, None  # a new leaf, as --set allows: the build checks it
                return False, None, f"{where} is not in the config"
            node = node[part]
        else:
            return False, None, f"{'.'.join(parts[:depth])} is not a mapping or list"
    return True, node, None


def _component_groups(current: Any, key: str, registry: Any) -> list[str]:
    """The registry groups a value at ``key`` names a component of: the key's own name when it
    is a group (``...expansion``), else the groups of the name that is there now."""
    last = key.split(".")[-1]
    if registry.has_group(last):
        return [last]
    name = current.get("name") if isinstance(current, Mapping) else current
    if isinstance(name, str) and key.split(".")[-1] != "name":
        return list(dict.fromkeys(e.group for e in registry.find(name)))
    return []


def check_space(
    dimensions: Sequence[Dimension], raw: Mapping[str, Any], registry: Any
) -> tuple[list[Dimension], list[str]]:
    """Every problem of the space's keys and names against ``raw`` and the registry.

    Nothing is built (the values are built by :func:`~rpnkit.sweep.plan.check_values`).

    Parameters
    ----------
    dimensions
        The parsed space.
    raw
        The base config (a file's mapping, overrides applied).
    registry
        The component registry (:func:`rpnkit.get_registry`): a string value at a key that
        holds a component must be a name registered in that component's group.

    Returns
    -------
    tuple
        The dimensions whose key and names are good, and every problem, one line each.
    """
    good: list[Dimension] = []
    problems: list[str] = []
    for dim in dimensions:
        found, current, problem = _lookup(raw, dim.key)
        if problem is not None:
            problems.append(f"sweep key {dim.key!r}: {problem}")
            continue
        groups = _component_groups(current, dim.key, registry) if found else []
        bad_names = []
        for value in dim.choices:
            name = value.get("name") if isinstance(value, Mapping) else value
            if groups and isinstance(name, str):
                known = [g for g in groups if _registered(registry, g, name)]
                if not known:
                    bad_names.append(name)
                    problems.append(
                        f"sweep key {dim.key!r}: {name!r} is not a registered "
                        f"{' or '.join(groups)}{_suggest(registry, groups[0], name)}"
                    )
        if not bad_names:
            good.append(dim)
    return good, list(dict.fromkeys(problems))


def _registered(registry: Any, group: str, name: str) -> bool:
    from rpnkit.errors import RpnkitError

    try:
        registry.get_info(group, name)
    except RpnkitError:
        return False
    return True


def _suggest(registry: Any, group: str, name: str) -> str:
    from rpnkit.errors import did_you_mean

    return did_you_mean(name, registry.names(group)) or f" (see `rpnkit list {group}`)"
