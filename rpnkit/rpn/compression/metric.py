"""Metric compressions: one number per sample, ``metric(x)`` over its ``m`` features."""

from __future__ import annotations

from typing import ClassVar

from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.compression.reduction import REDUCTIONS, Metric, reduction
from rpnkit.rpn.expansion.base import Processing

__all__ = [
    "MaxCompression",
    "MeanCompression",
    "MedianCompression",
    "MetricCompression",
    "MinCompression",
    "ProdCompression",
    "SumCompression",
]


class MetricCompression(Compression):
    """``κ(x) = metric(x)`` over the features of each sample (``D = 1``), tinybig's
    ``metric_compression``.

    Parameters
    ----------
    metric
        A name (``max``, ``min``, ``sum``, ``mean``, ``prod``, ``median``, ``l1_norm``,
        ``l2_norm``; ``median`` is the lower middle value, as ``torch.median``) or a callable
        that takes the ``(b, m)`` batch and returns ``(b,)``, called as tinybig calls it
        (``metric(x)``; tinybig's ``batch_max`` and the like work).
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Raises
    ------
    ConfigError
        If ``metric`` is neither a known name nor a callable.
    """

    def __init__(
        self, metric: Metric, *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.metric_name = reduction(metric, f"{type(self).__name__} metric")
        self.metric = metric

    def calculate_D(self, m: int) -> int:
        """Return 1."""
        positive_int(m, "m")
        return 1

    def expand(self, x: Tensor) -> Tensor:
        """Return ``metric(x)`` of shape ``(..., 1)``."""
        if self.metric_name is not None:
            return REDUCTIONS[self.metric_name](x).unsqueeze(-1)
        assert callable(self.metric)
        rows = x.reshape(-1, x.shape[-1])
        out = self.metric(rows)
        if out.shape != rows.shape[:1]:
            raise ConfigError(
                f"{type(self).__name__} metric returned shape {tuple(out.shape)} for a batch of "
                f"shape {tuple(rows.shape)}; expected one value per sample {tuple(rows.shape[:1])}"
            )
        return out.reshape(*x.shape[:-1], 1)

    def extra_repr(self) -> str:
        """The metric."""
        return f"metric={self.metric_name or getattr(self.metric, '__qualname__', 'callable')}"


class _FixedMetricCompression(MetricCompression):
    """A :class:`MetricCompression` whose metric is fixed by the class."""

    _metric: ClassVar[str] = "max"

    def __init__(self, *, preprocess: Processing = None, postprocess: Processing = None) -> None:
        super().__init__(self._metric, preprocess=preprocess, postprocess=postprocess)


class MaxCompression(_FixedMetricCompression):
    """Largest feature of each sample (``D = 1``), tinybig's ``max_compression``."""

    _metric = "max"


class MinCompression(_FixedMetricCompression):
    """Smallest feature of each sample (``D = 1``), tinybig's ``min_compression``."""

    _metric = "min"


class SumCompression(_FixedMetricCompression):
    """Sum of the features of each sample (``D = 1``), tinybig's ``sum_compression``."""

    _metric = "sum"


class MeanCompression(_FixedMetricCompression):
    """Mean of the features of each sample (``D = 1``), tinybig's ``mean_compression``."""

    _metric = "mean"


class ProdCompression(_FixedMetricCompression):
    """Product of the features of each sample (``D = 1``), tinybig's ``prod_compression``."""

    _metric = "prod"


class MedianCompression(_FixedMetricCompression):
    """Median (lower middle value, as ``torch.median``) of each sample's features (``D = 1``),
    tinybig's ``median_compression``."""

    _metric = "median"
