"""Fused product ``κ(x) Wᵀ`` of the order-2 Taylor expansion, optionally layer-normalised.

Row ``k`` of the weight, of length ``D = m + m²``, is read as the ``(m+1) × m`` matrix ``Ŵ_k``
(a view, no copy): row 0 is the linear block, rows ``1..m`` are the quadratic block, because
``x_i x_j`` sits at index ``m + i m + j``. With ``x̂ = [1, x]`` the expansion is
``κ(x) = vec(x̂ xᵀ)`` and ``κ(x)·w_k = x̂ᵀ Ŵ_k x``; the whole weight is a batch of ``r``
matrices that the large products of the forward and the backward use in place:

* forward: ``Y_k = X̂ Ŵ_k`` (one batched matrix product, ``b × (m+1)`` times ``(m+1) × m``),
  then ``out_bk = Σ_j Y_kbj x_bj``;
* gradient of the weight: ``Σ_b g_bk x̂_b x_bᵀ``, one matrix product written straight into the
  ``(r, D)`` gradient;
* gradient of ``x`` (only when needed): ``Σ_k g_bk (Ŵ_kᵀ x̂_b + (Ŵ_k x_b)[1:])``; the first part
  comes from the ``Y`` kept by the forward, the second is one batched product.

So a step costs ``2 b r m (m+1)`` multiply-adds per product, the memory beyond the weight and
its gradient is ``O(b r m)``, and neither the ``b × D`` expansion nor a copy of the weight is
formed.

Layer normalisation over the ``D`` entries of ``κ(x)`` is exact. Its statistics are ``O(m)``
per sample and are computed in float64 (in the input's dtype on devices without float64). With
the shift ``s`` (the mean of ``x`` rounded to the working dtype), ``u = x - s`` and the mean
``μ`` of ``κ(x)``, the centred expansion splits into three outer products of small, exactly
formed vectors,

``x̂ xᵀ - μ 1 1ᵀ = e₀ (u + (s - μ) 1)ᵀ + [0, u] xᵀ + [0, 1] (s u + (s² - μ) 1)ᵀ``,

so the forward computes ``(κ(x) - μ)·w_k`` without the cancellation of ``κ(x)·w_k - μ Σ w_k``
(which loses about ``log10(|κ| / |κ - μ|)`` digits on near-constant inputs). The column sums of
the quadratic blocks that the last term needs come from the same batched product (one extra
row of ``X̂``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from rpnkit.rpn.gradient_buffer import gradient_like

__all__ = ["taylor2_project"]


def taylor2_project(x: Tensor, weight: Tensor, *, layer_norm: bool, eps: float = 1e-5) -> Tensor:
    """Return ``κ(x) Wᵀ`` (or ``LN(κ(x)) Wᵀ``) for the Taylor expansion of order 2.

    Parameters
    ----------
    x
        Preprocessed input, shape ``(b, m)``.
    weight
        Shape ``(r, m + m²)``, in the layout of :meth:`TaylorExpansion.expand`.
    layer_norm
        Whether ``κ(x)`` is layer-normalised over its ``D`` entries (no affine parameters).
    eps
        The layer normalisation's ``eps``.

    Returns
    -------
    Tensor
        Shape ``(b, r)``; differentiable in ``x`` and ``weight``.
    """
    if weight.stride(-1) != 1:  # each row must be viewable as an (m+1) × m matrix
        weight = weight.contiguous()
    out: Tensor = _Taylor2Projection.apply(x, weight, layer_norm, eps)
    return out


class _Statistics(NamedTuple):
    """Per-sample layer-norm statistics of ``κ(x)``, each of shape ``(b, 1)``.

    ``shift``, ``alpha = shift - μ``, ``beta = shift² - μ`` and ``rstd`` are in the working
    dtype; the rest, for the backward, in the statistics dtype: ``mean`` (of ``x``), ``dmean``
    (``∂μ/∂x_j``, the same for every ``j``) and ``p``, ``q`` with
    ``∂rstd/∂x_j = p (x_j - mean) + q``.
    """

    shift: Tensor
    alpha: Tensor
    beta: Tensor
    rstd: Tensor
    mean: Tensor
    dmean: Tensor
    p: Tensor
    q: Tensor


def _statistics(x: Tensor, eps: float) -> _Statistics:
    """Mean and inverse standard deviation of ``κ(x)`` from ``O(m)`` sums of the centred input.

    With ``s`` the mean of ``x`` and ``c₂ = Σ (x_i - s)²``: ``μ = s (1 + m s) / (m + 1)`` and
    ``D σ² = c₂ + c₂² + 2 m s² c₂ + m² s² (1 - s)² / (m + 1)`` (within-block plus
    between-block sums of squares, every term non-negative).
    """
    m = x.shape[-1]
    size = m + m * m
    wide = x.to(torch.float32 if x.device.type == "mps" else torch.float64)
    s = wide.mean(-1, keepdim=True)
    centred = wide - s
    c2 = (centred * centred).sum(-1, keepdim=True)
    spread = s * (1 - s)
    var = (c2 * (1 + c2 + 2 * m * s * s) + m * m * spread * spread / (m + 1)) / size
    rstd = torch.rsqrt(var + eps)
    mu = s * (1 + m * s) / (m + 1)
    shift = s.to(x.dtype)
    exact_shift = shift.to(wide.dtype)
    cube = -(rstd**3) / size
    return _Statistics(
        shift=shift,
        alpha=(exact_shift - mu).to(x.dtype),
        beta=(exact_shift * exact_shift - mu).to(x.dtype),
        rstd=rstd.to(x.dtype),
        mean=s,
        dmean=(1 + 2 * m * s) / size,
        p=cube * (1 + 2 * c2 + 2 * m * s * s),
        q=cube * (2 * s * c2 + m * spread * (1 - 2 * s) / (m + 1)),
    )


class _Taylor2Projection(torch.autograd.Function):
    """``κ(x) Wᵀ`` for Taylor order 2 with hand-written backward (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, layer_norm: bool, eps: float) -> Tensor:
        b, m = x.shape
        w_hat = weight.view(weight.shape[0], m + 1, m)
        ctx.layer_norm = layer_norm
        keep = ctx.needs_input_grad[0]  # y (and the centred output) serve the gradient of x only
        if not layer_norm:
            y = torch.matmul(torch.nn.functional.pad(x, (1, 0), value=1.0), w_hat)
            ctx.save_for_backward(x, weight, y if keep else None)
            return (y * x).sum(-1).T
        stats = _statistics(x, eps)
        u = x - stats.shift
        left = x.new_zeros(b + 1, m + 1)
        left[:b, 1:] = u
        left[b, 1:] = 1
        y = torch.matmul(left, w_hat)  # (r, b+1, m): [Ŵ_kᵀ [0, u_b] for b; column sums of W2_k]
        centred = (
            (y[:, :b] * x).sum(-1).T
            + (u + stats.alpha) @ w_hat[:, 0].T
            + (stats.shift * u + stats.beta) @ y[:, b].T
        )
        ctx.stats = stats
        ctx.save_for_backward(x, weight, *((y, centred) if keep else (None, None)))
        return centred * stats.rstd

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None, None]:
        x, weight, y, *rest = ctx.saved_tensors
        b, m = x.shape
        r = weight.shape[0]
        w_hat = weight.view(r, m + 1, m)
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = grad_w = None
        if not ctx.layer_norm:
            if need_w:
                grad_w = gradient_like(weight)
                left = torch.empty(r, m + 1, b, dtype=x.dtype, device=x.device)
                left[:, 0] = grad.T
                torch.mul(grad.T.contiguous().unsqueeze(1), x.T, out=left[:, 1:])
                torch.mm(left.view(r * (m + 1), b), x, out=grad_w.view(r * (m + 1), m))
            if need_x:
                grad_x = torch.einsum("kbj,bk->bj", y, grad) + _transposed_part(grad, x, w_hat)
            return grad_x, grad_w, None, None
        (centred,) = rest
        stats: _Statistics = ctx.stats
        u = x - stats.shift
        scaled = grad * stats.rstd  # g̃ = g / σ
        if need_w:
            # Σ_b g̃_bk (κ_b - μ_b) as (m+1) × m matrices: [0,u] xᵀ + e₀ aᵀ + [0,1] cᵀ summed
            # over b, as one batched product with b + 2 terms.
            left = torch.empty(r, m + 1, b + 2, dtype=x.dtype, device=x.device)
            # (a contiguous g̃ᵀ makes this broadcast several times faster)
            torch.mul(scaled.T.contiguous().unsqueeze(1), u.T, out=left[:, 1:, :b])
            left[:, 0].zero_()
            left[:, 0, b] = 1
            left[:, 1:, b] = 0
            left[:, 1:, b + 1] = 1
            right = torch.empty(r, b + 2, m, dtype=x.dtype, device=x.device)
            right[:, :b] = x
            right[:, b] = scaled.T @ (u + stats.alpha)
            right[:, b + 1] = scaled.T @ (stats.shift * u + stats.beta)
            grad_w = gradient_like(weight)
            torch.bmm(left, right, out=grad_w.view(r, m + 1, m))
        if need_x:
            # ∂(κ·w_k)/∂x = Ŵ_kᵀ x̂ + (Ŵ_k x)[1:] with Ŵ_kᵀ x̂ = W1_k + s C_k + Y_k(u).
            column_sums = y[:, b]
            direct = (
                torch.einsum("kbj,bk->bj", y[:, :b], scaled)
                + scaled @ w_hat[:, 0]
                + stats.shift * (scaled @ column_sums)
            )
            totals = w_hat[:, 0].sum(-1) + column_sums.sum(-1)  # Σ_i w_ki, shape (r,)
            # Through μ and σ (O(b m), in the statistics dtype): ∂μ/∂x_j is the same for all j.
            wide = stats.mean.dtype
            through_mean = (scaled @ totals).unsqueeze(-1).to(wide) * stats.dmean
            through_rstd = (grad * centred).sum(-1, keepdim=True).to(wide) * (
                stats.p * (x.to(wide) - stats.mean) + stats.q
            )
            corrections = through_rstd - through_mean
            grad_x = direct + _transposed_part(scaled, x, w_hat) + corrections.to(x.dtype)
        return grad_x, grad_w, None, None


def _transposed_part(grad: Tensor, x: Tensor, w_hat: Tensor) -> Tensor:
    """Return ``Σ_k grad_bk (Ŵ_k x_b)[1:]``, shape ``(b, m)``: one batched product."""
    products = torch.matmul(grad.T.unsqueeze(-1) * x, w_hat[:, 1:].transpose(-1, -2))
    return products.sum(0)
