"""Combinatorial compressions: random feature subsets of sizes 1..d per sample.

For every subset size ``r = 1..d``, every sample's ``C`` subsets of ``r`` features (``C(m, r)``
of them, in ``torch.combinations`` order; with repetition when ``with_replacement``) get the
weights ``φ_r(z) / Σ φ_r(z)``, where ``z`` is the subset's values (after the optional
``metric``, squashed to ``0.99 σ(z) + 0.001`` when ``require_normalization``) and ``φ_r`` the
standard ``r``-variate normal density; ``k`` subsets are drawn (``torch.multinomial``) and
sorted. With ``simply_sampling`` the output holds their raw values, ``(b, k, Σ r)`` flattened
(``D = k Σ r``); otherwise their log-densities ``log φ_r(z)``, one per subset (``D = d k``).

tinybig builds the subsets sample by sample in a Python loop; here one index table of the
``C`` subsets gathers them for the whole batch at once. The values, the weights and the
``torch.multinomial`` call are the same, so a seeded draw gives tinybig's subsets.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from rpnkit.checks import non_negative_int, positive_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.compression.probabilistic import squash
from rpnkit.rpn.expansion.base import Processing

__all__ = ["CombinatorialCompression", "CombinatorialProbabilisticCompression"]

_LOG_2PI = math.log(2 * math.pi)


class CombinatorialCompression(Compression):
    """Random feature subsets of sizes ``1..d``, ``k`` of each (see the module documentation),
    tinybig's ``combinatorial_compression``.

    Parameters
    ----------
    d
        Largest subset size, >= 1.
    k
        Subsets drawn per size, >= 0.
    simply_sampling
        Output the subsets' raw values (``True``) or their log-densities (``False``, which
        needs ``log_prob=True`` when ``d > 1``).
    metric
        Callable applied to the ``(b, C, r)`` subsets before the weights (same shape out).
    with_replacement
        Subsets with repeated features, and draws with replacement.
    require_normalization
        Squash the subsets' values before the density.
    log_prob
        With ``simply_sampling=False``, output ``log φ_r(z)`` of the drawn subsets.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Raises
    ------
    ConfigError
        For bad ``d``, ``k`` or ``metric``, or ``simply_sampling=False`` with
        ``log_prob=False`` and ``d > 1`` (tinybig's output then has the wrong size).

    Differences from tinybig
    ------------------------
    That last combination fails an assertion in tinybig; here it is refused when built.
    """

    def __init__(
        self,
        d: int = 1,
        k: int = 1,
        simply_sampling: bool = True,
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
        self.d = positive_int(d, f"{label} d")
        self.k = non_negative_int(k, f"{label} k")
        if metric is not None and not callable(metric):
            raise ConfigError(
                f"{label} metric={short_repr(metric)} is not valid; expected a callable applied "
                "to the subsets, or None"
            )
        self.metric = metric
        self.simply_sampling = bool(simply_sampling)
        self.with_replacement = bool(with_replacement)
        self.require_normalization = bool(require_normalization)
        self.log_prob = bool(log_prob) and not self.simply_sampling
        if not self.simply_sampling and not self.log_prob and self.d > 1:
            raise ConfigError(
                f"{label} simply_sampling=False with log_prob=False is not valid for d={self.d}; "
                "expected log_prob=True, simply_sampling=True or d=1"
            )

    def subsets(self, m: int, r: int) -> int:
        """Number of subsets of size ``r`` of ``m`` features (with repetition if asked)."""
        return math.comb(m + r - 1, r) if self.with_replacement else math.comb(m, r)

    def calculate_D(self, m: int) -> int:
        """Return ``k Σ_{r<=d} r`` (raw values) or ``d k`` (log-densities)."""
        positive_int(m, "m")
        label = type(self).__name__
        if self.d > m and not self.with_replacement:
            raise ConfigError(
                f"{label} d={self.d} is not valid for m={m} input features; expected d <= {m}"
            )
        fewest = min(self.subsets(m, r) for r in range(1, self.d + 1))
        if self.k > fewest and not self.with_replacement:
            raise ConfigError(
                f"{label} k={self.k} is not valid for m={m} and d={self.d}: only {fewest} subsets "
                f"of one size exist; expected k <= {fewest} or with_replacement=True"
            )
        if self.simply_sampling:
            return self.k * self.d * (self.d + 1) // 2
        return self.d * self.k

    def expand(self, x: Tensor) -> Tensor:
        """Return the drawn subsets' values or log-densities, for every sample."""
        m = x.shape[-1]
        D = self.calculate_D(m)
        rows = x.reshape(-1, m)
        parts = [self._draw(rows, r) for r in range(1, self.d + 1)]
        return torch.cat(parts, dim=-1).reshape(*x.shape[:-1], D)

    def _draw(self, rows: Tensor, r: int) -> Tensor:
        """The ``k`` drawn subsets of size ``r``: ``(b, k, r)`` values or ``(b, k)`` log-densities."""
        index = torch.combinations(
            torch.arange(rows.shape[-1], device=rows.device), r=r,
            with_replacement=self.with_replacement,
        ).reshape(-1, r)  # fmt: skip
        values = rows[:, index]  # (b, C, r)
        z = values if self.metric is None else self.metric(values)
        if self.require_normalization:
            z = squash(z)
        density = torch.exp(_log_normal(z))
        weights = density / density.sum(dim=-1, keepdim=True)
        drawn = torch.multinomial(weights, self.k, replacement=self.with_replacement)
        drawn = torch.sort(drawn, dim=1).values
        at = torch.arange(rows.shape[0], device=rows.device).unsqueeze(1)
        chosen = (values if self.simply_sampling else z)[at, drawn]
        return _log_normal(chosen) if self.log_prob else chosen


def _log_normal(z: Tensor) -> Tensor:
    """Log-density of the standard ``r``-variate normal at the last dimension of ``z``."""
    r = z.shape[-1]
    return -0.5 * (z * z).sum(dim=-1) - 0.5 * r * _LOG_2PI


class CombinatorialProbabilisticCompression(CombinatorialCompression):
    """Log-densities of random feature subsets of sizes ``1..d`` (``D = d k``), tinybig's
    ``combinatorial_probabilistic_compression``: :class:`CombinatorialCompression` with
    ``simply_sampling=False`` and ``log_prob=True``.

    Parameters
    ----------
    d, k, metric, with_replacement, require_normalization, preprocess, postprocess
        See :class:`CombinatorialCompression`.
    """

    def __init__(
        self,
        d: int = 1,
        k: int = 1,
        metric: Callable[[Tensor], Tensor] | None = None,
        with_replacement: bool = False,
        require_normalization: bool = True,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(
            d=d, k=k, simply_sampling=False, metric=metric, with_replacement=with_replacement,
            require_normalization=require_normalization, log_prob=True,
            preprocess=preprocess, postprocess=postprocess,
        )  # fmt: skip
