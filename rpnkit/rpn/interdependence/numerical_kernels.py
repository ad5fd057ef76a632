"""Numerical-kernel interdependence functions (15): ``A = K(x)`` for a kernel ``K`` between
the columns of ``x`` (attributes for attribute type, instances for instance type).

The kernels are in :mod:`.kernel_functions`; distance kernels go through the exact mode of
:func:`torch.cdist` (same values as tinybig's ``b × m × m`` difference tensor, without
forming it). Every class takes ``b``, ``m``, ``interdependence_type`` (default
``"attribute"``) and tinybig's kernel parameters with tinybig's defaults.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, non_negative_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence import kernel_functions as kf
from rpnkit.rpn.interdependence.kernel_based import (
    Kernel,
    KernelBasedInterdependence,
    resolve_kernel,
)

__all__ = [
    "AnisotropicRBFKernelInterdependence",
    "CanberraDistanceInterdependence",
    "ChebyshevDistanceInterdependence",
    "CosineSimilarityInterdependence",
    "CustomHybridKernelInterdependence",
    "EuclideanDistanceInterdependence",
    "ExponentialKernelInterdependence",
    "GaussianRBFKernelInterdependence",
    "HyperbolicTangentKernelInterdependence",
    "LaplacianKernelInterdependence",
    "LinearKernelInterdependence",
    "ManhattanDistanceInterdependence",
    "MinkowskiDistanceInterdependence",
    "NumericalKernelBasedInterdependence",
    "PolynomialKernelInterdependence",
]


class NumericalKernelBasedInterdependence(KernelBasedInterdependence):
    """``A = kernel(x)`` for any numerical kernel between columns.

    ``kernel`` is a callable ``(n, k) -> (k, k)`` given from Python, or from a config one of
    the names in :data:`~rpnkit.rpn.interdependence.kernel_functions.NUMERICAL_KERNELS` (with
    that kernel's default parameters); other keywords as for
    :class:`~rpnkit.rpn.interdependence.kernel_based.KernelBasedInterdependence`.
    """

    named_kernels: ClassVar[dict[str, Kernel]] = kf.NUMERICAL_KERNELS


class LinearKernelInterdependence(NumericalKernelBasedInterdependence):
    """Gram matrix ``A = xᵀx``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.linear_kernel, **kwargs)


class CosineSimilarityInterdependence(NumericalKernelBasedInterdependence):
    """Cosine similarities ``A = x̂ᵀx̂`` (columns scaled to unit norm; a zero column stays 0)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.cosine_similarity_kernel, **kwargs)


def _minkowski_p(p: object) -> float:
    """tinybig's ``p``: a number >= 0, ``inf`` (also ``"inf"``) or ``"fro"`` (= 2)."""
    if p == "fro":
        return 2.0
    if isinstance(p, str) and p.strip().lower() in ("inf", "infinity", "+inf"):
        return math.inf
    if not isinstance(p, bool) and isinstance(p, (int, float)) and (p >= 0):
        return float(p)
    raise ConfigError(
        f"p={short_repr(p)} is not valid; expected a number >= 0, inf or 'fro' "
        "(the order of the Minkowski distance)"
    )


class MinkowskiDistanceInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖_p)``.

    Parameters
    ----------
    p
        Order of the distance (required): a number >= 0, ``inf`` or ``"fro"`` (= 2).
    """

    def __init__(self, p: object = None, **kwargs: Any) -> None:
        self.p = _minkowski_p(p)
        super().__init__(functools.partial(kf.minkowski_distance_kernel, p=self.p), **kwargs)


class ManhattanDistanceInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖_1)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.manhattan_distance_kernel, **kwargs)


class EuclideanDistanceInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖_2)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.euclidean_distance_kernel, **kwargs)


class ChebyshevDistanceInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖_∞)``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.chebyshev_distance_kernel, **kwargs)


class CanberraDistanceInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−Σ_r |x_ri − x_rj| / (|x_ri| + |x_rj| + 1e-10))``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(kf.canberra_distance_kernel, **kwargs)


class PolynomialKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = (xᵀx + c)^d``.

    Parameters
    ----------
    c
        Offset (default 0).
    d
        Integer degree >= 0 (default 1).
    """

    def __init__(self, c: float = 0.0, d: int = 1, **kwargs: Any) -> None:
        self.c = finite_number(c, "c")
        self.d = non_negative_int(d, "d")
        super().__init__(functools.partial(kf.polynomial_kernel, c=self.c, d=self.d), **kwargs)


class HyperbolicTangentKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = tanh(α xᵀx + c)``.

    Parameters
    ----------
    c
        Offset (default 0).
    alpha
        Scale (default 1).
    """

    def __init__(self, c: float = 0.0, alpha: float = 1.0, **kwargs: Any) -> None:
        self.c = finite_number(c, "c")
        self.alpha = finite_number(alpha, "alpha")
        kernel = functools.partial(kf.hyperbolic_tangent_kernel, c=self.c, alpha=self.alpha)
        super().__init__(kernel, **kwargs)


class ExponentialKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−γ ‖x_i − x_j‖²)``.

    Parameters
    ----------
    gamma
        Scale ``γ >= 0`` (default 1).
    """

    def __init__(self, gamma: float = 1.0, **kwargs: Any) -> None:
        self.gamma = finite_number(gamma, "gamma", at_least=0)
        super().__init__(functools.partial(kf.exponential_kernel, gamma=self.gamma), **kwargs)


class GaussianRBFKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖² / (2σ²))``.

    Parameters
    ----------
    sigma
        Width ``σ > 0`` (default 1).
    """

    def __init__(self, sigma: float = 1.0, **kwargs: Any) -> None:
        self.sigma = finite_number(sigma, "sigma", above=0)
        super().__init__(functools.partial(kf.gaussian_rbf_kernel, sigma=self.sigma), **kwargs)


class LaplacianKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−‖x_i − x_j‖_1 / σ)``.

    Parameters
    ----------
    sigma
        Width ``σ > 0`` (default 1).
    """

    def __init__(self, sigma: float = 1.0, **kwargs: Any) -> None:
        self.sigma = finite_number(sigma, "sigma", above=0)
        super().__init__(functools.partial(kf.laplacian_kernel, sigma=self.sigma), **kwargs)


class AnisotropicRBFKernelInterdependence(NumericalKernelBasedInterdependence):
    """``A = exp(−Σ_r a_r (x_ri − x_rj)²)``, one weight per row of ``x``.

    As in tinybig, the weights index the rows of the matrix the kernel compares columns of: the
    ``b`` instances of the batch for attribute type, the ``m`` attributes for instance type.
    For ``a >= 0`` it is computed as an exact ``cdist`` of the rows scaled by ``√a`` (no
    ``m × m × b`` tensor, no dense diagonal matrix).

    Parameters
    ----------
    a_vector
        The weights (length ``b`` for attribute type, ``m`` for instance type), or ``None``.
    a_scalar
        The weight of every row when ``a_vector`` is ``None`` (default 1).
    """

    a_vector: Tensor | None

    def __init__(self, a_vector: object = None, a_scalar: float = 1.0, **kwargs: Any) -> None:
        self.a_scalar = finite_number(a_scalar, "a_scalar")
        super().__init__(kf.anisotropic_rbf_kernel, **kwargs)
        vector = None
        if a_vector is not None:
            try:
                vector = torch.as_tensor(a_vector, dtype=torch.get_default_dtype()).reshape(-1)
            except (TypeError, ValueError, RuntimeError):
                vector = None
            rows = self.m if self.is_instance else self.b
            if (
                vector is None
                or vector.numel() == 0
                or (rows is not None and vector.numel() != rows)
            ):
                size = "m" if self.is_instance else "b"
                raise ConfigError(
                    f"a_vector={short_repr(a_vector)} is not valid; expected {rows or 'one'} "
                    f"weights (one per row of x, length {size} for {self.interdependence_type} type)"
                )
        self.register_buffer("a_vector", vector)

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return the anisotropic RBF kernel of the columns of ``x``."""
        x = self.check_x(x)
        if self.a_vector is None:
            return kf.anisotropic_rbf_kernel(x, self.a_scalar)
        if self.a_vector.numel() != x.shape[0]:
            raise ConfigError(
                f"x of shape {tuple(x.shape)} does not fit a_vector of length "
                f"{self.a_vector.numel()}; expected {self.a_vector.numel()} rows"
            )
        return kf.anisotropic_rbf_kernel(x, self.a_vector)


class CustomHybridKernelInterdependence(NumericalKernelBasedInterdependence):
    """Weighted sum of kernels: ``A = Σ_k w_k K_k(x)``.

    Parameters
    ----------
    kernels
        Kernels (callables from Python, or names of
        :data:`~rpnkit.rpn.interdependence.kernel_functions.NUMERICAL_KERNELS`); one kernel
        alone is taken as a list of one.
    weights
        One weight per kernel (default: equal weights ``1/k``); one number alone is taken as a
        list of one.
    """

    def __init__(self, kernels: object = None, weights: object = None, **kwargs: Any) -> None:
        items = (
            list(kernels)
            if isinstance(kernels, Sequence) and not isinstance(kernels, str)
            else [kernels]
        )
        if not items or items == [None]:
            raise ConfigError(
                f"kernels={short_repr(kernels)} is not valid; expected a non-empty list of kernels"
            )
        self.kernels = [
            resolve_kernel(k, self.named_kernels, f"kernels[{i}]") for i, k in enumerate(items)
        ]
        if weights is None:
            self.weights = [1.0 / len(items)] * len(items)
        else:
            listed = (
                list(weights)
                if isinstance(weights, Sequence) and not isinstance(weights, str)
                else [weights]
            )
            self.weights = [finite_number(v, f"weights[{i}]") for i, v in enumerate(listed)]
            if len(self.weights) != len(self.kernels):
                raise ConfigError(
                    f"weights={short_repr(weights)} is not valid; expected {len(self.kernels)} "
                    "numbers, one per kernel"
                )
        super().__init__(self._hybrid, **kwargs)

    def _hybrid(self, x: Tensor) -> Tensor:
        total: Tensor | None = None
        for weight, kernel in zip(self.weights, self.kernels, strict=True):
            part = weight * kernel(x)
            total = part if total is None else total + part
        assert total is not None
        return total
