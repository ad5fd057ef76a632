"""Basic reconciliations: the dense weight, fixed weights without parameters, and masking.

The fixed ones (:class:`ConstantReconciliation`, :class:`ZeroReconciliation`,
:class:`OneReconciliation`, :class:`ConstantEyeReconciliation`) have ``l = 0``: the head holds
an empty ``w`` of shape ``(C, 0)`` and the weight does not depend on it.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.checks import finite_number
from rpnkit.rpn.reconciliation.base import Reconciliation

__all__ = [
    "ConstantEyeReconciliation",
    "ConstantReconciliation",
    "IdentityReconciliation",
    "MaskingReconciliation",
    "OneReconciliation",
    "ZeroReconciliation",
]


class IdentityReconciliation(Reconciliation):
    """Identity reconciliation: ``ψ(w) = w.view(n, D)`` (``l = n D``), a dense weight."""

    @property
    def l(self) -> int:  # noqa: E743
        """``n D``."""
        return self.n * self.D

    def forward(self, w: Tensor) -> Tensor:
        """Return ``w`` viewed as ``(..., n, D)``."""
        return w.unflatten(-1, (self.n, self.D))


class ConstantReconciliation(Reconciliation):
    """Constant reconciliation: ``ψ(w) = c 1_{n×D}`` (``l = 0``).

    The weight has rank one, ``c 1_n 1_Dᵀ``: :meth:`factorize` returns the two factors, so the
    head computes ``c (κ(x) 1_D) 1_nᵀ``, the sum of the expansion, instead of a product with an
    ``n × D`` matrix.

    tinybig's head creates no bias for a reconciliation without parameters, whatever
    ``enable_bias`` says; here ``enable_bias=True`` gives the head its bias, as the flag means.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    c
        The constant, a finite number.
    """

    def __init__(self, n: int, D: int, c: float = 1.0, *, enable_bias: bool = False) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.c = finite_number(c, "constant reconciliation c")

    @property
    def l(self) -> int:  # noqa: E743
        """``0``."""
        return 0

    def factorize(self, w: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``c 1`` of shape ``(..., n, 1)`` and ``1`` of shape ``(..., 1, D)``."""
        lead = w.shape[:-1]
        return w.new_full((*lead, self.n, 1), self.c), w.new_ones((*lead, 1, self.D))

    def forward(self, w: Tensor) -> Tensor:
        """Return ``c`` everywhere, shape ``(..., n, D)``."""
        return w.new_full((*w.shape[:-1], self.n, self.D), self.c)

    def extra_repr(self) -> str:
        """Shape, constant and parameter count."""
        return f"{super().extra_repr()}, c={self.c}"


class ZeroReconciliation(ConstantReconciliation):
    """Zero reconciliation: ``ψ(w) = 0`` (``l = 0``); the head is its bias and remainder.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    """

    def __init__(self, n: int, D: int, *, enable_bias: bool = False) -> None:
        super().__init__(n, D, 0.0, enable_bias=enable_bias)


class OneReconciliation(ConstantReconciliation):
    """One reconciliation: ``ψ(w) = 1_{n×D}`` (``l = 0``); every output is ``Σ_j κ(x)_j``.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    """

    def __init__(self, n: int, D: int, *, enable_bias: bool = False) -> None:
        super().__init__(n, D, 1.0, enable_bias=enable_bias)


class ConstantEyeReconciliation(Reconciliation):
    """Constant eye reconciliation: ``ψ(w) = I_{n×D}``, ones on the main diagonal (``l = 0``).

    Output ``i < min(n, D)`` is ``κ(x)_i`` and the others are zero. The weight is formed as an
    expanded view of one ``n × D`` matrix (no factorisation is cheaper: its rank is
    ``min(n, D)``). See :class:`ConstantReconciliation` about ``enable_bias``.
    """

    @property
    def l(self) -> int:  # noqa: E743
        """``0``."""
        return 0

    def forward(self, w: Tensor) -> Tensor:
        """Return ``eye(n, D)`` of shape ``(..., n, D)``."""
        eye = torch.eye(self.n, self.D, dtype=w.dtype, device=w.device)
        return eye.expand(*w.shape[:-1], self.n, self.D)


class MaskingReconciliation(Reconciliation):
    """Masking reconciliation: ``ψ(w) = w.view(n, D) ⊙ M`` (``l = n D``).

    ``M`` is a 0/1 matrix with ``M_ij = 1`` where a uniform draw is below ``p``, so ``p`` is the
    probability of *keeping* an entry. With ``fixed_mask=True`` the mask is drawn once at
    construction from the global generator (``torch.rand(n, D) < p``, deterministic under
    :func:`torch.manual_seed`; tinybig draws the same values at its first call) and stored as a
    buffer, so it is saved in the ``state_dict`` and follows ``.to()``. With
    ``fixed_mask=False`` every call draws a new mask for every channel, on ``w``'s device.

    A mask has no low-rank structure, so the weight is formed (``O(n D)``, as with the
    identity reconciliation). As in tinybig every entry of ``w`` is a parameter, including
    the masked ones (they get zero gradient).

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    p
        Probability of keeping an entry, in ``[0, 1]``.
    fixed_mask
        Draw the mask once (``True``) or at every call (``False``).
    """

    mask: Tensor

    def __init__(
        self,
        n: int,
        D: int,
        p: float = 0.5,
        fixed_mask: bool = True,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.p = finite_number(p, "masking reconciliation p", at_least=0, at_most=1)
        self.fixed_mask = bool(fixed_mask)
        if self.fixed_mask:
            self.register_buffer("mask", torch.rand(self.n, self.D) < self.p)

    @property
    def l(self) -> int:  # noqa: E743
        """``n D``."""
        return self.n * self.D

    def forward(self, w: Tensor) -> Tensor:
        """Return ``w.view(..., n, D) ⊙ M``."""
        weight = w.unflatten(-1, (self.n, self.D))
        if self.fixed_mask:
            return weight * self.mask
        return weight * (torch.rand(weight.shape, device=w.device) < self.p)

    def extra_repr(self) -> str:
        """Shape, keep probability and whether the mask is fixed."""
        return f"{super().extra_repr()}, p={self.p}, fixed_mask={self.fixed_mask}"
