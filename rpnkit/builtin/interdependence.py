"""Builtin plugin: the RPN 2 data interdependence functions ξ (group ``interdependence``).

Targets are lazy ``"module:attr"`` strings, so listing them imports neither torch nor
:mod:`rpnkit.rpn`. Every row has a short name and tinybig's class name as an alias, so tinybig
configs resolve by name. One table per family; :data:`FAMILIES` lists them, so a family is
added with one tuple.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    (
        "interdependence",
        "RPN 2 data interdependence functions ξ: attribute A ∈ R^{m×m'} or instance A ∈ R^{b×b'}",
    ),
)
#: What a dotted path in the group may name besides registered entries (see rpnkit.components.trust).
KINDS: dict[str, tuple[str, ...]] = {
    "interdependence": ("rpnkit.rpn.interdependence:Interdependence",),
}

_I = "rpnkit.rpn.interdependence"

Row = tuple[str, str, tuple[str, ...], str]

# Each row is (canonical name, target, aliases, summary).

BASIC: tuple[Row, ...] = (
    ("constant", f"{_I}:ConstantInterdependence", ("constant_interdependence",),
     "A given fixed matrix A (m × m' or b × b'), l = 0"),
    ("constant_c", f"{_I}:ConstantCInterdependence", ("constant_c_interdependence",),
     "Every entry c: A = c·1_{d×d'}, l = 0"),
    ("zero", f"{_I}:ZeroInterdependence", ("zero_interdependence",),
     "All zeros: A = 0_{d×d'}, l = 0"),
    ("one", f"{_I}:OneInterdependence", ("one_interdependence",),
     "All ones: A = 1_{d×d'} (sums over the mixed side), l = 0"),
    ("identity", f"{_I}:IdentityInterdependence", ("identity_interdependence",),
     "Identity A = eye(d, d') (warns if d' ≠ d), l = 0"),
)  # fmt: skip

NUMERICAL_KERNELS: tuple[Row, ...] = (
    ("numerical_kernel_based", f"{_I}:NumericalKernelBasedInterdependence",
     ("numerical_kernel_based_interdependence", "kernel_based"),
     "A = kernel(x) for a callable (Python) or a named numerical kernel between columns"),
    ("linear_kernel", f"{_I}:LinearKernelInterdependence",
     ("linear_kernel_interdependence",), "Gram matrix A = XᵀX (attribute) or XXᵀ (instance)"),
    ("cosine_similarity", f"{_I}:CosineSimilarityInterdependence",
     ("cosine_similarity_interdependence",), "Cosine similarities of the columns (or rows)"),
    ("minkowski_distance", f"{_I}:MinkowskiDistanceInterdependence",
     ("minkowski_distance_interdependence",), "exp(−‖x_i − x_j‖_p), exact cdist"),
    ("manhattan_distance", f"{_I}:ManhattanDistanceInterdependence",
     ("manhattan_distance_interdependence",), "exp(−‖x_i − x_j‖_1), exact cdist"),
    ("euclidean_distance", f"{_I}:EuclideanDistanceInterdependence",
     ("euclidean_distance_interdependence",), "exp(−‖x_i − x_j‖_2), exact cdist"),
    ("chebyshev_distance", f"{_I}:ChebyshevDistanceInterdependence",
     ("chebyshev_distance_interdependence",), "exp(−‖x_i − x_j‖_∞), exact cdist"),
    ("canberra_distance", f"{_I}:CanberraDistanceInterdependence",
     ("canberra_distance_interdependence",), "exp(−Canberra distance), summed in row blocks"),
    ("polynomial_kernel", f"{_I}:PolynomialKernelInterdependence",
     ("polynomial_kernel_interdependence",), "(XᵀX + c)^d"),
    ("hyperbolic_tangent_kernel", f"{_I}:HyperbolicTangentKernelInterdependence",
     ("hyperbolic_tangent_kernel_interdependence",), "tanh(α XᵀX + c)"),
    ("exponential_kernel", f"{_I}:ExponentialKernelInterdependence",
     ("exponential_kernel_interdependence",), "exp(−γ ‖x_i − x_j‖²), exact cdist"),
    ("gaussian_rbf_kernel", f"{_I}:GaussianRBFKernelInterdependence",
     ("gaussian_rbf_kernel_interdependence",), "exp(−‖x_i − x_j‖² / 2σ²), exact cdist"),
    ("laplacian_kernel", f"{_I}:LaplacianKernelInterdependence",
     ("laplacian_kernel_interdependence",), "exp(−‖x_i − x_j‖_1 / σ), exact cdist"),
    ("anisotropic_rbf_kernel", f"{_I}:AnisotropicRBFKernelInterdependence",
     ("anisotropic_rbf_kernel_interdependence",),
     "exp(−Σ_r a_r (x_ri − x_rj)²), one weight per row, exact cdist of √a·x"),
    ("custom_hybrid_kernel", f"{_I}:CustomHybridKernelInterdependence",
     ("custom_hybrid_kernel_interdependence",), "Weighted sum Σ w_k K_k(X) of kernels"),
)  # fmt: skip

STATISTICAL_KERNELS: tuple[Row, ...] = (
    ("statistical_kernel_based", f"{_I}:StatisticalKernelBasedInterdependence",
     ("statistical_kernel_based_interdependence",),
     "A = kernel(x) for a callable (Python) or a named statistical kernel between columns"),
    ("pearson_correlation", f"{_I}:PearsonCorrelationInterdependence",
     ("pearson_correlation_interdependence",), "Pearson correlation matrix (diagonal 1)"),
    ("kl_divergence", f"{_I}:KLDivergenceInterdependence",
     ("kl_divergence_interdependence",), "KL(p_i ‖ p_j) of softmaxed columns, one matmul"),
    ("rv_coefficient", f"{_I}:RVCoefficientInterdependence",
     ("rv_coefficient_interdependence",), "RV coefficient ρ² (by its definition; see docs)"),
    ("mutual_information", f"{_I}:MutualInformationInterdependence",
     ("mutual_information_interdependence",),
     "Gaussian mutual information −½log(1−ρ²), zero diagonal, closed form"),
)  # fmt: skip

PARAMETERIZED: tuple[Row, ...] = (
    ("parameterized", f"{_I}:ParameterizedInterdependence",
     ("parameterized_interdependence",), "Learnable A = w.view(d, d'), l = d d'"),
    ("lowrank_parameterized", f"{_I}:LowRankParameterizedInterdependence",
     ("lowrank_parameterized_interdependence", "low_rank_parameterized"),
     "Learnable low-rank A = L R (applied as (X L) R), l = r(d + d')"),
    ("hm_parameterized", f"{_I}:HMParameterizedInterdependence",
     ("hm_parameterized_interdependence",), "Learnable hypercomplex A = hm(w), l = pq + st"),
    ("lphm_parameterized", f"{_I}:LPHMParameterizedInterdependence",
     ("lphm_parameterized_interdependence",), "Learnable A = lphm(w), l = pq + r(s + t)"),
    ("dual_lphm_parameterized", f"{_I}:DualLPHMParameterizedInterdependence",
     ("dual_lphm_parameterized_interdependence",),
     "Learnable A = dual_lphm(w), l = r(p + q + s + t)"),
    ("random_matrix_adaption_parameterized",
     f"{_I}:RandomMatrixAdaptionParameterizedInterdependence",
     ("random_matrix_adaption_parameterized_interdependence",),
     "A = diag(λ1) P diag(λ2) Qᵀ, fixed random P, Q, l = d + r"),
)  # fmt: skip

BILINEAR: tuple[Row, ...] = (
    ("parameterized_bilinear", f"{_I}:ParameterizedBilinearInterdependence",
     ("parameterized_bilinear_interdependence", "bilinear"),
     "A = X W Xᵀ (instance) or Xᵀ W X (attribute), learnable dense W"),
    ("lowrank_parameterized_bilinear", f"{_I}:LowRankParameterizedBilinearInterdependence",
     ("lowrank_parameterized_bilinear_interdependence", "low_rank_parameterized_bilinear"),
     "Bilinear with low-rank W = L R, computed as (X L)(R Xᵀ) without forming W"),
    ("hm_parameterized_bilinear", f"{_I}:HMParameterizedBilinearInterdependence",
     ("hm_parameterized_bilinear_interdependence",), "Bilinear with hypercomplex W = hm(w)"),
    ("lphm_parameterized_bilinear", f"{_I}:LPHMParameterizedBilinearInterdependence",
     ("lphm_parameterized_bilinear_interdependence",), "Bilinear with W = lphm(w)"),
    ("dual_lphm_parameterized_bilinear", f"{_I}:DualLPHMParameterizedBilinearInterdependence",
     ("dual_lphm_parameterized_bilinear_interdependence",), "Bilinear with W = dual_lphm(w)"),
    ("random_matrix_adaption_parameterized_bilinear",
     f"{_I}:RandomMatrixAdaptionParameterizedBilinearInterdependence",
     ("random_matrix_adaption_parameterized_bilinear_interdependence",),
     "Bilinear with W = diag(λ1) P diag(λ2) Qᵀ (fixed random P, Q), never formed"),
)  # fmt: skip

GEOMETRIC: tuple[Row, ...] = (
    ("geometric", f"{_I}.geometric:GeometricInterdependence",
     ("geometric_interdependence",),
     "Patches packed on an h×w×d grid per channel: gather (padding) or patch sums (aggregation)"),
    ("cuboid_patch_based_geometric", f"{_I}.patch_geometric:CuboidPatchBasedGeometricInterdependence",
     ("cuboid_patch_based_geometric_interdependence",),
     "Geometric with cuboid [−p_h,p_h']×[−p_w,p_w']×[−p_d,p_d'] patches"),
    ("cuboid_patch_padding_based_geometric", f"{_I}.patch_geometric:CuboidPatchPaddingBasedGeometricInterdependence",
     ("cuboid_patch_padding_based_geometric_interdependence",),
     "Cuboid patches, padding mode: gather, m' = C·P·S"),
    ("cuboid_patch_aggregation_based_geometric", f"{_I}.patch_geometric:CuboidPatchAggregationBasedGeometricInterdependence",
     ("cuboid_patch_aggregation_based_geometric_interdependence",),
     "Cuboid patches, aggregation mode: patch sums, m' = m"),
    ("cylinder_patch_based_geometric", f"{_I}.patch_geometric:CylinderPatchBasedGeometricInterdependence",
     ("cylinder_patch_based_geometric_interdependence",),
     "Geometric with cylinder i²+j² ≤ r², depths −p_d..p_d' patches"),
    ("cylinder_patch_padding_based_geometric", f"{_I}.patch_geometric:CylinderPatchPaddingBasedGeometricInterdependence",
     ("cylinder_patch_padding_based_geometric_interdependence",),
     "Cylinder patches, padding mode: gather, m' = C·P·S"),
    ("cylinder_patch_aggregation_based_geometric", f"{_I}.patch_geometric:CylinderPatchAggregationBasedGeometricInterdependence",
     ("cylinder_patch_aggregation_based_geometric_interdependence",),
     "Cylinder patches, aggregation mode: patch sums, m' = m"),
    ("sphere_patch_based_geometric", f"{_I}.patch_geometric:SpherePatchBasedGeometricInterdependence",
     ("sphere_patch_based_geometric_interdependence",),
     "Geometric with sphere i²+j²+k² ≤ r² patches"),
    ("sphere_patch_padding_based_geometric", f"{_I}.patch_geometric:SpherePatchPaddingBasedGeometricInterdependence",
     ("sphere_patch_padding_based_geometric_interdependence",),
     "Sphere patches, padding mode: gather, m' = C·P·S"),
    ("sphere_patch_aggregation_based_geometric", f"{_I}.patch_geometric:SpherePatchAggregationBasedGeometricInterdependence",
     ("sphere_patch_aggregation_based_geometric_interdependence",),
     "Sphere patches, aggregation mode: patch sums, m' = m"),
)  # fmt: skip

TOPOLOGICAL: tuple[Row, ...] = (
    ("chain", f"{_I}.chain:ChainInterdependence",
     ("chain_interdependence",),
     "Chain i → i+1 (+ s·I), optionally degree normalised; by propagation"),
    ("multihop_chain", f"{_I}.chain:MultihopChainInterdependence",
     ("multihop_chain_interdependence",),
     "Chain Â^h or Σ_{k≤h} Â^k, h propagations"),
    ("inverse_approx_multihop_chain", f"{_I}.chain:InverseApproxMultihopChainInterdependence",
     ("inverse_approx_multihop_chain_interdependence",),
     "Chain (I − Â)⁻¹: a cumulative sum (directed); column-normalised Σ Â^k (bi-directional)"),
    ("exponential_approx_multihop_chain", f"{_I}.chain:ExponentialApproxMultihopChainInterdependence",
     ("exponential_approx_multihop_chain_interdependence",),
     "Chain exp(Â) as a short series of propagations (shifts when directed)"),
    ("graph", f"{_I}.graph:GraphInterdependence",
     ("graph_interdependence",),
     "Graph adjacency Â (+ I), row/column/row_column normalised; sparse propagation"),
    ("multihop_graph", f"{_I}.graph:MultihopGraphInterdependence",
     ("multihop_graph_interdependence",),
     "Graph Â^h or Σ_{k≤h} Â^k, h sparse propagations"),
    ("pagerank_multihop_graph", f"{_I}.graph:PagerankMultihopGraphInterdependence",
     ("pagerank_multihop_graph_interdependence",),
     "c(I − (1−c)Â)⁻¹ by propagation to tolerance, memory O(nnz)"),
)  # fmt: skip

RPN_PARAMETERIZED: tuple[Row, ...] = (
    ("parameterized_rpn", f"{_I}:ParameterizedRPNInterdependence",
     ("parameterized_rpn_interdependence",),
     "A = κ(Xᵀ) ψ(w)ᵀ: an expansion and a reconciliation on the batch itself"),
)  # fmt: skip

HYBRID: tuple[Row, ...] = (
    ("hybrid", f"{_I}:HybridInterdependence", ("hybrid_interdependence",),
     "Fusion of several interdependence functions, w split by each part's l"),
)  # fmt: skip

#: The families, in the order they are registered; append a ``(family, rows)`` tuple.
FAMILIES: tuple[tuple[str, tuple[Row, ...]], ...] = (
    ("basic", BASIC),
    ("numerical_kernels", NUMERICAL_KERNELS),
    ("statistical_kernels", STATISTICAL_KERNELS),
    ("parameterized", PARAMETERIZED),
    ("parameterized_bilinear", BILINEAR),
    ("parameterized_rpn", RPN_PARAMETERIZED),
    ("hybrid", HYBRID),
    ("geometric", GEOMETRIC),
    ("topological", TOPOLOGICAL),
)


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``interdependence`` group."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary, kinds=KINDS.get(name, ()))


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the builtin interdependence functions of every family."""
    for _family, rows in FAMILIES:
        for name, target, aliases, summary in rows:
            registry.register("interdependence", name, target, summary=summary, aliases=aliases)
