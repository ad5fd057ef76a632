"""Parameter reconciliation functions ψ: ``R^l -> R^{n×D}``, the weight side of an RPN head.

A :class:`Reconciliation` is built for one head shape ``(n, D)`` and owns the parameter count
``l``; the head holds the parameters ``w`` of shape ``(C, l)`` (one row per channel) and calls
``ψ(w)`` to get the weights of shape ``(C, n, D)``. ``enable_bias`` asks the head for a bias
shared by all channels.

Besides ``forward``, a reconciliation answers :meth:`Reconciliation.factorize`: a pair
``(A, B)`` with ``ψ(w) = A B``, or ``(None, ψ(w))`` when there is no useful factorisation. The
head multiplies the expansion by ``B`` first, so with :class:`LowRankReconciliation` it computes
``(κ(x) Bᵀ) Aᵀ`` and never forms the ``n × D`` weight.

The hypercomplex family (:class:`HMReconciliation`, :class:`LPHMReconciliation`,
:class:`DualLPHMReconciliation`) uses the **outer-reshape layout** of tinybig 0.2.1: from a
vector ``a`` of length ``p q`` and a vector ``b`` of length ``s t`` (``s = n/p``, ``t = D/q``)
the weight is ``outer(a, b).reshape(n, D)``. This is not the Kronecker product ``A ⊗ B`` that
the RPN paper writes (same ``l``, different matrix); it is chosen so that parameters and results
match tinybig's. The weight is formed, at the ``O(n D)`` cost of the identity reconciliation.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import positive_int

__all__ = [
    "DualLPHMReconciliation",
    "HMReconciliation",
    "HypercomplexReconciliation",
    "HypernetReconciliation",
    "IdentityReconciliation",
    "LPHMReconciliation",
    "LowRankReconciliation",
    "Reconciliation",
]


class Reconciliation(nn.Module, ABC):
    """Base class of parameter reconciliation functions ψ for a head of shape ``(n, D)``.

    Subclasses implement :attr:`l` and :meth:`forward`, and may override :meth:`factorize`.

    Parameters
    ----------
    n
        Output size of the head.
    D
        Output size of the head's expansion.
    enable_bias
        Whether the head adds a bias of size ``n`` (shared by all channels).
    """

    def __init__(self, n: int, D: int, *, enable_bias: bool = False) -> None:
        super().__init__()
        self.n = positive_int(n, "reconciliation n")
        self.D = positive_int(D, "reconciliation D")
        self.enable_bias = bool(enable_bias)

    @property
    @abstractmethod
    def l(self) -> int:  # noqa: E743 - the RPN papers' name for the parameter count
        """Number of parameters per channel."""

    @abstractmethod
    def forward(self, w: Tensor) -> Tensor:
        """Return ``ψ(w)`` of shape ``(..., n, D)`` for parameters of shape ``(..., l)``."""

    def factorize(self, w: Tensor) -> tuple[Tensor | None, Tensor]:
        """Return ``(A, B)`` with ``ψ(w) = A @ B``, or ``(None, ψ(w))`` if not factored.

        Parameters
        ----------
        w
            Parameters of shape ``(..., l)``.

        Returns
        -------
        tuple
            ``A`` of shape ``(..., n, r)`` (or ``None``) and ``B`` of shape ``(..., r, D)``
            (``r = n`` when ``A`` is ``None``).
        """
        return None, self(w)

    def extra_repr(self) -> str:
        """Shape and parameter count."""
        return f"n={self.n}, D={self.D}, l={self.l}, enable_bias={self.enable_bias}"


class IdentityReconciliation(Reconciliation):
    """Identity reconciliation: ``ψ(w) = w.view(n, D)`` (``l = n D``), a dense weight."""

    @property
    def l(self) -> int:  # noqa: E743
        """``n D``."""
        return self.n * self.D

    def forward(self, w: Tensor) -> Tensor:
        """Return ``w`` viewed as ``(..., n, D)``."""
        return w.unflatten(-1, (self.n, self.D))


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


def _default_divisor(size: int) -> int:
    """Return the largest divisor of ``size`` that is at most ``sqrt(size)``."""
    return max(k for k in range(1, math.isqrt(size) + 1) if size % k == 0)


def _divisor(value: int | None, size: int, field: str, size_name: str) -> int:
    """Check that ``value`` divides ``size`` (default: :func:`_default_divisor`)."""
    if value is None:
        return _default_divisor(size)
    positive_int(value, field)
    if size % value:
        divisors = ", ".join(str(k) for k in range(1, size + 1) if size % k == 0)
        raise ConfigError(
            f"{field}={value} does not divide {size_name}={size}; valid values: {divisors}"
        )
    return value


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
        self.p = _divisor(p, self.n, f"{self._label} reconciliation p", "n")
        self.q = _divisor(q, self.D, f"{self._label} reconciliation q", "D")
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


class HypernetReconciliation(Reconciliation):
    """Hypernetwork reconciliation: ``ψ(w) = MLP(w).view(n, D)`` with ``l`` free parameters.

    The MLP is ``Linear(l, h) -> sigmoid -> Linear(h, n D)``, with weights and biases drawn from
    ``N(0, 1)`` at construction. With ``static=True`` they are frozen buffers (in the
    ``state_dict``, moved by ``.to()``, never trained); otherwise they are parameters.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    l
        Number of parameters per channel (the MLP input size), >= 1.
    h
        Hidden size, >= 1.
    static
        Freeze the MLP.
    """

    hidden_weight: Tensor
    hidden_bias: Tensor
    output_weight: Tensor
    output_bias: Tensor

    def __init__(
        self,
        n: int,
        D: int,
        l: int = 64,  # noqa: E741
        h: int = 128,
        static: bool = True,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.size = positive_int(l, "hypernet reconciliation l")
        self.h = positive_int(h, "hypernet reconciliation h")
        self.static = bool(static)
        tensors = {
            "hidden_weight": torch.randn(self.h, self.size),
            "hidden_bias": torch.randn(self.h),
            "output_weight": torch.randn(self.n * self.D, self.h),
            "output_bias": torch.randn(self.n * self.D),
        }
        for name, tensor in tensors.items():
            if self.static:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))

    @property
    def l(self) -> int:  # noqa: E743
        """The ``l`` given at construction."""
        return self.size

    def forward(self, w: Tensor) -> Tensor:
        """Return ``MLP(w)`` viewed as ``(..., n, D)``."""
        hidden = torch.sigmoid(nn.functional.linear(w, self.hidden_weight, self.hidden_bias))
        out = nn.functional.linear(hidden, self.output_weight, self.output_bias)
        return out.unflatten(-1, (self.n, self.D))

    def extra_repr(self) -> str:
        """Shape, hidden size and whether the MLP is frozen."""
        return f"{super().extra_repr()}, h={self.h}, static={self.static}"
