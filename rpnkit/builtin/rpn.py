"""Builtin plugin: the RPN components (expansions, reconciliations, remainders, fusions) and
the models.

Targets are lazy ``"module:attr"`` strings, so listing them imports neither torch nor
:mod:`rpnkit.rpn`. Aliases include tinybig's class names (``taylor_expansion``,
``lorr_reconciliation``, ...) so tinybig configs resolve by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    ("expansion", "RPN data expansion functions κ: R^m -> R^D"),
    ("reconciliation", "RPN parameter reconciliation functions ψ: R^l -> R^{n×D}"),
    ("remainder", "RPN remainder functions π: R^m -> R^n"),
    (
        "fusion",
        "RPN fusion functions: the outputs of a layer's heads or a head's channels into one",
    ),
    ("model", "Models built from a config"),
)
#: What a dotted path in each group may name besides registered entries (see rpnkit.components.trust).
KINDS: dict[str, tuple[str, ...]] = {
    "expansion": ("rpnkit.rpn.expansion:Expansion",),
    "reconciliation": ("rpnkit.rpn.reconciliation:Reconciliation",),
    "remainder": ("rpnkit.rpn.remainder:Remainder",),
    "fusion": ("rpnkit.rpn.fusion:Fusion",),
    "model": ("torch.nn:Module",),
}

_EXPANSION = "rpnkit.rpn.expansion"
_RECONCILIATION = "rpnkit.rpn.reconciliation"
_REMAINDER = "rpnkit.rpn.remainder"
_FUSION = "rpnkit.rpn.fusion"
_PRESETS = "rpnkit.rpn.presets"

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
    # probabilistic: log-densities of fixed distributions (z = squashed x where noted)
    ("normal", f"{_EXPANSION}:NormalExpansion", ("normal_expansion",),
     "Normal log-densities for 6 (μ, σ), function-major, D = 6m"),
    ("cauchy", f"{_EXPANSION}:CauchyExpansion", ("cauchy_expansion",),
     "Cauchy log-densities for 6 (x0, γ), function-major, D = 6m"),
    ("laplace", f"{_EXPANSION}:LaplaceExpansion", ("laplace_expansion",),
     "Laplace log-densities for 6 (μ, b), function-major, D = 6m"),
    ("gamma", f"{_EXPANSION}:GammaExpansion", ("gamma_expansion",),
     "Gamma log-densities for 6 (shape, rate) at 0.99σ(x)+0.001, D = 6m"),
    ("chi2", f"{_EXPANSION}:Chi2Expansion", ("chi2_expansion",),
     "χ² log-densities with 1 and 2 degrees of freedom at σ(x)+0.001, D = 2m"),
    ("exponential", f"{_EXPANSION}:ExponentialExpansion", ("exponential_expansion",),
     "Exponential log-densities for 6 rates at 0.99σ(x)+0.001, D = 6m"),
    ("hybrid_probabilistic", f"{_EXPANSION}:HybridProbabilisticExpansion",
     ("hybrid_probabilistic_expansion",),
     "Normal, Cauchy, χ², gamma, Laplace and exponential log-densities, D = 6m"),
    ("naive_cauchy", f"{_EXPANSION}:NaiveCauchyExpansion", ("naive_cauchy_expansion",),
     "Standard Cauchy log-density of every feature, D = m"),
    ("naive_laplace", f"{_EXPANSION}:NaiveLaplaceExpansion", ("naive_laplace_expansion",),
     "Laplace(0, 1) log-density of every feature, D = m"),
    ("naive_gamma", f"{_EXPANSION}:NaiveGammaExpansion", ("naive_gamma_expansion",),
     "Gamma(0.5, 1) log-density at 0.99σ(x)+0.001, D = m"),
    ("naive_chi2", f"{_EXPANSION}:NaiveChi2Expansion", ("naive_chi2_expansion",),
     "χ²(1) log-density at σ(x)+0.001, D = m"),
    ("naive_exponential", f"{_EXPANSION}:NaiveExponentialExpansion",
     ("naive_exponential_expansion",), "Exponential(0.5) log-density at 0.99σ(x)+0.001, D = m"),
    # combinatorial: feature subsets of sizes 1..d
    ("combinatorial", f"{_EXPANSION}:CombinatorialExpansion", ("combinatorial_expansion",),
     "Values of every feature subset of size 1..d, D = Σ r·C(m, r)"),
    ("combinatorial_normal", f"{_EXPANSION}:CombinatorialNormalExpansion",
     ("combinatorial_normal_expansion",),
     "Normal log-density of every feature subset of size 1..d, D = Σ C(m, r)"),
    # wavelets: a^{-s/2} ψ(x/a^s - t b), then Taylor powers up to d
    ("harr", f"{_EXPANSION}:HaarWaveletExpansion", ("harr_wavelet_expansion", "haar"),
     "Haar wavelets, D = Σ_k (m·s·t)^k"),
    ("ricker", f"{_EXPANSION}:RickerWaveletExpansion", ("ricker_wavelet_expansion",),
     "Ricker (Mexican hat) wavelets, D = Σ_k (m·s·t)^k"),
    ("dog", f"{_EXPANSION}:DogWaveletExpansion", ("dog_wavelet_expansion",),
     "Difference-of-Gaussians wavelets, D = Σ_k (m·s·t)^k"),
    ("meyer", f"{_EXPANSION}:MeyerWaveletExpansion", ("meyer_wavelet_expansion",),
     "Meyer wavelets, D = Σ_k (m·s·t)^k"),
    ("shannon", f"{_EXPANSION}:ShannonWaveletExpansion", ("shannon_wavelet_expansion",),
     "Shannon wavelets, D = Σ_k (m·s·t)^k"),
    ("beta", f"{_EXPANSION}:BetaWaveletExpansion", ("beta_wavelet_expansion",),
     "Beta wavelets, D = Σ_k (m·s·t)^k"),
    # geometric: patches packed on an h × w × d grid
    ("cuboid", f"{_EXPANSION}:CuboidExpansion",
     ("cuboid_patch_based_geometric_expansion",),
     "Cuboid patches on an h×w×d grid, D = channels · patch size · patch count"),
    ("cylinder", f"{_EXPANSION}:CylinderExpansion",
     ("cylinder_patch_based_geometric_expansion",),
     "Cylinder patches on an h×w×d grid, D = channels · patch size · patch count"),
    ("sphere", f"{_EXPANSION}:SphereExpansion",
     ("sphere_patch_based_geometric_expansion",),
     "Sphere patches on an h×w×d grid, D = channels · patch size · patch count"),
    # basic, arc, radial basis, orthogonal and recursive polynomials, composition
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
     ("lorr", "lorr_reconciliation", "low_rank_reconciliation", "lowrank_reconciliation"),
     "Low-rank weight A B of rank r, never formed, l = r(n+D)"),
    ("hm", f"{_RECONCILIATION}:HMReconciliation",
     ("hm_reconciliation",), "Hypercomplex multiplication (outer-reshape layout), l = pq + st"),
    ("lphm", f"{_RECONCILIATION}:LPHMReconciliation",
     ("lphm_reconciliation",), "Hypercomplex with a rank-r second block, l = pq + r(s+t)"),
    ("dual_lphm", f"{_RECONCILIATION}:DualLPHMReconciliation",
     ("dual_lphm_reconciliation",), "Hypercomplex with both blocks of rank r, l = r(p+q+s+t)"),
    ("hypernet", f"{_RECONCILIATION}:HypernetReconciliation",
     ("hypernet_reconciliation",), "Weight generated by a (frozen by default) MLP from l inputs"),
    ("constant", f"{_RECONCILIATION}:ConstantReconciliation",
     ("constant_reconciliation",),
     "Constant weight c everywhere (rank one, never formed), l = 0"),
    ("zero", f"{_RECONCILIATION}:ZeroReconciliation", ("zero_reconciliation",),
     "Zero weight: only the bias and the remainder are left, l = 0"),
    ("one", f"{_RECONCILIATION}:OneReconciliation", ("one_reconciliation",),
     "All-ones weight: every output is the sum of the expansion, l = 0"),
    ("constant_eye", f"{_RECONCILIATION}:ConstantEyeReconciliation",
     ("constant_eye_reconciliation",), "Fixed weight eye(n, D), l = 0"),
    ("masking", f"{_RECONCILIATION}:MaskingReconciliation", ("masking_reconciliation",),
     "Dense weight times a fixed random 0/1 mask keeping a share p, l = nD"),
    ("duplicated_padding", f"{_RECONCILIATION}:DuplicatedPaddingReconciliation",
     ("duplicated_padding_reconciliation",),
     "w repeated pq times (tinybig's layout), s distinct rows, l = nD/(pq)"),
    ("duplicated_diagonal_padding", f"{_RECONCILIATION}:DuplicatedDiagonalPaddingReconciliation",
     ("duplicated_diagonal_padding_reconciliation",),
     "Block diagonal I_{p×q} ⊗ w.view(n/p, D/q), l = nD/(pq)"),
    ("random_matrix_adaption", f"{_RECONCILIATION}:RandomMatrixAdaptionReconciliation",
     ("random_matrix_adaption_reconciliation",),
     "diag(λ1) A diag(λ2) Bᵀ with fixed random A, B of rank r, never formed, l = n + r"),
    ("random_matrix_hypernet", f"{_RECONCILIATION}:RandomMatrixHypernetReconciliation",
     ("random_matrix_hypernet_reconciliation",),
     "Weight σ(w P Qᵀ) S Tᵀ through fixed random rank-r maps, l free"),
)  # fmt: skip

REMAINDERS: tuple[Row, ...] = (
    ("zero", f"{_REMAINDER}:ZeroRemainder", ("zero_remainder",),
     "No remainder: π(x) = 0"),
    ("identity", f"{_REMAINDER}:IdentityRemainder", ("identity_remainder",),
     "Residual: π(x) = act(x), needs m = n"),
    ("linear", f"{_REMAINDER}:LinearRemainder", ("linear_remainder",),
     "Linear map: π(x) = act(x W_rᵀ + b_r)"),
    ("constant", f"{_REMAINDER}:ConstantRemainder", ("constant_remainder",),
     "Constant: π(x) = act(c 1_n), any m"),
    ("one", f"{_REMAINDER}:OneRemainder", ("one_remainder",),
     "Ones: π(x) = act(1_n), any m"),
)  # fmt: skip

FUSIONS: tuple[Row, ...] = (
    ("mean", f"{_FUSION}:MeanFusion", ("average", "average_fusion", "mean_fusion"),
     "Elementwise mean of equal-size inputs (the default), n = dims[0]"),
    ("sum", f"{_FUSION}:SumFusion", ("summation", "summation_fusion", "sum_fusion"),
     "Elementwise sum of equal-size inputs, n = dims[0]"),
    ("concatenation", f"{_FUSION}:ConcatenationFusion", ("concat", "concatenation_fusion"),
     "Concatenation along the features, n = Σ dims"),
    ("weighted_summation", f"{_FUSION}:WeightedSummationFusion",
     ("weighted_summation_fusion",), "Σ α_i x_i with fixed weights α, n = dims[0]"),
    ("parameterized_weighted_summation", f"{_FUSION}:ParameterizedWeightedSummationFusion",
     ("parameterized_weighted_summation_fusion",),
     "Σ w_i x_i with learnable weights, l = number of inputs"),
    ("max", f"{_FUSION}:MaxFusion", ("max_fusion",), "Elementwise maximum, n = dims[0]"),
    ("min", f"{_FUSION}:MinFusion", ("min_fusion",), "Elementwise minimum, n = dims[0]"),
    ("prod", f"{_FUSION}:ProdFusion", ("prod_fusion", "product"),
     "Elementwise product, n = dims[0]"),
    ("median", f"{_FUSION}:MedianFusion", ("median_fusion",),
     "Elementwise median (lower middle value), n = dims[0]"),
    ("l1_norm", f"{_FUSION}:L1NormFusion", ("l1_norm_fusion",),
     "Elementwise L1 norm Σ|x_i|, n = dims[0]"),
    ("l2_norm", f"{_FUSION}:L2NormFusion", ("l2_norm_fusion",),
     "Elementwise L2 norm √Σx_i², n = dims[0]"),
    ("metric", f"{_FUSION}:MetricFusion", ("metric_fusion",),
     "Elementwise reduction by a named metric or a callable, n = dims[0]"),
    ("parameterized_concatenation", f"{_FUSION}:ParameterizedConcatenationFusion",
     ("parameterized_concatenation_fusion",),
     "Concatenation then a learnable n × Σdims map, l = n Σ dims"),
    ("lowrank_parameterized_concatenation", f"{_FUSION}:LowRankParameterizedConcatenationFusion",
     ("lowrank_parameterized_concatenation_fusion", "low_rank_parameterized_concatenation"),
     "Concatenation then a rank-r map, never formed, l = r(n + Σ dims)"),
    ("hm_parameterized_concatenation", f"{_FUSION}:HMParameterizedConcatenationFusion",
     ("hm_parameterized_concatenation_fusion",),
     "Concatenation then a hypercomplex (hm) map"),
    ("lphm_parameterized_concatenation", f"{_FUSION}:LPHMParameterizedConcatenationFusion",
     ("lphm_parameterized_concatenation_fusion",),
     "Concatenation then a low-rank hypercomplex (lphm) map"),
    ("dual_lphm_parameterized_concatenation",
     f"{_FUSION}:DualLPHMParameterizedConcatenationFusion",
     ("dual_lphm_parameterized_concatenation_fusion",),
     "Concatenation then a dual low-rank hypercomplex (dual_lphm) map"),
    ("random_matrix_adaption_parameterized_concatenation",
     f"{_FUSION}:RandomMatrixAdaptionParameterizedConcatenationFusion",
     ("random_matrix_adaption_parameterized_concatenation_fusion",),
     "Concatenation then a random-matrix-adaption map, l = n + r"),
)  # fmt: skip

MODELS: tuple[Row, ...] = (
    ("rpn", "rpnkit.rpn.model:build_model", ("rpn_model",),
     "Reconciled Polynomial Network built from a list of layer configs"),
    ("perceptron", f"{_PRESETS}:perceptron", ("perceptron_model",),
     "Perceptron layers (tinybig's perceptron_layer defaults) for the sizes dims"),
    ("mlp", f"{_PRESETS}:mlp", ("rpn_mlp",),
     "tinybig's mlp: perceptron layers with relu, dropout and softmax"),
    ("kan", f"{_PRESETS}:kan", ("rpn_kan",),
     "tinybig's kan: B-spline expansion with a SiLU linear remainder"),
    ("svm", f"{_PRESETS}:svm", ("rpn_svm",),
     "tinybig's svm: linear, gaussian_rbf or inverse_quadratic_rbf kernel"),
    ("naive_bayes", f"{_PRESETS}:naive_bayes", ("rpn_naive_bayes",),
     "tinybig's naive_bayes: naive log-density expansion of one distribution"),
    ("pgm", f"{_PRESETS}:pgm", ("rpn_pgm", "rpn_bayesian_network"),
     "tinybig's pgm: combinatorial normal log-density expansion"),
)  # fmt: skip

COMPONENTS: tuple[tuple[str, tuple[Row, ...]], ...] = (
    ("expansion", EXPANSIONS),
    ("reconciliation", RECONCILIATIONS),
    ("remainder", REMAINDERS),
    ("fusion", FUSIONS),
    ("model", MODELS),
)


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the RPN groups (``expansion``, ``reconciliation``, ...) and the ``model`` group."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary, kinds=KINDS.get(name, ()))


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the builtin RPN components, the ``rpn`` model and the model presets."""
    for group, rows in COMPONENTS:
        for name, target, aliases, summary in rows:
            registry.register(group, name, target, summary=summary, aliases=aliases)
