"""The grid compression head: pooling as RPN 2's geometric compression.

tinybig's ``grid_compression_head`` gathers every packed patch of every channel (a cell off
the grid reads 0) and reduces it with a metric (``batch_max`` by default). For a cuboid patch
and the max, min, mean or sum that is a pooling of the zero-padded grid with stride = the
centre distances, and it is computed as one (``F.max_pool2d`` / ``F.avg_pool2d``, the 3-D
kinds for a grid with depth); a mean over a cylinder or a sphere is a depthwise convolution
with the patch's mask. Other patches and metrics reduce the gathered patches.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from rpnkit.checks import choice, finite_number, positive_int
from rpnkit.rpn.compression.reduction import REDUCTIONS
from rpnkit.rpn.grid.channels_last import is_channels_last
from rpnkit.rpn.grid.geometry import GridGeometry

__all__ = ["POOLING_METRICS", "GridCompressionHead"]

#: ``pooling_metric`` names: tinybig's ``koala`` metric names (``batch_max``, ...) and the
#: reductions they stand for (``max``, ...); ``mean`` and ``median`` are rpnkit's.
POOLING_METRICS: dict[str, str] = {
    **{name: name for name in REDUCTIONS},
    **{f"batch_{name}": name for name in REDUCTIONS},
}


class GridCompressionHead(nn.Module):
    """Pooling written as an RPN 2 head (tinybig's ``grid_compression_head``).

    Every packed patch of every channel of an ``h × w × d`` grid is reduced by
    ``pooling_metric``; cells off the grid count as zeros (tinybig's padding). The output is
    ``(b, channel_num · P)``, channel-major: the next grid head's input layout. It has no
    parameters; ``Dropout(p)`` follows when ``with_dropout``.

    The input is ``(b, channel_num·h·w·d)`` channel-major (tinybig's), or ``(b, C, h, w)``
    (``d = 1``) or ``(b, C, h, w, d)``.

    Parameters
    ----------
    h, w, channel_num, d
        Grid sizes and channel count, >= 1.
    pooling_metric
        ``batch_max`` (default), ``batch_min``, ``batch_sum``, ``batch_prod``,
        ``batch_l1_norm``, ``batch_l2_norm`` (tinybig's names), the same without ``batch_``,
        or ``mean`` / ``median`` (rpnkit's).
    patch_shape, p_h, p_h_prime, p_w, p_w_prime, p_d, p_d_prime, p_r
        The patch, see :class:`~rpnkit.rpn.grid.convolution.GridInterdependenceHead`.
    cd_h, cd_w, cd_d, packing_strategy
        The packing (stride), likewise.
    with_dropout, p
        ``Dropout(p)`` on the output (tinybig's head default on with 0.5).

    Differences from tinybig
    ------------------------
    The dropout is a registered submodule, so ``.eval()`` turns it off; tinybig keeps it in a
    plain list, active at evaluation too. tinybig's metric names without ``batch_`` fail on
    its 2-D input; here they mean the same as with it.

    Raises
    ------
    ConfigError
        For a bad size, patch, packing, metric or probability.
    """

    mask: Tensor
    tinybig_divergence: ClassVar[str | None] = (
        "the output Dropout is a registered module (off after .eval()); tinybig keeps it "
        "in a plain list, active at evaluation"
    )

    def __init__(
        self,
        h: int,
        w: int,
        channel_num: int,
        d: int = 1,
        pooling_metric: str = "batch_max",
        patch_shape: str = "cuboid",
        p_h: int | None = None,
        p_h_prime: int | None = None,
        p_w: int | None = None,
        p_w_prime: int | None = None,
        p_d: int = 0,
        p_d_prime: int | None = None,
        p_r: int | None = None,
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = 1,
        packing_strategy: str = "densest_packing",
        with_dropout: bool = True,
        p: float = 0.5,
    ) -> None:
        super().__init__()
        label = "grid_compression_head"
        self.channel_num = positive_int(channel_num, f"{label} channel_num")
        name = choice(pooling_metric, POOLING_METRICS, f"{label} pooling_metric")
        self.metric = POOLING_METRICS[name]
        patch = {"p_h": p_h, "p_h_prime": p_h_prime, "p_w": p_w, "p_w_prime": p_w_prime,
                 "p_d": p_d, "p_d_prime": p_d_prime, "p_r": p_r}  # fmt: skip
        self.geometry = GridGeometry(
            h, w, d, self.channel_num, patch_shape, patch, packing_strategy, cd_h, cd_w, cd_d,
            label=label,
        )  # fmt: skip
        self.m = self.geometry.m
        self.n = self.channel_num * self.geometry.patch_num
        rate = finite_number(p, f"{label} p", at_least=0.0, at_most=1.0)
        steps: list[Any] = [nn.Dropout(rate)] if with_dropout else []
        self.output_process = nn.Sequential(*steps)
        #: Return the output as a grid ``(b, channel_num, h', w'[, d'])`` instead of
        #: ``(b, n)`` (see :meth:`forward`). Off by default.
        self.grid_output = False
        geometry = self.geometry
        pooled = geometry.full_box and self.metric in ("max", "min", "mean", "sum")
        masked_mean = not geometry.full_box and self.metric in ("mean", "sum")
        self._path = "pool" if pooled else "mask" if masked_mean else "gather"
        if self._path == "mask":
            ones = torch.ones(1, self.channel_num * geometry.patch_size)
            mask = geometry.kernel(ones)[0].unsqueeze(1)  # (C, 1, *kernel_size)
            self.register_buffer("mask", mask, persistent=False)

    @property
    def out_features(self) -> int:
        """Output size ``n = channel_num · P``."""
        return self.n

    @property
    def output_grid(self) -> tuple[int, ...]:
        """``(h', w', d')``: the packed centres per axis, the next layer's grid."""
        return self.geometry.output_grid

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(b, channel_num · P)`` pooled values (see the class documentation);
        ``(b, channel_num, h', w'[, d'])`` with :attr:`grid_output` (when no dropout is
        active: an active dropout draws its mask on the ``(b, n)`` matrix, as tinybig's)."""
        out = self._pooled(self.geometry.as_grid(x))
        if self.grid_output and not (self.training and len(self.output_process)):
            return out
        flat = self.output_process(out.reshape(out.shape[0], self.n))
        return flat.view(out.shape) if self.grid_output else flat

    def _pooled(self, grid: Tensor) -> Tensor:
        """The pooled grid ``(b, channel_num, h', w'[, d'])``."""
        if self._path == "pool":
            out = self._pool(grid)
        elif self._path == "mask":
            out = self._masked_sum(grid)
            if self.metric == "mean":
                out = out / self.geometry.patch_size
        else:
            patches = self.geometry.gather(grid.reshape(grid.shape[0], self.m))
            cells = patches.view(grid.shape[0], -1, self.channel_num, self.geometry.patch_size)
            out = REDUCTIONS[self.metric](cells).transpose(1, 2)
            out = out.reshape(grid.shape[0], self.channel_num, *self.geometry.output_grid)
        if self.geometry.spatial_dims == 2 and out.dim() == 5:
            out = out.squeeze(-1)
        return out

    def _pool(self, grid: Tensor) -> Tensor:
        """Max / min / mean / sum pooling of the zero-padded grid (a cuboid patch)."""
        geometry = self.geometry
        dims = geometry.spatial_dims
        kernel, stride = geometry.kernel_size, geometry.stride[:dims]
        if self.metric in ("max", "min"):
            sign = 1.0 if self.metric == "max" else -1.0
            padded = geometry.pad(grid if sign > 0 else -grid)
            if dims == 2 and (self.channel_num > 1 or is_channels_last(padded)):
                out = _ChannelsLastMaxPool2d.apply(padded, kernel, stride)
            else:
                out = (F.max_pool2d if dims == 2 else F.max_pool3d)(padded, kernel, stride)
            if geometry.dead_cells:  # depth cells of a flat grid read 0 in every patch
                out = out.clamp(min=0.0)
            return out if sign > 0 else -out
        avg_pool = F.avg_pool2d if dims == 2 else F.avg_pool3d
        if geometry.symmetric:
            out = avg_pool(grid, kernel, stride, padding=geometry.before, count_include_pad=True)
        else:
            out = avg_pool(geometry.pad(grid), kernel, stride)
        # the mean over the S patch cells: cells dropped with d = 1 (depth offsets) count too
        out = out * (math.prod(kernel) / geometry.patch_size)
        return out * geometry.patch_size if self.metric == "sum" else out

    def _masked_sum(self, grid: Tensor) -> Tensor:
        """The sum over a cylinder or sphere patch: a depthwise convolution with its mask."""
        geometry = self.geometry
        dims = geometry.spatial_dims
        conv = F.conv2d if dims == 2 else F.conv3d
        mask = self.mask.to(grid.dtype)
        stride = geometry.stride[:dims]
        if geometry.symmetric:
            return conv(grid, mask, stride=stride, padding=geometry.before, groups=self.channel_num)
        return conv(geometry.pad(grid), mask, stride=stride, groups=self.channel_num)

    def extra_repr(self) -> str:
        """Metric, geometry and sizes."""
        return f"metric={self.metric}, {self.geometry.describe()}, m={self.m}, n={self.n}"


class _ChannelsLastMaxPool2d(torch.autograd.Function):
    """``F.max_pool2d`` of a ``(b, C, h, w)`` batch, pooled in channels-last memory.

    torch's CPU max pooling is vectorised over the channels of a channels-last tensor and not
    over the cells of a contiguous one. A channels-last ``grid`` (a convolution head's
    output) is pooled as it is and its output and gradient stay channels-last; a contiguous
    one is pooled from a channels-last copy (faster for a few channels or more, copy
    included), its output is contiguous and its gradient is computed on the contiguous
    layout. The values and the window indices are ``F.max_pool2d``'s; the backward pass is
    torch's, from those indices.
    """

    @staticmethod
    def forward(ctx: Any, grid: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...]) -> Tensor:
        """Pool ``grid``; the output has ``grid``'s layout."""
        ctx.channels_last = is_channels_last(grid)
        source = grid if ctx.channels_last else grid.contiguous(memory_format=torch.channels_last)
        out, indices = F.max_pool2d(source, kernel, stride, return_indices=True)
        if not ctx.channels_last:
            out, indices = out.contiguous(), indices.contiguous()
        ctx.save_for_backward(grid, indices)
        ctx.window = (list(kernel), list(stride))
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        """Route every output's gradient to the cell its window's maximum came from."""
        grid, indices = ctx.saved_tensors
        kernel, stride = ctx.window
        layout = torch.channels_last if ctx.channels_last else torch.contiguous_format
        grad_grid = torch.ops.aten.max_pool2d_with_indices_backward(
            grad.contiguous(memory_format=layout),
            grid,
            kernel,
            stride,
            [0, 0],
            [1, 1],
            False,
            indices,
        )
        return grad_grid, None, None
