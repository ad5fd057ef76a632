"""Products on the edges of a graph, with gradients, through CSR kernels.

Edge attention (:class:`~rpnkit.rpn.graph.attention.EdgeBilinearInterdependence`) needs two
products on the stored entries ``e = (src_e, dst_e)`` of a graph's adjacency ``Â``:

* :func:`edge_dot`: ``s_e = source[src_e] · target[dst_e]`` (an SDDMM, the dense product
  ``source · targetᵀ`` sampled on the edges);
* :func:`edge_propagate`: ``out[j] = Σ_{e: dst_e = j} w_e · data[src_e]`` (``Mᵀ·data`` for the
  matrix ``M`` of ``Â``'s pattern holding ``w``).

Each gradient is the other kind of product (``∂/∂source`` of an SDDMM is a sparse × dense
product with the incoming gradient as values; ``∂/∂w`` of a propagation is an SDDMM). With
float32/float64 strided matrices both run as torch's CSR kernels
(``torch.sparse.sampled_addmm`` and CSR × dense) on the adjacency's cached index arrays:
time and memory ``O(E)`` per feature and no ``E × m`` gathered copies. Other inputs take the
gather / scatter-add way, the same numbers to float rounding.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

from rpnkit.rpn.interdependence.adjacency import Adjacency

__all__ = ["edge_dot", "edge_propagate"]

_CSR_DTYPES = (torch.float32, torch.float64)


def _fits_csr(*tensors: Tensor) -> bool:
    """Whether the CSR kernels take these matrices (float32/float64, strided, 2-D)."""
    return all(
        t.dtype in _CSR_DTYPES and t.layout == torch.strided and t.ndim == 2 for t in tensors
    )


def edge_dot(adjacency: Adjacency, source: Tensor, target: Tensor) -> Tensor:
    """``s_e = source[src_e] · target[dst_e]`` for every stored entry of ``adjacency``.

    Parameters
    ----------
    adjacency
        The graph's adjacency (its entries in ``src``/``dst`` order).
    source, target
        ``(n, k)`` node features.

    Returns
    -------
    Tensor
        Shape ``(E,)``, in the adjacency's entry order.
    """
    if _fits_csr(source, target) and source.dtype == target.dtype:
        return _EdgeDot.apply(source, target, adjacency)
    gathered = source.index_select(0, adjacency.src) * target.index_select(0, adjacency.dst)
    return gathered.sum(1)


def edge_propagate(adjacency: Adjacency, weights: Tensor, data: Tensor) -> Tensor:
    """``out[j] = Σ_{e: dst_e = j} weights_e · data[src_e]``, shape ``(n, k)``.

    Parameters
    ----------
    adjacency
        The graph's adjacency.
    weights
        ``(E,)`` values on its entries, in its entry order.
    data
        ``(n, k)`` node features.
    """
    if _fits_csr(data) and weights.dtype == data.dtype:
        return _EdgePropagate.apply(weights, data, adjacency)
    messages = data.index_select(0, adjacency.src) * weights.unsqueeze(1)
    return torch.zeros_like(data).index_add(0, adjacency.dst, messages)


def _sampled(adjacency: Adjacency, left: Tensor, right: Tensor) -> Tensor:
    """``(left · rightᵀ)[src_e, dst_e]`` for every entry, by torch's CSR SDDMM."""
    pattern = adjacency.csr_pattern(left.device)
    zeros = left.new_zeros(pattern.col.numel())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        mask = torch.sparse_csr_tensor(
            pattern.crow, pattern.col, zeros, (adjacency.n, adjacency.n), check_invariants=False
        )
        product = torch.sparse.sampled_addmm(
            mask, left.contiguous(), right.contiguous().transpose(0, 1), beta=0.0
        )
    return product.values()


class _EdgeDot(torch.autograd.Function):
    """SDDMM on the edges; gradients ``M_g·target`` and ``M_gᵀ·source`` (``M_g``: ``Â``'s
    pattern holding the incoming gradient)."""

    @staticmethod
    def forward(ctx: Any, source: Tensor, target: Tensor, adjacency: Adjacency) -> Tensor:
        ctx.save_for_backward(source, target)
        ctx.adjacency = adjacency
        return _sampled(adjacency, source, target)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        source, target = ctx.saved_tensors
        transposed, matrix = ctx.adjacency.csr_matrices(grad.contiguous())
        grad_source = matrix @ target if ctx.needs_input_grad[0] else None
        grad_target = transposed @ source if ctx.needs_input_grad[1] else None
        return grad_source, grad_target, None


class _EdgePropagate(torch.autograd.Function):
    """``M_wᵀ·data``; gradients ``M_w·grad`` (data) and the SDDMM ``data[src_e]·grad[dst_e]``
    (weights)."""

    @staticmethod
    def forward(ctx: Any, weights: Tensor, data: Tensor, adjacency: Adjacency) -> Tensor:
        transposed, matrix = adjacency.csr_matrices(weights.contiguous())
        ctx.save_for_backward(data)
        ctx.matrix = matrix
        ctx.adjacency = adjacency
        return transposed @ data

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None, None]:
        (data,) = ctx.saved_tensors
        grad = grad.contiguous()
        grad_weights = _sampled(ctx.adjacency, data, grad) if ctx.needs_input_grad[0] else None
        grad_data = ctx.matrix @ grad if ctx.needs_input_grad[1] else None
        return grad_weights, grad_data, None
