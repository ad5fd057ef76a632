"""Geometric compressions: pooling over cuboid, cylinder and sphere patches on a grid.

The input is the grid layout of :mod:`rpnkit.rpn.expansion.geometric` (``channel_num``
channels of ``h × w × d`` cells, channel-major, ``d`` fastest). Patch centres are packed every
``(cd_h, cd_w, cd_d)`` cells, ``P`` per channel; each patch's ``S`` cells are gathered (0 for a
cell off the grid, tinybig's "padding" mode) and reduced by ``metric``. The output is
channel-major, ``D = channel_num · P``: entry ``u P + p`` is patch ``p`` of channel ``u``.

Because off-grid cells count as zeros, a cuboid ``max`` compression is
``F.max_pool3d`` of the zero-padded grid and a cuboid ``mean`` compression is
``F.avg_pool3d(count_include_pad=True)``, with stride ``(cd_h, cd_w, cd_d)``; named
``max``/``min``/``mean``/``sum`` metrics on a cuboid take that path (no ``S``-fold gather).
"""

from __future__ import annotations

import math

import torch.nn.functional as F
from torch import Tensor

from rpnkit.checks import positive_int, short_repr
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.compression.reduction import REDUCTIONS, Metric, reduction
from rpnkit.rpn.expansion.base import Processing
from rpnkit.rpn.expansion.geometric import GeometricExpansion
from rpnkit.rpn.expansion.patch import Patch

__all__ = ["GeometricCompression"]

_POOLED = frozenset({"max", "min", "mean", "sum"})


class GeometricCompression(Compression):
    """Pooling of every packed patch with ``metric`` (see the module documentation),
    tinybig's ``geometric_compression``; the patch classes build the patch.

    Parameters
    ----------
    metric
        A name (``max``, ``min``, ``mean``, ``sum``, ``prod``, ``median``, ``l1_norm``,
        ``l2_norm``) or a callable called as tinybig calls it: ``metric(rows, dim=1)`` with
        ``rows`` of shape ``(N, S)``, returning ``(N,)``.
    patch
        The patch cells and its packing strategies (:mod:`rpnkit.rpn.expansion.patch`).
    h, w, d
        Grid height, width and depth, >= 1.
    channel_num
        Number of channels, >= 1 (tinybig's compressions swallow it and always use 1).
    packing_strategy
        A packing strategy of the patch's shape; ``None`` is ``densest_packing``.
    cd_h, cd_w, cd_d
        Centre distances; when all three are given they replace the strategy's.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Raises
    ------
    ConfigError
        For a bad grid, channel number, metric, packing strategy or centre distances.
    """

    _label = "geometric compression"

    def __init__(
        self,
        metric: Metric,
        patch: Patch,
        *,
        h: int,
        w: int,
        d: int = 1,
        channel_num: int = 1,
        packing_strategy: str | None = None,
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        label = self._label
        self.metric_name = reduction(metric, f"{label} metric")
        self.metric = metric
        for field, value in (("h", h), ("w", w), ("d", d), ("channel_num", channel_num)):
            positive_int(value, f"{label} {field}")
        given = {"cd_h": cd_h, "cd_w": cd_w, "cd_d": cd_d}
        if all(v is not None for v in given.values()):
            for field, distance in given.items():
                positive_int(distance, f"{label} {field}")
        elif any(v is not None for v in given.values()):
            missing = ", ".join(k for k, v in given.items() if v is None)
            raise ConfigError(
                f"{label}: centre distances are given only in part ({missing} missing); give "
                "all of cd_h, cd_w, cd_d or none"
            )
        elif packing_strategy is not None and packing_strategy not in patch.packings:
            hint = did_you_mean(str(packing_strategy), patch.packings)
            raise ConfigError(
                f"{label} packing_strategy={short_repr(packing_strategy)} is unknown{hint}; "
                f"expected one of {', '.join(patch.packings)}"
            )
        self.gather = GeometricExpansion(
            patch, h=h, w=w, d=d, channel_num=channel_num, packing_strategy=packing_strategy,
            cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
        )  # fmt: skip
        self._pool_window: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None

    @property
    def patch_num(self) -> int:
        """Number of patches ``P`` on one channel."""
        return self.gather.patch_num

    @property
    def patch_size(self) -> int:
        """Number of cells ``S`` in a patch."""
        return self.gather.patch_size

    def _check_m(self, m: int) -> int:
        if m != self.gather.m:
            h, w, d = self.gather.grid
            c = self.gather.channel_num
            raise ConfigError(
                f"{self._label}: m={m} does not match the grid; expected channel_num·h·w·d = "
                f"{c}·{h}·{w}·{d} = {self.gather.m}"
            )
        return m

    def calculate_D(self, m: int) -> int:
        """Return ``channel_num · P``; ``m`` must be ``channel_num · h w d``."""
        self._check_m(positive_int(m, "m"))
        return self.gather.channel_num * self.patch_num

    def expand(self, x: Tensor) -> Tensor:
        """Return every patch's ``metric``, channel-major."""
        self._check_m(x.shape[-1])
        if self._pool_window is not None and self.metric_name in _POOLED:
            return self._pool(x, self.metric_name)
        c, s, p = self.gather.channel_num, self.patch_size, self.patch_num
        cells = F.pad(x, (0, 1))[..., self.gather.index].reshape(*x.shape[:-1], c, s, p)
        cells = cells.transpose(-1, -2)  # (..., c, P, S)
        if self.metric_name is not None:
            out = REDUCTIONS[self.metric_name](cells)
        else:
            assert callable(self.metric)
            out = self.metric(cells.reshape(-1, s), dim=1)
        return out.reshape(*x.shape[:-1], c * p)

    def _pool(self, x: Tensor, name: str) -> Tensor:
        """Pool the zero-padded grid with a cuboid window (see the module documentation)."""
        assert self._pool_window is not None
        before, after = self._pool_window
        h, w, d = self.gather.grid
        grid = x.reshape(-1, self.gather.channel_num, h, w, d)
        grid = F.pad(grid, (before[2], after[2], before[1], after[1], before[0], after[0]))
        kernel = tuple(a + b + 1 for a, b in zip(before, after, strict=True))
        stride = self.gather.centre_distances
        if name == "max":
            out = F.max_pool3d(grid, kernel, stride)
        elif name == "min":
            out = -F.max_pool3d(-grid, kernel, stride)
        else:
            out = F.avg_pool3d(grid, kernel, stride, count_include_pad=True)
            if name == "sum":
                out = out * math.prod(kernel)
        return out.reshape(*x.shape[:-1], -1)

    def extra_repr(self) -> str:
        """Metric, grid, channels, patch size and centre distances."""
        name = self.metric_name or getattr(self.metric, "__qualname__", "callable")
        return f"metric={name}, {self.gather.extra_repr()}"
