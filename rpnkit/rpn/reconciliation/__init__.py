"""Parameter reconciliation functions ψ: ``R^l -> R^{n×D}``, the weight side of an RPN head.

A :class:`Reconciliation` is built for one head shape ``(n, D)`` and owns the parameter count
``l``; the head holds the parameters ``w`` of shape ``(C, l)`` (one row per channel) and calls
``ψ(w)`` to get the weights of shape ``(C, n, D)``. ``enable_bias`` asks the head for a bias
shared by all channels. Fixed random tensors (masks, random matrices, frozen hypernetworks) are
drawn at construction and kept as buffers, so they are saved and follow ``.to()``.

Besides ``forward``, a reconciliation answers :meth:`Reconciliation.factorize`: a pair
``(A, B)`` with ``ψ(w) = A B``, or ``(None, ψ(w))`` when there is no useful factorisation. The
head multiplies the expansion by ``B`` first, so with :class:`LowRankReconciliation` it computes
``(κ(x) Bᵀ) Aᵀ`` and never forms the ``n × D`` weight; constant, duplicated-padding and
random-matrix-adaption weights factor the same way.

Families, one module each: :mod:`.basic` (identity, constant, zero, one, constant eye,
masking), :mod:`.padding` (duplicated and duplicated diagonal padding), :mod:`.lowrank`,
:mod:`.hypercomplex` (hm, lphm, dual lphm, in tinybig's outer-reshape layout),
:mod:`.hypernet` and :mod:`.random_matrix` (adaption and hypernet).
"""

from rpnkit.rpn.reconciliation.base import Reconciliation
from rpnkit.rpn.reconciliation.basic import (
    ConstantEyeReconciliation,
    ConstantReconciliation,
    IdentityReconciliation,
    MaskingReconciliation,
    OneReconciliation,
    ZeroReconciliation,
)
from rpnkit.rpn.reconciliation.hypercomplex import (
    DualLPHMReconciliation,
    HMReconciliation,
    HypercomplexReconciliation,
    LPHMReconciliation,
)
from rpnkit.rpn.reconciliation.hypernet import HypernetReconciliation
from rpnkit.rpn.reconciliation.lowrank import LowRankReconciliation
from rpnkit.rpn.reconciliation.padding import (
    DuplicatedDiagonalPaddingReconciliation,
    DuplicatedPaddingReconciliation,
)
from rpnkit.rpn.reconciliation.random_matrix import (
    RandomMatrixAdaptionReconciliation,
    RandomMatrixHypernetReconciliation,
)

__all__ = [
    "ConstantEyeReconciliation",
    "ConstantReconciliation",
    "DualLPHMReconciliation",
    "DuplicatedDiagonalPaddingReconciliation",
    "DuplicatedPaddingReconciliation",
    "HMReconciliation",
    "HypercomplexReconciliation",
    "HypernetReconciliation",
    "IdentityReconciliation",
    "LPHMReconciliation",
    "LowRankReconciliation",
    "MaskingReconciliation",
    "OneReconciliation",
    "RandomMatrixAdaptionReconciliation",
    "RandomMatrixHypernetReconciliation",
    "Reconciliation",
    "ZeroReconciliation",
]
