"""Local basis expansions: B-splines and Gaussian radial basis functions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rpnkit.rpn._validation import interval, positive_float, positive_int
from rpnkit.rpn.expansion.base import Expansion, Processing


class BSplineExpansion(Expansion):
    """B-spline basis of degree ``d`` on ``t`` equal intervals of ``grid_range`` (``D = m(t+d)``).

    With ``h = (hi - lo)/t`` the fixed knots are ``lo + u h`` for ``u = -d..t+d``; the bases
    come from the Cox–de Boor recursion and vanish outside ``[lo - d h, hi + d h)``. The
    output is feature-major.

    Parameters
    ----------
    grid_range
        ``(lo, hi)`` with ``lo < hi``.
    t
        Number of intervals, >= 1.
    d
        Spline degree, >= 1.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    knots: Tensor

    def __init__(
        self,
        grid_range: Sequence[float] = (-1.0, 1.0),
        t: int = 5,
        d: int = 3,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        lo, hi = interval(grid_range, "bspline expansion grid_range")
        self.t = positive_int(t, "bspline expansion t")
        self.d = positive_int(d, "bspline expansion d")
        step = (hi - lo) / self.t
        positions = torch.arange(-self.d, self.t + self.d + 1, dtype=torch.float64)
        knots = (lo + step * positions).to(torch.get_default_dtype())
        self.register_buffer("knots", knots)

    def calculate_D(self, m: int) -> int:
        """Return ``m (t + d)``."""
        return positive_int(m, "m") * (self.t + self.d)

    def expand(self, x: Tensor) -> Tensor:
        """Return the ``t + d`` basis values of every feature, feature-major."""
        g = self.knots.to(x.dtype)
        x = x.unsqueeze(-1)
        bases = ((x >= g[:-1]) & (x < g[1:])).to(x.dtype)
        for k in range(1, self.d + 1):
            left = (x - g[: -(k + 1)]) / (g[k:-1] - g[: -(k + 1)]) * bases[..., :-1]
            right = (g[k + 1 :] - x) / (g[k + 1 :] - g[1:-k]) * bases[..., 1:]
            bases = left + right
        return bases.flatten(-2)


class GaussianRBFExpansion(Expansion):
    """Gaussian radial basis ``exp(-(ε (x_i - c_j))²)`` on fixed centres (``D = m k``).

    The ``k = num_interval`` centres are ``linspace(lo, hi, k)``; the output is feature-major.

    Parameters
    ----------
    base_range
        ``(lo, hi)`` with ``lo < hi``.
    num_interval
        Number of centres ``k``, >= 1.
    epsilon
        Shape parameter ``ε``, > 0.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    centres: Tensor

    def __init__(
        self,
        base_range: Sequence[float] = (-1.0, 1.0),
        num_interval: int = 10,
        epsilon: float = 1.0,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        lo, hi = interval(base_range, "gaussian_rbf expansion base_range")
        self.num_interval = positive_int(num_interval, "gaussian_rbf expansion num_interval")
        self.epsilon = positive_float(epsilon, "gaussian_rbf expansion epsilon")
        self.register_buffer("centres", torch.linspace(lo, hi, self.num_interval))

    def calculate_D(self, m: int) -> int:
        """Return ``m k``."""
        return positive_int(m, "m") * self.num_interval

    def expand(self, x: Tensor) -> Tensor:
        """Return every feature's distance kernel to every centre, feature-major."""
        scaled = self.epsilon * (x.unsqueeze(-1) - self.centres.to(x.dtype))
        return torch.exp(-scaled * scaled).flatten(-2)
