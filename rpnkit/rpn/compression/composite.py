"""Compressions made of other transformations: extended (concatenation) and nested
(composition)."""

from __future__ import annotations

from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.expansion.composite import ExtendedExpansion, NestedExpansion

__all__ = ["ExtendedCompression", "NestedCompression"]


class ExtendedCompression(Compression, ExtendedExpansion):
    """Concatenation ``[κ_1(x), ..., κ_k(x)]`` (``D = Σ D_i(m)``), tinybig's
    ``extended_compression``.

    The parts are expansions or compressions (compressions are registered in the
    ``expansion`` group under their tinybig names, e.g. ``max_compression``), given as
    ``expansions`` or tinybig's ``composition_functions`` / ``composition_function_configs``;
    see :class:`~rpnkit.rpn.expansion.ExtendedExpansion`.
    """


class NestedCompression(Compression, NestedExpansion):
    """Composition ``κ_k(... κ_1(x))`` (``D = D_k(... D_1(m))``), tinybig's
    ``nested_compression``.

    The parts, innermost first, are given as for :class:`ExtendedCompression`; see
    :class:`~rpnkit.rpn.expansion.NestedExpansion`.
    """
