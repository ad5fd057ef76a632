"""The :class:`Reconciliation` base class and the argument checks its families share."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError

__all__ = ["Reconciliation"]


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


def default_divisor(size: int) -> int:
    """Return the largest divisor of ``size`` that is at most ``sqrt(size)``."""
    return max(k for k in range(1, math.isqrt(size) + 1) if size % k == 0)


def divisor(value: int | None, size: int, field: str, size_name: str) -> int:
    """Check that ``value`` divides ``size`` (default: :func:`default_divisor`).

    Raises
    ------
    ConfigError
        If ``value`` is not a positive integer dividing ``size``; the message lists the
        divisors.
    """
    if value is None:
        return default_divisor(size)
    positive_int(value, field)
    if size % value:
        divisors = ", ".join(str(k) for k in range(1, size + 1) if size % k == 0)
        raise ConfigError(
            f"{field}={value} does not divide {size_name}={size}; valid values: {divisors}"
        )
    return value
