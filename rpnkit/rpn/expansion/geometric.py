"""Patch-based geometric expansions: cuboid, cylinder and sphere patches packed on a grid.

The input is an ``h × w × d`` grid with ``channel_num`` channels, flattened channel-major
with ``d`` fastest: feature ``u·hwd + i·wd + j·d + k`` is cell ``(i, j, k)`` of channel ``u``
(``m = channel_num · h w d``). Patch centres are packed on the grid every ``(cd_h, cd_w,
cd_d)`` cells from ``(0, 0, 0)``, ``P`` centres in all (``i`` outermost). A patch is a fixed
list of ``S`` integer offsets around its centre; the expansion lists, for every channel ``u``,
patch cell ``s`` and centre ``p``, the value of the cell ``centre_p + offset_s``, or 0 where
that cell is off the grid. The output index is ``(u S + s) P + p`` (``D = channel_num · S P``),
which is tinybig's layout.

The expansion is a fixed gather from ``x`` (plus a zero), built once at construction. Its
:meth:`~GeometricExpansion.project` scatters the weight's ``D`` columns back onto the ``m``
features and multiplies ``x`` by that, never forming the ``b × D`` expansion.
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from rpnkit.checks import non_negative_int, positive_int
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.expansion.base import Expansion, Processing
from rpnkit.rpn.expansion.patch import (
    Patch,
    cuboid_extents,
    cuboid_patch,
    cylinder_patch,
    depth_extents,
    sphere_patch,
)

__all__ = [
    "CuboidExpansion",
    "CylinderExpansion",
    "GeometricExpansion",
    "SphereExpansion",
]


class GeometricExpansion(Expansion):
    """Base class of the patch-based geometric expansions (see the module documentation).

    Subclasses give the patch (:mod:`rpnkit.rpn.expansion.patch`).

    Parameters
    ----------
    patch
        The patch cells relative to its centre, in output order, and the packing strategies
        of its shape.
    h, w, d
        Grid height, width and depth, >= 1.
    channel_num
        Number of channels, >= 1.
    packing_strategy
        A name from ``packings``; ``None`` is ``"densest_packing"`` (a centre on every cell).
    cd_h, cd_w, cd_d
        Centre distances, >= 1; when all three are given they replace the strategy's.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    index: Tensor
    #: Name used in error messages.
    _label = "geometric"

    def __init__(
        self,
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
        label = f"{self._label} expansion"
        self.grid = (
            positive_int(h, f"{label} h"),
            positive_int(w, f"{label} w"),
            positive_int(d, f"{label} d"),
        )
        self.channel_num = positive_int(channel_num, f"{label} channel_num")
        self.packing_strategy = packing_strategy
        self.centre_distances = self._centre_distances(
            patch.packings, packing_strategy, cd_h, cd_w, cd_d
        )
        self.patch_size = len(patch.offsets)
        self.register_buffer("index", self._gather_index(patch.offsets), persistent=False)

    def _centre_distances(
        self,
        packings: dict[str, tuple[float, float, float]],
        strategy: str | None,
        cd_h: int | None,
        cd_w: int | None,
        cd_d: int | None,
    ) -> tuple[int, int, int]:
        label = f"{self._label} expansion"
        given = {"cd_h": cd_h, "cd_w": cd_w, "cd_d": cd_d}
        if all(v is not None for v in given.values()):
            ch, cw, cd = (positive_int(v, f"{label} {k}") for k, v in given.items())
            return ch, cw, cd
        if any(v is not None for v in given.values()):
            missing = ", ".join(k for k, v in given.items() if v is None)
            raise ConfigError(
                f"{label}: centre distances are given only in part ({missing} missing); "
                "give all of cd_h, cd_w, cd_d or none"
            )
        name = "densest_packing" if strategy is None else strategy
        if not isinstance(name, str) or name not in packings:
            raise ConfigError(
                f"{label} packing_strategy={strategy!r} is unknown"
                f"{did_you_mean(str(strategy), packings)}; expected one of {', '.join(packings)}"
            )
        h, w, d = (max(int(v), 1) for v in packings[name])
        return h, w, d

    @property
    def patch_num(self) -> int:
        """Number of patch centres ``P`` on one channel."""
        return math.prod(
            len(range(0, size, step))
            for size, step in zip(self.grid, self.centre_distances, strict=True)
        )

    @property
    def m(self) -> int:
        """The input size this grid needs: ``channel_num · h w d``."""
        return self.channel_num * math.prod(self.grid)

    def _gather_index(self, offsets: list[tuple[int, int, int]]) -> Tensor:
        """The input feature of every output column; ``m`` stands for a zero (off the grid)."""
        axes = [
            torch.arange(0, size, step)
            for size, step in zip(self.grid, self.centre_distances, strict=True)
        ]
        centres = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, 3)
        cells = centres.unsqueeze(0) + torch.tensor(offsets, dtype=torch.long).reshape(-1, 1, 3)
        size = torch.tensor(self.grid)
        on_grid = ((cells >= 0) & (cells < size)).all(-1)  # (S, P)
        h, w, d = self.grid
        feature = cells[..., 0] * (w * d) + cells[..., 1] * d + cells[..., 2]
        channel = torch.arange(self.channel_num).reshape(-1, 1, 1) * (h * w * d)
        index = torch.where(on_grid, feature + channel, self.m)  # (channel, S, P)
        return index.flatten()

    def _check_m(self, m: int) -> int:
        if m != self.m:
            h, w, d = self.grid
            raise ConfigError(
                f"{self._label} expansion: m={m} does not match the grid; expected "
                f"channel_num·h·w·d = {self.channel_num}·{h}·{w}·{d} = {self.m}"
            )
        return m

    def calculate_D(self, m: int) -> int:
        """Return ``channel_num · S · P``; ``m`` must be ``channel_num · h w d``."""
        self._check_m(positive_int(m, "m"))
        return self.channel_num * self.patch_size * self.patch_num

    def expand(self, x: Tensor) -> Tensor:
        """Return every patch cell's value (0 off the grid), in tinybig's order."""
        self._check_m(x.shape[-1])
        return F.pad(x, (0, 1))[..., self.index]

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` as ``x @ Vᵀ`` with ``V`` the weight summed per feature."""
        if len(self.postprocess):
            return super().project(x, weight)
        x = self.preprocess(x)
        m = self._check_m(x.shape[-1])
        folded = weight.new_zeros(*weight.shape[:-1], m + 1).index_add(-1, self.index, weight)
        return torch.matmul(x, folded[..., :m].transpose(-1, -2))

    def extra_repr(self) -> str:
        """Grid, channels, patch size and centre distances."""
        h, w, d = self.grid
        return (
            f"grid=({h}, {w}, {d}), channel_num={self.channel_num}, "
            f"patch_size={self.patch_size}, centre_distances={self.centre_distances}"
        )


class CuboidExpansion(GeometricExpansion):
    """Cuboid patches: offsets ``(i, j, k)`` with ``-p_h <= i <= p_h'``, ``-p_w <= j <= p_w'``,
    ``-p_d <= k <= p_d'`` (``S = (p_h + p_h' + 1)(p_w + p_w' + 1)(p_d + p_d' + 1)``).

    Packing strategies: ``sparse_square`` (centre distances ``3 p``), ``complete_square``
    (``2 p``), ``dense_square`` (``p``) and ``densest_packing`` (1), per axis.

    Parameters
    ----------
    p_h, p_w, p_d
        Patch extent before the centre along each axis, >= 0.
    p_h_prime, p_w_prime, p_d_prime
        Extent after the centre, >= 0; ``None`` is the same as before it.
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`GeometricExpansion`.
    """

    _label = "cuboid"

    def __init__(
        self,
        p_h: int,
        p_w: int,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
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
        lo, hi = cuboid_extents(p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, "cuboid expansion")
        super().__init__(
            cuboid_patch(lo, hi), h=h, w=w, d=d, channel_num=channel_num,
            packing_strategy=packing_strategy, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip
        self.extent = (lo, hi)


class CylinderExpansion(GeometricExpansion):
    """Cylinder patches: a disc ``i² + j² <= p_r²`` times the depths ``-p_d <= k <= p_d'``.

    tinybig's cylinder takes its depths from ``-p_d'`` to ``p_d'``, which differs from its own
    ``depth() = p_d + p_d' + 1`` when ``p_d' != p_d``; this one uses ``-p_d .. p_d'``.
    Packing strategies: see :func:`~rpnkit.rpn.expansion.patch.cylinder_patch`.

    Parameters
    ----------
    p_r
        Disc radius, >= 0.
    p_d
        Depth extent before the centre, >= 0.
    p_d_prime
        Depth extent after the centre, >= 0; ``None`` is ``p_d``.
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`GeometricExpansion`.
    """

    #: One line on how rpnkit's numbers differ from tinybig 0.2.1.
    tinybig_divergence: ClassVar[str | None] = (
        "cylinder patches span depths −p_d..p_d' (tinybig 0.2.1's code: −p_d'..p_d'; equal when p_d' = p_d)"
    )

    _label = "cylinder"

    def __init__(
        self,
        p_r: int,
        p_d: int = 0,
        p_d_prime: int | None = None,
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
        r = non_negative_int(p_r, "cylinder expansion p_r")
        before, after = depth_extents(p_d, p_d_prime, "cylinder expansion")
        super().__init__(
            cylinder_patch(r, before, after), h=h, w=w, d=d, channel_num=channel_num,
            packing_strategy=packing_strategy, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip
        self.p_r, self.p_d, self.p_d_prime = r, before, after


class SphereExpansion(GeometricExpansion):
    """Sphere patches: the cells ``i² + j² + k² <= p_r²`` (``i`` outermost, ``k`` fastest).

    Packing strategies: see :func:`~rpnkit.rpn.expansion.patch.sphere_patch`.

    Parameters
    ----------
    p_r
        Sphere radius, >= 0.
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`GeometricExpansion`.
    """

    _label = "sphere"

    def __init__(
        self,
        p_r: int,
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
        r = non_negative_int(p_r, "sphere expansion p_r")
        super().__init__(
            sphere_patch(r), h=h, w=w, d=d, channel_num=channel_num,
            packing_strategy=packing_strategy, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip
        self.p_r = r
