"""Polynomial expansions: identity and Taylor."""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.expansion.base import _LAYER_NORM_EPS, Expansion, Processing
from rpnkit.rpn.expansion.taylor_kernels import taylor2_project


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

    For ``d = 2``, :meth:`project` never forms the ``b × D`` expansion nor a copy of the weight:
    row ``k`` of the weight is read as an ``(m+1) × m`` matrix ``Ŵ_k`` (linear block, then the
    quadratic block) and ``κ(x)·w_k = [1, x] Ŵ_k xᵀ``, so the forward and the backward are a few
    batched matrix products over the weight in place
    (``rpnkit.rpn.expansion.taylor_kernels``). A ``layer_norm``
    postprocess is handled exactly, with ``O(m)`` statistics of ``κ(x)`` per sample computed
    in float64 and a centred form of ``κ(x) - μ`` that avoids the cancellation of
    ``κ Wᵀ - μ (W 1_D)ᵀ`` on near-constant inputs. Other postprocessing, and ``d ≠ 2``, fall
    back to the materialising product.

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
        # TorchScript's tracer cannot record the fused kernel's autograd.Function
        fused = self.d == 2 and not torch.jit.is_tracing()
        if not fused or not (layer_norm or len(self.postprocess) == 0):
            return super().project(x, weight)
        x = self.preprocess(x)
        rows = weight.reshape(-1, weight.shape[-1])
        out = taylor2_project(x, rows, layer_norm=layer_norm, eps=_LAYER_NORM_EPS)
        return out.T.reshape(*weight.shape[:-1], x.shape[0]).transpose(-1, -2)
