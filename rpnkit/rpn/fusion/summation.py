"""Weighted sums of the inputs: ``Σ α_i x_i`` with fixed or learnable weights ``α``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.rpn.fusion.base import Fusion, Processing, equal_dims

__all__ = [
    "LinearCombinationFusion",
    "MeanFusion",
    "ParameterizedWeightedSummationFusion",
    "SumFusion",
    "WeightedSummationFusion",
]


class LinearCombinationFusion(Fusion):
    """Base class of the fusions ``Σ_i α_i x_i`` of inputs of equal size.

    Subclasses implement :meth:`alpha`; :meth:`combination` reports ``α`` so that a head can
    fold the sum into its product.
    """

    _label = "weighted_summation"

    def __init__(
        self, dims: Sequence[int], *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(dims, preprocess=preprocess, postprocess=postprocess)
        equal_dims(self.dims, self._label)

    def calculate_n(self, dims: Sequence[int]) -> int:
        """The common input size."""
        return equal_dims(dims, self._label)

    @abstractmethod
    def alpha(self, w: Tensor | None) -> Tensor:
        """Return the weights ``α`` of shape ``(k,)``."""

    def combination(self, w: Tensor | None) -> Tensor | None:
        """``α`` when there is no pre- or postprocessing."""
        return self.alpha(w) if self._plain() else None

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return ``Σ α_i x_i``."""
        stacked = torch.stack(xs)
        return torch.tensordot(self.alpha(w).to(stacked.dtype), stacked, dims=1)


class WeightedSummationFusion(LinearCombinationFusion):
    """Weighted summation with fixed weights: ``Σ_i α_i x_i`` (inputs of equal size).

    Parameters
    ----------
    dims
        Size of every input; all equal.
    weights
        ``α``, one number per input. Kept in double precision as a buffer that is not saved
        in the ``state_dict`` (it is configuration) and is moved by ``.to()``; it is cast to
        the inputs' type when used.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.fusion.Fusion`.

    Raises
    ------
    ConfigError
        If the sizes differ or ``weights`` is not one number per input.
    """

    weights: Tensor

    def __init__(
        self,
        dims: Sequence[int],
        weights: Sequence[float] | Tensor,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, preprocess=preprocess, postprocess=postprocess)
        self.register_buffer("weights", _weights(weights, len(self.dims)), persistent=False)

    def alpha(self, w: Tensor | None) -> Tensor:
        """Return the fixed weights."""
        return self.weights


class SumFusion(WeightedSummationFusion):
    """Summation ``Σ_i x_i`` (tinybig's ``summation_fusion``), inputs of equal size."""

    _label = "sum"

    def __init__(
        self, dims: Sequence[int], *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(dims, [1.0] * len(dims), preprocess=preprocess, postprocess=postprocess)

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return ``Σ x_i`` (the input itself when there is one)."""
        return xs[0] if len(xs) == 1 else torch.stack(xs).sum(0)


class MeanFusion(WeightedSummationFusion):
    """Elementwise mean ``(1/k) Σ_i x_i`` (tinybig's default fusion), inputs of equal size."""

    _label = "mean"

    def __init__(
        self, dims: Sequence[int], *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        k = len(dims) if isinstance(dims, Sequence) and dims else 1
        super().__init__(dims, [1.0 / k] * k, preprocess=preprocess, postprocess=postprocess)

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return the mean (the input itself when there is one)."""
        return xs[0] if len(xs) == 1 else torch.stack(xs).mean(0)


class ParameterizedWeightedSummationFusion(LinearCombinationFusion):
    """Weighted summation with learnable weights: ``Σ_i w_i x_i`` (``l = k``).

    The weights are the fusion's parameters ``w`` of shape ``(1, k)``, held by the head or
    layer that uses it. (tinybig 0.2.1 asserts that ``w`` has ``k`` rows, so the ``(1, k)``
    parameter its heads and layers hold fails there; this computes what it intends.)
    """

    _label = "parameterized_weighted_summation"

    @property
    def l(self) -> int:  # noqa: E743
        """One weight per input."""
        return len(self.dims)

    def alpha(self, w: Tensor | None) -> Tensor:
        """Return ``w`` flattened to shape ``(k,)``."""
        assert w is not None  # forward has checked
        return w.reshape(-1)


def _weights(weights: object, k: int) -> Tensor:
    """Return ``weights`` as a float tensor of shape ``(k,)``, or raise."""
    if isinstance(weights, Tensor):
        values = weights.detach().to(torch.float64)
    elif (
        isinstance(weights, Sequence)
        and not isinstance(weights, (str, bytes))
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in weights)
    ):
        values = torch.tensor([float(v) for v in weights], dtype=torch.float64)
    else:
        raise ConfigError(
            f"weighted_summation fusion weights of type {type(weights).__name__} are invalid; "
            f"expected {k} numbers, one per input"
        )
    if values.shape != (k,):
        raise ConfigError(
            f"weighted_summation fusion got {values.numel()} weights for {k} inputs; expected "
            "one number per input"
        )
    return values.clone()
