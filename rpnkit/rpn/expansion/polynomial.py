"""Polynomial expansions: identity and Taylor."""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.rpn._validation import positive_int
from rpnkit.rpn.expansion.base import _LAYER_NORM_EPS, Expansion, Processing


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
