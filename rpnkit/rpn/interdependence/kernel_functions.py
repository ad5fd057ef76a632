"""Numerical kernels between the columns of a matrix, the math behind the numerical-kernel
interdependence functions.

Every function takes ``x`` of shape ``(n, k)`` and returns the ``k × k`` matrix
``K[i, j] = kernel(x[:, i], x[:, j])`` (for an attribute interdependence ``x`` is the batch and
the columns are the attributes; for an instance one ``x`` is the transposed batch).

Distance kernels use :func:`torch.cdist` in its exact mode
(``compute_mode="donot_use_mm_for_euclid_dist"``), which gives the same values as the norm of
the ``n × k × k`` tensor of differences without ever forming it: memory ``O(k²)`` instead of
``O(n k²)``, and several times faster for a few hundred columns (the faster ``mm`` mode is not
used because it loses digits in float32). The Canberra distance, which has no ``cdist`` form,
sums the same differences a block of rows at a time so its temporary stays small.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "NUMERICAL_KERNELS",
    "anisotropic_rbf_kernel",
    "canberra_distance",
    "canberra_distance_kernel",
    "chebyshev_distance_kernel",
    "column_distance",
    "cosine_similarity_kernel",
    "euclidean_distance_kernel",
    "exponential_kernel",
    "gaussian_rbf_kernel",
    "hyperbolic_tangent_kernel",
    "laplacian_kernel",
    "linear_kernel",
    "manhattan_distance_kernel",
    "minkowski_distance_kernel",
    "polynomial_kernel",
]

_EXACT = "donot_use_mm_for_euclid_dist"
#: Elements of the temporary ``rows × k × k`` block the Canberra distance sums at a time.
_BLOCK_ELEMENTS = 1 << 22


def column_distance(x: Tensor, p: float) -> Tensor:
    """``‖x[:, i] − x[:, j]‖_p`` for every pair of columns, exactly, without an ``n×k×k``
    temporary."""
    columns = x.transpose(0, 1)
    return torch.cdist(columns, columns, p=p, compute_mode=_EXACT)


def linear_kernel(x: Tensor) -> Tensor:
    """Gram matrix ``xᵀx``."""
    return x.transpose(0, 1) @ x


def polynomial_kernel(x: Tensor, c: float = 0.0, d: int = 1) -> Tensor:
    """``(xᵀx + c)^d``."""
    return (linear_kernel(x) + c) ** d


def hyperbolic_tangent_kernel(x: Tensor, c: float = 0.0, alpha: float = 1.0) -> Tensor:
    """``tanh(α xᵀx + c)``."""
    return torch.tanh(alpha * linear_kernel(x) + c)


def cosine_similarity_kernel(x: Tensor) -> Tensor:
    """``x̂ᵀx̂`` with every column scaled to unit L2 norm (a zero column stays zero)."""
    norms = torch.linalg.vector_norm(x, ord=2, dim=0, keepdim=True)
    unit = x / torch.where(norms == 0, torch.ones_like(norms), norms)
    return unit.transpose(0, 1) @ unit


def minkowski_distance_kernel(x: Tensor, p: float) -> Tensor:
    """``exp(−‖x_i − x_j‖_p)``."""
    return torch.exp(-column_distance(x, p))


def manhattan_distance_kernel(x: Tensor) -> Tensor:
    """``exp(−‖x_i − x_j‖_1)``."""
    return minkowski_distance_kernel(x, 1.0)


def euclidean_distance_kernel(x: Tensor) -> Tensor:
    """``exp(−‖x_i − x_j‖_2)``."""
    return minkowski_distance_kernel(x, 2.0)


def chebyshev_distance_kernel(x: Tensor) -> Tensor:
    """``exp(−‖x_i − x_j‖_∞)``."""
    return minkowski_distance_kernel(x, math.inf)


def canberra_distance(x: Tensor, eps: float = 1e-10) -> Tensor:
    """``Σ_r |x_ri − x_rj| / (|x_ri| + |x_rj| + eps)``, summed a block of rows at a time."""
    n, k = x.shape
    step = max(1, _BLOCK_ELEMENTS // max(1, k * k))
    total = x.new_zeros((k, k))
    for start in range(0, n, step):
        rows = x[start : start + step]
        first, second = rows.unsqueeze(2), rows.unsqueeze(1)
        total = total + (torch.abs(first - second) / (first.abs() + second.abs() + eps)).sum(0)
    return total


def canberra_distance_kernel(x: Tensor) -> Tensor:
    """``exp(−canberra(x_i, x_j))``."""
    return torch.exp(-canberra_distance(x))


def exponential_kernel(x: Tensor, gamma: float = 1.0) -> Tensor:
    """``exp(−γ ‖x_i − x_j‖²)``."""
    return torch.exp(-gamma * column_distance(x, 2.0) ** 2)


def gaussian_rbf_kernel(x: Tensor, sigma: float = 1.0) -> Tensor:
    """``exp(−‖x_i − x_j‖² / (2σ²))``."""
    return torch.exp(-(column_distance(x, 2.0) ** 2) / (2 * sigma**2))


def laplacian_kernel(x: Tensor, sigma: float = 1.0) -> Tensor:
    """``exp(−‖x_i − x_j‖_1 / σ)``."""
    return torch.exp(-column_distance(x, 1.0) / sigma)


def anisotropic_rbf_kernel(x: Tensor, a: Tensor | float = 1.0) -> Tensor:
    """``exp(−Σ_r a_r (x_ri − x_rj)²)`` with one weight per row (or one for all).

    For ``a ≥ 0`` this is the squared Euclidean distance of the rows scaled by ``√a``, so it
    goes through the exact :func:`column_distance`; negative weights are summed directly.
    """
    weights = torch.as_tensor(a, dtype=x.dtype, device=x.device)
    if weights.ndim == 0:
        weights = weights.expand(x.shape[0])
    if bool((weights >= 0).all()):
        return torch.exp(-(column_distance(x * weights.sqrt().unsqueeze(1), 2.0) ** 2))
    diff = x.unsqueeze(2) - x.unsqueeze(1)
    return torch.exp(-torch.einsum("r,rij->ij", weights, diff * diff))


#: Kernels a config may name (short and tinybig's koala names), with their default parameters.
NUMERICAL_KERNELS: dict[str, Callable[[Tensor], Tensor]] = {
    "linear": linear_kernel,
    "linear_kernel": linear_kernel,
    "polynomial": polynomial_kernel,
    "polynomial_kernel": polynomial_kernel,
    "hyperbolic_tangent": hyperbolic_tangent_kernel,
    "hyperbolic_tangent_kernel": hyperbolic_tangent_kernel,
    "cosine_similarity": cosine_similarity_kernel,
    "cosine_similarity_kernel": cosine_similarity_kernel,
    "manhattan_distance": manhattan_distance_kernel,
    "manhattan_distance_kernel": manhattan_distance_kernel,
    "euclidean_distance": euclidean_distance_kernel,
    "euclidean_distance_kernel": euclidean_distance_kernel,
    "chebyshev_distance": chebyshev_distance_kernel,
    "chebyshev_distance_kernel": chebyshev_distance_kernel,
    "canberra_distance": canberra_distance_kernel,
    "canberra_distance_kernel": canberra_distance_kernel,
    "exponential": exponential_kernel,
    "exponential_kernel": exponential_kernel,
    "gaussian_rbf": gaussian_rbf_kernel,
    "gaussian_rbf_kernel": gaussian_rbf_kernel,
    "laplacian": laplacian_kernel,
    "laplacian_kernel": laplacian_kernel,
    "anisotropic_rbf": anisotropic_rbf_kernel,
    "anisotropic_rbf_kernel": anisotropic_rbf_kernel,
}
