"""Polynomial sequences given by a three-term recurrence: the shared base class, and the
Bessel, reverse Bessel, Fibonacci and Lucas polynomials.

The orthogonal families (:mod:`rpnkit.rpn.expansion.orthogonal`) use the same base class.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing


class RecursivePolynomialExpansion(Expansion):
    """Base class of feature-major polynomial expansions of degrees ``1..d`` (``D = m d``).

    The polynomials ``P_0, P_1, ...`` follow a three-term recurrence: subclasses give
    :meth:`zeroth` (1 unless overridden), :meth:`first` and :meth:`next`. The degree-0
    polynomial starts the recurrence but is not part of the output, so the ``d`` values of
    input feature ``i`` are ``P_1(x_i), ..., P_d(x_i)`` at indices ``i d .. i d + d - 1``.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self, d: int = 2, *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.d = positive_int(d, f"{type(self).__name__} d")

    def calculate_D(self, m: int) -> int:
        """Return ``m d``."""
        return positive_int(m, "m") * self.d

    def zeroth(self, x: Tensor) -> Tensor:
        """Return the degree-0 polynomial at ``x`` (1 unless a subclass overrides it)."""
        return torch.ones_like(x)

    @abstractmethod
    def first(self, x: Tensor) -> Tensor:
        """Return the degree-1 polynomial at ``x``."""

    @abstractmethod
    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return the degree-``k`` polynomial from degrees ``k-1`` and ``k-2``."""

    def expand(self, x: Tensor) -> Tensor:
        """Return degrees ``1..d`` of every feature, feature-major."""
        previous = self.first(x)
        terms = [previous]
        if self.d > 1:
            before = self.zeroth(x)
            for k in range(2, self.d + 1):
                before, previous = previous, self.next(k, x, previous, before)
                terms.append(previous)
        return torch.stack(terms, dim=-1).flatten(-2)


class BesselExpansion(RecursivePolynomialExpansion):
    """Bessel polynomials: ``y0 = 1``, ``y1 = x + 1``, ``yk = (2k-1) x y(k-1) + y(k-2)``.

    For example ``y2 = 3x² + 3x + 1``.
    """

    def first(self, x: Tensor) -> Tensor:
        """Return ``x + 1``."""
        return x + 1

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``(2k-1) x y(k-1) + y(k-2)``."""
        return (2 * k - 1) * x * previous + before


class ReverseBesselExpansion(RecursivePolynomialExpansion):
    """Reverse Bessel polynomials: ``θ1 = x + 1``, ``θk = (2k-1) θ(k-1) + x² θ(k-2)``.

    ``θ0 = 1``; ``θk(x) = x^k yk(1/x)``, for example ``θ2 = x² + 3x + 3``.
    """

    def first(self, x: Tensor) -> Tensor:
        """Return ``x + 1``."""
        return x + 1

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``(2k-1) θ(k-1) + x² θ(k-2)``."""
        return (2 * k - 1) * previous + x * x * before


class FibonacciExpansion(RecursivePolynomialExpansion):
    """Fibonacci polynomials: ``F0 = 0``, ``F1 = 1``, ``Fk = x F(k-1) + F(k-2)``.

    The first output of every feature is the constant ``F1 = 1``, as in tinybig; then
    ``F2 = x``, ``F3 = x² + 1``, ``F4 = x³ + 2x``.
    """

    def zeroth(self, x: Tensor) -> Tensor:
        """Return ``F0 = 0``."""
        return torch.zeros_like(x)

    def first(self, x: Tensor) -> Tensor:
        """Return ``F1 = 1``."""
        return torch.ones_like(x)

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``x F(k-1) + F(k-2)``."""
        return x * previous + before


class LucasExpansion(RecursivePolynomialExpansion):
    """Lucas polynomials: ``L0 = 2``, ``L1 = x``, ``Lk = x L(k-1) + L(k-2)``.

    For example ``L2 = x² + 2``, ``L3 = x³ + 3x``.
    """

    def zeroth(self, x: Tensor) -> Tensor:
        """Return ``L0 = 2``."""
        return torch.full_like(x, 2.0)

    def first(self, x: Tensor) -> Tensor:
        """Return ``L1 = x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``x L(k-1) + L(k-2)``."""
        return x * previous + before
