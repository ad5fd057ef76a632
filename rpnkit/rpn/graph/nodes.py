"""The node count of a model built on a graph: such a model predicts all its nodes at once.

A graph model (``gcn``, ``gat``, a ``model: rpn`` with graph layers) mixes the rows of its
batch along the graph's edges, so a batch is the whole graph, one row per node in node order.
:func:`graph_nodes` finds that count in a built model, so inference can refuse inputs with
another number of rows instead of mixing them along the wrong edges.
"""

from __future__ import annotations

from torch import nn

from rpnkit.rpn.graph.attention import EdgeBilinearInterdependence
from rpnkit.rpn.interdependence.graph import GraphInterdependence

__all__ = ["graph_nodes"]


def graph_nodes(model: nn.Module) -> int | None:
    """The number of graph nodes whose rows ``model`` mixes, or ``None`` for no graph.

    Parameters
    ----------
    model
        A built model.

    Returns
    -------
    int or None
        The node count of the first instance-type graph interdependence (GCN propagation or
        edge attention) inside ``model``; ``None`` when it has none (its rows are
        independent, or mixed by something else, e.g. a chain over time steps).
    """
    for module in model.modules():
        if isinstance(module, EdgeBilinearInterdependence) and module.b is not None:
            return int(module.b)
        if isinstance(module, GraphInterdependence) and module.is_instance:
            return int(module.n)
    return None
