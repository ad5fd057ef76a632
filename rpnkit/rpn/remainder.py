"""Remainder functions π: ``R^m -> R^n``, added to an RPN head's output.

The remainder acts on the head's input ``x`` (not on the expansion). A :class:`Remainder` is
built for one head shape ``(m, n)``; its parameters, if any, are its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rpnkit.checks import finite_number, positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec

__all__ = [
    "ConstantRemainder",
    "IdentityRemainder",
    "LinearRemainder",
    "OneRemainder",
    "Remainder",
    "ZeroRemainder",
]

Activation = ProcessingSpec | Sequence[ProcessingSpec] | None


class Remainder(nn.Module, ABC):
    """Base class of remainder functions π for a head mapping ``m`` to ``n`` features.

    Parameters
    ----------
    m
        Input size of the head.
    n
        Output size of the head.
    """

    def __init__(self, m: int, n: int) -> None:
        super().__init__()
        self.m = positive_int(m, "remainder m")
        self.n = positive_int(n, "remainder n")

    def reset_parameters(self) -> None:
        """Re-initialise the parameters (none by default)."""

    @abstractmethod
    def forward(self, x: Tensor) -> Tensor:
        """Return ``π(x)`` of shape ``(..., n)`` for ``x`` of shape ``(..., m)``."""

    def extra_repr(self) -> str:
        """Input and output sizes."""
        return f"m={self.m}, n={self.n}"


class ZeroRemainder(Remainder):
    """Zero remainder ``π(x) = 0``: the head is the reconciled expansion alone."""

    def forward(self, x: Tensor) -> Tensor:
        """Return zeros of shape ``(..., n)``."""
        return x.new_zeros((*x.shape[:-1], self.n))


class ConstantRemainder(Remainder):
    """Constant remainder ``π(x) = act(c 1_n)``, the same vector for every input; any ``m``.

    The activation is applied to the vector ``c 1_n`` once, then it is broadcast over the
    leading dimensions of ``x``, as tinybig does.

    Parameters
    ----------
    m, n
        See :class:`Remainder`.
    c
        The constant, a finite number.
    activation
        Processing steps applied to ``c 1_n`` (see :mod:`rpnkit.rpn.processing`).
    """

    def __init__(self, m: int, n: int, c: float = 1.0, activation: Activation = None) -> None:
        super().__init__(m, n)
        self.c = finite_number(c, "constant remainder c")
        self.activation = ProcessingChain(activation, field="remainder activation")

    def forward(self, x: Tensor) -> Tensor:
        """Return ``act(c 1_n)`` expanded to shape ``(..., n)``."""
        value = self.activation(x.new_full((self.n,), self.c))
        return value.expand(*x.shape[:-1], self.n)

    def extra_repr(self) -> str:
        """Sizes and the constant."""
        return f"{super().extra_repr()}, c={self.c}"


class OneRemainder(ConstantRemainder):
    """One remainder ``π(x) = act(1_n)``: :class:`ConstantRemainder` with ``c = 1``.

    Parameters
    ----------
    m, n, activation
        See :class:`ConstantRemainder`.
    """

    def __init__(self, m: int, n: int, activation: Activation = None) -> None:
        super().__init__(m, n, 1.0, activation)


class IdentityRemainder(Remainder):
    """Identity remainder ``π(x) = act(x)``, a residual connection; needs ``m = n``.

    Parameters
    ----------
    m, n
        See :class:`Remainder`.
    activation
        Processing steps applied to ``x`` (see :mod:`rpnkit.rpn.processing`), e.g.
        ``"silu"``.

    Raises
    ------
    ConfigError
        If ``m != n``.
    """

    def __init__(self, m: int, n: int, activation: Activation = None) -> None:
        super().__init__(m, n)
        if self.m != self.n:
            raise ConfigError(
                f"identity remainder needs m == n, got m={self.m}, n={self.n}; "
                "use the 'linear' remainder to change the size"
            )
        self.activation = ProcessingChain(activation, field="remainder activation")

    def forward(self, x: Tensor) -> Tensor:
        """Return ``act(x)``."""
        return self.activation(x)


class LinearRemainder(Remainder):
    """Linear remainder ``π(x) = act(x W_rᵀ + b_r)`` with ``W_r`` of shape ``(n, m)``.

    Parameters are initialised by :meth:`reset_parameters` (Xavier uniform per tensor, the
    bias treated as a ``(1, n)`` matrix, as tinybig does when it builds a model).

    Parameters
    ----------
    m, n
        See :class:`Remainder`.
    enable_bias
        Whether to add the bias ``b_r``.
    activation
        Processing steps applied after the affine map, e.g. ``"silu"`` for a KAN-style head.
    """

    def __init__(
        self, m: int, n: int, enable_bias: bool = False, activation: Activation = None
    ) -> None:
        super().__init__(m, n)
        self.weight = nn.Parameter(torch.empty(self.n, self.m))
        self.bias = nn.Parameter(torch.empty(self.n)) if enable_bias else None
        self.activation = ProcessingChain(activation, field="remainder activation")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw ``W_r`` from U(±√(6/(n+m))) and ``b_r`` from U(±√(6/(1+n)))."""
        nn.init.xavier_uniform_(self.weight)
        if self.bias is not None:
            nn.init.xavier_uniform_(self.bias.unsqueeze(0))

    def forward(self, x: Tensor) -> Tensor:
        """Return ``act(x W_rᵀ + b_r)``."""
        return self.activation(nn.functional.linear(x, self.weight, self.bias))

    def extra_repr(self) -> str:
        """Sizes and whether there is a bias."""
        return f"{super().extra_repr()}, enable_bias={self.bias is not None}"
