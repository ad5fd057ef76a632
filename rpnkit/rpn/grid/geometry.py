"""The geometry of the grid heads: a grid of channels, a patch, its packing, and the kernel.

An image (or volume) is ``channels`` grids of ``h × w × d`` cells, flattened channel-major
with ``d`` fastest (tinybig's layout, :mod:`rpnkit.rpn.interdependence.geometric`); a plain
``(b, C, H, W)`` tensor (``d = 1``) or ``(b, C, H, W, D)`` is the same data unflattened. Patch
centres are packed every ``(cd_h, cd_w, cd_d)`` cells from ``(0, 0, 0)`` and a patch is a fixed
list of ``S`` offsets around its centre; a cell off the grid reads 0.

Gathering every patch and multiplying by a weight ``W ∈ R^{n × C·S}`` (tinybig's grid head) is
a cross-correlation: put ``W``'s ``S`` columns of every channel at their offsets in the
patch's bounding box (zero elsewhere: the masked kernel of a cylinder or sphere), zero-pad
the grid by the box's extent before and after the centre, and convolve with stride
``(cd_h, cd_w, cd_d)``. With ``d = 1`` only the offsets of depth 0 ever read the grid (the
others read padding), so the kernel is two-dimensional and the product is ``F.conv2d``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rpnkit.checks import choice, positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion.patch import Patch
from rpnkit.rpn.interdependence.geometric import GeometricInterdependence
from rpnkit.rpn.interdependence.grid_spec import make_patch

__all__ = ["PATCH_SHAPES", "GridGeometry"]

#: The patch shapes of the grid heads.
PATCH_SHAPES = ("cuboid", "cylinder", "sphere")


class GridGeometry:
    """A grid, a patch packed on it, and the convolution that gathers and weighs the patches.

    Parameters
    ----------
    h, w, d
        Grid height, width and depth, >= 1.
    channels
        Number of channels (tinybig's ``universe_num``), >= 1.
    patch_shape
        ``"cuboid"``, ``"cylinder"`` or ``"sphere"``.
    patch
        The patch keywords of tinybig's grid heads: ``p_h``, ``p_h_prime``, ``p_w`` (default
        ``p_h``), ``p_w_prime``, ``p_d``, ``p_d_prime`` for a cuboid; ``p_r``, ``p_d``,
        ``p_d_prime`` for a cylinder; ``p_r`` for a sphere.
    packing_strategy
        A packing strategy of the patch shape (default ``"densest_packing"``: a centre on
        every cell).
    cd_h, cd_w, cd_d
        Centre distances (the stride); when all three are given they replace the strategy's.
    label
        Name of the user, for error messages.

    Raises
    ------
    ConfigError
        For a bad size, patch shape, extent, strategy or centre distance.
    """

    def __init__(
        self,
        h: int,
        w: int,
        d: int,
        channels: int,
        patch_shape: str,
        patch: Mapping[str, Any],
        packing_strategy: str | None = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = 1,
        label: str = "grid",
    ) -> None:
        self.label = label
        self.grid = (positive_int(h, f"{label} h"), positive_int(w, f"{label} w"),
                     positive_int(d, f"{label} d"))  # fmt: skip
        self.channels = positive_int(channels, f"{label} channels")
        self.patch_shape = str(choice(patch_shape, PATCH_SHAPES, f"{label} patch_shape"))
        params = dict(patch)
        if self.patch_shape == "cuboid" and params.get("p_w") is None:
            params["p_w"] = params.get("p_h")  # tinybig: p_w defaults to p_h
        self.patch: Patch = make_patch(self.patch_shape, params, label)
        if cd_h is None or cd_w is None or cd_d is None:
            cd_h = cd_w = cd_d = None  # tinybig: the strategy's distances unless all are given
        #: The gather definition (tinybig's padding-mode geometric interdependence).
        self.interdependence = GeometricInterdependence(
            h=self.grid[0], w=self.grid[1], d=self.grid[2], channel_num=self.channels,
            patch=self.patch, packing_strategy=packing_strategy, cd_h=cd_h, cd_w=cd_w,
            cd_d=cd_d, interdependence_type="attribute",
        )  # fmt: skip
        self.stride: tuple[int, int, int] = tuple(self.interdependence.centre_distances)  # type: ignore[assignment]
        self.patch_size = self.interdependence.get_patch_size()
        self.patch_num = self.interdependence.get_patch_num()
        self.output_grid = tuple(
            len(range(0, size, step)) for size, step in zip(self.grid, self.stride, strict=True)
        )
        self._kernel_layout()

    # -- sizes ------------------------------------------------------------------------------

    @property
    def cells(self) -> int:
        """Cells of one channel, ``h·w·d``."""
        return math.prod(self.grid)

    @property
    def m(self) -> int:
        """Input size, ``channels·h·w·d``."""
        return self.channels * self.cells

    @property
    def spatial_dims(self) -> int:
        """2 for a flat grid (``d = 1``: ``conv2d``), else 3 (``conv3d``)."""
        return 2 if self.grid[2] == 1 else 3

    def _kernel_layout(self) -> None:
        """Where each patch cell that can read the grid sits in the bounding-box kernel."""
        dims = self.spatial_dims
        offsets = self.patch.offsets
        used = [s for s, offset in enumerate(offsets) if dims == 3 or offset[2] == 0]
        cells = [offsets[s][:dims] for s in used]
        self.before = tuple(-min(cell[a] for cell in cells) for a in range(dims))
        self.after = tuple(max(cell[a] for cell in cells) for a in range(dims))
        self.kernel_size = tuple(b + a + 1 for b, a in zip(self.before, self.after, strict=True))
        # the cells after the grid that some packed patch reads (often none: a 2×2 window
        # every 2 cells of an even side never reads past it)
        self.read_after = tuple(
            max(0, (self.output_grid[a] - 1) * self.stride[a] + self.after[a] + 1 - self.grid[a])
            for a in range(dims)
        )
        positions = []
        for cell in cells:
            flat = 0
            for a in range(dims):
                flat = flat * self.kernel_size[a] + cell[a] + self.before[a]
            positions.append(flat)
        self._used = None if len(used) == len(offsets) else torch.tensor(used)
        box = math.prod(self.kernel_size)
        self._positions = None if positions == list(range(box)) else torch.tensor(positions)
        #: Whether the patch fills its bounding box (a cuboid): the kernel is a plain view.
        self.full_box = self._positions is None
        #: Whether some patch cells never read the grid (depth offsets of a flat grid): they
        #: read 0 in every patch.
        self.dead_cells = self._used is not None

    # -- layouts ----------------------------------------------------------------------------

    def as_grid(self, x: Tensor) -> Tensor:
        """``x`` as ``(b, C, h, w)`` (``d = 1``) or ``(b, C, h, w, d)``, a view where possible.

        ``x`` is ``(b, C·h·w·d)`` channel-major, ``(b, C, h, w)`` when ``d = 1``, or
        ``(b, C, h, w, d)``.

        Raises
        ------
        ConfigError
            For any other shape.
        """
        h, w, d = self.grid
        shape = (self.channels, h, w) if d == 1 else (self.channels, h, w, d)
        if x.dim() == 2 and x.shape[1] == self.m:
            return x.reshape(x.shape[0], *shape)
        if tuple(x.shape[1:]) == shape or (d == 1 and tuple(x.shape[1:]) == (*shape, 1)):
            return x.reshape(x.shape[0], *shape)
        raise ConfigError(
            f"{self.label} input of shape {tuple(x.shape)} is not valid; expected (b, "
            f"{self.m}) (channel-major C·h·w·d = {self.channels}·{h}·{w}·{d}) or (b, "
            f"{', '.join(map(str, shape))})"
        )

    # -- the kernel and the convolution -----------------------------------------------------

    def kernel(self, weight: Tensor) -> Tensor:
        """The convolution kernel ``(n, C, *kernel_size)`` of a weight ``W ∈ R^{n × C·S}``.

        Column ``c·S + s`` of ``W`` (tinybig's order) weighs patch cell ``s`` of channel
        ``c``; cells that never read the grid are dropped, the box around a cylinder or a
        sphere is zero outside the patch.
        """
        n = weight.shape[0]
        cells = weight.reshape(n, self.channels, self.patch_size)
        if self._used is not None:
            cells = cells.index_select(2, self._used.to(weight.device))
        if self._positions is not None:
            box = cells.new_zeros(n, self.channels, math.prod(self.kernel_size))
            cells = box.index_copy(2, self._positions.to(weight.device), cells)
        return cells.reshape(n, self.channels, *self.kernel_size)

    def pad(self, grid: Tensor, value: float = 0.0) -> Tensor:
        """``grid`` (``(b, C, *spatial)``) zero-padded by the box's extent before it and by
        the cells the patches read after it; ``grid`` itself when no padding is read."""
        widths: list[int] = []
        for a in reversed(range(self.spatial_dims)):
            widths += [self.before[a], self.read_after[a]]
        return F.pad(grid, widths, value=value) if any(widths) else grid

    @property
    def symmetric(self) -> bool:
        """Whether the box extends as far before the centre as after it, on every axis."""
        return self.before == self.after

    def convolve(self, grid: Tensor, kernel: Tensor) -> Tensor:
        """Cross-correlate ``grid`` with ``kernel`` at the packed centres: ``(b, n, *out)``."""
        dims = self.spatial_dims
        stride = self.stride[:dims]
        conv = F.conv2d if dims == 2 else F.conv3d
        if self.symmetric:
            return conv(grid, kernel, stride=stride, padding=self.before)
        return conv(self.pad(grid), kernel, stride=stride)

    def gather(self, x: Tensor) -> Tensor:
        """The definition: every patch of ``x`` (``(b, m)``), tinybig's ``(b, P, C·S)``."""
        patches = self.interdependence(x.reshape(x.shape[0], self.m))
        return patches.reshape(x.shape[0], self.patch_num, self.channels * self.patch_size)

    def describe(self) -> str:
        """Grid, channels, patch and stride, for ``extra_repr``."""
        h, w, d = self.grid
        return (
            f"grid=({h}, {w}, {d}), channels={self.channels}, patch={self.patch_shape} "
            f"(S={self.patch_size}), stride={self.stride}, output_grid={self.output_grid}"
        )
