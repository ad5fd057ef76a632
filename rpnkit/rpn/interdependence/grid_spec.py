"""Reading a grid and a patch from tinybig-style arguments, for the geometric functions.

A grid is ``h, w, d, channel_num`` (or tinybig's ``koala.geometry.grid`` / ``grid_configs``);
a patch is a :class:`~rpnkit.rpn.expansion.patch.Patch` built by rpnkit's patch geometry from
tinybig's keywords, a tinybig ``cuboid`` / ``cylinder`` / ``sphere`` object, or
``patch_configs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rpnkit.checks import non_negative_int, positive_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion.patch import Patch, cuboid_patch, cylinder_patch, sphere_patch

__all__ = ["grid_from", "make_patch", "patch_from"]


def make_patch(shape: str, params: Mapping[str, Any], label: str) -> Patch:
    """Build a patch from tinybig's constructor keywords.

    Parameters
    ----------
    shape
        ``"cuboid"`` (``p_h``, ``p_w``, ``p_d``, ``p_h_prime``, ``p_w_prime``,
        ``p_d_prime``), ``"cylinder"`` (``p_r`` or ``r``, ``p_d``, ``p_d_prime``) or
        ``"sphere"`` (``p_r`` or ``r``).
    params
        The keywords; a missing ``p_d`` is 0 and a missing primed extent equals its unprimed one.
    label
        Name of the function, for error messages.

    Raises
    ------
    ConfigError
        For an unknown shape or a missing or negative extent.
    """

    def extent(key: str, default: int | None = None) -> int:
        value = params.get(key, default)
        if value is None:
            raise ConfigError(
                f"{label} {key}=None is not valid; expected an integer >= 0 (the patch extent)"
            )
        return non_negative_int(value, f"{label} {key}")

    def primed(key: str, unprimed: int) -> int:
        value = params.get(f"{key}_prime")
        return unprimed if value is None else non_negative_int(value, f"{label} {key}_prime")

    def radius() -> int:
        value = params.get("p_r", params.get("r"))
        if value is None:
            raise ConfigError(f"{label} r=None is not valid; expected an integer >= 0 (the radius)")
        return non_negative_int(value, f"{label} r")

    if shape == "cuboid":
        before = (extent("p_h"), extent("p_w"), extent("p_d", 0))
        after = (primed("p_h", before[0]), primed("p_w", before[1]), primed("p_d", before[2]))
        return cuboid_patch(before, after)
    if shape == "cylinder":
        depth = extent("p_d", 0)
        return cylinder_patch(radius(), depth, primed("p_d", depth))
    if shape == "sphere":
        return sphere_patch(radius())
    raise ConfigError(
        f"{label} patch shape {shape!r} is not valid; expected 'cuboid', 'cylinder' or 'sphere'"
    )


def patch_from(patch: object, patch_configs: object, label: str) -> Patch:
    """The patch from a :class:`Patch`, a tinybig patch object or ``patch_configs``."""
    if isinstance(patch, Patch):
        return patch
    if patch is not None:
        shape = type(patch).__name__
        keys = ("p_h", "p_w", "p_d", "p_h_prime", "p_w_prime", "p_d_prime", "p_r")
        params = {key: getattr(patch, key) for key in keys if hasattr(patch, key)}
        if shape not in ("cuboid", "cylinder", "sphere"):
            raise ConfigError(
                f"{label} patch={short_repr(patch)} is not valid; expected a cuboid, cylinder "
                "or sphere patch (tinybig.koala.geometry) or patch_configs"
            )
        return make_patch(shape, params, label)
    if isinstance(patch_configs, Mapping):
        target = patch_configs.get("patch_class")
        params = patch_configs.get("patch_parameters") or {}
        if isinstance(target, str) and isinstance(params, Mapping):
            return make_patch(target.rsplit(".", 1)[-1], params, label)
    raise ConfigError(
        f"{label}: patch={short_repr(patch)}, patch_configs={short_repr(patch_configs)}; "
        "expected a patch object or patch_configs {'patch_class': 'tinybig.koala.geometry."
        "cylinder', 'patch_parameters': {...}}"
    )


def grid_from(
    grid: object, grid_configs: object, h: object, w: object, d: object, channel_num: object,
    label: str,
) -> tuple[int, int, int, int]:  # fmt: skip
    """``(h, w, d, channel_num)`` from a grid object, ``grid_configs`` or the sizes."""
    if grid is not None:
        if isinstance(grid, Mapping):
            h, w = grid.get("h"), grid.get("w")
            d, channel_num = grid.get("d", 1), grid.get("universe_num", channel_num)
        elif all(hasattr(grid, key) for key in ("h", "w", "d")):
            h, w, d = grid.h, grid.w, grid.d  # type: ignore[attr-defined]
            channel_num = getattr(grid, "universe_num", channel_num)
        else:
            raise ConfigError(
                f"{label} grid={short_repr(grid)} is not valid; expected a grid structure "
                "(tinybig.koala.geometry.grid) or a mapping with h, w, d, universe_num"
            )
    elif isinstance(grid_configs, Mapping):
        params = grid_configs.get("grid_parameters") or {}
        h, w = params.get("h"), params.get("w")
        d, channel_num = params.get("d", 1), params.get("universe_num", channel_num)
    if h is None or w is None:
        raise ConfigError(
            f"{label}: the grid is not given (h={h!r}, w={w!r}); expected grid, grid_configs "
            "or h and w (integers >= 1)"
        )
    return (
        positive_int(h, f"{label} h"),
        positive_int(w, f"{label} w"),
        positive_int(d, f"{label} d"),
        positive_int(channel_num, f"{label} channel_num"),
    )
