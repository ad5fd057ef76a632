"""The Charbonnier loss."""

from __future__ import annotations

import torch
from torch import Tensor, nn


class CharbonnierLoss(nn.Module):
    """Mean of ``sqrt((input - target)^2 + eps^2) - eps``: L2 near zero, L1 far away.

    Parameters
    ----------
    eps
        Smoothing scale (> 0).
    """

    def __init__(self, eps: float = 1e-3) -> None:
        super().__init__()
        if eps <= 0:
            raise ValueError(f"eps must be > 0, got {eps!r}")
        self.eps = eps

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        """Return the mean Charbonnier loss between ``input`` and ``target``."""
        diff = input - target.reshape(input.shape).to(input.dtype)
        return (torch.sqrt(diff * diff + self.eps**2) - self.eps).mean()
