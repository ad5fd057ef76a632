"""Time mixing over sequences: chain interdependence applied per sequence, and the chain layer."""

from rpnkit.rpn.chain.layers import (
    ChainLayer,
    chain_interdependence_head,
    chain_interdependence_layer,
)
from rpnkit.rpn.chain.mixing import CHAIN_KINDS, SequenceChainInterdependence

__all__ = [
    "CHAIN_KINDS",
    "ChainLayer",
    "SequenceChainInterdependence",
    "chain_interdependence_head",
    "chain_interdependence_layer",
]
