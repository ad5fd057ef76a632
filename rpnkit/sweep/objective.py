"""What a sweep optimises: a column of the trials' history, its direction, and its best value.

The objective is a history column named as people read it (``val_loss``, ``val_accuracy``,
``test_f1``): the best value it reaches over a trial's epochs. The default is ``val_loss`` when
the config has a validation split (``data.parameters.val_size``); selecting on the test split
reports an optimistic number, so a ``test_*`` objective needs ``--allow-test-objective``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["Objective", "choose_objective"]

_SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Objective:
    """The history column a sweep optimises.

    Attributes
    ----------
    name
        The name the user gave (``val_accuracy``).
    column
        The history key it is stored under (``val_score`` when accuracy is the only metric).
    direction
        ``"minimize"`` or ``"maximize"``.
    """

    name: str
    column: str
    direction: str

    def value(self, row: Mapping[str, Any]) -> float | None:
        """The objective's value in one history row (``None`` when absent or not a number)."""
        try:
            value = float(row[self.column])
        except (KeyError, TypeError, ValueError):
            return None
        return value

    def best(self, rows: Sequence[Mapping[str, Any]]) -> float | None:
        """The best value over ``rows`` (NaN when a value is NaN: the trial diverged)."""
        values = [v for v in (self.value(r) for r in rows) if v is not None]
        if not values:
            return None
        if any(math.isnan(v) for v in values):
            return math.nan
        return min(values) if self.direction == "minimize" else max(values)

    def to_dict(self) -> dict[str, str]:
        """The objective as stored in the sweep's record."""
        return {"name": self.name, "column": self.column, "direction": self.direction}


def _metric_names(raw: Mapping[str, Any]) -> list[str]:
    metric = raw.get("metric")
    items = [] if metric is None else metric if isinstance(metric, list) else [metric]
    names = [m.get("name") if isinstance(m, Mapping) else m for m in items]
    return [n for n in names if isinstance(n, str)]


def has_validation(raw: Mapping[str, Any]) -> bool:
    """Whether the config splits off validation data (``data.parameters.val_size`` > 0)."""
    data = raw.get("data")
    parameters = data.get("parameters") if isinstance(data, Mapping) else None
    size = parameters.get("val_size") if isinstance(parameters, Mapping) else None
    return isinstance(size, int | float) and not isinstance(size, bool) and size > 0


def _higher_is_better(name: str, registry: Any) -> bool:
    try:
        target = registry.get("metric", name)
    except Exception:  # a metric the registry cannot load: minimise, the safe default
        return False
    return bool(getattr(target, "higher_is_better", False))


def choose_objective(
    raw: Mapping[str, Any],
    name: str | None,
    direction: str | None,
    allow_test: bool,
    registry: Any,
) -> Objective:
    """The objective of a sweep over the config ``raw``.

    Raises
    ------
    ConfigError
        For no default (no validation split), a test objective without ``allow_test``, a
        column the runs will not have, or a direction other than minimize/maximize.
    """
    if direction is not None and direction not in ("minimize", "maximize"):
        raise ConfigError(f"--direction {direction!r} is not valid; expected minimize or maximize")
    if name is None:
        if not has_validation(raw):
            raise ConfigError(
                "the config has no validation split, so the sweep has no default objective "
                "(val_loss); add data.parameters.val_size, or choose one with --objective "
                "(a test column needs --allow-test-objective)"
            )
        name = "val_loss"
    split, _, metric = name.partition("_")
    metrics = _metric_names(raw)
    valid = [f"{s}_{m}" for s in _SPLITS for m in ("loss", *metrics)]
    if split not in _SPLITS or metric not in ("loss", *metrics):
        raise ConfigError(
            f"--objective {name!r} is not a history column of this config"
            f"{did_you_mean(name, valid)}; valid: {', '.join(valid)}"
        )
    if split == "val" and not has_validation(raw):
        raise ConfigError(
            f"--objective {name!r} needs a validation split; add data.parameters.val_size"
        )
    if split == "test" and not allow_test:
        raise ConfigError(
            f"--objective {name!r} selects on the test split, which then no longer measures "
            "the result; optimise a val_ column (data.parameters.val_size), or pass "
            "--allow-test-objective"
        )
    column = f"{split}_score" if metric != "loss" and len(metrics) == 1 else name
    if direction is None:
        better = metric != "loss" and _higher_is_better(metric, registry)
        direction = "maximize" if better else "minimize"
    return Objective(name, column, direction)
