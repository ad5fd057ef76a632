"""Orthogonal polynomial expansions: Chebyshev, Legendre, Hermite, Laguerre, Gegenbauer and
Jacobi."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from rpnkit.checks import finite_number
from rpnkit.rpn.expansion.base import Processing
from rpnkit.rpn.expansion.recursive import RecursivePolynomialExpansion


class OrthogonalPolynomialExpansion(RecursivePolynomialExpansion):
    """Base class of the orthogonal polynomial families, feature-major degrees ``1..d``.

    ``D = m d``; see :class:`RecursivePolynomialExpansion` for the recurrence and the layout.
    The degree-0 polynomial is 1 and is not part of the output.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.base.Expansion`.
    """


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


class LaguerreExpansion(OrthogonalPolynomialExpansion):
    """Generalised Laguerre polynomials ``L^(α)`` of degrees ``1..d``, from ``L1 = 1 + α - x``.

    ``Lk = ((2k-1+α-x) L(k-1) - (k-1+α) L(k-2)) / k``.

    This is the definition tinybig 0.2.1 documents (and the textbook one). Its code starts the
    recurrence from ``L1 = 1 + α + x`` instead, which is no Laguerre polynomial, so from
    degree 1 on its numbers differ from these.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    alpha
        ``α``, > -1.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.base.Expansion`.
    """

    #: One line on how rpnkit's numbers differ from tinybig 0.2.1.
    tinybig_divergence: ClassVar[str | None] = (
        "laguerre: the documented (textbook) recurrence from L1 = 1 + α − x; tinybig 0.2.1's code starts from 1 + α + x"
    )

    def __init__(
        self,
        d: int = 2,
        alpha: float = 1.0,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(d, preprocess=preprocess, postprocess=postprocess)
        self.alpha = finite_number(alpha, "laguerre expansion alpha", above=-1)

    def first(self, x: Tensor) -> Tensor:
        """Return ``1 + α - x``."""
        return (1 + self.alpha) - x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``((2k-1+α-x) L(k-1) - (k-1+α) L(k-2)) / k``."""
        return ((2 * k - 1 + self.alpha - x) * previous - (k - 1 + self.alpha) * before) / k


class GegenbauerExpansion(OrthogonalPolynomialExpansion):
    """Gegenbauer polynomials ``C^(α)`` of degrees ``1..d``, from ``C1 = 2αx``.

    ``Ck = (2x (k-1+α) C(k-1) - (k-2+2α) C(k-2)) / k``.

    ``α = 1`` (the default) gives the Chebyshev polynomials of the second kind and
    ``α = 1/2`` the Legendre polynomials.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    alpha
        ``α``, > -1/2.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.base.Expansion`.
    """

    def __init__(
        self,
        d: int = 2,
        alpha: float = 1.0,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(d, preprocess=preprocess, postprocess=postprocess)
        self.alpha = finite_number(alpha, "gegenbauer expansion alpha", above=-0.5)

    def first(self, x: Tensor) -> Tensor:
        """Return ``2αx``."""
        return (2 * self.alpha) * x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``(2x (k-1+α) C(k-1) - (k-2+2α) C(k-2)) / k``."""
        return (2 * (k - 1 + self.alpha) * x * previous - (k - 2 + 2 * self.alpha) * before) / k


class JacobiExpansion(OrthogonalPolynomialExpansion):
    """Jacobi polynomials ``P^(α,β)`` of degrees ``1..d``, from ``P1 = (α-β + (α+β+2) x)/2``.

    With ``s = 2k + α + β``,

    ``2k (k+α+β) (s-2) Pk = (s-1) (s (s-2) x + α² - β²) P(k-1)
    - 2 (k+α-1) (k+β-1) s P(k-2)``.

    ``α = β = 0`` gives the Legendre polynomials; the default ``α = β = 1`` is tinybig's.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    alpha, beta
        ``α`` and ``β``, each > -1 (which keeps every coefficient of the recurrence finite).
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.base.Expansion`.
    """

    def __init__(
        self,
        d: int = 2,
        alpha: float = 1.0,
        beta: float = 1.0,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(d, preprocess=preprocess, postprocess=postprocess)
        self.alpha = finite_number(alpha, "jacobi expansion alpha", above=-1)
        self.beta = finite_number(beta, "jacobi expansion beta", above=-1)

    def first(self, x: Tensor) -> Tensor:
        """Return ``(α - β + (α+β+2) x) / 2``."""
        a, b = self.alpha, self.beta
        return (a - b) / 2 + ((a + b + 2) / 2) * x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``P_k`` from the recurrence of the class docstring."""
        a, b = self.alpha, self.beta
        s = 2 * k + a + b
        scale = 2 * k * (k + a + b) * (s - 2)
        slope = (s - 1) * s * (s - 2) / scale
        offset = (s - 1) * (a * a - b * b) / scale
        return (slope * x + offset) * previous - (
            2 * (k + a - 1) * (k + b - 1) * s / scale
        ) * before
