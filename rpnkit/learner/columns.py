"""The columns of a run's history as people read them: named after their metric.

A history row (:data:`rpnkit.learner.record.HistoryRow`) stores the headline metric as
``train_score`` / ``test_score`` and, with several metrics, every metric again as
``train_<name>`` / ``test_<name>``. The epoch table, the summary lines and ``rpnkit plot``
show each metric once, under its own name ("test accuracy", never "test score"), through
:func:`metric_columns`; :func:`label` names any history key the same way. A metric that
merely copies the loss (``mse`` beside an MSE loss, in regression) is found by
:func:`copies_loss` and shown once, as the loss.

This module imports nothing heavy, so the command line can use it without torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["MetricColumns", "copies_loss", "label", "metric_columns", "metric_names"]

#: The history keys that are not a metric of their own.
_BASE_KEYS = frozenset(
    {
        "epoch",
        "train_loss",
        "train_score",
        "val_loss",
        "val_score",
        "test_loss",
        "test_score",
        "lr",
        "seconds",
    }
)
#: Relative difference under which a metric counts as a copy of the loss (float32 losses
#: against float64 metric sums differ by about 1e-7).
_COPY_TOLERANCE = 1e-5
#: Metrics that measure what a loss measures, so can be a copy of it. A score where higher is
#: better (accuracy, r2, f1, ...) is another quantity even when its value equals the loss
#: (accuracy 0 beside a loss of 0 on a one-output classifier is two numbers, not one).
_LOSS_QUANTITIES = frozenset(
    {"mse", "mae", "l1", "l2", "cross_entropy", "nll", "bce", "log_loss", "loss"}
)


@dataclass(frozen=True)
class MetricColumns:
    """Where one metric lives in a history row.

    Attributes
    ----------
    name
        The metric's name (``"accuracy"``).
    train, test
        Its history keys: ``train_score`` / ``test_score`` when it is the run's only metric,
        ``train_<name>`` / ``test_<name>`` when there are several.
    val
        Its validation column, ``val_score`` or ``val_<name>`` the same way (present in runs
        with a validation split).
    """

    name: str
    train: str
    test: str
    val: str = ""


def metric_columns(names: Sequence[str]) -> list[MetricColumns]:
    """Return the history keys of each metric in ``names`` (headline first)."""
    if len(names) == 1:
        return [MetricColumns(names[0], "train_score", "test_score", "val_score")]
    return [MetricColumns(name, f"train_{name}", f"test_{name}", f"val_{name}") for name in names]


def metric_names(keys: Iterable[str], headline: str | None = None) -> list[str]:
    """Return the metric names of a run from the keys of its history rows.

    Parameters
    ----------
    keys
        The keys of a history row, in order.
    headline
        The name of the run's metric (from its config), used when the row has only
        ``train_score``: a single metric is stored without its name.

    Returns
    -------
    list of str
        The names, headline first; empty when the rows have no score.
    """
    keys = list(keys)
    named = [k.removeprefix("train_") for k in keys if k.startswith("train_")]
    several = [name for name in named if f"train_{name}" not in _BASE_KEYS]
    if several:
        return several
    if "train_score" in keys:
        return [headline or "score"]
    return []


def label(key: str, names: Sequence[str] = ()) -> str:
    """Name a history key for people: ``test_score`` is ``test <headline metric>``.

    Parameters
    ----------
    key
        A history key (``train_loss``, ``test_score``, ``test_f1``, ``lr``, ...).
    names
        The run's metric names, headline first.
    """
    split, _, rest = key.partition("_")
    if split in ("train", "val", "test") and rest:
        if rest == "score" and names:
            rest = names[0]
        return f"{split} {rest}"
    return key


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= _COPY_TOLERANCE * max(abs(a), abs(b), 1e-12)


def copies_loss(rows: Sequence[Mapping[str, float | None]], metric: MetricColumns) -> bool:
    """Whether ``metric`` equals the loss in every row where both were measured.

    A regression run measuring ``mse`` with an MSE loss records the same number twice; it is
    then shown once. Only a metric measuring a loss's quantity (``mse``, ``mae``,
    ``cross_entropy``, ...) can be a copy: a score such as accuracy or r2 is never folded,
    whatever its values. At least one pair of finite values must be compared.
    """
    if metric.name.lower() not in _LOSS_QUANTITIES:
        return False
    compared = 0
    for row in rows:
        for split, key in (("train", metric.train), ("val", metric.val), ("test", metric.test)):
            loss, value = row.get(f"{split}_loss"), row.get(key)
            if loss is None or value is None or math.isnan(loss) or math.isnan(value):
                continue
            if not _close(float(loss), float(value)):
                return False
            compared += 1
    return compared > 0
