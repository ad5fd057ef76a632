"""Fusion functions: several tensors into one, between the heads of a layer and the channels
of a head.

A :class:`Fusion` is built for the last sizes ``dims`` of its inputs and reports its output
size ``n`` (:meth:`Fusion.calculate_n`) and its number of learnable parameters ``l``; the head
or layer that uses it holds those parameters. The families follow tinybig 0.2.1:

* ``summation``: mean (the default), sum, fixed and learnable weighted
  sums;
* ``metric``: elementwise max, min, product, median, L1 and L2 norm;
* ``concatenation``: concatenation, and concatenation followed by a
  learnable linear map, dense or reconciled (low-rank, hm, lphm, dual lphm, random matrix
  adaption).
"""

from rpnkit.rpn.fusion.base import Fusion
from rpnkit.rpn.fusion.concatenation import (
    ConcatenationFusion,
    DualLPHMParameterizedConcatenationFusion,
    HMParameterizedConcatenationFusion,
    LowRankParameterizedConcatenationFusion,
    LPHMParameterizedConcatenationFusion,
    ParameterizedConcatenationFusion,
    RandomMatrixAdaptionParameterizedConcatenationFusion,
)
from rpnkit.rpn.fusion.metric import (
    METRICS,
    L1NormFusion,
    L2NormFusion,
    MaxFusion,
    MedianFusion,
    MetricFusion,
    MinFusion,
    ProdFusion,
)
from rpnkit.rpn.fusion.summation import (
    LinearCombinationFusion,
    MeanFusion,
    ParameterizedWeightedSummationFusion,
    SumFusion,
    WeightedSummationFusion,
)

__all__ = [
    "METRICS",
    "ConcatenationFusion",
    "DualLPHMParameterizedConcatenationFusion",
    "Fusion",
    "HMParameterizedConcatenationFusion",
    "L1NormFusion",
    "L2NormFusion",
    "LPHMParameterizedConcatenationFusion",
    "LinearCombinationFusion",
    "LowRankParameterizedConcatenationFusion",
    "MaxFusion",
    "MeanFusion",
    "MedianFusion",
    "MetricFusion",
    "MinFusion",
    "ParameterizedConcatenationFusion",
    "ParameterizedWeightedSummationFusion",
    "ProdFusion",
    "RandomMatrixAdaptionParameterizedConcatenationFusion",
    "SumFusion",
    "WeightedSummationFusion",
]
