"""Trigonometric and hyperbolic expansions: Fourier, sin/cos/tan, sinh/cosh/tanh and their
inverses."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rpnkit.checks import positive_float, positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing


class FourierExpansion(Expansion):
    """Fourier expansion: for ``n = 1..N`` the block ``[cos(2πn x/P), sin(2πn x/P)]``.

    ``D = 2 N m``; there is no constant term.

    Parameters
    ----------
    P
        Period, > 0.
    N
        Number of harmonics, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self,
        P: float = 10.0,
        N: int = 5,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.P = positive_float(P, "fourier expansion P")
        self.N = positive_int(N, "fourier expansion N")

    def calculate_D(self, m: int) -> int:
        """Return ``2 N m``."""
        return 2 * self.N * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return the cosines and sines of every harmonic, harmonic-major."""
        harmonics = torch.arange(1, self.N + 1, device=x.device, dtype=x.dtype)
        angle = x.unsqueeze(-2) * (harmonics * (2 * math.pi / self.P)).unsqueeze(-1)
        return torch.stack((torch.cos(angle), torch.sin(angle)), dim=-2).flatten(-3)


class HyperbolicExpansion(Expansion):
    """Hyperbolic functions, function-major: ``[sinh x, cosh x, tanh x]`` (``D = 3m``)."""

    def calculate_D(self, m: int) -> int:
        """Return ``3m``."""
        return 3 * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[sinh x, cosh x, tanh x]``."""
        return torch.cat((torch.sinh(x), torch.cosh(x), torch.tanh(x)), dim=-1)


class TrigonometricExpansion(Expansion):
    """Trigonometric functions, function-major: ``[sin x, cos x, tan x]`` (``D = 3m``)."""

    def calculate_D(self, m: int) -> int:
        """Return ``3m``."""
        return 3 * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[sin x, cos x, tan x]``."""
        return torch.cat((torch.sin(x), torch.cos(x), torch.tan(x)), dim=-1)


class ArcHyperbolicExpansion(Expansion):
    """Inverse hyperbolic functions of the squashed input, function-major (``D = 3m``).

    With ``z = sigmoid(x) ∈ (0, 1)``: ``[arsinh z, arcosh(z + 1.01), artanh(0.99 z)]``. The
    squashing and the offsets keep every argument inside the function's domain, as in
    tinybig's code (its docstring lists the plain functions of ``x``, which are undefined
    on most of ``R``, and in another order).
    """

    def calculate_D(self, m: int) -> int:
        """Return ``3m``."""
        return 3 * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[arsinh z, arcosh(z + 1.01), artanh(0.99 z)]`` with ``z = sigmoid(x)``."""
        z = torch.sigmoid(x)
        return torch.cat((torch.asinh(z), torch.acosh(z + 1.01), torch.atanh(0.99 * z)), dim=-1)


class ArcTrigonometricExpansion(Expansion):
    """Inverse trigonometric functions of the squashed input, function-major (``D = 3m``).

    With ``z = sigmoid(x) ∈ (0, 1)``: ``[arcsin(0.99 z), arccos(0.99 z), arctan z]``. The
    factor 0.99 keeps the arguments of arcsin and arccos off the ends of their domain, where
    the derivative is infinite; this is tinybig's code (its docstring lists the plain
    functions of ``x``, in another order).
    """

    def calculate_D(self, m: int) -> int:
        """Return ``3m``."""
        return 3 * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[arcsin(0.99 z), arccos(0.99 z), arctan z]`` with ``z = sigmoid(x)``."""
        z = torch.sigmoid(x)
        scaled = 0.99 * z
        return torch.cat((torch.asin(scaled), torch.acos(scaled), torch.atan(z)), dim=-1)
