"""Trigonometric and hyperbolic expansions: Fourier, sin/cos/tan, sinh/cosh/tanh."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rpnkit.rpn._validation import positive_float, positive_int
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
