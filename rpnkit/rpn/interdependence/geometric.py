"""Geometric interdependence functions: patches (cuboid, cylinder, sphere) packed on a grid.

The attributes of an instance are an ``h × w × d`` grid with ``channel_num`` channels
("universes"), flattened channel-major with ``d`` fastest (attribute ``u·hwd + i·wd + j·d +
k`` is cell ``(i, j, k)`` of channel ``u``). Patch centres are packed every ``(cd_h, cd_w,
cd_d)`` cells from ``(0, 0, 0)`` (``P`` centres, ``i`` outermost); a patch is ``S`` offsets
around its centre. The patch shapes, their cell order and their packing strategies are
rpnkit's (:mod:`rpnkit.rpn.expansion.patch`), and the gather index is the geometric
expansion's (:class:`~rpnkit.rpn.expansion.geometric.GeometricExpansion`).

One channel's matrix (``calculate_A``, as tinybig's) is

* ``padding`` mode: ``A ∈ R^{hwd × P·S}``, column ``p·S + s`` is 1 at the cell
  ``centre_p + offset_s`` (all zero where that cell is off the grid) — a gather;
* ``aggregation`` mode: ``A ∈ R^{hwd × hwd}``, ``A[cell, centre_p] = 1`` for every on-grid
  cell of patch ``p`` — the sum over each patch, in the centre's column;

optionally degree normalised (``row``, ``column`` or ``row_column``). Every channel gets the
same matrix; the attribute-type output is laid out as tinybig's: ``(b, P, C, S)`` flattened
(padding) or ``(b, hwd, C)`` flattened (aggregation). Applying it never forms ``A``: a
gather of ``x`` (``F.unfold`` for a flat cuboid patch), scaled by the normalisation.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from rpnkit.checks import choice, positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion.geometric import GeometricExpansion
from rpnkit.rpn.expansion.patch import Patch
from rpnkit.rpn.interdependence.base import ATTRIBUTE, Interdependence
from rpnkit.rpn.interdependence.grid_spec import grid_from, patch_from

__all__ = ["AGGREGATION_DIVERGENCE", "MATRIX_MODES", "GeometricInterdependence"]

MATRIX_MODES: tuple[str, ...] = ("padding", "aggregation")
_NORMALIZATION_MODES = ("row", "column", "row_column")
_CYLINDER_DIVERGENCE = (
    "cylinder patches span depths −p_d..p_d' (tinybig's code: −p_d'..p_d'; equal when "
    "p_d' = p_d); aggregation with centre distances > 1 keeps m columns where tinybig fails"
)
AGGREGATION_DIVERGENCE = (
    "aggregation mode with centre distances > 1 keeps all m columns (zero off the centres) "
    "where tinybig's forward fails on a reshape"
)


class GeometricInterdependence(Interdependence):
    r"""Geometric interdependence over a grid of patches (see the module documentation).

    Parameters
    ----------
    grid, grid_configs
        The grid: tinybig's ``koala.geometry.grid`` (its ``h, w, d, universe_num``), a mapping
        of those, or ``{'grid_class': ..., 'grid_parameters': {...}}``; ``None`` uses
        ``h, w, d, channel_num``.
    h, w, d
        Grid height, width and depth, >= 1.
    channel_num
        Number of channels ("universes"), >= 1; each gets the same matrix.
    patch, patch_configs
        The patch: a :class:`~rpnkit.rpn.expansion.patch.Patch`, tinybig's
        ``koala.geometry`` ``cuboid`` / ``cylinder`` / ``sphere`` (its extents are read), or
        ``{'patch_class': 'tinybig.koala.geometry.cylinder', 'patch_parameters': {'p_r': 4}}``.
    packing_strategy
        A strategy of the patch shape (centre distances truncated to integers >= 1);
        default ``"densest_packing"`` (a centre on every cell).
    cd_h, cd_w, cd_d
        Centre distances, >= 1; when all three are given they replace the strategy's.
    interdependence_matrix_mode
        ``"padding"`` (gather, ``m' = C·P·S``) or ``"aggregation"`` (patch sums, ``m' = m``).
    normalization, normalization_mode
        Degree normalisation of ``A``: ``"row"``, ``"column"`` or ``"row_column"`` (tinybig's
        rows then columns by square roots of their sums).
    b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`. Attribute type (the
        default): ``m`` must be ``channel_num·h·w·d`` when given. Instance type mixes the
        ``b = h·w·d`` rows of a batch and needs ``channel_num = 1``.

    Differences from tinybig
    ------------------------
    A cylinder's depths are ``−p_d .. p_d'`` (tinybig's code uses ``−p_d' .. p_d'``; they
    agree when ``p_d' = p_d``, the default). In aggregation mode with centre distances above
    1 tinybig's forward fails on a reshape; here the output keeps all ``m`` columns (zero
    where no centre is), as its ``calculate_m_prime`` says. Unknown strategies and modes
    raise instead of falling back with a warning.
    """

    default_require_data: ClassVar[bool] = False
    default_interdependence_type: ClassVar[str] = ATTRIBUTE
    tinybig_divergence: ClassVar[str | None] = _CYLINDER_DIVERGENCE
    #: Name used in error messages.
    label: ClassVar[str] = "geometric"

    index: Tensor
    centres: Tensor
    weight: Tensor

    def __init__(
        self,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        grid: Any = None,
        grid_configs: Any = None,
        h: int | None = None,
        w: int | None = None,
        d: int = 1,
        channel_num: int = 1,
        patch: Any = None,
        patch_configs: Any = None,
        packing_strategy: str | None = "densest_packing",
        cd_h: int | None = None,
        cd_w: int | None = None,
        cd_d: int | None = None,
        interdependence_matrix_mode: str = "padding",
        normalization: bool = False,
        normalization_mode: str = "row_column",
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b, m=m, interdependence_type=interdependence_type, require_data=require_data,
            require_parameters=require_parameters, name=name, device=device,
        )  # fmt: skip
        label = self.label
        *sizes_, self.channel_num = grid_from(grid, grid_configs, h, w, d, channel_num, label)
        self.grid = (sizes_[0], sizes_[1], sizes_[2])
        shape = patch_from(patch, patch_configs, label)
        self.interdependence_matrix_mode = str(
            choice(
                interdependence_matrix_mode, MATRIX_MODES, f"{label} interdependence_matrix_mode"
            )
        )
        self.normalization = bool(normalization)
        self.normalization_mode = str(
            choice(normalization_mode, _NORMALIZATION_MODES, f"{label} normalization_mode")
        )
        strategy = "densest_packing" if packing_strategy is None else packing_strategy
        given = (cd_h, cd_w, cd_d)
        if all(v is not None for v in given):
            for key, value in zip(("cd_h", "cd_w", "cd_d"), given, strict=True):
                positive_int(value, f"{label} {key}")
        else:
            choice(strategy, tuple(shape.packings), f"{label} packing_strategy")
        self._check_sizes()
        h_, w_, d_ = self.grid
        gather = GeometricExpansion(
            shape, h=h_, w=w_, d=d_, packing_strategy=strategy, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d
        )
        self.centre_distances = gather.centre_distances
        self.patch_size = gather.patch_size
        self.patch_num = gather.patch_num
        ch, cw, cd = self.centre_distances
        centre = Patch([(0, 0, 0)], {})
        centres = GeometricExpansion(centre, h=h_, w=w_, d=d_, cd_h=ch, cd_w=cw, cd_d=cd).index
        index = gather.index.view(self.patch_size, self.patch_num).t().contiguous()
        self.register_buffer("index", index, persistent=False)
        self.register_buffer("centres", centres, persistent=False)
        self.register_buffer("weight", self._weights(index, centres), persistent=False)
        self.extents = self._flat_extents(shape) if self.grid[2] == 1 else None

    def _check_sizes(self) -> None:
        volume = math.prod(self.grid)
        h, w, d = self.grid
        if self.is_instance:
            if self.channel_num != 1:
                raise ConfigError(
                    f"{self.label} channel_num={self.channel_num} is not valid for instance "
                    "type; expected 1 (instance type mixes the b = h·w·d rows of one channel)"
                )
            if self.b is not None and self.b != volume:
                raise ConfigError(
                    f"{self.label} b={self.b} is not valid; expected h·w·d = {h}·{w}·{d} = "
                    f"{volume} for instance type"
                )
            self.b = volume
            return
        total = self.channel_num * volume
        if self.m is not None and self.m != total:
            raise ConfigError(
                f"{self.label} m={self.m} is not valid; expected channel_num·h·w·d = "
                f"{self.channel_num}·{h}·{w}·{d} = {total}"
            )
        self.m = total

    @staticmethod
    def _flat_extents(shape: Patch) -> tuple[int, int, int, int] | None:
        """``(p_h, p_h', p_w, p_w')`` if the patch is a flat full rectangle in cuboid order
        (what ``F.unfold`` gathers), else ``None``."""
        rows = [offset[0] for offset in shape.offsets]
        cols = [offset[1] for offset in shape.offsets]
        up, down, left, right = -min(rows), max(rows), -min(cols), max(cols)
        rectangle = [(i, j, 0) for i in range(-up, down + 1) for j in range(-left, right + 1)]
        return (up, down, left, right) if list(shape.offsets) == rectangle else None

    @property
    def cell_num(self) -> int:
        """Cells of one channel, ``h·w·d``."""
        return math.prod(self.grid)

    def _weights(self, index: Tensor, centres: Tensor) -> Tensor:
        """The value of every gathered cell ``(P, S)``: 1 (0 off the grid), normalised."""
        cells = self.cell_num
        on_grid = index < cells
        weight = on_grid.to(torch.float64)
        if not self.normalization:
            return weight.to(torch.get_default_dtype())
        rows = torch.bincount(index[on_grid], minlength=cells + 1).to(torch.float64)
        rows = torch.where(rows == 0, torch.ones_like(rows), rows)
        aggregation = self.interdependence_matrix_mode == "aggregation"

        def column_sums(values: Tensor) -> Tensor:
            # aggregation: a column is a centre (sum over its patch); padding: one cell each
            sums = values.sum(1, keepdim=True) if aggregation else values
            return torch.where(sums == 0, torch.ones_like(sums), sums)

        if self.normalization_mode == "row":
            weight = weight / rows[index]
        elif self.normalization_mode == "column":
            weight = weight / column_sums(weight)
        else:
            weight = weight / rows[index].sqrt()
            weight = weight / column_sums(weight).sqrt()
        return weight.to(torch.get_default_dtype())

    # -- sizes ------------------------------------------------------------------------------

    def get_patch_size(self) -> int:
        """Cells of one patch, ``S``."""
        return self.patch_size

    def get_patch_num(self, across_universe: bool = False) -> int:
        """Patch centres of one channel ``P`` (times ``channel_num`` across channels)."""
        return self.patch_num * (self.channel_num if across_universe else 1)

    def get_channel_num(self) -> int:
        """Number of channels."""
        return self.channel_num

    def _mixed(self, size: int | None) -> int | None:
        if self.interdependence_matrix_mode == "aggregation":
            return size
        return self.channel_num * self.patch_num * self.patch_size

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """``C·P·S`` (padding) or ``m`` (aggregation) for attribute type; ``m`` otherwise."""
        m = self.m if m is None else m
        return self._mixed(m) if self.is_attribute else m

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """``P·S`` (padding) or ``b`` (aggregation) for instance type; ``b`` otherwise."""
        b = self.b if b is None else b
        return self._mixed(b) if self.is_instance else b

    # -- the matrix and its application -----------------------------------------------------

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """One channel's dense matrix: ``hwd × P·S`` (padding) or ``hwd × hwd`` (aggregation)."""
        cells = self.cell_num
        if self.interdependence_matrix_mode == "padding":
            columns = torch.arange(self.index.numel(), device=self.index.device)
            matrix = self.weight.new_zeros(cells + 1, self.index.numel())
            matrix = matrix.index_put((self.index.flatten(), columns), self.weight.flatten())
        else:
            columns = self.centres.unsqueeze(1).expand_as(self.index)
            matrix = self.weight.new_zeros(cells + 1, cells)
            matrix = matrix.index_put((self.index, columns), self.weight, accumulate=True)
        return matrix[:cells]

    def gather(self, z: Tensor) -> Tensor:
        """Every patch cell of every row of ``z`` (``(N, hwd)``), weighted: ``(N, P, S)``."""
        if self.extents is not None:
            h, w, _ = self.grid
            up, down, left, right = self.extents
            image = F.pad(z.reshape(-1, 1, h, w), (left, right, up, down))
            cells = F.unfold(
                image, kernel_size=(up + down + 1, left + right + 1),
                stride=self.centre_distances[:2],
            )  # fmt: skip
            patches = cells.transpose(1, 2)
        else:
            patches = F.pad(z, (0, 1))[:, self.index]
        if self.normalization:
            patches = patches * self.weight.to(patches.dtype)
        return patches

    def _mix(self, z: Tensor) -> Tensor:
        """``z·A`` for rows ``z`` of one channel: ``(N, P·S)`` or ``(N, hwd)``."""
        patches = self.gather(z)
        if self.interdependence_matrix_mode == "padding":
            return patches.reshape(z.shape[0], -1)
        sums = patches.sum(-1)
        out = sums.new_zeros(z.shape[0], self.cell_num)
        return out.index_copy(1, self.centres, sums)

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """Return ``ξ(X)`` by gathering, in tinybig's layout (see the module documentation)."""
        data = self.check_x(kappa_x if kappa_x is not None else x)
        if self.is_instance:
            if data.shape[0] != self.cell_num:
                raise ConfigError(
                    f"{self.label}: data of shape {tuple(data.shape)} is not valid; expected "
                    f"{self.cell_num} rows (h·w·d) for instance type"
                )
            return self._mix(data.transpose(0, 1)).transpose(0, 1)
        if data.shape[1] != self.channel_num * self.cell_num:
            raise ConfigError(
                f"{self.label}: data of shape {tuple(data.shape)} is not valid; expected "
                f"{self.channel_num * self.cell_num} columns (channel_num·h·w·d)"
            )
        b, channels = data.shape[0], self.channel_num
        mixed = self._mix(data.reshape(b * channels, self.cell_num))
        if self.interdependence_matrix_mode == "padding":
            out = mixed.view(b, channels, self.patch_num, self.patch_size).permute(0, 2, 1, 3)
        else:
            out = mixed.view(b, channels, self.cell_num).permute(0, 2, 1)
        return out.reshape(b, -1)

    def extra_repr(self) -> str:
        """Grid, channels, patch, packing and mode."""
        h, w, d = self.grid
        return (
            f"{self.interdependence_type}, grid=({h}, {w}, {d}), channel_num={self.channel_num}, "
            f"patch_size={self.patch_size}, centre_distances={self.centre_distances}, "
            f"mode={self.interdependence_matrix_mode}"
        )
