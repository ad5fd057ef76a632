"""Attention for RPN 2: bilinear interdependence over a batch, softmaxed, and its head and layer."""

from rpnkit.rpn.attention.bilinear import BilinearAttentionInterdependence
from rpnkit.rpn.attention.layers import (
    bilinear_interdependence_head,
    bilinear_interdependence_layer,
)

__all__ = [
    "BilinearAttentionInterdependence",
    "bilinear_interdependence_head",
    "bilinear_interdependence_layer",
]
