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
from rpnkit.rpn.expansion.combinatorial import (
    CombinatorialExpansion,
    CombinatorialNormalExpansion,
)
from rpnkit.rpn.expansion.composite import ExtendedExpansion, NestedExpansion
from rpnkit.rpn.expansion.geometric import (
    CuboidExpansion,
    CylinderExpansion,
    GeometricExpansion,
    SphereExpansion,
)
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
from rpnkit.rpn.expansion.probabilistic import (
    CauchyExpansion,
    Chi2Expansion,
    ExponentialExpansion,
    GammaExpansion,
    HybridProbabilisticExpansion,
    LaplaceExpansion,
    NaiveCauchyExpansion,
    NaiveChi2Expansion,
    NaiveExponentialExpansion,
    NaiveGammaExpansion,
    NaiveLaplaceExpansion,
    NaiveNormalExpansion,
    NormalExpansion,
    ProbabilisticExpansion,
)
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
from rpnkit.rpn.expansion.wavelet import (
    BetaWaveletExpansion,
    DogWaveletExpansion,
    HaarWaveletExpansion,
    MeyerWaveletExpansion,
    RickerWaveletExpansion,
    ShannonWaveletExpansion,
    WaveletExpansion,
)

__all__ = [
    "ArcHyperbolicExpansion",
    "ArcTrigonometricExpansion",
    "BSplineExpansion",
    "BesselExpansion",
    "BetaWaveletExpansion",
    "CauchyExpansion",
    "ChebyshevExpansion",
    "Chi2Expansion",
    "CombinatorialExpansion",
    "CombinatorialNormalExpansion",
    "CuboidExpansion",
    "CylinderExpansion",
    "DogWaveletExpansion",
    "Expansion",
    "ExponentialExpansion",
    "ExtendedExpansion",
    "FibonacciExpansion",
    "FourierExpansion",
    "GammaExpansion",
    "GaussianRBFExpansion",
    "GegenbauerExpansion",
    "GeometricExpansion",
    "HaarWaveletExpansion",
    "HermiteExpansion",
    "HybridProbabilisticExpansion",
    "HyperbolicExpansion",
    "IdentityExpansion",
    "InverseQuadraticRBFExpansion",
    "JacobiExpansion",
    "LaguerreExpansion",
    "LaplaceExpansion",
    "LegendreExpansion",
    "LinearExpansion",
    "LucasExpansion",
    "MeyerWaveletExpansion",
    "NaiveCauchyExpansion",
    "NaiveChi2Expansion",
    "NaiveExponentialExpansion",
    "NaiveGammaExpansion",
    "NaiveLaplaceExpansion",
    "NaiveNormalExpansion",
    "NestedExpansion",
    "NormalExpansion",
    "OrthogonalPolynomialExpansion",
    "ProbabilisticExpansion",
    "RadialBasisExpansion",
    "ReciprocalExpansion",
    "RecursivePolynomialExpansion",
    "ReverseBesselExpansion",
    "RickerWaveletExpansion",
    "ShannonWaveletExpansion",
    "SphereExpansion",
    "TaylorExpansion",
    "TrigonometricExpansion",
    "WaveletExpansion",
]
