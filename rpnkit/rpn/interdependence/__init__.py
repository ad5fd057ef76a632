"""Data interdependence functions ξ of RPN 2: matrices that mix the attributes or the
instances of a batch.

An attribute interdependence gives ``A ∈ R^{m×m'}`` applied as ``X·A``; an instance
interdependence gives ``A ∈ R^{b×b'}`` applied as ``Aᵀ·X``. Every function is an
:class:`Interdependence` (see :mod:`.base`); families live one per module.
"""

from rpnkit.rpn.interdependence.base import (
    ATTRIBUTE,
    INSTANCE,
    INTERDEPENDENCE_TYPES,
    Interdependence,
    canonical_type,
)
from rpnkit.rpn.interdependence.basic import (
    ConstantCInterdependence,
    ConstantInterdependence,
    IdentityInterdependence,
    OneInterdependence,
    ZeroInterdependence,
)
from rpnkit.rpn.interdependence.bilinear import (
    DualLPHMParameterizedBilinearInterdependence,
    HMParameterizedBilinearInterdependence,
    LowRankParameterizedBilinearInterdependence,
    LPHMParameterizedBilinearInterdependence,
    ParameterizedBilinearInterdependence,
    RandomMatrixAdaptionParameterizedBilinearInterdependence,
)
from rpnkit.rpn.interdependence.chain import (
    ChainInterdependence,
    ExponentialApproxMultihopChainInterdependence,
    InverseApproxMultihopChainInterdependence,
    MultihopChainInterdependence,
)
from rpnkit.rpn.interdependence.geometric import GeometricInterdependence
from rpnkit.rpn.interdependence.graph import (
    GraphInterdependence,
    MultihopGraphInterdependence,
    PagerankMultihopGraphInterdependence,
)
from rpnkit.rpn.interdependence.hybrid import HybridInterdependence
from rpnkit.rpn.interdependence.kernel_based import KernelBasedInterdependence
from rpnkit.rpn.interdependence.numerical_kernels import (
    AnisotropicRBFKernelInterdependence,
    CanberraDistanceInterdependence,
    ChebyshevDistanceInterdependence,
    CosineSimilarityInterdependence,
    CustomHybridKernelInterdependence,
    EuclideanDistanceInterdependence,
    ExponentialKernelInterdependence,
    GaussianRBFKernelInterdependence,
    HyperbolicTangentKernelInterdependence,
    LaplacianKernelInterdependence,
    LinearKernelInterdependence,
    ManhattanDistanceInterdependence,
    MinkowskiDistanceInterdependence,
    NumericalKernelBasedInterdependence,
    PolynomialKernelInterdependence,
)
from rpnkit.rpn.interdependence.parameterized import (
    DualLPHMParameterizedInterdependence,
    HMParameterizedInterdependence,
    LowRankParameterizedInterdependence,
    LPHMParameterizedInterdependence,
    ParameterizedInterdependence,
    RandomMatrixAdaptionParameterizedInterdependence,
)
from rpnkit.rpn.interdependence.patch_geometric import (
    CuboidPatchAggregationBasedGeometricInterdependence,
    CuboidPatchBasedGeometricInterdependence,
    CuboidPatchPaddingBasedGeometricInterdependence,
    CylinderPatchAggregationBasedGeometricInterdependence,
    CylinderPatchBasedGeometricInterdependence,
    CylinderPatchPaddingBasedGeometricInterdependence,
    SpherePatchAggregationBasedGeometricInterdependence,
    SpherePatchBasedGeometricInterdependence,
    SpherePatchPaddingBasedGeometricInterdependence,
)
from rpnkit.rpn.interdependence.rpn_parameterized import ParameterizedRPNInterdependence
from rpnkit.rpn.interdependence.statistical_kernels import (
    KLDivergenceInterdependence,
    MutualInformationInterdependence,
    PearsonCorrelationInterdependence,
    RVCoefficientInterdependence,
    StatisticalKernelBasedInterdependence,
)

__all__ = [
    "ATTRIBUTE",
    "INSTANCE",
    "INTERDEPENDENCE_TYPES",
    "AnisotropicRBFKernelInterdependence",
    "CanberraDistanceInterdependence",
    "ChainInterdependence",
    "ChebyshevDistanceInterdependence",
    "ConstantCInterdependence",
    "ConstantInterdependence",
    "CosineSimilarityInterdependence",
    "CuboidPatchAggregationBasedGeometricInterdependence",
    "CuboidPatchBasedGeometricInterdependence",
    "CuboidPatchPaddingBasedGeometricInterdependence",
    "CustomHybridKernelInterdependence",
    "CylinderPatchAggregationBasedGeometricInterdependence",
    "CylinderPatchBasedGeometricInterdependence",
    "CylinderPatchPaddingBasedGeometricInterdependence",
    "DualLPHMParameterizedBilinearInterdependence",
    "DualLPHMParameterizedInterdependence",
    "EuclideanDistanceInterdependence",
    "ExponentialApproxMultihopChainInterdependence",
    "ExponentialKernelInterdependence",
    "GaussianRBFKernelInterdependence",
    "GeometricInterdependence",
    "GraphInterdependence",
    "HMParameterizedBilinearInterdependence",
    "HMParameterizedInterdependence",
    "HybridInterdependence",
    "HyperbolicTangentKernelInterdependence",
    "IdentityInterdependence",
    "Interdependence",
    "InverseApproxMultihopChainInterdependence",
    "KLDivergenceInterdependence",
    "KernelBasedInterdependence",
    "LPHMParameterizedBilinearInterdependence",
    "LPHMParameterizedInterdependence",
    "LaplacianKernelInterdependence",
    "LinearKernelInterdependence",
    "LowRankParameterizedBilinearInterdependence",
    "LowRankParameterizedInterdependence",
    "ManhattanDistanceInterdependence",
    "MinkowskiDistanceInterdependence",
    "MultihopChainInterdependence",
    "MultihopGraphInterdependence",
    "MutualInformationInterdependence",
    "NumericalKernelBasedInterdependence",
    "OneInterdependence",
    "PagerankMultihopGraphInterdependence",
    "ParameterizedBilinearInterdependence",
    "ParameterizedInterdependence",
    "ParameterizedRPNInterdependence",
    "PearsonCorrelationInterdependence",
    "PolynomialKernelInterdependence",
    "RVCoefficientInterdependence",
    "RandomMatrixAdaptionParameterizedBilinearInterdependence",
    "RandomMatrixAdaptionParameterizedInterdependence",
    "SpherePatchAggregationBasedGeometricInterdependence",
    "SpherePatchBasedGeometricInterdependence",
    "SpherePatchPaddingBasedGeometricInterdependence",
    "StatisticalKernelBasedInterdependence",
    "ZeroInterdependence",
    "canonical_type",
]
