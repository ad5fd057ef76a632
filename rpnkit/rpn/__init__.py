"""Reconciled Polynomial Network modules: expansions, reconciliations, remainders, heads,
layers and models, all plain :class:`torch.nn.Module` objects.

A head computes ``<κ(x), ψ(w)> + π(x)``; a layer fuses several heads; a model stacks layers.
:func:`build_model` builds a model from layer configs whose components are resolved through
the registry, so plugin components work by name.
"""

from rpnkit.rpn.expansion import (
    BSplineExpansion,
    ChebyshevExpansion,
    Expansion,
    ExtendedExpansion,
    FourierExpansion,
    GaussianRBFExpansion,
    HermiteExpansion,
    HyperbolicExpansion,
    IdentityExpansion,
    LegendreExpansion,
    NaiveNormalExpansion,
    OrthogonalPolynomialExpansion,
    TaylorExpansion,
    TrigonometricExpansion,
)
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.layer import FUSIONS, RPNLayer
from rpnkit.rpn.model import RPN, build_model
from rpnkit.rpn.processing import Functional, ProcessingChain
from rpnkit.rpn.reconciliation import (
    ConstantEyeReconciliation,
    ConstantReconciliation,
    DualLPHMReconciliation,
    DuplicatedDiagonalPaddingReconciliation,
    DuplicatedPaddingReconciliation,
    HMReconciliation,
    HypercomplexReconciliation,
    HypernetReconciliation,
    IdentityReconciliation,
    LowRankReconciliation,
    LPHMReconciliation,
    MaskingReconciliation,
    OneReconciliation,
    RandomMatrixAdaptionReconciliation,
    RandomMatrixHypernetReconciliation,
    Reconciliation,
    ZeroReconciliation,
)
from rpnkit.rpn.remainder import (
    ConstantRemainder,
    IdentityRemainder,
    LinearRemainder,
    OneRemainder,
    Remainder,
    ZeroRemainder,
)

__all__ = [
    "FUSIONS",
    "RPN",
    "BSplineExpansion",
    "ChebyshevExpansion",
    "ConstantEyeReconciliation",
    "ConstantReconciliation",
    "ConstantRemainder",
    "DualLPHMReconciliation",
    "DuplicatedDiagonalPaddingReconciliation",
    "DuplicatedPaddingReconciliation",
    "Expansion",
    "ExtendedExpansion",
    "FourierExpansion",
    "Functional",
    "GaussianRBFExpansion",
    "HMReconciliation",
    "HermiteExpansion",
    "HyperbolicExpansion",
    "HypercomplexReconciliation",
    "HypernetReconciliation",
    "IdentityExpansion",
    "IdentityReconciliation",
    "IdentityRemainder",
    "LPHMReconciliation",
    "LegendreExpansion",
    "LinearRemainder",
    "LowRankReconciliation",
    "MaskingReconciliation",
    "NaiveNormalExpansion",
    "OneReconciliation",
    "OneRemainder",
    "OrthogonalPolynomialExpansion",
    "ProcessingChain",
    "RPNHead",
    "RPNLayer",
    "RandomMatrixAdaptionReconciliation",
    "RandomMatrixHypernetReconciliation",
    "Reconciliation",
    "Remainder",
    "TaylorExpansion",
    "TrigonometricExpansion",
    "ZeroReconciliation",
    "ZeroRemainder",
    "build_model",
]
