"""Random-matrix reconciliations: fixed ``N(0, 1)`` matrices scaled or driven by ``w``.

The random matrices are drawn at construction from the global generator, in tinybig's order
(so under the same :func:`torch.manual_seed` they hold the values tinybig draws at its first
call), and stored as buffers: they are saved in the ``state_dict``, follow ``.to()`` and are
never trained.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.reconciliation.base import Reconciliation

__all__ = ["RandomMatrixAdaptionReconciliation", "RandomMatrixHypernetReconciliation"]


class RandomMatrixAdaptionReconciliation(Reconciliation):
    """Random matrix adaption: ``ψ(w) = diag(λ₁) A diag(λ₂) Bᵀ`` (``l = n + r``).

    ``w = [λ₁ (n), λ₂ (r)]``; ``A`` of shape ``n × r`` and ``B`` of shape ``D × r`` are fixed
    random matrices (drawn ``A`` first, then ``B``). The weight has rank ``r``:
    :meth:`factorize` returns ``(λ₁ ⊙ A ⊙ λ₂, Bᵀ)``, so the head computes
    ``((κ(x) B) ⊙ λ₂) Aᵀ ⊙ λ₁`` and never forms the ``n × D`` weight.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    r
        Rank, >= 1.
    """

    A: Tensor
    B: Tensor

    def __init__(self, n: int, D: int, r: int = 2, *, enable_bias: bool = False) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.r = positive_int(r, "random_matrix_adaption reconciliation r")
        self.register_buffer("A", torch.randn(self.n, self.r))
        self.register_buffer("B", torch.randn(self.D, self.r))

    @property
    def l(self) -> int:  # noqa: E743
        """``n + r``."""
        return self.n + self.r

    def factorize(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``diag(λ₁) A diag(λ₂)`` (``(..., n, r)``) and ``Bᵀ`` (``(..., r, D)``)."""
        scale_rows = w[..., : self.n].unsqueeze(-1)
        scale_columns = w[..., self.n :].unsqueeze(-2)
        left = scale_rows * self.A * scale_columns
        return left, self.B.T.expand(*w.shape[:-1], self.r, self.D)

    def forward(self, w: Tensor) -> Tensor:
        """Return ``diag(λ₁) A diag(λ₂) Bᵀ`` of shape ``(..., n, D)``."""
        left, right = self.factorize(w)
        return left @ right

    def extra_repr(self) -> str:
        """Shape, rank and parameter count."""
        return f"{super().extra_repr()}, r={self.r}"


class RandomMatrixHypernetReconciliation(Reconciliation):
    """Random matrix hypernetwork: ``ψ(w) = (σ(w P Qᵀ) S Tᵀ).view(n, D)`` with ``l`` free.

    ``P`` (``l × r``), ``Q`` (``h × r``), ``S`` (``h × r``) and ``T`` (``n D × r``) are fixed
    random matrices, drawn in that order: a hypernetwork whose two layers are random rank-``r``
    maps, without biases. The products are taken in tinybig's order (left to right).

    The weight is a combination of the ``r`` fixed ``n × D`` matrices in the columns of ``T``,
    so it is formed: multiplying the expansion by each of them would cost ``r`` times more.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    r
        Rank of the random maps, >= 1.
    l
        Number of parameters per channel, >= 1.
    h
        Hidden size (tinybig's ``hidden_dim``), >= 1.
    """

    P: Tensor
    Q: Tensor
    S: Tensor
    T: Tensor

    def __init__(
        self,
        n: int,
        D: int,
        r: int = 2,
        l: int = 64,  # noqa: E741
        h: int = 128,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.r = positive_int(r, "random_matrix_hypernet reconciliation r")
        self.size = positive_int(l, "random_matrix_hypernet reconciliation l")
        self.h = positive_int(h, "random_matrix_hypernet reconciliation h")
        self.register_buffer("P", torch.randn(self.size, self.r))
        self.register_buffer("Q", torch.randn(self.h, self.r))
        self.register_buffer("S", torch.randn(self.h, self.r))
        self.register_buffer("T", torch.randn(self.n * self.D, self.r))

    @property
    def l(self) -> int:  # noqa: E743
        """The ``l`` given at construction."""
        return self.size

    def forward(self, w: Tensor) -> Tensor:
        """Return ``σ(w P Qᵀ) S Tᵀ`` viewed as ``(..., n, D)``."""
        hidden = torch.sigmoid(w @ self.P @ self.Q.T)
        return (hidden @ self.S @ self.T.T).unflatten(-1, (self.n, self.D))

    def extra_repr(self) -> str:
        """Shape, rank and hidden size."""
        return f"{super().extra_repr()}, r={self.r}, h={self.h}"
