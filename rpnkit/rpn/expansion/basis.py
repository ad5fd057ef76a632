"""Local basis expansions: B-splines and radial basis functions (Gaussian, inverse quadratic)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor

from rpnkit.checks import interval, positive_float, positive_int
from rpnkit.errors import ConfigError
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


class RadialBasisExpansion(Expansion):
    """Base class of radial basis expansions ``φ(ε (x_i - c_j))`` on fixed centres (``D = m k``).

    The ``k = num_interval`` centres are ``linspace(lo, hi, k)``, or ``base`` when given; the
    output is feature-major (the ``k`` values of feature ``i`` at ``i k .. i k + k - 1``).
    Subclasses give the radial function :meth:`kernel`.

    Parameters
    ----------
    base_range
        ``(lo, hi)`` with ``lo < hi``.
    num_interval
        Number of centres ``k``, >= 1.
    epsilon
        Shape parameter ``ε``, > 0.
    base
        Explicit centres, ``k`` finite numbers; ``None`` (the default) spaces them evenly over
        ``base_range``.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    centres: Tensor
    #: Name used in error messages.
    label = "rbf"

    def __init__(
        self,
        base_range: Sequence[float] = (-1.0, 1.0),
        num_interval: int = 10,
        epsilon: float = 1.0,
        base: Sequence[float] | Tensor | None = None,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        lo, hi = interval(base_range, f"{self.label} expansion base_range")
        self.num_interval = positive_int(num_interval, f"{self.label} expansion num_interval")
        self.epsilon = positive_float(epsilon, f"{self.label} expansion epsilon")
        if base is None:
            centres = torch.linspace(lo, hi, self.num_interval)
        else:
            centres = _centres(base, self.num_interval, f"{self.label} expansion base")
        self.register_buffer("centres", centres)

    def calculate_D(self, m: int) -> int:
        """Return ``m k``."""
        return positive_int(m, "m") * self.num_interval

    @abstractmethod
    def kernel(self, scaled: Tensor) -> Tensor:
        """Return the radial function at ``scaled = ε (x_i - c_j)``."""

    def expand(self, x: Tensor) -> Tensor:
        """Return every feature's kernel value at every centre, feature-major."""
        scaled = self.epsilon * (x.unsqueeze(-1) - self.centres.to(x.dtype))
        return self.kernel(scaled).flatten(-2)


class GaussianRBFExpansion(RadialBasisExpansion):
    """Gaussian radial basis ``exp(-(ε (x_i - c_j))²)`` on fixed centres (``D = m k``).

    See :class:`RadialBasisExpansion` for the centres, the layout and the parameters.
    """

    label = "gaussian_rbf"

    def kernel(self, scaled: Tensor) -> Tensor:
        """Return ``exp(-scaled²)``."""
        return torch.exp(-scaled * scaled)


class InverseQuadraticRBFExpansion(RadialBasisExpansion):
    """Inverse quadratic radial basis ``1 / (1 + (ε (x_i - c_j))²)`` on fixed centres.

    ``D = m k``; see :class:`RadialBasisExpansion` for the centres, the layout and the
    parameters (tinybig's defaults: ``base_range = (-1, 1)``, ``k = 10``, ``ε = 1``).
    """

    label = "inverse_quadratic_rbf"

    def kernel(self, scaled: Tensor) -> Tensor:
        """Return ``1 / (1 + scaled²)``."""
        return torch.reciprocal(1 + scaled * scaled)


def _centres(base: Sequence[float] | Tensor, k: int, field: str) -> Tensor:
    """Return ``base`` as a 1-D floating tensor of ``k`` finite centres."""
    try:
        centres = torch.as_tensor(base, dtype=torch.get_default_dtype()).clone()
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"{field} of type {type(base).__name__} is not valid; expected {k} numbers"
        ) from None
    if centres.dim() != 1 or centres.numel() != k or not torch.isfinite(centres).all():
        raise ConfigError(
            f"{field} has shape {tuple(centres.shape)}; expected {k} finite numbers "
            f"(num_interval={k})"
        )
    return centres
