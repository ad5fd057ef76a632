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
    DualLPHMReconciliation,
    HMReconciliation,
    HypercomplexReconciliation,
    HypernetReconciliation,
    IdentityReconciliation,
    LowRankReconciliation,
    LPHMReconciliation,
    Reconciliation,
)
from rpnkit.rpn.remainder import IdentityRemainder, LinearRemainder, Remainder, ZeroRemainder

__all__ = [
    "FUSIONS",
    "RPN",
    "BSplineExpansion",
    "ChebyshevExpansion",
    "DualLPHMReconciliation",
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
    "NaiveNormalExpansion",
    "OrthogonalPolynomialExpansion",
    "ProcessingChain",
    "RPNHead",
    "RPNLayer",
    "Reconciliation",
    "Remainder",
    "TaylorExpansion",
    "TrigonometricExpansion",
    "ZeroRemainder",
    "build_model",
]
