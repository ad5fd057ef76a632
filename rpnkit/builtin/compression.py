"""Builtin plugin: the compression functions (tinybig 0.2.1's 47 compression classes).

Group ``compression`` holds them under short names, with tinybig's class names as aliases.
Every compression is an expansion too, so the same classes are registered in the
``expansion`` group under tinybig's class names (``max_compression``, ...): a head's
``expansion: max_compression`` and a tinybig config's ``tinybig.compression.max_compression``
resolve there. Targets are lazy ``"module:attr"`` strings (listing imports nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

GROUPS: tuple[tuple[str, str], ...] = (
    ("compression", "RPN data compression functions κ: R^m -> R^D with D <= m"),
)
#: What a dotted path in the group may name besides registered entries.
KINDS: dict[str, tuple[str, ...]] = {
    "compression": ("rpnkit.rpn.compression:Compression",),
}

_C = "rpnkit.rpn.compression"

Row = tuple[str, str, tuple[str, ...], str]

COMPRESSIONS: tuple[Row, ...] = (
    ("identity", f"{_C}:IdentityCompression", ("identity_compression",),
     "Identity: κ(x) = x, D = m"),
    ("reciprocal", f"{_C}:ReciprocalCompression", ("reciprocal_compression",),
     "Reciprocal: κ(x) = 1/x kept finite near 0, D = m"),
    ("linear", f"{_C}:LinearCompression", ("linear_compression",),
     "Linear: c x, C_pre x or x C_post, D = m"),
    ("extended", f"{_C}:ExtendedCompression", ("extended_compression",),
     "Concatenation of several transformations, D = Σ D_i"),
    ("nested", f"{_C}:NestedCompression", ("nested_compression",),
     "Composition of several transformations, D = D_k(... D_1(m))"),
    ("metric", f"{_C}:MetricCompression", ("metric_compression",),
     "One value per sample: a named metric or a callable over the features, D = 1"),
    ("max", f"{_C}:MaxCompression", ("max_compression",), "Largest feature, D = 1"),
    ("min", f"{_C}:MinCompression", ("min_compression",), "Smallest feature, D = 1"),
    ("sum", f"{_C}:SumCompression", ("sum_compression",), "Sum of the features, D = 1"),
    ("mean", f"{_C}:MeanCompression", ("mean_compression",), "Mean of the features, D = 1"),
    ("prod", f"{_C}:ProdCompression", ("prod_compression",), "Product of the features, D = 1"),
    ("median", f"{_C}:MedianCompression", ("median_compression",),
     "Median (lower middle value) of the features, D = 1"),
    ("geometric", f"{_C}:GeometricCompression", ("geometric_compression",),
     "Pooling of a given patch on a grid with a metric, D = channels·P"),
    ("cuboid_patch_based_geometric", f"{_C}:CuboidCompression",
     ("cuboid_patch_based_geometric_compression", "cuboid"),
     "Pooling over cuboid patches with a metric (zero padding), D = channels·P"),
    ("cylinder_patch_based_geometric", f"{_C}:CylinderCompression",
     ("cylinder_patch_based_geometric_compression", "cylinder"),
     "Pooling over cylinder patches with a metric, D = channels·P"),
    ("sphere_patch_based_geometric", f"{_C}:SphereCompression",
     ("sphere_patch_based_geometric_compression", "sphere"),
     "Pooling over sphere patches with a metric, D = channels·P"),
    ("cuboid_max", f"{_C}:CuboidMaxCompression", ("cuboid_max_based_geometric_compression",),
     "Max pooling over cuboid patches (= max_pool of the zero-padded grid)"),
    ("cuboid_min", f"{_C}:CuboidMinCompression", ("cuboid_min_based_geometric_compression",),
     "Min pooling over cuboid patches (zero padding)"),
    ("cuboid_mean", f"{_C}:CuboidMeanCompression", ("cuboid_mean_based_geometric_compression",),
     "Mean pooling over cuboid patches (= avg_pool counting the zero padding)"),
    ("cylinder_max", f"{_C}:CylinderMaxCompression",
     ("cylinder_max_based_geometric_compression",), "Max pooling over cylinder patches"),
    ("cylinder_min", f"{_C}:CylinderMinCompression",
     ("cylinder_min_based_geometric_compression",), "Min pooling over cylinder patches"),
    ("cylinder_mean", f"{_C}:CylinderMeanCompression",
     ("cylinder_mean_based_geometric_compression",), "Mean pooling over cylinder patches"),
    ("sphere_max", f"{_C}:SphereMaxCompression", ("sphere_max_based_geometric_compression",),
     "Max pooling over sphere patches"),
    ("sphere_min", f"{_C}:SphereMinCompression", ("sphere_min_based_geometric_compression",),
     "Min pooling over sphere patches"),
    ("sphere_mean", f"{_C}:SphereMeanCompression", ("sphere_mean_based_geometric_compression",),
     "Mean pooling over sphere patches"),
    ("naive_probabilistic", f"{_C}:NaiveProbabilisticCompression",
     ("naive_probabilistic_compression",),
     "k features per sample drawn ∝ a density of 0.99σ(x)+0.001 (Uniform(0,1)), D = k"),
    ("naive_uniform_probabilistic", f"{_C}:NaiveUniformCompression",
     ("naive_uniform_probabilistic_compression",), "k features drawn with a Uniform density"),
    ("naive_normal_probabilistic", f"{_C}:NaiveNormalCompression",
     ("naive_normal_probabilistic_compression",), "k features drawn with a Normal density"),
    ("naive_cauchy_probabilistic", f"{_C}:NaiveCauchyCompression",
     ("naive_cauchy_probabilistic_compression",), "k features drawn with a Cauchy density"),
    ("naive_chi2_probabilistic", f"{_C}:NaiveChi2Compression",
     ("naive_chi2_probabilistic_compression",), "k features drawn with a χ² density"),
    ("naive_exponential_probabilistic", f"{_C}:NaiveExponentialCompression",
     ("naive_exponential_probabilistic_compression",),
     "k features drawn with an Exponential density"),
    ("naive_gamma_probabilistic", f"{_C}:NaiveGammaCompression",
     ("naive_gamma_probabilistic_compression",), "k features drawn with a Gamma density"),
    ("naive_laplace_probabilistic", f"{_C}:NaiveLaplaceCompression",
     ("naive_laplace_probabilistic_compression",), "k features drawn with a Laplace density"),
    ("combinatorial", f"{_C}:CombinatorialCompression", ("combinatorial_compression",),
     "k random feature subsets of each size 1..d, D = k·d(d+1)/2 values"),
    ("combinatorial_probabilistic", f"{_C}:CombinatorialProbabilisticCompression",
     ("combinatorial_probabilistic_compression",),
     "Normal log-densities of k random feature subsets of each size 1..d, D = d k"),
    ("dimension_reduction", f"{_C}:dimension_reduction_compression",
     ("dimension_reduction_compression",),
     "Incremental PCA or random projection, chosen by dr_function, D given"),
    ("incremental_pca", f"{_C}:IncrementalPCACompression",
     ("incremental_PCA_based_compression", "pca"),
     "Incremental PCA fitted on training batches, (x - μ) Cᵀ, D given"),
    ("random_projection", f"{_C}:RandomProjectionCompression",
     ("incremental_random_projection_based_compression",),
     "Sparse random projection drawn once and kept, D given"),
    ("feature_selection", f"{_C}:feature_selection_compression",
     ("feature_selection_compression",),
     "Variance threshold or feature clustering, chosen by fs_function, D given"),
    ("feature_clustering", f"{_C}:FeatureClusteringCompression",
     ("incremental_feature_clustering_based_compression",),
     "Means of D spectral clusters of features fitted on training batches"),
    ("variance_threshold", f"{_C}:VarianceThresholdCompression",
     ("incremental_variance_threshold_based_compression",),
     "The D features of largest running training variance"),
    ("manifold", f"{_C}:manifold_compression", ("manifold_compression",),
     "A scikit-learn manifold embedding of each batch, chosen by manifold_function"),
    ("isomap", f"{_C}:IsomapCompression", ("isomap_manifold_compression",),
     "Isomap embedding of each batch, D given"),
    ("lle", f"{_C}:LLECompression", ("lle_manifold_compression",),
     "Locally linear embedding of each batch, D given"),
    ("mds", f"{_C}:MDSCompression", ("mds_manifold_compression",),
     "Multidimensional scaling of each batch, D given"),
    ("spectral_embedding", f"{_C}:SpectralEmbeddingCompression",
     ("spectral_embedding_manifold_compression",), "Spectral embedding of each batch, D given"),
    ("tsne", f"{_C}:TSNECompression", ("tsne_manifold_compression",),
     "t-SNE embedding of each batch, D given"),
)  # fmt: skip


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``compression`` group."""
    for name, summary in GROUPS:
        registry.add_group(name, summary=summary, kinds=KINDS.get(name, ()))


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register the compressions, and each under its tinybig class name as an expansion."""
    for name, target, aliases, summary in COMPRESSIONS:
        registry.register("compression", name, target, summary=summary, aliases=aliases)
        registry.register("expansion", aliases[0], target, summary=f"{summary} (compression)")
