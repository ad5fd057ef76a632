"""Orthogonal polynomial expansions: Chebyshev, Legendre, Hermite."""

from __future__ import annotations

from abc import abstractmethod

import torch
from torch import Tensor

from rpnkit.rpn._validation import positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing


class OrthogonalPolynomialExpansion(Expansion):
    """Base class of feature-major polynomial expansions of degrees ``1..d`` (``D = m d``).

    Subclasses give the degree-1 polynomial and the three-term recurrence; the degree-0
    polynomial is 1 and is not part of the output.

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

    @abstractmethod
    def first(self, x: Tensor) -> Tensor:
        """Return the degree-1 polynomial at ``x``."""

    @abstractmethod
    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return the degree-``k`` polynomial from degrees ``k-1`` and ``k-2``."""

    def expand(self, x: Tensor) -> Tensor:
        """Return degrees ``1..d`` of every feature, feature-major."""
        before, previous = torch.ones_like(x), self.first(x)
        terms = [previous]
        for k in range(2, self.d + 1):
            before, previous = previous, self.next(k, x, previous, before)
            terms.append(previous)
        return torch.stack(terms, dim=-1).flatten(-2)


class ChebyshevExpansion(OrthogonalPolynomialExpansion):
    """Chebyshev polynomials of the first kind: ``T1 = x``, ``Tk = 2x T(k-1) - T(k-2)``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``2x T(k-1) - T(k-2)``."""
        return 2 * x * previous - before


class LegendreExpansion(OrthogonalPolynomialExpansion):
    """Legendre polynomials: ``P1 = x``, ``Pk = ((2k-1) x P(k-1) - (k-1) P(k-2)) / k``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``((2k-1) x P(k-1) - (k-1) P(k-2)) / k``."""
        return ((2 * k - 1) * x * previous - (k - 1) * before) / k


class HermiteExpansion(OrthogonalPolynomialExpansion):
    """Probabilists' Hermite polynomials: ``He1 = x``, ``Hek = x He(k-1) - (k-1) He(k-2)``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``x He(k-1) - (k-1) He(k-2)``."""
        return x * previous - (k - 1) * before
