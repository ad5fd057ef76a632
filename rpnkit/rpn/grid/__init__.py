"""RPN 2 grid heads and layers: convolution and pooling as geometric patch interdependence.

* :class:`GridGeometry`: a grid of channels, a patch packed on it, and the convolution that
  gathers and weighs the patches;
* :class:`GridInterdependenceHead`: tinybig's ``grid_interdependence_head``, computed by
  ``F.conv2d`` / ``F.conv3d``;
* :class:`GridCompressionHead`: tinybig's ``grid_compression_head``, computed by pooling;
* :class:`GridInterdependenceLayer`, :class:`GridCompressionLayer`: ``width`` heads fused
  by their mean.
"""

from rpnkit.rpn.grid.convolution import GridInterdependenceHead
from rpnkit.rpn.grid.geometry import PATCH_SHAPES, GridGeometry
from rpnkit.rpn.grid.layers import GridCompressionLayer, GridInterdependenceLayer
from rpnkit.rpn.grid.pooling import POOLING_METRICS, GridCompressionHead

__all__ = [
    "PATCH_SHAPES",
    "POOLING_METRICS",
    "GridCompressionHead",
    "GridCompressionLayer",
    "GridGeometry",
    "GridInterdependenceHead",
    "GridInterdependenceLayer",
]
