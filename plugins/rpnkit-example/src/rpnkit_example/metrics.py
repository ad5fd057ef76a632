"""A streaming max-error metric built on rpnkit's :class:`~rpnkit.metrics.Metric`."""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.metrics import Metric


class MaxError(Metric):
    """Largest absolute difference between prediction and target over all updates."""

    name = "max_error"
    higher_is_better = False
    max_abs: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("max_abs", torch.zeros(()), reduce="max")

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Fold a batch of predictions ``y_score`` and targets ``y_true`` into the state."""
        y_score, y_true = self._on_state_device(y_score, y_true)
        err = (y_score.reshape(y_true.shape).float() - y_true.float()).abs().amax()
        self.max_abs = torch.maximum(self.max_abs, err)

    def compute(self) -> Tensor:
        """Return the largest absolute error (0-dim tensor, on the state device)."""
        return self.max_abs.clone()
