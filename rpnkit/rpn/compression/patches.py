"""The geometric compressions of each patch shape (cuboid, cylinder, sphere), with a given
metric or with ``max``, ``min`` or ``mean`` fixed."""

from __future__ import annotations

from typing import ClassVar

from rpnkit.checks import non_negative_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.compression.geometric import GeometricCompression
from rpnkit.rpn.compression.reduction import Metric
from rpnkit.rpn.expansion.base import Processing
from rpnkit.rpn.expansion.patch import (
    Patch,
    cuboid_extents,
    cuboid_patch,
    cylinder_patch,
    depth_extents,
    sphere_patch,
)

__all__ = [
    "CuboidCompression",
    "CuboidMaxCompression",
    "CuboidMeanCompression",
    "CuboidMinCompression",
    "CylinderCompression",
    "CylinderMaxCompression",
    "CylinderMeanCompression",
    "CylinderMinCompression",
    "SphereCompression",
    "SphereMaxCompression",
    "SphereMeanCompression",
    "SphereMinCompression",
]

_CYLINDER_DEPTH = (
    "cylinder depths run from -p_d to p_d_prime (tinybig: -p_d_prime to p_d_prime) when they differ"
)


class _PatchCompression(GeometricCompression):
    """Shared construction of the patch-shaped compressions: the grid keywords and the metric,
    fixed by the class (``_fixed_metric``) for the max / min / mean variants."""

    _fixed_metric: ClassVar[str | None] = None

    def _build(
        self,
        metric: Metric | None,
        patch: Patch,
        h: int,
        w: int,
        d: int,
        channel_num: int,
        packing_strategy: str | None,
        centre_distances: tuple[int | None, int | None, int | None],
        preprocess: Processing,
        postprocess: Processing,
    ) -> None:
        fixed = self._fixed_metric
        if fixed is not None and metric is not None and metric != fixed:
            raise ConfigError(
                f"{self._label} metric={metric!r} is not valid; this class fixes metric "
                f"{fixed!r} (leave metric out, or use the patch-based class)"
            )
        chosen = fixed if fixed is not None else metric
        if chosen is None:
            raise ConfigError(
                f"{self._label} metric is missing; expected a name (max, min, mean, ...) or a "
                "callable"
            )
        cd_h, cd_w, cd_d = centre_distances
        GeometricCompression.__init__(
            self, chosen, patch, h=h, w=w, d=d, channel_num=channel_num,
            packing_strategy=packing_strategy, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip


class CuboidCompression(_PatchCompression):
    """Pooling over cuboid patches, tinybig's ``cuboid_patch_based_geometric_compression``.

    A patch holds the offsets ``-p_h..p_h'``, ``-p_w..p_w'``, ``-p_d..p_d'`` around its centre.
    With the metric ``max`` (``mean``) this is ``F.max_pool3d`` (``F.avg_pool3d``) of the
    zero-padded grid with stride ``(cd_h, cd_w, cd_d)``, and that is how it is computed.

    Parameters
    ----------
    metric
        See :class:`~rpnkit.rpn.compression.geometric.GeometricCompression`; required here,
        fixed (and best left out) in the max / min / mean classes.
    p_h, p_w
        Patch extent before the centre along height and width, integers >= 0 (required).
    p_d
        Extent before the centre along the depth, >= 0.
    p_h_prime, p_w_prime, p_d_prime
        Extent after the centre, >= 0; ``None`` is the same as before it.
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`~rpnkit.rpn.compression.geometric.GeometricCompression`; the packing
        strategies are ``sparse_square``, ``complete_square``, ``dense_square`` and
        ``densest_packing``.
    """

    _label = "cuboid compression"

    def __init__(
        self,
        metric: Metric | None = None,
        p_h: int | None = None,
        p_w: int | None = None,
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
        lo, hi = cuboid_extents(p_h, p_w, p_d, p_h_prime, p_w_prime, p_d_prime, self._label)
        self._build(
            metric, cuboid_patch(lo, hi), h, w, d, channel_num, packing_strategy,
            (cd_h, cd_w, cd_d), preprocess, postprocess,
        )  # fmt: skip
        self._pool_window = (lo, hi)


class CylinderCompression(_PatchCompression):
    """Pooling over cylinder patches, tinybig's ``cylinder_patch_based_geometric_compression``.

    A patch is the disc ``i² + j² <= p_r²`` times the depths ``-p_d..p_d'``.

    Parameters
    ----------
    metric
        As for :class:`CuboidCompression`.
    p_r
        Disc radius, an integer >= 0 (required).
    p_d
        Depth extent before the centre, >= 0.
    p_d_prime
        Depth extent after the centre, >= 0; ``None`` is ``p_d``.
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`~rpnkit.rpn.compression.geometric.GeometricCompression`; the packing
        strategies are the cylinder's (:func:`~rpnkit.rpn.expansion.patch.cylinder_patch`).

    Differences from tinybig
    ------------------------
    tinybig's cylinder takes its depths from ``-p_d'`` to ``p_d'``, which contradicts its own
    depth ``p_d + p_d' + 1`` when ``p_d' != p_d``; this class uses ``-p_d..p_d'``.
    """

    _label = "cylinder compression"
    tinybig_divergence: ClassVar[str | None] = _CYLINDER_DEPTH

    def __init__(
        self,
        metric: Metric | None = None,
        p_r: int | None = None,
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
        r = non_negative_int(p_r, f"{self._label} p_r")
        before, after = depth_extents(p_d, p_d_prime, self._label)
        self._build(
            metric, cylinder_patch(r, before, after), h, w, d, channel_num, packing_strategy,
            (cd_h, cd_w, cd_d), preprocess, postprocess,
        )  # fmt: skip


class SphereCompression(_PatchCompression):
    """Pooling over sphere patches ``i² + j² + k² <= p_r²``, tinybig's
    ``sphere_patch_based_geometric_compression``.

    Parameters
    ----------
    metric
        As for :class:`CuboidCompression`.
    p_r
        Sphere radius, an integer >= 0 (required).
    h, w, d, channel_num, packing_strategy, cd_h, cd_w, cd_d, preprocess, postprocess
        See :class:`~rpnkit.rpn.compression.geometric.GeometricCompression`; the packing
        strategies are the sphere's (:func:`~rpnkit.rpn.expansion.patch.sphere_patch`).
    """

    _label = "sphere compression"

    def __init__(
        self,
        metric: Metric | None = None,
        p_r: int | None = None,
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
        r = non_negative_int(p_r, f"{self._label} p_r")
        self._build(
            metric, sphere_patch(r), h, w, d, channel_num, packing_strategy,
            (cd_h, cd_w, cd_d), preprocess, postprocess,
        )  # fmt: skip


class CuboidMaxCompression(CuboidCompression):
    """Max pooling over cuboid patches (off-grid cells count as zeros), tinybig's
    ``cuboid_max_based_geometric_compression``."""

    _label = "cuboid max compression"
    _fixed_metric = "max"


class CuboidMinCompression(CuboidCompression):
    """Min pooling over cuboid patches, tinybig's ``cuboid_min_based_geometric_compression``."""

    _label = "cuboid min compression"
    _fixed_metric = "min"


class CuboidMeanCompression(CuboidCompression):
    """Mean pooling over cuboid patches (off-grid cells count as zeros), tinybig's
    ``cuboid_mean_based_geometric_compression``."""

    _label = "cuboid mean compression"
    _fixed_metric = "mean"


class CylinderMaxCompression(CylinderCompression):
    """Max pooling over cylinder patches, tinybig's ``cylinder_max_based_geometric_compression``."""

    _label = "cylinder max compression"
    _fixed_metric = "max"


class CylinderMinCompression(CylinderCompression):
    """Min pooling over cylinder patches, tinybig's ``cylinder_min_based_geometric_compression``."""

    _label = "cylinder min compression"
    _fixed_metric = "min"


class CylinderMeanCompression(CylinderCompression):
    """Mean pooling over cylinder patches, tinybig's
    ``cylinder_mean_based_geometric_compression``."""

    _label = "cylinder mean compression"
    _fixed_metric = "mean"


class SphereMaxCompression(SphereCompression):
    """Max pooling over sphere patches, tinybig's ``sphere_max_based_geometric_compression``."""

    _label = "sphere max compression"
    _fixed_metric = "max"


class SphereMinCompression(SphereCompression):
    """Min pooling over sphere patches, tinybig's ``sphere_min_based_geometric_compression``."""

    _label = "sphere min compression"
    _fixed_metric = "min"


class SphereMeanCompression(SphereCompression):
    """Mean pooling over sphere patches, tinybig's ``sphere_mean_based_geometric_compression``."""

    _label = "sphere mean compression"
    _fixed_metric = "mean"
