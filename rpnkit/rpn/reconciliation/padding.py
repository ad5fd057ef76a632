"""Padding reconciliations: a small block ``W = w.view(s, t)`` repeated over a ``p × q`` grid.

Both take ``p`` (a divisor of ``n``, default 2) and ``q`` (a divisor of ``D``, default ``p``),
with ``s = n / p``, ``t = D / q`` and ``l = s t``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.reconciliation.base import Reconciliation, divisor

__all__ = ["DuplicatedDiagonalPaddingReconciliation", "DuplicatedPaddingReconciliation"]


class _BlockReconciliation(Reconciliation):
    """Shared sizes of the padding family: ``p × q`` blocks of size ``s × t``, ``l = s t``."""

    _label = "padding"

    def __init__(
        self, n: int, D: int, p: int = 2, q: int | None = None, *, enable_bias: bool = False
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        field = f"{self._label} reconciliation"
        self.p = divisor(positive_int(p, f"{field} p"), self.n, f"{field} p", "n")
        self.q = divisor(self.p if q is None else q, self.D, f"{field} q", "D")
        self.s = self.n // self.p
        self.t = self.D // self.q

    @property
    def l(self) -> int:  # noqa: E743
        """``s t = n D / (p q)``."""
        return self.s * self.t

    def extra_repr(self) -> str:
        """Shape, grid and parameter count."""
        return f"{super().extra_repr()}, p={self.p}, q={self.q}"


class DuplicatedPaddingReconciliation(_BlockReconciliation):
    """Duplicated padding in tinybig's layout: ``ψ(w) = tile(w, p q).view(n, D)``.

    tinybig's documentation writes ``1_{p×q} ⊗ w.view(s, t)`` (the Kronecker product), but its
    code repeats ``w`` ``p q`` times and reshapes the result to ``(n, D)``, which is a different
    matrix with the same ``l``. This class computes what tinybig computes, so parameters and
    results match (as the hypercomplex family does, see :mod:`.hypercomplex`).

    That matrix has only ``s`` distinct rows: row ``i`` equals row ``i mod s``, and the first
    ``s`` rows are ``B = tile(w, q).view(s, D)``. So ``ψ(w) = A B`` with
    ``A = tile(I_s, (p, 1))`` of shape ``n × s``, and :meth:`factorize` returns those factors
    whenever ``s (n + D) < n D``: the head multiplies the expansion by ``s`` rows instead of
    ``n`` and never forms the ``n × D`` weight.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    p
        Number of row blocks, a divisor of ``n``.
    q
        Number of column blocks, a divisor of ``D``; default ``p``.

    Raises
    ------
    ConfigError
        If ``p`` does not divide ``n`` or ``q`` does not divide ``D``.
    """

    _label = "duplicated_padding"

    def _repeat(self, w: Tensor, times: int, rows: int) -> Tensor:
        """Return ``w`` repeated ``times`` times along its last axis, viewed as ``(rows, D)``."""
        tiled = w.repeat(*(1,) * (w.dim() - 1), times)
        return tiled.unflatten(-1, (rows, self.D))

    def factorize(self, w: Tensor) -> tuple[Tensor | None, Tensor]:
        """Return ``tile(I_s, (p, 1))`` (``(..., n, s)``) and the ``s`` distinct rows.

        Falls back to ``(None, ψ(w))`` when the factors would cost more than the weight.
        """
        if self.s * (self.n + self.D) >= self.n * self.D:
            return super().factorize(w)
        rows = self._repeat(w, self.q, self.s)
        eye = torch.eye(self.s, dtype=w.dtype, device=w.device)
        return eye.repeat(self.p, 1).expand(*w.shape[:-1], self.n, self.s), rows

    def forward(self, w: Tensor) -> Tensor:
        """Return ``tile(w, p q)`` viewed as ``(..., n, D)``."""
        return self._repeat(w, self.p * self.q, self.n)


class DuplicatedDiagonalPaddingReconciliation(_BlockReconciliation):
    """Duplicated diagonal padding: ``ψ(w) = I_{p×q} ⊗ w.view(s, t)``, a block diagonal.

    The blocks ``(a, a)`` for ``a < min(p, q)`` hold ``W = w.view(s, t)`` and every other
    block is zero. tinybig's code only runs with ``p = q = n`` (blocks of one row; it asserts
    otherwise, so its default ``p = 2`` works for ``n = 2`` only); there its result equals this
    Kronecker product, which is the definition its documentation gives and which this class
    computes for every ``p`` dividing ``n`` and ``q`` dividing ``D``. tinybig returns the
    weight as a sparse tensor; here it is dense (same values).

    The weight is formed (``O(n D)``): it has full rank, so no factorisation ``A B`` is
    cheaper.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    p
        Number of row blocks, a divisor of ``n``.
    q
        Number of column blocks, a divisor of ``D``; default ``p``.

    Raises
    ------
    ConfigError
        If ``p`` does not divide ``n`` or ``q`` does not divide ``D``.
    """

    _label = "duplicated_diagonal_padding"

    def forward(self, w: Tensor) -> Tensor:
        """Return the block diagonal ``I_{p×q} ⊗ w.view(s, t)`` of shape ``(..., n, D)``."""
        block = w.unflatten(-1, (self.s, self.t))
        eye = torch.eye(self.p, self.q, dtype=w.dtype, device=w.device)
        grid = torch.einsum("ab,...ij->...aibj", eye, block)
        return grid.reshape(*w.shape[:-1], self.n, self.D)
