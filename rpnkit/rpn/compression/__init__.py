"""Data compression functions κ: ``R^m -> R^D`` with (usually) ``D <= m``, tinybig 0.2.1's
47 compression classes.

Every compression is a :class:`Compression`, itself an
:class:`~rpnkit.rpn.expansion.Expansion`, so a head or a layer takes it as its
``expansion``. The families: basic (identity, reciprocal, linear), composite (extended,
nested), metric (one value per sample), geometric (pooling over cuboid / cylinder / sphere
patches), naive probabilistic and combinatorial (random features or subsets, drawn from
torch's global generator), dimension reduction (incremental PCA, random projection),
feature selection (variance threshold, feature clustering) and manifold (per batch).

Stateful compressions (:class:`StatefulCompression`) fit on training batches only. Where a
class's numbers differ from tinybig's, its docstring says so and its ``tinybig_divergence``
holds one line.
"""

from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.compression.basic import (
    IdentityCompression,
    LinearCompression,
    ReciprocalCompression,
)
from rpnkit.rpn.compression.combinatorial import (
    CombinatorialCompression,
    CombinatorialProbabilisticCompression,
)
from rpnkit.rpn.compression.composite import ExtendedCompression, NestedCompression
from rpnkit.rpn.compression.dimension_reduction import (
    IncrementalPCACompression,
    RandomProjectionCompression,
    dimension_reduction_compression,
)
from rpnkit.rpn.compression.feature_selection import (
    FeatureClusteringCompression,
    VarianceThresholdCompression,
    feature_selection_compression,
)
from rpnkit.rpn.compression.geometric import GeometricCompression
from rpnkit.rpn.compression.manifold import (
    IsomapCompression,
    LLECompression,
    ManifoldCompression,
    MDSCompression,
    SpectralEmbeddingCompression,
    TSNECompression,
    manifold_compression,
)
from rpnkit.rpn.compression.metric import (
    MaxCompression,
    MeanCompression,
    MedianCompression,
    MetricCompression,
    MinCompression,
    ProdCompression,
    SumCompression,
)
from rpnkit.rpn.compression.patches import (
    CuboidCompression,
    CuboidMaxCompression,
    CuboidMeanCompression,
    CuboidMinCompression,
    CylinderCompression,
    CylinderMaxCompression,
    CylinderMeanCompression,
    CylinderMinCompression,
    SphereCompression,
    SphereMaxCompression,
    SphereMeanCompression,
    SphereMinCompression,
)
from rpnkit.rpn.compression.probabilistic import (
    NaiveCauchyCompression,
    NaiveChi2Compression,
    NaiveExponentialCompression,
    NaiveGammaCompression,
    NaiveLaplaceCompression,
    NaiveNormalCompression,
    NaiveProbabilisticCompression,
    NaiveUniformCompression,
)
from rpnkit.rpn.compression.stateful import StatefulCompression

__all__ = [
    "CombinatorialCompression",
    "CombinatorialProbabilisticCompression",
    "Compression",
    "CuboidCompression",
    "CuboidMaxCompression",
    "CuboidMeanCompression",
    "CuboidMinCompression",
    "CylinderCompression",
    "CylinderMaxCompression",
    "CylinderMeanCompression",
    "CylinderMinCompression",
    "ExtendedCompression",
    "FeatureClusteringCompression",
    "GeometricCompression",
    "IdentityCompression",
    "IncrementalPCACompression",
    "IsomapCompression",
    "LLECompression",
    "LinearCompression",
    "MDSCompression",
    "ManifoldCompression",
    "MaxCompression",
    "MeanCompression",
    "MedianCompression",
    "MetricCompression",
    "MinCompression",
    "NaiveCauchyCompression",
    "NaiveChi2Compression",
    "NaiveExponentialCompression",
    "NaiveGammaCompression",
    "NaiveLaplaceCompression",
    "NaiveNormalCompression",
    "NaiveProbabilisticCompression",
    "NaiveUniformCompression",
    "NestedCompression",
    "ProdCompression",
    "RandomProjectionCompression",
    "ReciprocalCompression",
    "SpectralEmbeddingCompression",
    "SphereCompression",
    "SphereMaxCompression",
    "SphereMeanCompression",
    "SphereMinCompression",
    "StatefulCompression",
    "SumCompression",
    "TSNECompression",
    "VarianceThresholdCompression",
    "dimension_reduction_compression",
    "feature_selection_compression",
    "manifold_compression",
]
