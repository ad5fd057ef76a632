"""Low-rank reconciliation: the weight as a product of two thin factors, never formed."""

from __future__ import annotations

from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.reconciliation.base import Reconciliation

__all__ = ["LowRankReconciliation"]


class LowRankReconciliation(Reconciliation):
    """Low-rank reconciliation (tinybig's ``lorr``): ``ψ(w) = A B`` (``l = r (n + D)``).

    ``A = w[:n r].view(n, r)`` and ``B = w[n r:].view(r, D)``; :meth:`factorize` returns the
    two factors, so heads never form ``A B``.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    r
        Rank, >= 1.
    """

    def __init__(self, n: int, D: int, r: int = 2, *, enable_bias: bool = False) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.r = positive_int(r, "low_rank reconciliation r")

    @property
    def l(self) -> int:  # noqa: E743
        """``r (n + D)``."""
        return self.r * (self.n + self.D)

    def factorize(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``A`` of shape ``(..., n, r)`` and ``B`` of shape ``(..., r, D)`` (views of w)."""
        split = self.n * self.r
        a = w[..., :split].unflatten(-1, (self.n, self.r))
        b = w[..., split:].unflatten(-1, (self.r, self.D))
        return a, b

    def forward(self, w: Tensor) -> Tensor:
        """Return ``A @ B`` of shape ``(..., n, D)``."""
        a, b = self.factorize(w)
        return a @ b

    def extra_repr(self) -> str:
        """Shape, rank and parameter count."""
        return f"{super().extra_repr()}, r={self.r}"
