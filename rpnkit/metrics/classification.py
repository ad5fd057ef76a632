"""Streaming classification metrics: accuracy, precision, recall and F1.

Inputs of :meth:`update` (``y_score``, ``y_true``), with ``b`` the batch size:

* ``y_score`` of floating dtype and shape ``(b, C)`` with ``C > 1`` holds logits or
  probabilities; the prediction is the arg-max over dimension 1 and the scores imply ``C``
  classes.
* ``y_score`` of floating dtype and shape ``(b,)`` or ``(b, 1)`` holds binary probabilities; a
  score above ``threshold`` (0.5 by default; use 0.0 for logits) predicts class 1.
* ``y_score`` of integer or bool dtype and shape ``(b,)`` or ``(b, 1)`` holds predicted labels.
* ``y_true`` holds class indices of shape ``(b,)`` or ``(b, 1)``, or one-hot rows of shape
  ``(b, C)`` (arg-max over dimension 1).

Precision, recall and F1 count true positives, predictions and targets per class. The number of
classes is ``num_classes`` when given (2 for ``average="binary"``), otherwise it grows with the
data: to ``C`` for score inputs, to the largest label seen plus one for label inputs. Finding
the largest label reads a value from the device, so with label inputs on an accelerator pass
``num_classes`` to keep updates free of host synchronisation.

Averages follow scikit-learn with ``zero_division=0``: a ratio with a zero denominator is 0,
and ``"macro"`` averages over the classes that occur in the targets or the predictions.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal, get_args

import torch
from torch import Tensor

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.metrics.metric import Metric

__all__ = ["F1", "Accuracy", "Average", "PerClassMetric", "Precision", "Recall"]

#: How per-class scores combine into one number.
Average = Literal["binary", "micro", "macro", "weighted"]
_AVERAGES: tuple[str, ...] = get_args(Average)
_COUNTS = ("tp", "pred_count", "true_count")


def _to_labels(
    y_score: Tensor, y_true: Tensor, threshold: float
) -> tuple[Tensor, Tensor, int | None]:
    """Return predicted and true class indices (1-D, int64) and the classes ``y_score`` implies.

    The class count is ``None`` for label predictions, which imply none.
    """
    if y_score.ndim > 2 or y_true.ndim > 2:
        raise ConfigError(
            f"classification metrics take y_score and y_true of shape (b,), (b, 1) or (b, C); got "
            f"{tuple(y_score.shape)} and {tuple(y_true.shape)}"
        )
    columns = y_score.shape[1] if y_score.ndim == 2 else 1
    implied: int | None
    if y_score.is_floating_point() and columns > 1:
        pred, implied = y_score.argmax(dim=1), columns
    elif y_score.is_floating_point():
        pred, implied = (y_score.reshape(-1) > threshold).long(), 2
    elif columns == 1:
        pred, implied = y_score.reshape(-1).long(), None
    else:
        raise ConfigError(
            f"integer y_score must hold labels of shape (b,) or (b, 1); got {tuple(y_score.shape)} "
            "(give floating scores of shape (b, C) to predict by arg-max)"
        )
    if y_true.ndim == 2 and y_true.shape[1] > 1:
        target = y_true.argmax(dim=1)
    else:
        target = y_true.reshape(-1).long()
    return pred, target, implied


class Accuracy(Metric):
    """Fraction of samples whose predicted class equals the target (scikit-learn's
    ``accuracy_score``).

    Parameters
    ----------
    threshold
        Score above which a binary score of shape ``(b,)`` or ``(b, 1)`` predicts class 1.

    Examples
    --------
    >>> import torch
    >>> metric = Accuracy()
    >>> metric.update(torch.tensor([[2.0, 0.1], [0.3, 0.9]]), torch.tensor([0, 0]))
    >>> metric.compute()
    tensor(0.5000, dtype=torch.float64)
    """

    name = "accuracy"
    higher_is_better = True
    correct: Tensor
    total: Tensor

    def __init__(self, threshold: float = 0.5) -> None:
        super().__init__()
        self.threshold = threshold
        self.add_state("correct", torch.zeros((), dtype=torch.long), reduce="sum")
        self.add_state("total", torch.zeros((), dtype=torch.long), reduce="sum")

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Count correct predictions of a batch (see the module docstring for input shapes)."""
        self._check_batch(y_score, y_true)
        y_score, y_true = self._on_state_device(y_score, y_true)
        pred, target, _ = _to_labels(y_score, y_true, self.threshold)
        self.correct += (pred == target).sum()
        self.total += target.shape[0]

    def compute(self) -> Tensor:
        """Return the accuracy as a 0-dim tensor on the states' device (NaN before any sample)."""
        return self.correct.to(self._float_dtype) / self.total


class PerClassMetric(Metric):
    """Base of the metrics computed from per-class counts of true positives, predictions and
    targets (precision, recall, F1); subclasses define ``_score``.

    Parameters
    ----------
    average
        ``"binary"`` (the score of class ``pos_label``), ``"micro"`` (from counts summed over
        classes), ``"macro"`` (unweighted mean over classes present in targets or predictions)
        or ``"weighted"`` (mean weighted by each class's number of targets).
    num_classes
        Number of classes; when ``None`` it grows with the data (see the module docstring).
        ``average="binary"`` needs 2 (or ``None``).
    pos_label
        The positive class of ``average="binary"``: 0 or 1.
    threshold
        Score above which a binary score of shape ``(b,)`` or ``(b, 1)`` predicts class 1.

    Raises
    ------
    ConfigError
        If ``average`` is unknown, ``num_classes`` is below 2, or ``average="binary"`` is
        combined with ``num_classes`` other than 2 or ``pos_label`` other than 0 or 1.
    """

    higher_is_better = True
    tp: Tensor
    pred_count: Tensor
    true_count: Tensor

    def __init__(
        self,
        average: Average = "macro",
        num_classes: int | None = None,
        pos_label: int = 1,
        threshold: float = 0.5,
    ) -> None:
        super().__init__()
        if average not in _AVERAGES:
            raise ConfigError(
                f"average={average!r} is not valid for {type(self).__name__}"
                f"{did_you_mean(str(average), _AVERAGES)}; expected one of "
                f"{', '.join(map(repr, _AVERAGES))}"
            )
        if num_classes is not None and (isinstance(num_classes, bool) or num_classes < 2):
            raise ConfigError(
                f"num_classes={num_classes!r} is not valid; expected an integer >= 2 or None"
            )
        if average == "binary" and num_classes not in (None, 2):
            raise ConfigError(
                f"num_classes={num_classes} does not fit average='binary', which counts 2 "
                "classes; use average='micro', 'macro' or 'weighted' for more classes"
            )
        if average == "binary" and pos_label not in (0, 1):
            raise ConfigError(f"pos_label={pos_label!r} is not valid; expected 0 or 1")
        self.average: Average = average
        self.num_classes = num_classes
        self.pos_label = pos_label
        self.threshold = threshold
        self._fixed_classes = 2 if average == "binary" else num_classes
        for state in _COUNTS:
            self.add_state(
                state, torch.zeros(self._fixed_classes or 0, dtype=torch.long), reduce="sum"
            )

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Add a batch to the per-class counts (see the module docstring for input shapes).

        Raises
        ------
        ConfigError
            If the batch sizes differ, the scores imply more classes than the metric counts, or
            (for tensors on the CPU, where checking is free) a label is outside the classes.
        """
        self._check_batch(y_score, y_true)
        y_score, y_true = self._on_state_device(y_score, y_true)
        pred, target, implied = _to_labels(y_score, y_true, self.threshold)
        self._grow(_COUNTS, self._class_count(pred, target, implied, y_score.shape))
        classes = self.tp.shape[0]
        self._check_range(pred, classes, "y_score")
        self._check_range(target, classes, "y_true")
        self.tp.scatter_add_(0, target, (pred == target).long())
        self.pred_count.scatter_add_(0, pred, torch.ones_like(pred))
        self.true_count.scatter_add_(0, target, torch.ones_like(target))

    def compute(self) -> Tensor:
        """Return the averaged score as a 0-dim tensor on the states' device.

        NaN before any sample; otherwise ratios with a zero denominator count as 0.
        """
        dtype = self._float_dtype
        tp, predicted, actual = (s.to(dtype) for s in (self.tp, self.pred_count, self.true_count))
        if self.average == "micro":
            value = self._score(tp.sum(), predicted.sum(), actual.sum())
        else:
            per_class = self._score(tp, predicted, actual)
            if self.average == "binary":
                value = per_class[self.pos_label]
            elif self.average == "macro":
                present = (predicted + actual > 0).to(dtype)
                value = (per_class * present).sum() / present.sum().clamp_min(1)
            else:
                value = (per_class * actual).sum() / actual.sum().clamp_min(1)
        return torch.where(actual.sum() > 0, value, torch.nan)

    @staticmethod
    @abstractmethod
    def _score(tp: Tensor, predicted: Tensor, actual: Tensor) -> Tensor:
        """Score from true positives, predicted and actual counts (element-wise)."""

    def _class_count(
        self, pred: Tensor, target: Tensor, implied: int | None, score_shape: torch.Size
    ) -> int:
        """Return how many classes the states must count after this batch."""
        if self._fixed_classes is not None:
            if implied is not None and implied > self._fixed_classes:
                raise ConfigError(
                    f"y_score of shape {tuple(score_shape)} implies {implied} classes but "
                    f"{type(self).__name__}(average={self.average!r}, "
                    f"num_classes={self.num_classes}) counts {self._fixed_classes}"
                )
            return self._fixed_classes
        if implied is not None:
            return implied
        if target.numel() == 0:
            return 0
        # Label inputs without num_classes: the largest label sets the count (a host sync).
        return int(torch.maximum(pred.max(), target.max())) + 1

    def _check_range(self, labels: Tensor, classes: int, argument: str) -> None:
        """Raise for labels outside ``[0, classes)``; on the CPU only, where it costs no sync."""
        if labels.device.type != "cpu" or labels.numel() == 0:
            return
        low, high = int(labels.min()), int(labels.max())
        if low < 0 or high >= classes:
            raise ConfigError(
                f"{argument} holds class index {low if low < 0 else high}, outside the classes "
                f"0..{classes - 1} that {type(self).__name__}(average={self.average!r}, "
                f"num_classes={self.num_classes}) counts"
            )


def _ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator``, 0 where the denominator is 0 (``zero_division=0``)."""
    return torch.where(denominator > 0, numerator / denominator, 0.0)


class Precision(PerClassMetric):
    """Precision, ``tp / (tp + fp)``: the fraction of predictions of a class that are right.

    Matches scikit-learn's ``precision_score(..., zero_division=0)``; see
    :class:`PerClassMetric` for the parameters.

    Examples
    --------
    >>> import torch
    >>> metric = Precision(average="micro")
    >>> metric.update(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]))
    >>> metric.compute()
    tensor(0.6667, dtype=torch.float64)
    """

    name = "precision"

    @staticmethod
    def _score(tp: Tensor, predicted: Tensor, actual: Tensor) -> Tensor:
        return _ratio(tp, predicted)


class Recall(PerClassMetric):
    """Recall, ``tp / (tp + fn)``: the fraction of a class's samples that are found.

    Matches scikit-learn's ``recall_score(..., zero_division=0)``; see
    :class:`PerClassMetric` for the parameters.
    """

    name = "recall"

    @staticmethod
    def _score(tp: Tensor, predicted: Tensor, actual: Tensor) -> Tensor:
        return _ratio(tp, actual)


class F1(PerClassMetric):
    """F1 score, ``2 tp / (2 tp + fp + fn)``: the harmonic mean of precision and recall.

    Matches scikit-learn's ``f1_score(..., zero_division=0)``; see :class:`PerClassMetric`
    for the parameters.
    """

    name = "f1"

    @staticmethod
    def _score(tp: Tensor, predicted: Tensor, actual: Tensor) -> Tensor:
        return _ratio(2 * tp, predicted + actual)
