"""Builtin plugin: the RPN components (expansions, reconciliations, remainders) and the model.

Targets are lazy ``"module:attr"`` strings, so listing them imports neither torch nor
:mod:`rpnkit.rpn`. Aliases include tinybig's class names (``taylor_expansion``,
``lorr_reconciliation``, ...) so tinybig configs resolve by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    ("expansion", "RPN data expansion functions κ: R^m -> R^D"),
    ("reconciliation", "RPN parameter reconciliation functions ψ: R^l -> R^{n×D}"),
    ("remainder", "RPN remainder functions π: R^m -> R^n"),
    ("model", "Models built from a config"),
)

_EXPANSION = "rpnkit.rpn.expansion"
_RECONCILIATION = "rpnkit.rpn.reconciliation"
_REMAINDER = "rpnkit.rpn.remainder"

Row = tuple[str, str, tuple[str, ...], str]

# One table per group; each row is (canonical name, target, aliases, summary).

EXPANSIONS: tuple[Row, ...] = (
    ("identity", f"{_EXPANSION}:IdentityExpansion", ("identity_expansion",),
     "Identity: κ(x) = x, D = m"),
    ("taylor", f"{_EXPANSION}:TaylorExpansion", ("taylor_expansion",),
     "Taylor: x, x⊗x, ... up to order d, D = m + ... + m^d"),
    ("fourier", f"{_EXPANSION}:FourierExpansion", ("fourier_expansion",),
     "Fourier: cos and sin of 2πnx/P for n = 1..N, D = 2Nm"),
    ("chebyshev", f"{_EXPANSION}:ChebyshevExpansion", ("chebyshev_expansion",),
     "Chebyshev polynomials of degrees 1..d, D = md"),
    ("legendre", f"{_EXPANSION}:LegendreExpansion", ("legendre_expansion",),
     "Legendre polynomials of degrees 1..d, D = md"),
    ("hermite", f"{_EXPANSION}:HermiteExpansion", ("hermite_expansion",),
     "Probabilists' Hermite polynomials of degrees 1..d, D = md"),
    ("bspline", f"{_EXPANSION}:BSplineExpansion", ("bspline_expansion",),
     "B-spline basis of degree d on t intervals, D = m(t+d)"),
    ("gaussian_rbf", f"{_EXPANSION}:GaussianRBFExpansion",
     ("gaussian_rbf_expansion",), "Gaussian radial basis on fixed centres, D = m·num_interval"),
    ("hyperbolic", f"{_EXPANSION}:HyperbolicExpansion", ("hyperbolic_expansion",),
     "sinh, cosh and tanh of every feature, D = 3m"),
    ("trigonometric", f"{_EXPANSION}:TrigonometricExpansion",
     ("trigonometric_expansion",), "sin, cos and tan of every feature, D = 3m"),
    ("naive_normal", f"{_EXPANSION}:NaiveNormalExpansion",
     ("naive_normal_expansion",), "Standard normal log-density of every feature, D = m"),
    ("extended", f"{_EXPANSION}:ExtendedExpansion", ("extended_expansion",),
     "Concatenation of several expansions, D = Σ D_i"),
    ("reciprocal", f"{_EXPANSION}:ReciprocalExpansion", ("reciprocal_expansion",),
     "Reciprocal 1/x, kept finite near 0 (|x| < 1e-6 -> ±1e-6), D = m"),
    ("linear", f"{_EXPANSION}:LinearExpansion", ("linear_expansion",),
     "Linear: c·x, C_pre x or x C_post, D = m"),
    ("arc_hyperbolic", f"{_EXPANSION}:ArcHyperbolicExpansion",
     ("arc_hyperbolic_expansion",), "arsinh, arcosh, artanh of sigmoid(x) (shifted), D = 3m"),
    ("arc_trigonometric", f"{_EXPANSION}:ArcTrigonometricExpansion",
     ("arc_trigonometric_expansion",), "arcsin, arccos, arctan of sigmoid(x) (scaled), D = 3m"),
    ("inverse_quadratic_rbf", f"{_EXPANSION}:InverseQuadraticRBFExpansion",
     ("inverse_quadratic_rbf_expansion",),
     "Inverse quadratic radial basis on fixed centres, D = m·num_interval"),
    ("jacobi", f"{_EXPANSION}:JacobiExpansion", ("jacobi_expansion",),
     "Jacobi polynomials P^(α,β) of degrees 1..d, D = md"),
    ("laguerre", f"{_EXPANSION}:LaguerreExpansion", ("laguerre_expansion",),
     "Generalised Laguerre polynomials L^(α) of degrees 1..d, D = md"),
    ("gegenbauer", f"{_EXPANSION}:GegenbauerExpansion", ("gegenbauer_expansion",),
     "Gegenbauer polynomials C^(α) of degrees 1..d, D = md"),
    ("bessel", f"{_EXPANSION}:BesselExpansion", ("bessel_expansion",),
     "Bessel polynomials of degrees 1..d, D = md"),
    ("reverse_bessel", f"{_EXPANSION}:ReverseBesselExpansion",
     ("reverse_bessel_expansion",), "Reverse Bessel polynomials of degrees 1..d, D = md"),
    ("fibonacci", f"{_EXPANSION}:FibonacciExpansion", ("fibonacci_expansion",),
     "Fibonacci polynomials of degrees 1..d (F1 = 1), D = md"),
    ("lucas", f"{_EXPANSION}:LucasExpansion", ("lucas_expansion",),
     "Lucas polynomials of degrees 1..d, D = md"),
    ("nested", f"{_EXPANSION}:NestedExpansion", ("nested_expansion",),
     "Composition κ_k(…κ_1(x)) of several expansions, D = D_k(…D_1(m))"),
)  # fmt: skip

RECONCILIATIONS: tuple[Row, ...] = (
    ("identity", f"{_RECONCILIATION}:IdentityReconciliation",
     ("identity_reconciliation",), "Dense weight: ψ(w) = w.view(n, D), l = nD"),
    ("low_rank", f"{_RECONCILIATION}:LowRankReconciliation",
     ("lorr", "lorr_reconciliation", "low_rank_reconciliation"),
     "Low-rank weight A B of rank r, never formed, l = r(n+D)"),
    ("hm", f"{_RECONCILIATION}:HMReconciliation",
     ("hm_reconciliation",), "Hypercomplex multiplication (outer-reshape layout), l = pq + st"),
    ("lphm", f"{_RECONCILIATION}:LPHMReconciliation",
     ("lphm_reconciliation",), "Hypercomplex with a rank-r second block, l = pq + r(s+t)"),
    ("dual_lphm", f"{_RECONCILIATION}:DualLPHMReconciliation",
     ("dual_lphm_reconciliation",), "Hypercomplex with both blocks of rank r, l = r(p+q+s+t)"),
    ("hypernet", f"{_RECONCILIATION}:HypernetReconciliation",
     ("hypernet_reconciliation",), "Weight generated by a (frozen by default) MLP from l inputs"),
)  # fmt: skip

REMAINDERS: tuple[Row, ...] = (
    ("zero", f"{_REMAINDER}:ZeroRemainder", ("zero_remainder",),
     "No remainder: π(x) = 0"),
    ("identity", f"{_REMAINDER}:IdentityRemainder", ("identity_remainder",),
     "Residual: π(x) = act(x), needs m = n"),
    ("linear", f"{_REMAINDER}:LinearRemainder", ("linear_remainder",),
     "Linear map: π(x) = act(x W_rᵀ + b_r)"),
)  # fmt: skip

MODELS: tuple[Row, ...] = (
    ("rpn", "rpnkit.rpn.model:build_model", ("rpn_model",),
     "Reconciled Polynomial Network built from a list of layer configs"),
)  # fmt: skip

COMPONENTS: tuple[tuple[str, tuple[Row, ...]], ...] = (
    ("expansion", EXPANSIONS),
    ("reconciliation", RECONCILIATIONS),
    ("remainder", REMAINDERS),
    ("model", MODELS),
)


@hookimpl
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``expansion``, ``reconciliation``, ``remainder`` and ``model`` groups."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary)


@hookimpl
def rpnkit_add_components(registry: Registry) -> None:
    """Register the builtin RPN components and the ``rpn`` model."""
    for group, rows in COMPONENTS:
        for name, target, aliases, summary in rows:
            registry.register(group, name, target, summary=summary, aliases=aliases)
