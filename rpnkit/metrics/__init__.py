"""Streaming metrics that accumulate on the device: ``update`` per batch, ``compute`` per epoch.

Every metric subclasses :class:`Metric`: :meth:`~Metric.update` adds a batch of
``(y_score, y_true)``, :meth:`~Metric.compute` returns a 0-dim tensor on the device,
:meth:`~Metric.reset` starts over and :meth:`~Metric.synced` reduces the states over
``torch.distributed`` processes. :meth:`~Metric.evaluate` computes a metric on whole arrays or
lists in one call, as tinybig's metrics do.
"""

from rpnkit.metrics.classification import F1, Accuracy, Average, PerClassMetric, Precision, Recall
from rpnkit.metrics.confusion import ConfusionMatrix
from rpnkit.metrics.metric import Metric, Reduction
from rpnkit.metrics.regression import MAE, MSE, R2, RMSE, RegressionMetric

__all__ = [
    "F1",
    "MAE",
    "MSE",
    "R2",
    "RMSE",
    "Accuracy",
    "Average",
    "ConfusionMatrix",
    "Metric",
    "PerClassMetric",
    "Precision",
    "Recall",
    "Reduction",
    "RegressionMetric",
]
