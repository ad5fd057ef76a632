"""Naive probabilistic compressions: each sample keeps ``k`` of its features, drawn at random
with probabilities given by a density of the (squashed) features.

For each sample, ``z = metric(x)`` (when given) and ``z = 0.99 σ(z) + 0.001`` (when
``require_normalization``); the feature weights are ``p(z_i) / Σ_j p(z_j)`` for the density
``p``; ``k`` indices are drawn from them (``torch.multinomial``, without replacement by
default) and sorted. With ``simply_sampling`` (the default) the output is ``x`` at those
indices; otherwise it is ``z`` there, or ``log p(z)`` there with ``log_prob``. The draw uses
torch's global generator, so a seeded run is reproducible, and it is new at every call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution

from rpnkit.checks import finite_number, non_negative_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.expansion.base import Processing

__all__ = [
    "NaiveCauchyCompression",
    "NaiveChi2Compression",
    "NaiveExponentialCompression",
    "NaiveGammaCompression",
    "NaiveLaplaceCompression",
    "NaiveNormalCompression",
    "NaiveProbabilisticCompression",
    "NaiveUniformCompression",
]

_TORCH_DISTRIBUTIONS = "torch.distributions."


def squash(x: Tensor) -> Tensor:
    """``0.99 σ(x) + 0.001``: the features mapped into ``(0.001, 0.991)``."""
    return 0.99 * torch.sigmoid(x) + 0.001


class NaiveProbabilisticCompression(Compression):
    """Random choice of ``k`` features per sample (``D = k``), tinybig's
    ``naive_probabilistic_compression``; see the module documentation.

    Parameters
    ----------
    k
        Number of features kept, ``0 <= k <= m``.
    simply_sampling
        Output the sampled inputs ``x`` (``True``) or the transformed ``z`` (``False``).
    distribution_function
        A ``torch.distributions.Distribution``; ``None`` is ``Uniform(0, 1)``.
    distribution_function_configs
        tinybig's form of it: ``{"function_class": "torch.distributions.normal.Normal",
        "function_parameters": {...}}`` (only ``torch.distributions`` classes).
    metric
        Callable applied to the ``(b, m)`` batch before the weights (same shape out).
    with_replacement
        Draw with replacement.
    require_normalization
        Squash the features into ``(0.001, 0.991)`` before the density.
    log_prob
        With ``simply_sampling=False``, output ``log p(z)`` at the sampled indices.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.
    """

    def __init__(
        self,
        k: int,
        simply_sampling: bool = True,
        distribution_function: Distribution | None = None,
        distribution_function_configs: Mapping[str, Any] | None = None,
        metric: Callable[[Tensor], Tensor] | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        log_prob: bool = False,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        label = type(self).__name__
        self.k = non_negative_int(k, f"{label} k")
        if metric is not None and not callable(metric):
            raise ConfigError(
                f"{label} metric={short_repr(metric)} is not valid; expected a callable applied "
                "to the batch, or None"
            )
        self.metric = metric
        self.simply_sampling = bool(simply_sampling)
        self.with_replacement = bool(with_replacement)
        self.require_normalization = bool(require_normalization)
        self.log_prob = bool(log_prob) and not self.simply_sampling
        self.distribution = _distribution(
            distribution_function, distribution_function_configs, label
        )

    def calculate_D(self, m: int) -> int:
        """Return ``k``; it must be at most ``m``."""
        if self.k > m:
            raise ConfigError(
                f"{type(self).__name__} k={self.k} is not valid for m={m} input features; "
                f"expected 0 <= k <= {m}"
            )
        return self.k

    def weights(self, z: Tensor) -> Tensor:
        """The sampling weights ``p(z_i) / Σ_j p(z_j)`` of every feature."""
        density = torch.exp(self.distribution.log_prob(z))
        return density / density.sum(dim=-1, keepdim=True)

    def expand(self, x: Tensor) -> Tensor:
        """Return the ``k`` sampled features of every sample, in feature order."""
        k = self.calculate_D(x.shape[-1])
        rows = x.reshape(-1, x.shape[-1])
        z = rows if self.metric is None else self.metric(rows)
        if self.require_normalization:
            z = squash(z)
        drawn = torch.multinomial(self.weights(z), k, replacement=self.with_replacement)
        drawn = torch.sort(drawn, dim=1).values
        out = torch.gather(rows if self.simply_sampling else z, 1, drawn)
        if self.log_prob:
            out = self.distribution.log_prob(out)
        return out.reshape(*x.shape[:-1], k)


def _distribution(
    function: Distribution | None, configs: Mapping[str, Any] | None, label: str
) -> Distribution:
    """The distribution given directly, by tinybig's config form, or ``Uniform(0, 1)``."""
    if function is not None:
        if not isinstance(function, Distribution):
            raise ConfigError(
                f"{label} distribution_function={short_repr(function)} is not valid; expected a "
                "torch.distributions.Distribution"
            )
        return function
    if configs is None:
        return torch.distributions.Uniform(0.0, 1.0)
    path = configs.get("function_class") if isinstance(configs, Mapping) else None
    if not isinstance(path, str) or not path.startswith(_TORCH_DISTRIBUTIONS):
        raise ConfigError(
            f"{label} distribution_function_configs={short_repr(configs)} is not valid; expected "
            "{'function_class': 'torch.distributions.<...>', 'function_parameters': {...}}"
        )
    target: Any = torch.distributions
    for part in path.removeprefix(_TORCH_DISTRIBUTIONS).split("."):
        target = getattr(target, part, None)
    if not (isinstance(target, type) and issubclass(target, Distribution)):
        raise ConfigError(
            f"{label} distribution_function_configs function_class={path!r} is not a "
            "torch.distributions class"
        )
    parameters = dict(configs.get("function_parameters") or {})
    factory: Any = target
    return factory(**{k: torch.as_tensor(v, dtype=torch.get_default_dtype())
                     for k, v in parameters.items()})  # fmt: skip


#: Keywords the fixed-distribution classes pass on to :class:`NaiveProbabilisticCompression`.
_KEYWORDS = frozenset(
    {"k", "simply_sampling", "metric", "with_replacement", "require_normalization", "log_prob",
     "preprocess", "postprocess"}
)  # fmt: skip


class _NamedDistributionCompression(NaiveProbabilisticCompression):
    """Shared construction of the compressions with a fixed distribution family."""

    def _init(self, distribution: Distribution, kwargs: dict[str, Any]) -> None:
        unknown = sorted(set(kwargs) - _KEYWORDS)
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} got unknown parameter(s) {', '.join(unknown)}; expected "
                f"its distribution's parameters and {', '.join(sorted(_KEYWORDS - {'k'}))}"
            )
        NaiveProbabilisticCompression.__init__(self, distribution_function=distribution, **kwargs)


def _number(value: object, label: str, field: str, positive: bool = False) -> Tensor:
    """A distribution parameter as a 0-dimensional tensor (usable with inputs on any device)."""
    number = finite_number(value, f"{label} {field}", above=0.0 if positive else None)
    return torch.tensor(number)


class NaiveUniformCompression(_NamedDistributionCompression):
    """Features drawn with a ``Uniform(low, high)`` density of the squashed features (the
    default ``[0, 1]`` makes every feature equally likely), tinybig's
    ``naive_uniform_probabilistic_compression``.

    As in tinybig, ``require_normalization`` is always on (the argument is accepted and
    ignored). Other keywords: see :class:`NaiveProbabilisticCompression`.
    """

    def __init__(
        self, k: int, low: float = 0.0, high: float = 1.0, require_normalization: bool = True,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        label = type(self).__name__
        lo = finite_number(low, f"{label} low")
        hi = finite_number(high, f"{label} high", above=lo)
        kwargs.update(k=k, require_normalization=True)
        self._init(torch.distributions.Uniform(lo, hi), kwargs)


class NaiveNormalCompression(_NamedDistributionCompression):
    """Features drawn with a ``Normal(mean, std)`` density, tinybig's
    ``naive_normal_probabilistic_compression``; other keywords: see
    :class:`NaiveProbabilisticCompression`."""

    def __init__(self, k: int, mean: float = 0.0, std: float = 1.0, **kwargs: Any) -> None:
        label = type(self).__name__
        dist = torch.distributions.Normal(
            _number(mean, label, "mean"), _number(std, label, "std", True)
        )
        self._init(dist, {**kwargs, "k": k})


class NaiveCauchyCompression(_NamedDistributionCompression):
    """Features drawn with a ``Cauchy(loc, scale)`` density, tinybig's
    ``naive_cauchy_probabilistic_compression``; other keywords: see
    :class:`NaiveProbabilisticCompression`."""

    def __init__(self, k: int, loc: float = 0.0, scale: float = 1.0, **kwargs: Any) -> None:
        label = type(self).__name__
        dist = torch.distributions.Cauchy(
            _number(loc, label, "loc"), _number(scale, label, "scale", True)
        )
        self._init(dist, {**kwargs, "k": k})


class NaiveLaplaceCompression(_NamedDistributionCompression):
    """Features drawn with a ``Laplace(loc, scale)`` density, tinybig's
    ``naive_laplace_probabilistic_compression``; other keywords: see
    :class:`NaiveProbabilisticCompression`."""

    def __init__(self, k: int, loc: float = 0.0, scale: float = 1.0, **kwargs: Any) -> None:
        label = type(self).__name__
        dist = torch.distributions.Laplace(
            _number(loc, label, "loc"), _number(scale, label, "scale", True)
        )
        self._init(dist, {**kwargs, "k": k})


class NaiveChi2Compression(_NamedDistributionCompression):
    """Features drawn with a ``χ²(df)`` density of the squashed features, tinybig's
    ``naive_chi2_probabilistic_compression`` (``require_normalization`` always on, as there)."""

    def __init__(
        self, k: int, df: float = 1.0, require_normalization: bool = True, **kwargs: Any
    ) -> None:
        dist = torch.distributions.Chi2(df=_number(df, type(self).__name__, "df", True))
        self._init(dist, {**kwargs, "k": k, "require_normalization": True})


class NaiveExponentialCompression(_NamedDistributionCompression):
    """Features drawn with an ``Exponential(rate)`` density of the squashed features,
    tinybig's ``naive_exponential_probabilistic_compression`` (``require_normalization``
    always on, as there)."""

    def __init__(
        self, k: int, rate: float = 0.5, require_normalization: bool = True, **kwargs: Any
    ) -> None:
        dist = torch.distributions.Exponential(
            rate=_number(rate, type(self).__name__, "rate", True)
        )
        self._init(dist, {**kwargs, "k": k, "require_normalization": True})


class NaiveGammaCompression(_NamedDistributionCompression):
    """Features drawn with a ``Gamma(concentration, rate)`` density of the squashed features,
    tinybig's ``naive_gamma_probabilistic_compression`` (``require_normalization`` always
    on, as there)."""

    def __init__(
        self,
        k: int,
        concentration: float = 1.0,
        rate: float = 1.0,
        require_normalization: bool = True,
        **kwargs: Any,
    ) -> None:
        label = type(self).__name__
        dist = torch.distributions.Gamma(
            _number(concentration, label, "concentration", True),
            _number(rate, label, "rate", True),
        )
        self._init(dist, {**kwargs, "k": k, "require_normalization": True})
