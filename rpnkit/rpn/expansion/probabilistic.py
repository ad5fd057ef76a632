"""Probabilistic expansions: log-densities of every feature."""

from __future__ import annotations

import math

from torch import Tensor

from rpnkit.rpn._validation import positive_int
from rpnkit.rpn.expansion.base import Expansion


class NaiveNormalExpansion(Expansion):
    """Naive probabilistic expansion: the standard normal log-density of every feature.

    ``κ(x)_i = log N(x_i; 0, 1) = -x_i²/2 - log(2π)/2`` (``D = m``), the per-feature
    log-likelihood terms of a naive Bayes model.
    """

    def calculate_D(self, m: int) -> int:
        """Return ``m``."""
        return positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``log N(x; 0, 1)`` elementwise."""
        return -0.5 * x * x - 0.5 * math.log(2 * math.pi)
