"""The confusion matrix: counts of (true class, predicted class) pairs, streamed on the device.

:class:`ConfusionMatrix` is a :class:`~rpnkit.metrics.Metric` like the others — one declared
state (``matrix``, summed across processes), ``update`` per batch without host syncs,
``reset``, ``to``, ``state_dict`` and :meth:`~rpnkit.metrics.Metric.synced` — but its value is
a matrix, not a number, so it is not a history column: ``rpnkit plot --confusion RUN`` draws
it for a trained run's test split, and Python code computes it with ``update``/``compute`` or
:meth:`~rpnkit.metrics.Metric.evaluate`-style calls on whole arrays (:meth:`of`).

Inputs are those of the classification metrics (:mod:`rpnkit.metrics.classification`):
scores of shape ``(b, C)`` (arg-max), binary scores of shape ``(b,)`` or ``(b, 1)`` (above
``threshold``), or labels; targets as class indices or one-hot rows.
"""

from __future__ import annotations

from typing import ClassVar

import numpy.typing as npt
import torch
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.metrics.classification import _to_labels
from rpnkit.metrics.metric import Metric

__all__ = ["ConfusionMatrix"]


class ConfusionMatrix(Metric):
    """Counts of samples by true class (rows) and predicted class (columns).

    ``compute()[i, j]`` is the number of samples of class ``i`` predicted as class ``j``, as
    scikit-learn's ``confusion_matrix``; the diagonal holds the correct predictions.

    Parameters
    ----------
    num_classes
        The number of classes; ``None`` takes it from the scores' width (``(b, C)``), or from
        the largest label seen for label inputs. Under DDP with label inputs give it, so that
        every process counts the same classes.
    threshold
        Score above which a binary score of shape ``(b,)`` or ``(b, 1)`` predicts class 1.

    Raises
    ------
    ConfigError
        For ``num_classes`` below 2, or scores implying more classes than ``num_classes``.
    """

    name = "confusion_matrix"
    higher_is_better = True
    #: The value is a matrix, not a history column.
    scalar: ClassVar[bool] = False
    matrix: Tensor

    def __init__(self, num_classes: int | None = None, threshold: float = 0.5) -> None:
        super().__init__()
        if num_classes is not None and (
            not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2
        ):
            raise ConfigError(
                f"confusion_matrix num_classes={num_classes!r} is not valid; expected an "
                "integer >= 2 or None"
            )
        self.num_classes = num_classes
        self.threshold = threshold
        size = num_classes or 0
        self.add_state("matrix", torch.zeros((size, size), dtype=torch.long), reduce="sum")

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Count a batch's (true, predicted) pairs (see the module docstring for shapes)."""
        self._check_batch(y_score, y_true)
        y_score, y_true = self._on_state_device(y_score, y_true)
        pred, target, implied = _to_labels(y_score, y_true, self.threshold)
        classes = self._classes(pred, target, implied, tuple(y_score.shape))
        if classes > self.matrix.shape[0]:
            grown = self.matrix.new_zeros((classes, classes))
            old = self.matrix.shape[0]
            grown[:old, :old] = self.matrix
            self.matrix = grown
        pairs = target * classes + pred
        counts = torch.bincount(pairs, minlength=classes * classes)[: classes * classes]
        self.matrix += counts.reshape(classes, classes)

    def compute(self) -> Tensor:
        """The ``(C, C)`` matrix of counts (int64, on the states' device)."""
        return self.matrix.clone()

    @classmethod
    def of(
        cls,
        y_true: npt.ArrayLike | Tensor,
        y_score: npt.ArrayLike | Tensor,
        num_classes: int | None = None,
    ) -> Tensor:
        """The confusion matrix of whole arrays (targets and scores or labels) in one call."""
        metric = cls(num_classes=num_classes)
        metric.update(torch.as_tensor(y_score), torch.as_tensor(y_true))
        return metric.compute()

    def _classes(
        self, pred: Tensor, target: Tensor, implied: int | None, shape: tuple[int, ...]
    ) -> int:
        if self.num_classes is not None:
            if implied is not None and implied > self.num_classes:
                raise ConfigError(
                    f"y_score of shape {shape} implies {implied} classes but "
                    f"confusion_matrix counts num_classes={self.num_classes}"
                )
            return self.num_classes
        if implied is not None:
            return max(implied, self.matrix.shape[0])
        if target.numel() == 0:
            return self.matrix.shape[0]
        # Label inputs without num_classes: the largest label sets the count (a host sync).
        return max(int(torch.maximum(pred.max(), target.max())) + 1, self.matrix.shape[0])
