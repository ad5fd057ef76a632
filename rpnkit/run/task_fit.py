"""Whether a run's model, loss and metrics fit its dataset, checked before training.

A cross-entropy loss on a numeric (regression) target, or on a model with one output, trains
to a loss of 0 that means nothing; accuracy on such a target counts nothing; r2 or mae on class
labels compare class numbers as if they were quantities. :func:`task_problems` finds these
before anything trains, each as one line naming the key and the fix (in the command line's
spelling, ``--set ...``), so ``rpnkit validate`` and ``rpnkit train`` refuse them alike.
Components this module does not know (a plugin's loss or metric) are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rpnkit.errors import ConfigError

__all__ = ["check_model_fits_data", "metrics_in_target_units", "task_problems"]

_REGRESSION_FIX = "for a numeric target use --set learner.loss=mse --set metric=[r2,mae]"


def task_problems(
    data: Any, model: Any, loss: Any, metrics: Sequence[Any], metric_names: Sequence[str]
) -> list[str]:
    """One line per loss or metric that cannot measure the dataset's target.

    Parameters
    ----------
    data
        The built dataset: a :class:`~rpnkit.data.DataBundle` (its ``task``, ``name`` and
        ``out_features`` are read); anything else is not checked.
    model
        The built model; its ``out_features``, when it has one, is the number of outputs.
    loss
        The resolved loss (a module or callable), or ``None`` for the learner's default (which
        follows the target's type and always fits).
    metrics
        The built metrics.
    metric_names
        The metrics' names as the config gives them, in the same order.

    Returns
    -------
    list of str
        Each problem, prefixed with its key (``learner.loss``, ``metric[0]``).
    """
    import torch.nn as nn

    from rpnkit.metrics.classification import Accuracy, PerClassMetric
    from rpnkit.metrics.regression import RegressionMetric

    task = getattr(data, "task", None)
    if task not in ("classification", "regression"):
        return []
    name = getattr(data, "name", "?")
    outputs = getattr(model, "out_features", None)
    if not isinstance(outputs, int):
        outputs = getattr(data, "out_features", None)
    problems: list[str] = []
    class_loss = isinstance(loss, (nn.CrossEntropyLoss, nn.NLLLoss, nn.MultiMarginLoss))
    value_loss = isinstance(loss, (nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss))
    loss_name = type(loss).__name__
    if class_loss and task == "regression":
        problems.append(
            f"learner.loss: {loss_name} needs class labels, but dataset {name!r} has a numeric "
            f"(regression) target; {_REGRESSION_FIX}"
        )
    elif class_loss and outputs == 1:
        problems.append(
            f"learner.loss: {loss_name} on a model with one output is always 0; give the model "
            f"one output per class, or {_REGRESSION_FIX}"
        )
    elif value_loss and task == "classification":
        problems.append(
            f"learner.loss: {loss_name} measures numeric targets, but dataset {name!r} has "
            "class labels; use --set learner.loss=cross_entropy, or --set "
            "data.parameters.task=regression if the labels are quantities"
        )
    for i, (metric, metric_name) in enumerate(zip(metrics, metric_names, strict=False)):
        where = f"metric[{i}]" if len(metrics) > 1 else "metric"
        if isinstance(metric, (Accuracy, PerClassMetric)) and task == "regression":
            problems.append(
                f"{where}: {metric_name} counts class labels, but dataset {name!r} has a "
                f"numeric (regression) target; {_REGRESSION_FIX}"
            )
        elif isinstance(metric, RegressionMetric) and task == "classification":
            problems.append(
                f"{where}: {metric_name} compares numbers, but dataset {name!r} has class "
                "labels; use --set metric=accuracy, or --set data.parameters.task=regression "
                "if the labels are quantities"
            )
    return problems


def check_model_fits_data(model: Any, data: Any) -> None:
    """Raise :class:`ConfigError` when the model's first or last layer does not fit ``data``."""
    from rpnkit.rpn.model import RPN

    hint = " (or auto, to take the dataset's)" if isinstance(model, RPN) else ""
    in_features = getattr(data, "in_features", None)
    first = getattr(model, "in_features", None)
    if in_features is not None and first is not None and first != in_features:
        raise ConfigError(
            f"the first layer takes m={first} inputs but dataset {data.name!r} has "
            f"{in_features} features; give m: {in_features}{hint}"
        )
    out_features = getattr(data, "out_features", None)
    last = getattr(model, "out_features", None)
    if out_features is not None and last is not None and last != out_features:
        raise ConfigError(
            f"the last layer gives n={last} outputs but dataset {data.name!r} needs "
            f"{out_features}; give n: {out_features}{hint}"
        )


def metrics_in_target_units(data: Any, metrics: Sequence[Any]) -> None:
    """Have the regression metrics report in the target's units when the data standardised it."""
    from rpnkit.metrics.regression import RegressionMetric

    mean, std = getattr(data, "target_mean", None), getattr(data, "target_std", None)
    if mean is None or std is None:
        return
    for metric in metrics:
        if isinstance(metric, RegressionMetric):
            metric.in_target_units(mean, std)
