"""Builtin plugin: rpnkit's streaming metrics (:mod:`rpnkit.metrics`) in the ``metric`` group.

Targets are ``module:attr`` strings, so listing the metrics imports neither them nor torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

# (canonical name, target, aliases, summary)
METRICS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("accuracy", "rpnkit.metrics.classification:Accuracy", ("acc",),
     "Fraction of correctly predicted classes"),
    ("precision", "rpnkit.metrics.classification:Precision", (),
     "Precision tp / (tp + fp), binary / micro / macro / weighted average"),
    ("recall", "rpnkit.metrics.classification:Recall", (),
     "Recall tp / (tp + fn), binary / micro / macro / weighted average"),
    ("f1", "rpnkit.metrics.classification:F1", ("f1_score",),
     "F1 score, harmonic mean of precision and recall"),
    ("mse", "rpnkit.metrics.regression:MSE", ("mean_squared_error",), "Mean squared error"),
    ("mae", "rpnkit.metrics.regression:MAE", ("mean_absolute_error",), "Mean absolute error"),
    ("rmse", "rpnkit.metrics.regression:RMSE", ("root_mean_squared_error",),
     "Root mean squared error"),
    ("r2", "rpnkit.metrics.regression:R2", ("r2_score",), "Coefficient of determination R²"),
    ("confusion_matrix", "rpnkit.metrics.confusion:ConfusionMatrix", ("confusion",),
     "Counts by true and predicted class (rpnkit plot --confusion); not a history column"),
)  # fmt: skip


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``metric`` group (a dotted path may name an rpnkit ``Metric`` subclass)."""
    registry.add_group(
        "metric",
        "Streaming evaluation metrics (update / compute / reset)",
        kinds=("rpnkit.metrics.metric:Metric",),
    )


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the classification and regression metrics by name."""
    for name, target, aliases, summary in METRICS:
        registry.register("metric", name, target, summary=summary, aliases=aliases)
