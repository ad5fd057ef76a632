"""Data expansion functions κ: ``R^m -> R^D``, the polynomial side of an RPN head.

Every expansion is an :class:`Expansion` module. It maps a batch ``x`` of shape ``(..., m)`` to
``κ(x)`` of shape ``(..., D)`` with ``D = calculate_D(m)``. Optional pre- and post-processing
steps (:mod:`rpnkit.rpn.processing`, e.g. ``postprocess=["layer_norm"]``) run before and after
the expansion proper. Fixed tensors (RBF centres, B-spline knots) are buffers created at
construction, so they follow ``.to()`` and live in the ``state_dict``; every computation keeps
``x.dtype`` and ``x.device`` and never synchronises with the host.

Layouts follow tinybig 0.2.1: *feature-major* expansions put the ``K`` values of input feature
``i`` at indices ``i*K .. i*K+K-1``; *function-major* ones concatenate ``[f_1(x), f_2(x), ...]``.

Besides ``forward``, an expansion answers :meth:`Expansion.project`, the product
``κ(x) Wᵀ`` with a weight of shape ``(..., r, D)``. The default materialises ``κ(x)``;
:class:`TaylorExpansion` of order 2 computes it from ``x`` directly in ``O(b r m)`` memory,
which is what makes a Taylor head with low-rank reconciliation cheap.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component, interval, positive_float, positive_int
from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec

__all__ = [
    "BSplineExpansion",
    "ChebyshevExpansion",
    "Expansion",
    "ExtendedExpansion",
    "FourierExpansion",
    "GaussianRBFExpansion",
    "HermiteExpansion",
    "HyperbolicExpansion",
    "IdentityExpansion",
    "LegendreExpansion",
    "NaiveNormalExpansion",
    "OrthogonalPolynomialExpansion",
    "TaylorExpansion",
    "TrigonometricExpansion",
]

Processing = ProcessingSpec | Sequence[ProcessingSpec] | None

_LAYER_NORM_EPS = 1e-5


class Expansion(nn.Module, ABC):
    """Base class of data expansion functions κ.

    Subclasses implement :meth:`calculate_D` and :meth:`expand`; they may override
    :meth:`project` with a cheaper way to compute ``κ(x) Wᵀ``.

    Parameters
    ----------
    preprocess
        Processing steps applied to ``x`` before the expansion.
    postprocess
        Processing steps applied to ``κ(x)``, e.g. ``["layer_norm"]``. They must keep the
        last dimension ``D``.
    """

    def __init__(self, *, preprocess: Processing = None, postprocess: Processing = None) -> None:
        super().__init__()
        self.preprocess = ProcessingChain(preprocess, field="preprocess")
        self.postprocess = ProcessingChain(postprocess, field="postprocess")

    @abstractmethod
    def calculate_D(self, m: int) -> int:
        """Return the output size ``D`` for ``m`` input features."""

    @abstractmethod
    def expand(self, x: Tensor) -> Tensor:
        """Return the raw expansion of an already preprocessed ``x`` (no postprocessing)."""

    def forward(self, x: Tensor) -> Tensor:
        """Return ``κ(x)`` of shape ``(..., D)`` for ``x`` of shape ``(..., m)``."""
        return self.postprocess(self.expand(self.preprocess(x)))

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` for every leading index of ``weight``.

        Parameters
        ----------
        x
            Input batch, shape ``(b, m)``.
        weight
            Shape ``(..., r, D)``.

        Returns
        -------
        Tensor
            Shape ``(..., b, r)``.
        """
        return torch.matmul(self(x), weight.transpose(-1, -2))


class IdentityExpansion(Expansion):
    """Identity expansion ``κ(x) = x`` (``D = m``); with identity reconciliation an MLP layer."""

    def calculate_D(self, m: int) -> int:
        """Return ``m``."""
        return positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x


class TaylorExpansion(Expansion):
    """Taylor expansion ``κ(x) = [x, x⊗x, ..., x^{⊗d}]`` without the constant term.

    Block ``k`` holds every ordered product ``x_{i1}···x_{ik}`` at index
    ``i1·m^{k-1} + ... + ik``, so ``D = m + m² + ... + m^d`` (``x_i x_j`` and ``x_j x_i`` are
    both present, as in tinybig).

    For ``d = 2``, :meth:`project` never forms the ``b × D`` expansion: with the weight split
    into ``W1 = W[:, :m]`` and ``W2 = W[:, m:].view(r, m, m)``,
    ``κ(x) Wᵀ = x W1ᵀ + einsum('bi,kij,bj->bk', x, W2, x)``, which takes ``O(b r m²)`` flops and
    ``O(b r m)`` memory. A ``layer_norm`` postprocess is handled exactly through
    ``LN(κ) Wᵀ = (κ Wᵀ - μ (W 1_D)ᵀ) / σ`` with ``O(m)`` statistics of ``κ(x)``. With
    ``x̄`` the mean of ``x`` and ``C2 = Σ (x_i - x̄)²``, the mean is
    ``μ = x̄ (1 + m x̄) / (m + 1)`` and the sum of squared deviations is
    ``C2 + C2² + 2 m x̄² C2 + m² x̄² (1 - x̄)² / (m + 1)`` (within-block plus between-block
    terms); every term is non-negative, so there is none of the cancellation of
    ``E[κ²] - μ²``. Other postprocessing falls back to the materialising product.

    Parameters
    ----------
    d
        Highest order, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self, d: int = 2, *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.d = positive_int(d, "taylor expansion d")

    def calculate_D(self, m: int) -> int:
        """Return ``m + m² + ... + m^d``."""
        positive_int(m, "m")
        return sum(m**k for k in range(1, self.d + 1))

    def expand(self, x: Tensor) -> Tensor:
        """Return ``[x, x⊗x, ...]`` of shape ``(..., D)``."""
        blocks = [x]
        for _ in range(1, self.d):
            blocks.append((blocks[-1].unsqueeze(-1) * x.unsqueeze(-2)).flatten(-2))
        return torch.cat(blocks, dim=-1)

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ``; for ``d = 2`` without forming ``κ(x)`` (see the class)."""
        layer_norm = self.postprocess.is_layer_norm()
        if self.d != 2 or not (layer_norm or len(self.postprocess) == 0):
            return super().project(x, weight)
        x = self.preprocess(x)
        m = x.shape[-1]
        linear = weight[..., :m]
        quadratic = weight[..., m:].unflatten(-1, (m, m))
        # inner[..., k, i, b] = Σ_j W2[k, i, j] x_bj + W1[k, i]; out[..., b, k] = Σ_i x_bi inner
        inner = torch.matmul(quadratic, x.T) + linear.unsqueeze(-1)
        out = (inner * x.T).sum(-2).transpose(-1, -2)
        if not layer_norm:
            return out
        # Statistics of κ(x) from O(m) sums of the centred input (see the class docstring).
        x_mean = x.mean(-1, keepdim=True)
        centred = x - x_mean
        c2 = (centred * centred).sum(-1, keepdim=True)
        mean = x_mean * (1 + m * x_mean) / (m + 1)
        spread = x_mean * (1 - x_mean)
        squares = c2 * (1 + c2 + 2 * m * x_mean * x_mean) + m * m * spread * spread / (m + 1)
        scale = torch.rsqrt(squares / (m + m * m) + _LAYER_NORM_EPS)
        return (out - mean * weight.sum(-1).unsqueeze(-2)) * scale


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


class OrthogonalPolynomialExpansion(Expansion):
    """Base class of feature-major polynomial expansions of degrees ``1..d`` (``D = m d``).

    Subclasses give the degree-1 polynomial and the three-term recurrence; the degree-0
    polynomial is 1 and is not part of the output.

    Parameters
    ----------
    d
        Highest degree, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self, d: int = 2, *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.d = positive_int(d, f"{type(self).__name__} d")

    def calculate_D(self, m: int) -> int:
        """Return ``m d``."""
        return positive_int(m, "m") * self.d

    @abstractmethod
    def first(self, x: Tensor) -> Tensor:
        """Return the degree-1 polynomial at ``x``."""

    @abstractmethod
    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return the degree-``k`` polynomial from degrees ``k-1`` and ``k-2``."""

    def expand(self, x: Tensor) -> Tensor:
        """Return degrees ``1..d`` of every feature, feature-major."""
        before, previous = torch.ones_like(x), self.first(x)
        terms = [previous]
        for k in range(2, self.d + 1):
            before, previous = previous, self.next(k, x, previous, before)
            terms.append(previous)
        return torch.stack(terms, dim=-1).flatten(-2)


class ChebyshevExpansion(OrthogonalPolynomialExpansion):
    """Chebyshev polynomials of the first kind: ``T1 = x``, ``Tk = 2x T(k-1) - T(k-2)``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``2x T(k-1) - T(k-2)``."""
        return 2 * x * previous - before


class LegendreExpansion(OrthogonalPolynomialExpansion):
    """Legendre polynomials: ``P1 = x``, ``Pk = ((2k-1) x P(k-1) - (k-1) P(k-2)) / k``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``((2k-1) x P(k-1) - (k-1) P(k-2)) / k``."""
        return ((2 * k - 1) * x * previous - (k - 1) * before) / k


class HermiteExpansion(OrthogonalPolynomialExpansion):
    """Probabilists' Hermite polynomials: ``He1 = x``, ``Hek = x He(k-1) - (k-1) He(k-2)``."""

    def first(self, x: Tensor) -> Tensor:
        """Return ``x``."""
        return x

    def next(self, k: int, x: Tensor, previous: Tensor, before: Tensor) -> Tensor:
        """Return ``x He(k-1) - (k-1) He(k-2)``."""
        return x * previous - (k - 1) * before


class BSplineExpansion(Expansion):
    """B-spline basis of degree ``d`` on ``t`` equal intervals of ``grid_range`` (``D = m(t+d)``).

    With ``h = (hi - lo)/t`` the fixed knots are ``lo + u h`` for ``u = -d..t+d``; the bases
    come from the Cox–de Boor recursion and vanish outside ``[lo - d h, hi + d h)``. The
    output is feature-major.

    Parameters
    ----------
    grid_range
        ``(lo, hi)`` with ``lo < hi``.
    t
        Number of intervals, >= 1.
    d
        Spline degree, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    knots: Tensor

    def __init__(
        self,
        grid_range: Sequence[float] = (-1.0, 1.0),
        t: int = 5,
        d: int = 3,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        lo, hi = interval(grid_range, "bspline expansion grid_range")
        self.t = positive_int(t, "bspline expansion t")
        self.d = positive_int(d, "bspline expansion d")
        step = (hi - lo) / self.t
        positions = torch.arange(-self.d, self.t + self.d + 1, dtype=torch.float64)
        knots = (lo + step * positions).to(torch.get_default_dtype())
        self.register_buffer("knots", knots)

    def calculate_D(self, m: int) -> int:
        """Return ``m (t + d)``."""
        return positive_int(m, "m") * (self.t + self.d)

    def expand(self, x: Tensor) -> Tensor:
        """Return the ``t + d`` basis values of every feature, feature-major."""
        g = self.knots.to(x.dtype)
        x = x.unsqueeze(-1)
        bases = ((x >= g[:-1]) & (x < g[1:])).to(x.dtype)
        for k in range(1, self.d + 1):
            left = (x - g[: -(k + 1)]) / (g[k:-1] - g[: -(k + 1)]) * bases[..., :-1]
            right = (g[k + 1 :] - x) / (g[k + 1 :] - g[1:-k]) * bases[..., 1:]
            bases = left + right
        return bases.flatten(-2)


class GaussianRBFExpansion(Expansion):
    """Gaussian radial basis ``exp(-(ε (x_i - c_j))²)`` on fixed centres (``D = m k``).

    The ``k = num_interval`` centres are ``linspace(lo, hi, k)``; the output is feature-major.

    Parameters
    ----------
    base_range
        ``(lo, hi)`` with ``lo < hi``.
    num_interval
        Number of centres ``k``, >= 1.
    epsilon
        Shape parameter ``ε``, > 0.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    centres: Tensor

    def __init__(
        self,
        base_range: Sequence[float] = (-1.0, 1.0),
        num_interval: int = 10,
        epsilon: float = 1.0,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        lo, hi = interval(base_range, "gaussian_rbf expansion base_range")
        self.num_interval = positive_int(num_interval, "gaussian_rbf expansion num_interval")
        self.epsilon = positive_float(epsilon, "gaussian_rbf expansion epsilon")
        self.register_buffer("centres", torch.linspace(lo, hi, self.num_interval))

    def calculate_D(self, m: int) -> int:
        """Return ``m k``."""
        return positive_int(m, "m") * self.num_interval

    def expand(self, x: Tensor) -> Tensor:
        """Return every feature's distance kernel to every centre, feature-major."""
        scaled = self.epsilon * (x.unsqueeze(-1) - self.centres.to(x.dtype))
        return torch.exp(-scaled * scaled).flatten(-2)


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


class NaiveNormalExpansion(Expansion):
    """Naive probabilistic expansion: the standard normal log-density of every feature.

    ``κ(x)_i = log N(x_i; 0, 1) = -x_i²/2 - log(2π)/2`` (``D = m``), the per-feature
    log-likelihood terms of a naive Bayes model.
    """

    def calculate_D(self, m: int) -> int:
        """Return ``m``."""
        return positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``log N(x; 0, 1)`` elementwise."""
        return -0.5 * x * x - 0.5 * math.log(2 * math.pi)


class ExtendedExpansion(Expansion):
    """Concatenation ``[κ_1(x), ..., κ_k(x)]`` of several expansions (``D = Σ D_i(m)``).

    :meth:`project` splits the weight by block and sums the blocks' own projections, so a
    Taylor block keeps its fast path (unless this expansion has its own postprocessing).

    Parameters
    ----------
    expansions
        The expansions: instances, or names or config dicts built through the registry
        group ``expansion``.
    preprocess, postprocess
        See :class:`Expansion`; applied around the whole concatenation.
    """

    def __init__(
        self,
        expansions: Sequence[Any],
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        if (
            isinstance(expansions, (str, bytes))
            or not isinstance(expansions, Sequence)
            or not (expansions)
        ):
            raise ConfigError(
                f"extended expansion expansions={expansions!r} is invalid; expected a non-empty "
                "list of expansions (names, config dicts or Expansion instances)"
            )
        self.expansions = nn.ModuleList(
            build_component("expansion", spec, Expansion, f"extended expansion expansions[{i}]")
            for i, spec in enumerate(expansions)
        )

    def parts(self) -> list[Expansion]:
        """The concatenated expansions, in order."""
        return [cast(Expansion, expansion) for expansion in self.expansions]

    def calculate_D(self, m: int) -> int:
        """Return the sum of the parts' output sizes."""
        return sum(expansion.calculate_D(m) for expansion in self.parts())

    def expand(self, x: Tensor) -> Tensor:
        """Return the concatenated expansions."""
        return torch.cat([expansion(x) for expansion in self.parts()], dim=-1)

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` as the sum of every part's projection."""
        if len(self.postprocess):
            return super().project(x, weight)
        x = self.preprocess(x)
        parts = self.parts()
        weights = weight.split([part.calculate_D(x.shape[-1]) for part in parts], dim=-1)
        out = parts[0].project(x, weights[0])
        for part, part_weight in zip(parts[1:], weights[1:], strict=True):
            out = out + part.project(x, part_weight)
        return out
