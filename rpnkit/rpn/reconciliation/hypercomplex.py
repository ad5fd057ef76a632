"""The hypercomplex (hm) family, in tinybig's outer-reshape layout.

From a vector ``a`` of length ``p q`` and a vector ``b`` of length ``s t`` (``s = n/p``,
``t = D/q``) the weight is ``outer(a, b).reshape(n, D)``. This is not the Kronecker product
``A ⊗ B`` that the RPN paper writes (same ``l``, different matrix); it is chosen so that
parameters and results match tinybig's. The weight is formed, at the ``O(n D)`` cost of the
identity reconciliation.
"""

from __future__ import annotations

from abc import abstractmethod

from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.reconciliation.base import Reconciliation, divisor

__all__ = [
    "DualLPHMReconciliation",
    "HMReconciliation",
    "HypercomplexReconciliation",
    "LPHMReconciliation",
]


class HypercomplexReconciliation(Reconciliation):
    """Base class of the hypercomplex (hm) family, in the outer-reshape layout.

    ``ψ(w) = outer(a, b).reshape(n, D)`` with ``a`` of length ``p q`` and ``b`` of length
    ``s t``, where ``s = n / p`` and ``t = D / q`` (see the module documentation for why this
    layout). Subclasses say how ``a`` and ``b`` come from ``w``.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    p
        Divisor of ``n``; default the largest divisor of ``n`` that is at most ``sqrt(n)``.
    q
        Divisor of ``D``; default likewise from ``D``.

    Raises
    ------
    ConfigError
        If ``p`` does not divide ``n`` or ``q`` does not divide ``D``.
    """

    _label = "hm"

    def __init__(
        self,
        n: int,
        D: int,
        p: int | None = None,
        q: int | None = None,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.p = divisor(p, self.n, f"{self._label} reconciliation p", "n")
        self.q = divisor(q, self.D, f"{self._label} reconciliation q", "D")
        self.s = self.n // self.p
        self.t = self.D // self.q

    @abstractmethod
    def vectors(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``a`` of shape ``(..., p q)`` and ``b`` of shape ``(..., s t)``."""

    def forward(self, w: Tensor) -> Tensor:
        """Return ``outer(a, b).reshape(..., n, D)``."""
        a, b = self.vectors(w)
        return (a.unsqueeze(-1) * b.unsqueeze(-2)).reshape(*w.shape[:-1], self.n, self.D)

    def extra_repr(self) -> str:
        """Shape, block sizes and parameter count."""
        return f"{super().extra_repr()}, p={self.p}, q={self.q}"


class HMReconciliation(HypercomplexReconciliation):
    """Hypercomplex multiplication: ``a = w[:p q]``, ``b = w[p q:]`` (``l = p q + s t``).

    See :class:`HypercomplexReconciliation` for the layout and the parameters.
    """

    @property
    def l(self) -> int:  # noqa: E743
        """``p q + s t``."""
        return self.p * self.q + self.s * self.t

    def vectors(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Split ``w`` into ``a`` and ``b``."""
        split = self.p * self.q
        return w[..., :split], w[..., split:]


class LPHMReconciliation(HypercomplexReconciliation):
    """Low-rank parameterised hypercomplex multiplication (``l = p q + r (s + t)``).

    ``w = [a (p q), S (s r), T (r t)]`` and ``b = vec(S.view(s, r) @ T.view(r, t))``; see
    :class:`HypercomplexReconciliation` for the layout.

    Parameters
    ----------
    n, D, p, q, enable_bias
        See :class:`HypercomplexReconciliation`.
    r
        Rank of ``b``, >= 1.
    """

    _label = "lphm"

    def __init__(
        self,
        n: int,
        D: int,
        p: int | None = None,
        q: int | None = None,
        r: int = 2,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, p, q, enable_bias=enable_bias)
        self.r = positive_int(r, f"{self._label} reconciliation r")

    @property
    def l(self) -> int:  # noqa: E743
        """``p q + r (s + t)``."""
        return self.p * self.q + self.r * (self.s + self.t)

    def _low_rank(self, w: Tensor, rows: int, cols: int) -> Tensor:
        """Return ``vec(w[:rows r].view(rows, r) @ w[rows r:].view(r, cols))``."""
        split = rows * self.r
        left = w[..., :split].unflatten(-1, (rows, self.r))
        right = w[..., split:].unflatten(-1, (self.r, cols))
        return (left @ right).flatten(-2)

    def vectors(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``a`` as stored and ``b`` from its two factors."""
        split = self.p * self.q
        return w[..., :split], self._low_rank(w[..., split:], self.s, self.t)

    def extra_repr(self) -> str:
        """Shape, block sizes, rank and parameter count."""
        return f"{super().extra_repr()}, r={self.r}"


class DualLPHMReconciliation(LPHMReconciliation):
    """Dual low-rank parameterised hypercomplex multiplication (``l = r (p + q + s + t)``).

    ``w = [P (p r), Q (r q), S (s r), T (r t)]``, ``a = vec(P.view(p, r) @ Q.view(r, q))`` and
    ``b = vec(S.view(s, r) @ T.view(r, t))``; see :class:`LPHMReconciliation`.
    """

    _label = "dual_lphm"

    @property
    def l(self) -> int:  # noqa: E743
        """``r (p + q + s + t)``."""
        return self.r * (self.p + self.q + self.s + self.t)

    def vectors(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``a`` and ``b``, each from its two factors."""
        split = self.r * (self.p + self.q)
        a = self._low_rank(w[..., :split], self.p, self.q)
        return a, self._low_rank(w[..., split:], self.s, self.t)
