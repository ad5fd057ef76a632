"""Discrete wavelet expansions: Haar, Ricker, difference of Gaussians, Meyer, Shannon, beta.

Every feature is expanded by the dilated and shifted wavelets

``ψ_{s,t}(x) = a^{-s/2} ψ(x / a^s - t b)`` for ``s = 0..S-1`` and ``t = 0..T-1``,

feature-major with ``t`` fastest (index ``i S T + s T + t``), which gives ``w(x) ∈ R^{m S T}``.
The expansion is then the Taylor expansion of ``w(x)`` up to order ``d``:
``[w, w⊗w, ..., w^{⊗d}]``, so ``D = Σ_{k=1..d} (m S T)^k``. With the defaults
(``a = b = 1``, ``S = T = d = 1``) it is ``ψ(x)`` itself.

The Taylor step is a :class:`TaylorExpansion`, so an order-2 wavelet expansion computes
``κ(x) Wᵀ`` from ``w(x)`` without forming ``w ⊗ w`` (with or without ``layer_norm``).
All functions are evaluated without host synchronisation: removable singularities use
``torch.where`` with a safe denominator, so values and gradients stay finite.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, positive_float, positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing
from rpnkit.rpn.expansion.polynomial import TaylorExpansion

__all__ = [
    "BetaWaveletExpansion",
    "DogWaveletExpansion",
    "HaarWaveletExpansion",
    "MeyerWaveletExpansion",
    "RickerWaveletExpansion",
    "ShannonWaveletExpansion",
    "WaveletExpansion",
]


class WaveletExpansion(Expansion):
    """Base class of the discrete wavelet expansions (see the module documentation).

    Subclasses implement the mother wavelet :meth:`psi`.

    Parameters
    ----------
    a
        Dilation base, >= 1.
    b
        Shift step, >= 0.
    d
        Taylor order of the wavelet values, >= 1.
    s
        Number of dilations ``S``, >= 1.
    t
        Number of shifts ``T``, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    scales: Tensor
    shifts: Tensor
    #: Name used in error messages.
    _label = "wavelet"

    def __init__(
        self,
        a: float = 1.0,
        b: float = 1.0,
        d: int = 1,
        s: int = 1,
        t: int = 1,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        label = f"{self._label} expansion"
        self.a = finite_number(a, f"{label} a", at_least=1.0)
        self.b = finite_number(b, f"{label} b", at_least=0.0)
        self.d = positive_int(d, f"{label} d")
        self.s = positive_int(s, f"{label} s")
        self.t = positive_int(t, f"{label} t")
        dilation = self.a ** torch.arange(self.s, dtype=torch.float64)
        self.register_buffer("scales", dilation.unsqueeze(-1), persistent=False)
        shifts = self.b * torch.arange(self.t, dtype=torch.float64)
        self.register_buffer("shifts", shifts, persistent=False)
        # The Taylor step carries a layer_norm postprocess so that its projection handles it.
        powers_post = "layer_norm" if self.postprocess.is_layer_norm() else None
        self.powers = TaylorExpansion(self.d, postprocess=powers_post)

    @abstractmethod
    def psi(self, tau: Tensor) -> Tensor:
        """Return the mother wavelet ``ψ(τ)`` elementwise, shape ``(..., m, S, T)``."""

    def wavelets(self, x: Tensor) -> Tensor:
        """Return ``w(x)``: every ``ψ_{s,t}(x_i)``, feature-major, shape ``(..., m S T)``."""
        scales = self.scales.to(x.dtype)
        tau = x[..., None, None] / scales - self.shifts.to(x.dtype)
        return (self.psi(tau) * scales.rsqrt()).flatten(-3)

    def calculate_D(self, m: int) -> int:
        """Return ``Σ_{k=1..d} (m S T)^k``."""
        return self.powers.calculate_D(positive_int(m, "m") * self.s * self.t)

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[w, w⊗w, ..., w^{⊗d}]``."""
        return self.powers.expand(self.wavelets(x))

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` through the Taylor projection of ``w(x)``."""
        if len(self.postprocess) and not self.postprocess.is_layer_norm():
            return super().project(x, weight)
        return self.powers.project(self.wavelets(self.preprocess(x)), weight)


class HaarWaveletExpansion(WaveletExpansion):
    """Haar wavelet (tinybig spells it "harr"): ``ψ(τ) = 1`` on ``[0, ½)``, ``-1`` on
    ``[½, 1)``, 0 elsewhere."""

    _label = "harr"

    def psi(self, tau: Tensor) -> Tensor:
        """Return the Haar step function."""
        first = ((tau >= 0) & (tau < 0.5)).to(tau.dtype)
        return first - ((tau >= 0.5) & (tau < 1)).to(tau.dtype)


class RickerWaveletExpansion(WaveletExpansion):
    """Ricker ("Mexican hat") wavelet
    ``ψ(τ) = 2 (1 - (τ/σ)²) exp(-τ²/(2σ²)) / (√(3σ) π^{1/4})``.

    Parameters
    ----------
    a, b, d, s, t, preprocess, postprocess
        See :class:`WaveletExpansion`.
    sigma
        Width ``σ``, > 0.
    """

    _label = "ricker"

    def __init__(
        self,
        a: float = 1.0,
        b: float = 1.0,
        sigma: float = 1.0,
        d: int = 1,
        s: int = 1,
        t: int = 1,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(a, b, d, s, t, preprocess=preprocess, postprocess=postprocess)
        self.sigma = positive_float(sigma, "ricker expansion sigma")

    def psi(self, tau: Tensor) -> Tensor:
        """Return the Ricker wavelet."""
        ratio = tau / self.sigma
        norm = 2.0 / (math.sqrt(3 * self.sigma) * math.pi**0.25)
        return norm * (1.0 - ratio * ratio) * torch.exp(-0.5 * ratio * ratio)


class DogWaveletExpansion(WaveletExpansion):
    """Difference of Gaussians ``ψ(τ) = N(τ; 0, σ1²) - N(τ; 0, σ2²)`` (normal densities).

    Parameters
    ----------
    a, b, d, s, t, preprocess, postprocess
        See :class:`WaveletExpansion`.
    sigma_1, sigma_2
        Standard deviations of the two Gaussians, > 0.
    """

    _label = "dog"

    def __init__(
        self,
        a: float = 1.0,
        b: float = 1.0,
        sigma_1: float = 1.0,
        sigma_2: float = 2.0,
        d: int = 1,
        s: int = 1,
        t: int = 1,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(a, b, d, s, t, preprocess=preprocess, postprocess=postprocess)
        self.sigma_1 = positive_float(sigma_1, "dog expansion sigma_1")
        self.sigma_2 = positive_float(sigma_2, "dog expansion sigma_2")

    def psi(self, tau: Tensor) -> Tensor:
        """Return the difference of the two normal densities."""
        first, second = tau / self.sigma_1, tau / self.sigma_2
        norm_1 = 1.0 / math.sqrt(2 * math.pi * self.sigma_1**2)
        norm_2 = 1.0 / math.sqrt(2 * math.pi * self.sigma_2**2)
        return norm_1 * torch.exp(-0.5 * first * first) - norm_2 * torch.exp(-0.5 * second * second)


class MeyerWaveletExpansion(WaveletExpansion):
    """Meyer wavelet
    ``ψ(τ) = (sin(2πτ/3) + (4/3) τ cos(4πτ/3)) / (πτ - (16π/9) τ³)``.

    The quotient is 0/0 at ``τ = 0`` and ``τ = ±3/4``; its limits ``2/3 + 4/(3π)`` and
    ``2/(3π)`` are used there. tinybig sets the first and returns NaN at the other two.
    """

    #: One line on how rpnkit's numbers differ from tinybig 0.2.1.
    tinybig_divergence: ClassVar[str | None] = (
        "meyer wavelet: the limits at τ = ±3/4 where tinybig 0.2.1 returns NaN"
    )

    _label = "meyer"

    def psi(self, tau: Tensor) -> Tensor:
        """Return the Meyer wavelet with its removable singularities filled in."""
        at_zero, at_three_quarters = tau == 0, tau.abs() == 0.75
        safe = torch.where(at_zero | at_three_quarters, 0.5, tau)
        numerator = torch.sin((2 * math.pi / 3) * safe) + (4.0 / 3.0) * safe * torch.cos(
            (4 * math.pi / 3) * safe
        )
        value = numerator / (math.pi * safe - (16 * math.pi / 9) * safe**3)
        value = torch.where(at_three_quarters, 2 / (3 * math.pi), value)
        return torch.where(at_zero, 2 / 3 + 4 / (3 * math.pi), value)


class ShannonWaveletExpansion(WaveletExpansion):
    """Shannon wavelet ``ψ(τ) = (sin 2πτ - sin πτ) / (πτ)``, with its limit 1 at ``τ = 0``
    (where tinybig returns NaN)."""

    #: One line on how rpnkit's numbers differ from tinybig 0.2.1.
    tinybig_divergence: ClassVar[str | None] = (
        "shannon wavelet: the limit 1 at τ = 0 where tinybig 0.2.1 returns NaN"
    )

    _label = "shannon"

    def psi(self, tau: Tensor) -> Tensor:
        """Return the Shannon wavelet."""
        at_zero = tau == 0
        safe = torch.where(at_zero, 1.0, tau)
        value = (torch.sin(2 * math.pi * safe) - torch.sin(math.pi * safe)) / (math.pi * safe)
        return torch.where(at_zero, 1.0, value)


class BetaWaveletExpansion(WaveletExpansion):
    """Beta wavelet: the Beta(α, β) density ``τ^{α-1} (1-τ)^{β-1} / B(α, β)``.

    The density lives on ``[0, 1]``; when some ``τ`` of a sample is outside it, the
    sample's ``τ`` (for that ``s, t``) are first mapped by the sigmoid. tinybig makes this
    choice once for the whole batch, so a sample's value depends on the other samples;
    here it is made per sample, which is what tinybig gives for a batch of one sample.

    Parameters
    ----------
    a, b, d, s, t, preprocess, postprocess
        See :class:`WaveletExpansion`.
    alpha, beta
        Shape parameters, >= 1.
    """

    #: One line on how rpnkit's numbers differ from tinybig 0.2.1.
    tinybig_divergence: ClassVar[str | None] = (
        "beta wavelet: the sigmoid mapping is decided per sample (tinybig 0.2.1: once per batch, so a row depends on its batch)"
    )

    _label = "beta"

    def __init__(
        self,
        a: float = 1.0,
        b: float = 1.0,
        alpha: float = 1.0,
        beta: float = 1.0,
        d: int = 1,
        s: int = 1,
        t: int = 1,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(a, b, d, s, t, preprocess=preprocess, postprocess=postprocess)
        self.alpha = finite_number(alpha, "beta expansion alpha", at_least=1.0)
        self.beta = finite_number(beta, "beta expansion beta", at_least=1.0)
        self.log_norm = math.lgamma(self.alpha + self.beta) - math.lgamma(self.alpha)
        self.log_norm -= math.lgamma(self.beta)

    def psi(self, tau: Tensor) -> Tensor:
        """Return the beta density of ``τ`` (squashed per sample when outside ``[0, 1]``)."""
        inside = ((tau >= 0) & (tau <= 1)).all(dim=-3, keepdim=True)
        tau = torch.where(inside, tau, torch.sigmoid(tau))
        value = torch.full_like(tau, math.exp(self.log_norm))
        # Factors with exponent 0 are 1; leaving them out keeps the gradient finite at 0 and 1.
        if self.alpha != 1:
            value = value * tau ** (self.alpha - 1)
        if self.beta != 1:
            value = value * (1 - tau) ** (self.beta - 1)
        return value
