"""Streaming regression metrics: mean squared error, its root, mean absolute error and R².

:meth:`update` takes predictions ``y_score`` and targets ``y_true`` of the same shape, ``(b,)``
for one output or ``(b, k)`` for ``k`` outputs (``(b, 1)`` and ``(b,)`` are interchangeable;
further dimensions are flattened into outputs). Every metric is computed per output and then
averaged uniformly over outputs, like scikit-learn's default ``multioutput="uniform_average"``.
The states are sums, accumulated in float64 (float32 on Apple's ``mps``), so streaming gives
the same value as one pass over all the data.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.metrics.metric import Metric

__all__ = ["MAE", "MSE", "R2", "RMSE", "RegressionMetric"]


class RegressionMetric(Metric):
    """Base of the regression metrics: checks shapes and counts samples, then lets a subclass
    accumulate its per-output sums in ``_accumulate``.

    Subclasses list their per-output ``"sum"`` states in ``OUTPUT_STATES``; those states are
    sized by the number of outputs of the first update.

    A model trained on standardised targets (``standardize_target`` of a file dataset) is
    measured in the target's own units after :meth:`in_target_units`.
    """

    higher_is_better = False
    OUTPUT_STATES: ClassVar[tuple[str, ...]]
    count: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("count", torch.zeros((), dtype=torch.long), reduce="sum")
        for state in self.OUTPUT_STATES:
            self.add_state(state, torch.zeros(0, dtype=torch.float64), reduce="sum")
        self._target_scale: tuple[Tensor, Tensor] | None = None

    def in_target_units(self, mean: Tensor, std: Tensor) -> RegressionMetric:
        """Measure predictions and targets given in standardised units in the target's own.

        Every later :meth:`update` maps both through ``value * std + mean`` first (a
        :class:`~rpnkit.data.DataBundle`'s ``target_mean`` / ``target_std``), so ``mae`` or
        ``rmse`` come out in the target's units (``r2`` is the same either way).

        Parameters
        ----------
        mean, std
            Per-output statistics, shape ``(outputs,)``.

        Returns
        -------
        RegressionMetric
            ``self``.
        """
        self._target_scale = (mean.detach().double().reshape(-1), std.detach().double().reshape(-1))
        return self

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Accumulate a batch of predictions ``y_score`` against targets ``y_true``.

        Raises
        ------
        ConfigError
            If the shapes differ (``(b,)`` against ``(b, 1)`` aside), or the number of outputs
            differs from earlier updates.
        """
        self._check_batch(y_score, y_true)
        batch = y_score.shape[0]
        pred, target = y_score.reshape(batch, -1), y_true.reshape(batch, -1)
        if pred.shape != target.shape:
            raise ConfigError(
                f"{type(self).__name__}.update got y_score of shape {tuple(y_score.shape)} and "
                f"y_true of shape {tuple(y_true.shape)}; they must have the same shape"
            )
        pred, target = self._on_state_device(pred, target)
        first = getattr(self, self.OUTPUT_STATES[0])
        outputs = pred.shape[1]
        if first.shape[0] == 0:
            self._grow(self.OUTPUT_STATES, outputs)
        elif first.shape[0] != outputs:
            raise ConfigError(
                f"{type(self).__name__}.update got {outputs} outputs (y_true of shape "
                f"{tuple(y_true.shape)}) after earlier batches with {first.shape[0]}; call "
                "reset() before changing the number of outputs"
            )
        self.count += batch
        pred, target = pred.to(first.dtype), target.to(first.dtype)
        if self._target_scale is not None:
            mean, std = (t.to(pred.device, pred.dtype) for t in self._target_scale)
            pred, target = pred * std + mean, target * std + mean
        self._accumulate(pred, target)

    @abstractmethod
    def _accumulate(self, pred: Tensor, target: Tensor) -> None:
        """Add a batch of shape ``(b, k)`` (already in the states' dtype) to the sums."""

    def _per_sample(self, total: Tensor) -> Tensor:
        """``total / count`` for per-output sums (NaN before any sample)."""
        return total / self.count.to(total.dtype)


class MSE(RegressionMetric):
    """Mean squared error (scikit-learn's ``mean_squared_error``).

    Examples
    --------
    >>> import torch
    >>> metric = MSE()
    >>> metric.update(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 4.0]))
    >>> metric.compute()
    tensor(2., dtype=torch.float64)
    """

    name = "mse"
    OUTPUT_STATES = ("squared_error",)
    squared_error: Tensor

    def _accumulate(self, pred: Tensor, target: Tensor) -> None:
        self.squared_error += (pred - target).square().sum(dim=0)

    def compute(self) -> Tensor:
        """Return the mean squared error as a 0-dim tensor on the states' device."""
        return self._per_sample(self.squared_error).mean()


class RMSE(MSE):
    """Root mean squared error (scikit-learn's ``root_mean_squared_error``): the square root
    of each output's MSE, averaged over outputs."""

    name = "rmse"

    def compute(self) -> Tensor:
        """Return the root mean squared error as a 0-dim tensor on the states' device."""
        return self._per_sample(self.squared_error).sqrt().mean()


class MAE(RegressionMetric):
    """Mean absolute error (scikit-learn's ``mean_absolute_error``)."""

    name = "mae"
    OUTPUT_STATES = ("absolute_error",)
    absolute_error: Tensor

    def _accumulate(self, pred: Tensor, target: Tensor) -> None:
        self.absolute_error += (pred - target).abs().sum(dim=0)

    def compute(self) -> Tensor:
        """Return the mean absolute error as a 0-dim tensor on the states' device."""
        return self._per_sample(self.absolute_error).mean()


class R2(RegressionMetric):
    """Coefficient of determination, ``1 - SSE / SST`` (scikit-learn's ``r2_score``).

    The total sum of squares comes from streamed sums, ``SST = Σy² - (Σy)² / n``. An output
    whose targets are constant has ``SST = 0`` and scores 1 if predicted exactly, else 0
    (scikit-learn's ``force_finite=True``).
    """

    name = "r2"
    higher_is_better = True
    OUTPUT_STATES = ("squared_error", "target_sum", "target_square_sum")
    squared_error: Tensor
    target_sum: Tensor
    target_square_sum: Tensor

    def _accumulate(self, pred: Tensor, target: Tensor) -> None:
        self.squared_error += (pred - target).square().sum(dim=0)
        self.target_sum += target.sum(dim=0)
        self.target_square_sum += target.square().sum(dim=0)

    def compute(self) -> Tensor:
        """Return R² as a 0-dim tensor on the states' device (NaN before any sample)."""
        total = self.target_square_sum - self.target_sum.square() / self.count
        # Cancellation leaves SST with an error of a few eps * Σy²; anything below is zero.
        constant = total <= 4 * torch.finfo(total.dtype).eps * self.target_square_sum
        perfect = (self.squared_error == 0).to(total.dtype)
        scores = torch.where(constant, perfect, 1 - self.squared_error / total)
        return scores.mean()
