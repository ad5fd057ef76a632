"""Channels-last grids: the memory layout the 2-D grid heads compute in on the CPU.

oneDNN's convolution and torch's max pooling are fastest on a ``(b, C, h, w)`` batch stored
channels-last (``(b, h, w, C)`` in memory), and a per-position step (tinybig's bias of size
``n``, ``BatchNorm1d(n)`` over ``n = C·h·w`` features, ReLU) is elementwise per sample, so it
can run on that memory directly: ``(b, h·w·C)`` is a plain matrix whose columns are the
``n`` features in another order (:func:`to_nhwc`). Keeping a grid channels-last from one
head to the next avoids a transposing copy in each direction; the values are the same.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rpnkit.rpn.processing import Functional

__all__ = [
    "AddPositionBias",
    "apply_positionwise",
    "batch_norm_nhwc",
    "from_nhwc_",
    "is_channels_last",
    "nhwc_rows",
    "to_channels_last",
    "to_nhwc",
]


def is_channels_last(grid: Tensor) -> bool:
    """Whether ``grid`` is a 4-D batch stored channels-last and not also plainly contiguous."""
    return (
        grid.dim() == 4
        and not grid.is_contiguous()
        and grid.is_contiguous(memory_format=torch.channels_last)
    )


def to_channels_last(grid: Tensor) -> Tensor:
    """``grid`` (``(b, C, h, w)``) stored channels-last, the same values.

    A one-channel contiguous batch is already laid out as ``(b, h, w, 1)``: it is given
    channels-last strides without a copy, so that the convolution reading it writes a
    channels-last output.
    """
    _, c, h, w = grid.shape
    if c == 1 and grid.is_contiguous():
        return grid.as_strided(grid.shape, (h * w, 1, w, 1))
    return grid.contiguous(memory_format=torch.channels_last)


def nhwc_rows(grid: Tensor) -> Tensor:
    """The ``(b, h·w·C)`` matrix of a channels-last ``grid``: a view, no copy."""
    return grid.permute(0, 2, 3, 1).reshape(grid.shape[0], -1)


def to_nhwc(features: Tensor, grid: tuple[int, int, int]) -> Tensor:
    """A vector of ``C·h·w`` channel-major features in the column order of :func:`nhwc_rows`
    (a copy; ``grid = (C, h, w)``)."""
    return features.view(grid).permute(1, 2, 0).reshape(-1)


def from_nhwc_(features: Tensor, values: Tensor, grid: tuple[int, int, int]) -> None:
    """Write ``values`` (in :func:`nhwc_rows` column order) into the channel-major
    ``features`` (``grid = (C, h, w)``)."""
    channels, h, w = grid
    features.view(grid).copy_(values.view(h, w, channels).permute(2, 0, 1))


class AddPositionBias(torch.autograd.Function):
    """``grid += bias`` in place on a channels-last ``(b, C, h, w)`` grid, ``bias`` given in
    :func:`nhwc_rows` column order; its gradient is the column sum of the ``(b, h·w·C)``
    rows of the output's gradient (one pass; autograd's own reduction of a channels-last
    gradient to a ``(C, h, w)`` bias is several times slower)."""

    @staticmethod
    def forward(ctx: Any, grid: Tensor, bias: Tensor) -> Tensor:
        """Add ``bias`` to every sample of ``grid``, in place."""
        nhwc_rows(grid).add_(bias)
        ctx.mark_dirty(grid)
        return grid

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, Tensor]:
        """The gradient passes to ``grid``; ``bias`` gets its column sums."""
        return grad, nhwc_rows(grad).sum(0)


def batch_norm_nhwc(rows: Tensor, bn: nn.BatchNorm1d, grid: tuple[int, int, int]) -> Tensor:
    """``bn`` (over channel-major features) applied to the :func:`nhwc_rows` of a ``(C, h, w)``
    grid: the same numbers as ``bn`` on the channel-major matrix, reordered.

    The module's own rule (``nn.BatchNorm1d.forward``): batch statistics in training mode
    (the running ones updated with ``momentum``, or the cumulative average when it is
    ``None``, and ``num_batches_tracked`` counted), the running statistics after ``.eval()``;
    its scale and shift are read (and trained) reordered.
    """
    factor = 0.0 if bn.momentum is None else bn.momentum
    if bn.training and bn.track_running_stats and bn.num_batches_tracked is not None:
        bn.num_batches_tracked.add_(1)
        factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
    use_batch = bn.training or (bn.running_mean is None and bn.running_var is None)
    tracked = not bn.training or bn.track_running_stats
    running_mean = bn.running_mean
    running_var = bn.running_var
    mean = to_nhwc(running_mean, grid) if tracked and running_mean is not None else None
    var = to_nhwc(running_var, grid) if tracked and running_var is not None else None
    weight = to_nhwc(bn.weight, grid) if bn.weight is not None else None
    bias = to_nhwc(bn.bias, grid) if bn.bias is not None else None
    out = F.batch_norm(rows, mean, var, weight, bias, use_batch, factor, bn.eps)
    if bn.training and running_mean is not None and mean is not None:
        from_nhwc_(running_mean, mean, grid)
    if bn.training and running_var is not None and var is not None:
        from_nhwc_(running_var, var, grid)
    return out


def apply_positionwise(
    rows: Tensor, steps: nn.Sequential, grid: tuple[int, int, int], fresh: bool
) -> Tensor | None:
    """Run ``steps`` (``BatchNorm1d`` and ReLU modules) on the reordered ``rows``.

    Returns ``None`` when a step is of another kind (the caller then runs the chain on the
    channel-major matrix). ``fresh``: whether ``rows`` is a tensor of the caller's own (a
    ReLU may then overwrite it; a view of another tensor is never overwritten).
    """
    if not all(_positionwise(step) for step in steps):
        return None
    for step in steps:
        if isinstance(step, nn.BatchNorm1d):
            rows, fresh = batch_norm_nhwc(rows, step, grid), True
        else:
            rows = rows.relu_() if fresh else F.relu(rows)
            fresh = True
    return rows


def _positionwise(step: Any) -> bool:
    """Whether ``step`` is a ``BatchNorm1d`` or a ReLU (the steps of the grid heads)."""
    if isinstance(step, nn.BatchNorm1d):
        return True
    if isinstance(step, nn.ReLU):
        return True
    return isinstance(step, Functional) and step.name == "relu"
