"""Geometric interdependence with a fixed patch shape: cuboid, cylinder and sphere patches,
each also with its matrix mode fixed (``_padding_`` and ``_aggregation_`` variants).

Everything but the patch is :class:`~rpnkit.rpn.interdependence.geometric.GeometricInterdependence`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.geometric import AGGREGATION_DIVERGENCE, GeometricInterdependence
from rpnkit.rpn.interdependence.grid_spec import make_patch

__all__ = [
    "CuboidPatchAggregationBasedGeometricInterdependence",
    "CuboidPatchBasedGeometricInterdependence",
    "CuboidPatchPaddingBasedGeometricInterdependence",
    "CylinderPatchAggregationBasedGeometricInterdependence",
    "CylinderPatchBasedGeometricInterdependence",
    "CylinderPatchPaddingBasedGeometricInterdependence",
    "SpherePatchAggregationBasedGeometricInterdependence",
    "SpherePatchBasedGeometricInterdependence",
    "SpherePatchPaddingBasedGeometricInterdependence",
]


class _FixedMode:
    """Mixin for the ``_padding_`` / ``_aggregation_`` variants: the matrix mode is fixed."""

    fixed_mode: ClassVar[str]

    @classmethod
    def _mode(cls, kwargs: dict[str, Any], label: str) -> dict[str, Any]:
        given = kwargs.pop("interdependence_matrix_mode", cls.fixed_mode)
        if given != cls.fixed_mode:
            raise ConfigError(
                f"{label} interdependence_matrix_mode={given!r} is not valid for this variant; "
                f"expected {cls.fixed_mode!r} (or the variant without a fixed mode)"
            )
        return {**kwargs, "interdependence_matrix_mode": cls.fixed_mode}


class CuboidPatchBasedGeometricInterdependence(GeometricInterdependence):
    r"""Geometric interdependence with cuboid patches ``[−p_h, p_h'] × [−p_w, p_w'] × [−p_d, p_d']``.

    Packing strategies ``sparse_square`` (centre distances ``3p``), ``complete_square``
    (``2p``), ``dense_square`` (``p``), ``densest_packing`` (1). With ``d = 1`` and no depth
    extent, the gather is ``F.unfold`` with stride ``(cd_h, cd_w)``.

    Parameters
    ----------
    p_h, p_w, p_d
        Extents before the centre, >= 0 (``p_d`` default 0).
    p_h_prime, p_w_prime, p_d_prime
        Extents after it; ``None`` is the unprimed one.
    **kwargs
        As for :class:`GeometricInterdependence` (grid, packing, mode, normalisation, ...).
    """

    label: ClassVar[str] = "cuboid_patch_based_geometric"
    tinybig_divergence: ClassVar[str | None] = AGGREGATION_DIVERGENCE

    def __init__(
        self,
        p_h: int | None = None,
        p_w: int | None = None,
        p_d: int = 0,
        p_h_prime: int | None = None,
        p_w_prime: int | None = None,
        p_d_prime: int | None = None,
        **kwargs: Any,
    ) -> None:
        params = {"p_h": p_h, "p_w": p_w, "p_d": p_d, "p_h_prime": p_h_prime,
                  "p_w_prime": p_w_prime, "p_d_prime": p_d_prime}  # fmt: skip
        kwargs.pop("patch", None)
        kwargs.pop("patch_configs", None)
        super().__init__(patch=make_patch("cuboid", params, self.label), **kwargs)


class CylinderPatchBasedGeometricInterdependence(GeometricInterdependence):
    r"""Geometric interdependence with cylinder patches: the disc ``i² + j² <= r²`` times the
    depths ``−p_d .. p_d'``.

    Packing strategies: see :func:`~rpnkit.rpn.expansion.patch.cylinder_patch`.

    Differences from tinybig
    ------------------------
    tinybig 0.2.1's cylinder classes pass ``r=`` to a patch constructor that takes ``p_r`` and
    fail on every call; the numbers are those of tinybig's ``geometric_interdependence`` with
    a cylinder patch, except the depths: ``−p_d .. p_d'`` (the documented formula) where
    tinybig's patch uses ``−p_d' .. p_d'`` (equal when ``p_d' = p_d``, the default).

    Parameters
    ----------
    r
        Disc radius, >= 0 (``p_r`` is accepted too).
    p_d, p_d_prime
        Depth extents before and after the centre, >= 0 (``p_d`` default 0, ``p_d_prime``
        default ``p_d``).
    **kwargs
        As for :class:`GeometricInterdependence`.
    """

    label: ClassVar[str] = "cylinder_patch_based_geometric"
    tinybig_divergence: ClassVar[str | None] = (
        "tinybig 0.2.1's cylinder patch classes fail (r= passed as p_r); numbers as its "
        "geometric_interdependence's with a cylinder, depths −p_d..p_d' (tinybig: −p_d'..p_d')"
    )

    def __init__(
        self,
        r: int | None = None,
        p_d: int = 0,
        p_d_prime: int | None = None,
        *,
        p_r: int | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("patch", None)
        kwargs.pop("patch_configs", None)
        params = {"r": r if p_r is None else p_r, "p_d": p_d, "p_d_prime": p_d_prime}
        super().__init__(patch=make_patch("cylinder", params, self.label), **kwargs)


class SpherePatchBasedGeometricInterdependence(GeometricInterdependence):
    r"""Geometric interdependence with sphere patches ``i² + j² + k² <= r²``.

    Packing strategies: see :func:`~rpnkit.rpn.expansion.patch.sphere_patch`.

    Differences from tinybig
    ------------------------
    tinybig 0.2.1's sphere classes pass ``r=`` to a patch constructor that takes ``p_r`` and
    fail on every call; the numbers are those of tinybig's ``geometric_interdependence`` with
    a sphere patch.

    Parameters
    ----------
    r
        Radius, >= 0 (``p_r`` is accepted too).
    **kwargs
        As for :class:`GeometricInterdependence`.
    """

    label: ClassVar[str] = "sphere_patch_based_geometric"
    tinybig_divergence: ClassVar[str | None] = (
        "tinybig 0.2.1's sphere patch classes fail (r= passed as p_r); numbers are its "
        "geometric_interdependence's with a sphere patch"
    )

    def __init__(self, r: int | None = None, *, p_r: int | None = None, **kwargs: Any) -> None:
        kwargs.pop("patch", None)
        kwargs.pop("patch_configs", None)
        shape = make_patch("sphere", {"r": r if p_r is None else p_r}, self.label)
        super().__init__(patch=shape, **kwargs)


class CuboidPatchPaddingBasedGeometricInterdependence(
    _FixedMode, CuboidPatchBasedGeometricInterdependence
):
    """:class:`CuboidPatchBasedGeometricInterdependence` in padding mode (a gather)."""

    fixed_mode: ClassVar[str] = "padding"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))


class CuboidPatchAggregationBasedGeometricInterdependence(
    _FixedMode, CuboidPatchBasedGeometricInterdependence
):
    """:class:`CuboidPatchBasedGeometricInterdependence` in aggregation mode (patch sums)."""

    fixed_mode: ClassVar[str] = "aggregation"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))


class CylinderPatchPaddingBasedGeometricInterdependence(
    _FixedMode, CylinderPatchBasedGeometricInterdependence
):
    """:class:`CylinderPatchBasedGeometricInterdependence` in padding mode (a gather)."""

    fixed_mode: ClassVar[str] = "padding"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))


class CylinderPatchAggregationBasedGeometricInterdependence(
    _FixedMode, CylinderPatchBasedGeometricInterdependence
):
    """:class:`CylinderPatchBasedGeometricInterdependence` in aggregation mode (patch sums)."""

    fixed_mode: ClassVar[str] = "aggregation"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))


class SpherePatchPaddingBasedGeometricInterdependence(
    _FixedMode, SpherePatchBasedGeometricInterdependence
):
    """:class:`SpherePatchBasedGeometricInterdependence` in padding mode (a gather)."""

    fixed_mode: ClassVar[str] = "padding"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))


class SpherePatchAggregationBasedGeometricInterdependence(
    _FixedMode, SpherePatchBasedGeometricInterdependence
):
    """:class:`SpherePatchBasedGeometricInterdependence` in aggregation mode (patch sums)."""

    fixed_mode: ClassVar[str] = "aggregation"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **self._mode(kwargs, self.label))
