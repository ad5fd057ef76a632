"""Elementwise reductions over the inputs: max, min, product, median, L1 and L2 norm."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.fusion.base import Fusion, Processing, equal_dims

__all__ = [
    "METRICS",
    "L1NormFusion",
    "L2NormFusion",
    "MaxFusion",
    "MedianFusion",
    "MetricFusion",
    "MinFusion",
    "ProdFusion",
]

#: Named reductions over the first dimension of the stacked inputs ``(k, ...)``.
METRICS: dict[str, Callable[[Tensor], Tensor]] = {
    "max": lambda s: torch.max(s, dim=0).values,
    "min": lambda s: torch.min(s, dim=0).values,
    "sum": lambda s: torch.sum(s, dim=0),
    "mean": lambda s: torch.mean(s, dim=0),
    "prod": lambda s: torch.prod(s, dim=0),
    "median": lambda s: torch.median(s, dim=0).values,
    "l1_norm": lambda s: torch.linalg.vector_norm(s, ord=1, dim=0),
    "l2_norm": lambda s: torch.linalg.vector_norm(s, ord=2, dim=0),
}


class MetricFusion(Fusion):
    """Elementwise reduction over the inputs (tinybig's ``metric_fusion``), equal sizes.

    Entry ``j`` of the output is ``metric(x_1[j], …, x_k[j])``. ``median`` of an even number
    of inputs is the lower of the two middle values, as :func:`torch.median` gives.

    Parameters
    ----------
    dims
        Size of every input; all equal.
    metric
        A name from :data:`METRICS` (``"max"``, ``"min"``, ``"sum"``, ``"mean"``, ``"prod"``,
        ``"median"``, ``"l1_norm"``, ``"l2_norm"``), or a callable with tinybig's contract: it
        takes a matrix of shape ``(N, k)`` (one row per output entry, one column per input)
        and returns the ``N`` reduced values.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.fusion.Fusion`.

    Raises
    ------
    ConfigError
        If the sizes differ or ``metric`` is neither a known name nor a callable.
    """

    def __init__(
        self,
        dims: Sequence[int],
        metric: str | Callable[[Tensor], Tensor],
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, preprocess=preprocess, postprocess=postprocess)
        if isinstance(metric, str):
            if metric not in METRICS:
                raise ConfigError(
                    f"metric fusion metric={metric!r} is unknown{did_you_mean(metric, METRICS)}; "
                    f"valid: {', '.join(METRICS)} or a callable"
                )
            self.metric_name: str | None = metric
        elif callable(metric):
            self.metric_name = None
        else:
            raise ConfigError(
                f"metric fusion metric of type {type(metric).__name__} is not valid; expected "
                f"one of {', '.join(METRICS)} or a callable"
            )
        self.metric = metric
        equal_dims(self.dims, self._label())

    def _label(self) -> str:
        return self.metric_name or "metric"

    def calculate_n(self, dims: Sequence[int]) -> int:
        """The common input size."""
        return equal_dims(dims, self._label())

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return the reduction of the stacked inputs over the inputs."""
        stacked = torch.stack(xs)
        if self.metric_name is not None:
            return METRICS[self.metric_name](stacked)
        assert callable(self.metric)
        rows = stacked.movedim(0, -1).reshape(-1, len(xs))
        return self.metric(rows).reshape(stacked.shape[1:])

    def extra_repr(self) -> str:
        """Sizes and the metric."""
        name = self.metric_name or getattr(self.metric, "__qualname__", "callable")
        return f"{super().extra_repr()}, metric={name}"


class _NamedMetricFusion(MetricFusion):
    """A :class:`MetricFusion` whose metric is fixed by the class."""

    _metric = "max"

    def __init__(
        self, dims: Sequence[int], *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(dims, self._metric, preprocess=preprocess, postprocess=postprocess)


class MaxFusion(_NamedMetricFusion):
    """Elementwise maximum of the inputs."""

    _metric = "max"


class MinFusion(_NamedMetricFusion):
    """Elementwise minimum of the inputs."""

    _metric = "min"


class ProdFusion(_NamedMetricFusion):
    """Elementwise product of the inputs."""

    _metric = "prod"


class MedianFusion(_NamedMetricFusion):
    """Elementwise median of the inputs (the lower middle value for an even count)."""

    _metric = "median"


class L1NormFusion(_NamedMetricFusion):
    """Elementwise L1 norm of the inputs: ``Σ_i |x_i|``."""

    _metric = "l1_norm"


class L2NormFusion(_NamedMetricFusion):
    """Elementwise L2 norm of the inputs: ``√(Σ_i x_i²)``."""

    _metric = "l2_norm"
