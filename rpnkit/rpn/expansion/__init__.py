"""Data expansion functions κ: ``R^m -> R^D``, the polynomial side of an RPN head.

Every expansion is an :class:`Expansion` module. It maps a batch ``x`` of shape ``(..., m)`` to
``κ(x)`` of shape ``(..., D)`` with ``D = calculate_D(m)``. Optional pre- and post-processing
steps (:mod:`rpnkit.rpn.processing`, e.g. ``postprocess=["layer_norm"]``) run before and after
the expansion proper. Fixed tensors (RBF centres, B-spline knots) are buffers created at
construction, so they follow ``.to()`` and live in the ``state_dict``; every computation keeps
``x.dtype`` and ``x.device`` and never synchronises with the host.

Layouts follow tinybig 0.2.1: *feature-major* expansions put the ``K`` values of input feature
``i`` at indices ``i*K .. i*K+K-1``; *function-major* ones concatenate ``[f_1(x), f_2(x), ...]``.

Besides ``forward``, an expansion answers :meth:`Expansion.project`, the product
``κ(x) Wᵀ`` with a weight of shape ``(..., r, D)``. The default materialises ``κ(x)``;
:class:`TaylorExpansion` of order 2 computes it from ``x`` directly in ``O(b r m)`` memory,
which is what makes a Taylor head with low-rank reconciliation cheap; the composite
expansions hand it on to their parts (:class:`NestedExpansion` to its last part), and
:class:`LinearExpansion` folds its matrix into the weight.
"""

from rpnkit.rpn.expansion.base import Expansion
from rpnkit.rpn.expansion.basic import LinearExpansion, ReciprocalExpansion
from rpnkit.rpn.expansion.basis import (
    BSplineExpansion,
    GaussianRBFExpansion,
    InverseQuadraticRBFExpansion,
    RadialBasisExpansion,
)
from rpnkit.rpn.expansion.composite import ExtendedExpansion, NestedExpansion
from rpnkit.rpn.expansion.orthogonal import (
    ChebyshevExpansion,
    GegenbauerExpansion,
    HermiteExpansion,
    JacobiExpansion,
    LaguerreExpansion,
    LegendreExpansion,
    OrthogonalPolynomialExpansion,
)
from rpnkit.rpn.expansion.polynomial import IdentityExpansion, TaylorExpansion
from rpnkit.rpn.expansion.probabilistic import NaiveNormalExpansion
from rpnkit.rpn.expansion.recursive import (
    BesselExpansion,
    FibonacciExpansion,
    LucasExpansion,
    RecursivePolynomialExpansion,
    ReverseBesselExpansion,
)
from rpnkit.rpn.expansion.trigonometric import (
    ArcHyperbolicExpansion,
    ArcTrigonometricExpansion,
    FourierExpansion,
    HyperbolicExpansion,
    TrigonometricExpansion,
)

__all__ = [
    "ArcHyperbolicExpansion",
    "ArcTrigonometricExpansion",
    "BSplineExpansion",
    "BesselExpansion",
    "ChebyshevExpansion",
    "Expansion",
    "ExtendedExpansion",
    "FibonacciExpansion",
    "FourierExpansion",
    "GaussianRBFExpansion",
    "GegenbauerExpansion",
    "HermiteExpansion",
    "HyperbolicExpansion",
    "IdentityExpansion",
    "InverseQuadraticRBFExpansion",
    "JacobiExpansion",
    "LaguerreExpansion",
    "LegendreExpansion",
    "LinearExpansion",
    "LucasExpansion",
    "NaiveNormalExpansion",
    "NestedExpansion",
    "OrthogonalPolynomialExpansion",
    "RadialBasisExpansion",
    "ReciprocalExpansion",
    "RecursivePolynomialExpansion",
    "ReverseBesselExpansion",
    "TaylorExpansion",
    "TrigonometricExpansion",
]
