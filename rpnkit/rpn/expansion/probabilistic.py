"""Probabilistic expansions: log-densities of fixed distributions at every feature.

Each expansion evaluates ``K`` fixed distributions at every feature and concatenates the
results function-major, ``[log p_1(z), ..., log p_K(z)]`` (``D = K m``). ``z`` is ``x`` itself
for the distributions on the real line (normal, Cauchy, Laplace) and ``x`` squashed into the
positive support otherwise: ``z = 0.99 σ(x) + 0.001`` for gamma and exponential, and
``z = σ(x) + 0.001`` for χ² (tinybig's choices; the hybrid expansion uses the first for χ² as
well). The log-densities are those of :mod:`torch.distributions`, written out so that they run
on ``x``'s device and dtype. None of them has a learnable parameter.

The normal, gamma, χ² and exponential log-densities are linear in a few functions of ``z``
(``z²`` and ``z``; ``log z`` and ``z``; ``z``). :meth:`ProbabilisticExpansion.project` uses
that: ``κ(x) Wᵀ`` is computed from those ``J`` features and a weight folded to ``J m`` columns,
instead of the ``K m`` columns of ``κ(x)`` (``J = 2, 2, 1`` for ``K = 6``).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, NamedTuple

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing

__all__ = [
    "CauchyExpansion",
    "Chi2Expansion",
    "ExponentialExpansion",
    "GammaExpansion",
    "HybridProbabilisticExpansion",
    "LaplaceExpansion",
    "NaiveCauchyExpansion",
    "NaiveChi2Expansion",
    "NaiveExponentialExpansion",
    "NaiveGammaExpansion",
    "NaiveLaplaceExpansion",
    "NaiveNormalExpansion",
    "NormalExpansion",
    "ProbabilisticExpansion",
]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _real_line(x: Tensor) -> Tensor:
    """``z = x``."""
    return x


def _unit_interval(x: Tensor) -> Tensor:
    """``z = 0.99 σ(x) + 0.001``, inside ``(0.001, 0.991)``."""
    return 0.99 * torch.sigmoid(x) + 0.001


def _shifted_sigmoid(x: Tensor) -> Tensor:
    """``z = σ(x) + 0.001`` (tinybig's input of the χ² expansions)."""
    return torch.sigmoid(x) + 0.001


class _Family(ABC):
    """A distribution family: its precomputed columns, its log-density and its linear form.

    :meth:`columns` turns one distribution's parameters into the numbers :meth:`log_prob`
    reads; ``theta`` stacks them for ``K`` distributions, shape ``(K, P)``. A ``foldable``
    family's log-density is ``Σ_j c_j φ_j(z) + e``: :meth:`features` gives the ``φ_j`` and
    :meth:`linear` the coefficients ``((c_1, ..., c_J), e)``.
    """

    foldable: ClassVar[bool] = False

    @abstractmethod
    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        """Return the columns of ``theta`` for one distribution."""

    @abstractmethod
    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        """Return ``log p_k(z)`` of shape ``(..., K, m)`` for ``z`` of shape ``(..., 1, m)``."""

    def features(self, z: Tensor) -> list[Tensor]:
        """Return the features ``φ_j(z)`` of a foldable family."""
        raise TypeError(f"{type(self).__name__} is not linear in features of z")

    def linear(self, parameters: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
        """Return ``((c_1, ..., c_J), e)`` of a foldable family."""
        raise TypeError(f"{type(self).__name__} is not linear in features of z")


class _Normal(_Family):
    """``N(μ, σ)``: ``-(z-μ)²/(2σ²) - log σ - log √(2π)``; linear in ``z²`` and ``z``."""

    foldable = True

    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        loc, scale = parameters
        return loc, scale, -math.log(scale) - _LOG_SQRT_2PI

    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        loc, scale, const = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
        return -((z - loc) ** 2) / (2 * scale * scale) + const

    def features(self, z: Tensor) -> list[Tensor]:
        """Return ``[z², z]``."""
        return [z * z, z]

    def linear(self, parameters: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
        loc, scale = parameters
        var = scale * scale
        return (-0.5 / var, loc / var), -0.5 * loc * loc / var + self.columns(parameters)[2]


class _Cauchy(_Family):
    """``Cauchy(x0, γ)``: ``-log π - log γ - log(1 + ((z - x0)/γ)²)``."""

    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        loc, scale = parameters
        return loc, scale, -math.log(math.pi) - math.log(scale)

    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        loc, scale, const = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
        return const - torch.log1p(((z - loc) / scale) ** 2)


class _Laplace(_Family):
    """``Laplace(μ, b)``: ``-log(2b) - |z - μ|/b``."""

    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        loc, scale = parameters
        return loc, scale, -math.log(2 * scale)

    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        loc, scale, const = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
        return const - torch.abs(z - loc) / scale


class _Gamma(_Family):
    """``Gamma(α, β)`` (shape, rate): ``α log β + (α-1) log z - β z - log Γ(α)``."""

    foldable = True

    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        shape, rate = parameters
        return shape - 1, rate, shape * math.log(rate) - math.lgamma(shape)

    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        power, rate, const = theta[:, 0:1], theta[:, 1:2], theta[:, 2:3]
        return torch.xlogy(power, z) - rate * z + const

    def features(self, z: Tensor) -> list[Tensor]:
        """Return ``[log z, z]``."""
        return [torch.log(z), z]

    def linear(self, parameters: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
        power, rate, const = self.columns(parameters)
        return (power, -rate), const


class _Exponential(_Family):
    """``Exponential(λ)``: ``log λ - λ z``."""

    foldable = True

    def columns(self, parameters: tuple[float, ...]) -> tuple[float, ...]:
        (rate,) = parameters
        return rate, math.log(rate)

    def log_prob(self, z: Tensor, theta: Tensor) -> Tensor:
        rate, const = theta[:, 0:1], theta[:, 1:2]
        return const - rate * z

    def features(self, z: Tensor) -> list[Tensor]:
        """Return ``[z]``."""
        return [z]

    def linear(self, parameters: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
        (rate,) = parameters
        return (-rate,), math.log(rate)


_NORMAL, _CAUCHY, _LAPLACE = _Normal(), _Cauchy(), _Laplace()
_GAMMA, _EXPONENTIAL = _Gamma(), _Exponential()


def _chi2(*dfs: float) -> tuple[tuple[float, float], ...]:
    """χ²(k) as the gamma distributions ``Gamma(k/2, 1/2)``."""
    return tuple((k / 2, 0.5) for k in dfs)


class _Block(NamedTuple):
    """Distributions of one family evaluated on the same ``z``."""

    family: _Family
    parameters: tuple[tuple[float, ...], ...]
    squash: Callable[[Tensor], Tensor]


class ProbabilisticExpansion(Expansion):
    """Base class of the probabilistic expansions: log-densities of fixed distributions.

    A subclass lists its distributions in ``blocks``; the output is function-major,
    ``D = K m`` for ``K`` distributions in all. The distribution parameters are constants
    (non-persistent buffers, so they follow ``.to()`` but stay out of the ``state_dict``).

    When there is one block whose family is linear in ``J < K`` features of ``z`` and there
    is no postprocessing, :meth:`project` folds the weight's ``K`` blocks of ``m`` columns
    into ``J`` blocks and multiplies those features by it, never forming ``κ(x)``.

    Parameters
    ----------
    preprocess, postprocess
        See :class:`Expansion`.
    """

    blocks: ClassVar[tuple[_Block, ...]]

    def __init__(self, *, preprocess: Processing = None, postprocess: Processing = None) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        for i, block in enumerate(self.blocks):
            theta = [block.family.columns(p) for p in block.parameters]
            self.register_buffer(f"theta{i}", torch.tensor(theta, dtype=torch.float64), False)
        self._folding = self._linear_form()

    def _linear_form(self) -> bool:
        """Register the linear form of a single foldable block; return whether there is one."""
        if len(self.blocks) != 1 or not self.blocks[0].family.foldable:
            return False
        family, parameters = self.blocks[0].family, self.blocks[0].parameters
        forms = [family.linear(p) for p in parameters]
        if len(forms[0][0]) >= len(parameters):
            return False
        coefficients = torch.tensor([c for c, _ in forms], dtype=torch.float64)
        offsets = torch.tensor([e for _, e in forms], dtype=torch.float64)
        self.register_buffer("coefficients", coefficients, False)
        self.register_buffer("offsets", offsets, False)
        return True

    @property
    def K(self) -> int:
        """Number of distributions."""
        return sum(len(block.parameters) for block in self.blocks)

    def calculate_D(self, m: int) -> int:
        """Return ``K m``."""
        return self.K * positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return every distribution's log-density at every feature, function-major."""
        out = []
        for i, block in enumerate(self.blocks):
            theta = getattr(self, f"theta{i}").to(x.dtype)
            z = block.squash(x).unsqueeze(-2)
            out.append(block.family.log_prob(z, theta).flatten(-2))
        return out[0] if len(out) == 1 else torch.cat(out, dim=-1)

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ``; folded onto the linear features where possible."""
        if not self._folding or len(self.postprocess):
            return super().project(x, weight)
        block = self.blocks[0]
        x = self.preprocess(x)
        features = block.family.features(block.squash(x))
        coefficients = self.coefficients.to(weight.dtype)
        per_distribution = weight.unflatten(-1, (self.K, x.shape[-1]))  # (..., r, K, m)
        folded = torch.einsum("...kj,kJ->...Jj", per_distribution, coefficients).flatten(-2)
        constant = per_distribution.sum(-1) @ self.offsets.to(weight.dtype)  # (..., r)
        out = torch.matmul(torch.cat(features, dim=-1), folded.transpose(-1, -2))
        return out + constant.unsqueeze(-2)


def _single(
    family: _Family, squash: Callable[[Tensor], Tensor], *parameters: tuple[float, ...]
) -> tuple[_Block, ...]:
    """One block of ``family`` distributions on ``squash(x)``."""
    return (_Block(family, tuple(parameters), squash),)


class NormalExpansion(ProbabilisticExpansion):
    """Normal log-densities ``log N(x; μ, σ)`` for ``(μ, σ)`` = (0, 1), (1, 1), (-1, 1),
    (0, 0.1), (1, 0.1), (-1, 0.1), function-major (``D = 6m``)."""

    blocks = _single(_NORMAL, _real_line, (0, 1), (1, 1), (-1, 1), (0, 0.1), (1, 0.1), (-1, 0.1))


class NaiveNormalExpansion(ProbabilisticExpansion):
    """Naive probabilistic expansion: the standard normal log-density of every feature.

    ``κ(x)_i = log N(x_i; 0, 1) = -x_i²/2 - log(2π)/2`` (``D = m``), the per-feature
    log-likelihood terms of a naive Bayes model.
    """

    blocks = _single(_NORMAL, _real_line, (0, 1))


class CauchyExpansion(ProbabilisticExpansion):
    """Cauchy log-densities for ``(x0, γ)`` = (0, 1), (0, 0.5), (1, 1), (1, 0.5), (-1, 1),
    (-1, 0.5), function-major (``D = 6m``)."""

    blocks = _single(_CAUCHY, _real_line, (0, 1), (0, 0.5), (1, 1), (1, 0.5), (-1, 1), (-1, 0.5))


class NaiveCauchyExpansion(ProbabilisticExpansion):
    """The standard Cauchy log-density ``-log π - log(1 + x²)`` of every feature (``D = m``)."""

    blocks = _single(_CAUCHY, _real_line, (0, 1))


class LaplaceExpansion(ProbabilisticExpansion):
    """Laplace log-densities for ``(μ, b)`` = (0, 1), (0, 2), (1, 1), (1, 2), (-1, 1),
    (-1, 2), function-major (``D = 6m``)."""

    blocks = _single(_LAPLACE, _real_line, (0, 1), (0, 2), (1, 1), (1, 2), (-1, 1), (-1, 2))


class NaiveLaplaceExpansion(ProbabilisticExpansion):
    """The Laplace(0, 1) log-density ``-log 2 - |x|`` of every feature (``D = m``)."""

    blocks = _single(_LAPLACE, _real_line, (0, 1))


class GammaExpansion(ProbabilisticExpansion):
    """Gamma log-densities at ``z = 0.99 σ(x) + 0.001`` for (shape, rate) = (0.5, 1),
    (0.5, 2), (1, 1), (1, 2), (2, 1), (2, 2), function-major (``D = 6m``)."""

    blocks = _single(_GAMMA, _unit_interval, (0.5, 1), (0.5, 2), (1, 1), (1, 2), (2, 1), (2, 2))


class NaiveGammaExpansion(ProbabilisticExpansion):
    """The Gamma(0.5, 1) log-density at ``z = 0.99 σ(x) + 0.001`` (``D = m``)."""

    blocks = _single(_GAMMA, _unit_interval, (0.5, 1))


class Chi2Expansion(ProbabilisticExpansion):
    """χ² log-densities with 1 and 2 degrees of freedom at ``z = σ(x) + 0.001``,
    function-major (``D = 2m``)."""

    blocks = _single(_GAMMA, _shifted_sigmoid, *_chi2(1, 2))


class NaiveChi2Expansion(ProbabilisticExpansion):
    """The χ²(1) log-density at ``z = σ(x) + 0.001`` (``D = m``)."""

    blocks = _single(_GAMMA, _shifted_sigmoid, *_chi2(1))


class ExponentialExpansion(ProbabilisticExpansion):
    """Exponential log-densities ``log λ - λ z`` at ``z = 0.99 σ(x) + 0.001`` for
    ``λ`` = 0.5, 0.75, 1, 2, 3, 5, function-major (``D = 6m``)."""

    blocks = _single(_EXPONENTIAL, _unit_interval, (0.5,), (0.75,), (1,), (2,), (3,), (5,))


class NaiveExponentialExpansion(ProbabilisticExpansion):
    """The Exponential(0.5) log-density at ``z = 0.99 σ(x) + 0.001`` (``D = m``)."""

    blocks = _single(_EXPONENTIAL, _unit_interval, (0.5,))


class HybridProbabilisticExpansion(ProbabilisticExpansion):
    """Six families, function-major (``D = 6m``): ``N(0, 1)(x)``, ``Cauchy(0, 1)(x)``,
    ``χ²(1)(z)``, ``Gamma(0.5, 1)(z)``, ``Laplace(0, 1)(x)``, ``Exponential(1)(z)`` with
    ``z = 0.99 σ(x) + 0.001``."""

    blocks = (
        _Block(_NORMAL, ((0, 1),), _real_line),
        _Block(_CAUCHY, ((0, 1),), _real_line),
        _Block(_GAMMA, _chi2(1), _unit_interval),
        _Block(_GAMMA, ((0.5, 1),), _unit_interval),
        _Block(_LAPLACE, ((0, 1),), _real_line),
        _Block(_EXPONENTIAL, ((1,),), _unit_interval),
    )
