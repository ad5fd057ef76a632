"""Statistical kernels between the columns of a matrix, in closed form.

Every function takes ``x`` of shape ``(n, k)`` (``n`` observations of ``k`` variables) and
returns a ``k × k`` matrix. Mutual information and the RV coefficient come from one
covariance matrix instead of a Python loop over the ``k(k−1)/2`` pairs, and the KL divergence
from one matrix product instead of an ``n × k × k`` tensor.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = [
    "STATISTICAL_KERNELS",
    "covariance",
    "kl_divergence_kernel",
    "mutual_information_kernel",
    "pearson_correlation_kernel",
    "rv_coefficient_kernel",
    "tinybig_rv_coefficient_kernel",
]

#: The clamp tinybig applies to variances and 2 × 2 determinants in its mutual information.
MI_EPS = 1e-10


def covariance(x: Tensor) -> Tensor:
    """Unbiased covariance matrix of the columns (divides by ``n − 1``)."""
    centered = x - x.mean(dim=0, keepdim=True)
    return centered.transpose(0, 1) @ centered / (x.shape[0] - 1)


def _correlation(x: Tensor) -> Tensor:
    """Pearson correlation of the columns as tinybig computes it: ``cov / (σ σᵀ)``.

    A constant column (``σ = 0``) is uncorrelated with every column (0) but itself (1),
    where ``cov / (σ σᵀ)`` would be ``0/0``.
    """
    centered = x - x.mean(dim=0, keepdim=True)
    cov = centered.transpose(0, 1) @ centered / (x.shape[0] - 1)
    std = torch.std(centered, dim=0, correction=1)
    corr = cov / torch.outer(std, std)
    constant = std == 0
    if bool(constant.any()):
        degenerate = constant.unsqueeze(0) | constant.unsqueeze(1)
        eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
        corr = torch.where(degenerate, eye, corr)
    return corr


def pearson_correlation_kernel(x: Tensor) -> Tensor:
    """Pearson correlation matrix of the columns (diagonal 1)."""
    return _correlation(x)


def kl_divergence_kernel(x: Tensor) -> Tensor:
    """``A_ij = KL(p_i ‖ p_j)`` with ``p_i = softmax(x[:, i])`` over the rows.

    ``Σ_r p_ri (log p_ri − log p_rj) = Σ_r p_ri log p_ri − (Pᵀ log P)_ij``: one ``k × k``
    matrix product.
    """
    log_p = torch.log_softmax(x, dim=0)
    p = log_p.exp()
    entropy_term = (p * log_p).sum(dim=0)
    return entropy_term.unsqueeze(1) - p.transpose(0, 1) @ log_p


def mutual_information_kernel(x: Tensor) -> Tensor:
    """Gaussian mutual information of every pair of columns, zero diagonal.

    ``½ log(σ_i² σ_j² / det Σ_ij) = −½ log(1 − ρ_ij²)``, with tinybig's clamps (variances
    and ``det Σ_ij = σ_i²σ_j² − σ_ij²`` at least ``1e-10``), from one covariance matrix.
    """
    cov = covariance(x)
    var = torch.diagonal(cov)
    det = (var.unsqueeze(1) * var.unsqueeze(0) - cov * cov).clamp(min=MI_EPS)
    clamped = var.clamp(min=MI_EPS)
    mi = 0.5 * torch.log(clamped.unsqueeze(1) * clamped.unsqueeze(0) / det)
    return mi * (1 - torch.eye(x.shape[1], dtype=x.dtype, device=x.device))


def rv_coefficient_kernel(x: Tensor) -> Tensor:
    """RV coefficient of every pair of columns, by its definition.

    ``RV(X, Y) = tr(Σ_XY Σ_YX) / √(tr(Σ_X²) tr(Σ_Y²))``, which for two single variables is
    ``σ_xy² / (σ_x² σ_y²) = ρ²``: the squared correlation, diagonal 1.
    """
    corr = _correlation(x)
    return corr * corr


def tinybig_rv_coefficient_kernel(x: Tensor) -> Tensor:
    """What tinybig 0.2.1's code computes under the RV name: ``clamp(ρ, 0, 1)``, zero diagonal."""
    corr = _correlation(x).clamp(0.0, 1.0)
    return corr * (1 - torch.eye(x.shape[1], dtype=x.dtype, device=x.device))


#: Kernels a config may name (short and tinybig's koala names).
STATISTICAL_KERNELS: dict[str, Callable[[Tensor], Tensor]] = {
    "pearson_correlation": pearson_correlation_kernel,
    "batch_pearson_correlation_kernel": pearson_correlation_kernel,
    "kl_divergence": kl_divergence_kernel,
    "batch_kl_divergence_kernel": kl_divergence_kernel,
    "rv_coefficient": rv_coefficient_kernel,
    "batch_rv_coefficient_kernel": rv_coefficient_kernel,
    "tinybig_rv_coefficient": tinybig_rv_coefficient_kernel,
    "mutual_information": mutual_information_kernel,
    "batch_mutual_information_kernel": mutual_information_kernel,
}
