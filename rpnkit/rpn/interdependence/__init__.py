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

__all__ = [
    "ATTRIBUTE",
    "INSTANCE",
    "INTERDEPENDENCE_TYPES",
    "ConstantCInterdependence",
    "ConstantInterdependence",
    "IdentityInterdependence",
    "Interdependence",
    "OneInterdependence",
    "ZeroInterdependence",
    "canonical_type",
]
