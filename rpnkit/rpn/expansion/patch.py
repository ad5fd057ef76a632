"""Patch shapes of the geometric expansions: their cells and their packing strategies.

A patch is a fixed list of integer offsets ``(i, j, k)`` around its centre (height, width,
depth), in the order the expansion lists them, together with the packing strategies of its
shape: named centre distances ``(cd_h, cd_w, cd_d)``, truncated to integers >= 1 when used.
The shapes, orders and distances are tinybig's (``tinybig.koala.geometry``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

from rpnkit.checks import non_negative_int

__all__ = [
    "Patch",
    "cuboid_extents",
    "cuboid_patch",
    "cylinder_patch",
    "depth_extents",
    "sphere_patch",
]

#: A cuboid's extents before (or after) its centre along height, width and depth.
Extents = tuple[int, int, int]


class Patch(NamedTuple):
    """The cells of a patch and the packing strategies of its shape."""

    offsets: list[tuple[int, int, int]]
    packings: dict[str, tuple[float, float, float]]


def cuboid_extents(
    p_h: object,
    p_w: object,
    p_d: object,
    p_h_prime: object,
    p_w_prime: object,
    p_d_prime: object,
    label: str,
) -> tuple[Extents, Extents]:
    """``(before, after)`` for :func:`cuboid_patch` from tinybig's cuboid keywords.

    Each extent is an integer >= 0; a primed extent that is ``None`` is its unprimed one.
    ``label`` starts the error messages (``"{label} p_h"``).
    """
    before = (
        non_negative_int(p_h, f"{label} p_h"),
        non_negative_int(p_w, f"{label} p_w"),
        non_negative_int(p_d, f"{label} p_d"),
    )
    primes = (("p_h_prime", p_h_prime), ("p_w_prime", p_w_prime), ("p_d_prime", p_d_prime))
    after = [
        before[i] if value is None else non_negative_int(value, f"{label} {field}")
        for i, (field, value) in enumerate(primes)
    ]
    return before, (after[0], after[1], after[2])


def depth_extents(p_d: object, p_d_prime: object, label: str) -> tuple[int, int]:
    """A cylinder's depths ``(before, after)`` for :func:`cylinder_patch`, each >= 0.

    ``p_d_prime=None`` is ``p_d``; ``label`` starts the error messages.
    """
    before = non_negative_int(p_d, f"{label} p_d")
    after = before if p_d_prime is None else p_d_prime
    return before, non_negative_int(after, f"{label} p_d_prime")


def cuboid_patch(before: tuple[int, int, int], after: tuple[int, int, int]) -> Patch:
    """The cells ``-before[a] <= offset[a] <= after[a]`` on every axis ``a``, ``i`` outermost.

    Strategies: ``sparse_square`` (``3 before``), ``complete_square`` (``2 before``),
    ``dense_square`` (``before``) and ``densest_packing`` (1, 1, 1).
    """
    offsets = [
        (i, j, k)
        for i in range(-before[0], after[0] + 1)
        for j in range(-before[1], after[1] + 1)
        for k in range(-before[2], after[2] + 1)
    ]
    ph, pw, pd = before
    packings: dict[str, tuple[float, float, float]] = {
        "sparse_square": (3 * ph, 3 * pw, 3 * pd),
        "complete_square": (2 * ph, 2 * pw, 2 * pd),
        "dense_square": (ph, pw, pd),
        "densest_packing": (1, 1, 1),
    }
    return Patch(offsets, packings)


def _disc(r: int) -> list[tuple[int, int]]:
    """The cells ``(i, j)`` with ``i² + j² <= r²``, ``i`` outermost."""
    cells: list[tuple[int, int]] = []
    for i in range(-r, r + 1):
        half = math.isqrt(r * r - i * i)
        cells.extend((i, j) for j in range(-half, half + 1))
    return cells


def cylinder_patch(r: int, before: int, after: int) -> Patch:
    """The disc ``i² + j² <= r²`` times the depths ``-before <= k <= after``.

    Strategies: ``sparse_square`` (``2r, 2r, 2p_d``), ``complete_square``
    (``√2 r, √2 r, 2p_d``), ``sparse_hexagonal`` (``√3 r, 2r, 2p_d``), ``complete_hexagonal``
    (``1.5r, √3 r, 2p_d``), ``dense_hexagonal`` (``√6 r/2, √2 r, p_d``),
    ``denser_hexagonal`` (``√3 r/2, r, p_d``) and ``densest_packing`` (1, 1, 1), with
    ``p_d = before``.
    """
    offsets = [(i, j, k) for i, j in _disc(r) for k in range(-before, after + 1)]
    root2, root3, pd = math.sqrt(2) * r, math.sqrt(3) * r, before
    packings: dict[str, tuple[float, float, float]] = {
        "sparse_square": (2 * r, 2 * r, 2 * pd),
        "complete_square": (root2, root2, 2 * pd),
        "sparse_hexagonal": (root3, 2 * r, 2 * pd),
        "complete_hexagonal": (1.5 * r, root3, 2 * pd),
        "dense_hexagonal": (0.5 * math.sqrt(6) * r, root2, pd),
        "denser_hexagonal": (0.5 * root3, r, pd),
        "densest_packing": (1, 1, 1),
    }
    return Patch(offsets, packings)


def sphere_patch(r: int) -> Patch:
    """The cells ``i² + j² + k² <= r²``, ``i`` outermost and ``k`` fastest.

    Strategies (``c = 0.6667``, tinybig's rounding of 2/3): ``sparse_simple_cubic`` (``2r``
    each), ``complete_simple_cubic`` (``c√3 r`` each), ``dense_simple_cubic`` (``r``),
    ``sparse_face_centered_cubic`` (``2r, √3 r, c√6 r``), ``complete_face_centered_cubic``
    (``√2 r, c√6 r, 1.3333 r``), ``dense_face_centered_cubic`` (``r``), ``sparse_hexagonal``
    (``2r, 2r, √6 r``), ``complete_hexagonal`` (``c√3 r, c√3 r, r``), ``dense_hexagonal``
    (``r``) and ``densest_packing`` (1).
    """
    offsets: list[tuple[int, int, int]] = []
    for i, j in _disc(r):
        half = math.isqrt(r * r - i * i - j * j)
        offsets.extend((i, j, k) for k in range(-half, half + 1))
    third, face = 0.6667 * math.sqrt(3) * r, 0.6667 * math.sqrt(6) * r
    packings: dict[str, tuple[float, float, float]] = {
        "sparse_simple_cubic": (2 * r, 2 * r, 2 * r),
        "complete_simple_cubic": (third, third, third),
        "dense_simple_cubic": (r, r, r),
        "sparse_face_centered_cubic": (2 * r, math.sqrt(3) * r, face),
        "complete_face_centered_cubic": (math.sqrt(2) * r, face, 1.3333 * r),
        "dense_face_centered_cubic": (r, r, r),
        "sparse_hexagonal": (2 * r, 2 * r, math.sqrt(6) * r),
        "complete_hexagonal": (third, third, r),
        "dense_hexagonal": (r, r, r),
        "densest_packing": (1, 1, 1),
    }
    return Patch(offsets, packings)
