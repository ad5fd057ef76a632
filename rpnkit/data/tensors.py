"""The checks and statistics :meth:`DataBundle.from_tensors` applies to a dataset's tensors."""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.errors import ConfigError

__all__ = ["check_tensors", "statistics"]


def statistics(values: Tensor) -> tuple[Tensor, Tensor]:
    """Per-column mean and standard deviation (1 where a column is constant)."""
    mean = values.mean(dim=0)
    std = values.std(dim=0, correction=0)
    return mean, torch.where(std > 0, std, torch.ones_like(std))


def check_tensors(name: str, task: str, features: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    """Validate shapes and return ``(features as float64, targets in their final dtype)``."""
    if features.ndim != 2 or features.shape[0] < 2 or features.shape[1] < 1:
        raise ConfigError(
            f"dataset {name!r}: features must have shape (n_samples >= 2, in_features >= 1), "
            f"got {tuple(features.shape)}"
        )
    if targets.ndim == 0 or targets.shape[0] != features.shape[0]:
        raise ConfigError(
            f"dataset {name!r}: targets must have one row per sample ({features.shape[0]}), "
            f"got shape {tuple(targets.shape)}"
        )
    if task == "classification":
        if targets.ndim != 1 or targets.is_floating_point() or targets.is_complex():
            raise ConfigError(
                f"dataset {name!r}: classification targets must be integer class indices of "
                f"shape (n_samples,), got {targets.dtype} of shape {tuple(targets.shape)}"
            )
        if int(targets.min().item()) < 0:
            raise ConfigError(
                f"dataset {name!r}: class indices must be non-negative, "
                f"got {int(targets.min().item())}"
            )
        return features.double(), targets.long()
    if targets.ndim not in (1, 2):
        raise ConfigError(
            f"dataset {name!r}: regression targets must have shape (n_samples,) or "
            f"(n_samples, out_features), got {tuple(targets.shape)}"
        )
    y = targets.float()
    return features.double(), y.unsqueeze(1) if y.ndim == 1 else y
