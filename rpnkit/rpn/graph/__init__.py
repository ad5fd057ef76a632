"""Graph structure for RPN 2: where a graph comes from, edge attention, GCN/GAT heads and layers."""

from rpnkit.rpn.graph.attention import (
    BILINEAR_KINDS,
    EdgeBilinearInterdependence,
    close_factor,
    graph_function_for,
)
from rpnkit.rpn.graph.layers import (
    graph_bilinear_interdependence_head,
    graph_bilinear_interdependence_layer,
    graph_interdependence_head,
    graph_interdependence_layer,
)
from rpnkit.rpn.graph.nodes import graph_nodes
from rpnkit.rpn.graph.source import AUTO_GRAPH, graph_parts, node_sets, resolve_graph

__all__ = [
    "AUTO_GRAPH",
    "BILINEAR_KINDS",
    "EdgeBilinearInterdependence",
    "close_factor",
    "graph_bilinear_interdependence_head",
    "graph_bilinear_interdependence_layer",
    "graph_function_for",
    "graph_interdependence_head",
    "graph_interdependence_layer",
    "graph_nodes",
    "graph_parts",
    "node_sets",
    "resolve_graph",
]
