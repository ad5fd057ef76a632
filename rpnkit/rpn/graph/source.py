"""Where a graph model's graph comes from: a graph object, node ids and links, or a dataset.

tinybig's graph models take ``graph`` (its ``koala.topology.graph``), or ``nodes`` and
``links``. rpnkit's take those too, and also a :class:`~rpnkit.data.graphs.GraphData`, a
:class:`~rpnkit.data.graphs.GraphBundle`, a ``2 × E`` edge index, or a dataset spec (a
``{"name", "parameters"}`` mapping of the ``dataset`` group) whose graph is used. In a run
config ``graph: auto`` means the run's own dataset: :func:`resolve_graph` replaces it with the
run's ``data`` spec before the model is built, so the ``config.yaml`` of the run rebuilds the
same graph when the run is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import Tensor

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.run.structure import AUTO_GRAPH, node_sets, resolve_graph

__all__ = ["AUTO_GRAPH", "graph_parts", "node_sets", "resolve_graph"]


def graph_parts(
    graph: Any, nodes: Any, links: Any, directed: bool, graph_file_path: Any, label: str
) -> dict[str, Any]:
    """The keyword arguments for :class:`~rpnkit.rpn.interdependence.GraphInterdependence`.

    Parameters
    ----------
    graph
        A graph object (tinybig's, networkx's, :class:`GraphData`), a :class:`GraphBundle`, a
        ``2 × E`` edge index tensor, a dataset spec mapping, or ``None`` for ``nodes``/``links``.
    nodes, links, directed
        tinybig's alternative to ``graph``.
    graph_file_path
        tinybig's pickled graph file: refused (rpnkit does not unpickle).
    label
        The model or layer name, for messages.

    Returns
    -------
    dict
        ``graph`` or ``nodes``/``links``/``directed``, ready for the interdependence function.

    Raises
    ------
    ConfigError
        For ``graph: auto`` outside a run, a pickled graph file, or no graph at all.
    """
    if graph_file_path is not None:
        raise ConfigError(
            f"{label} graph_file_path={short_repr(graph_file_path)} is not valid: it is tinybig's "
            "pickled graph file, which rpnkit does not unpickle; expected graph: auto (the run's "
            "dataset), a graph dataset spec, or nodes and links"
        )
    if isinstance(graph, str):
        if graph == AUTO_GRAPH:
            raise ConfigError(
                f"{label} graph='auto' takes the run's dataset, which only a run config has; "
                "expected a graph (GraphData, a dataset spec such as {'name': 'karate_club'}, "
                "or nodes and links) when building the model directly"
            )
        graph = {"name": graph, "parameters": {}}
    inner = getattr(graph, "graph", None)
    if inner is not None and hasattr(inner, "edge_index"):
        graph = inner  # a GraphBundle: its GraphData
    elif isinstance(graph, Mapping):
        graph = _dataset_graph(graph, label)
    if isinstance(graph, Tensor):
        if graph.ndim != 2 or graph.shape[0] != 2:
            raise ConfigError(
                f"{label} graph of shape {tuple(graph.shape)} is not valid; expected a 2 × E "
                "edge index, a graph object or a dataset spec"
            )
        return {"links": graph, "nodes": nodes, "directed": directed}
    if graph is not None:
        edge_index = getattr(graph, "edge_index", None)
        if isinstance(edge_index, Tensor):  # GraphData: its edges as a tensor, no Python pairs
            return {
                "links": edge_index,
                "nodes": int(graph.num_nodes),
                "directed": bool(graph.directed),
            }
        return {"graph": graph}
    if links is None:
        raise ConfigError(
            f"{label}: graph=None and links=None; expected graph (graph: auto in a run config, "
            "a graph dataset spec or a graph object), or nodes and links"
        )
    return {"nodes": nodes, "links": links, "directed": directed}


def _dataset_graph(spec: Mapping[str, Any], label: str) -> Any:
    """Build the dataset ``spec`` and return its graph."""
    from rpnkit.plugins.state import get_registry

    name = spec.get("name")
    if not isinstance(name, str):
        raise ConfigError(
            f"{label} graph={short_repr(dict(spec))} is not valid; expected a dataset spec "
            "{'name': ..., 'parameters': {...}} of a graph dataset"
        )
    data = get_registry().build("dataset", name, **dict(spec.get("parameters") or {}))
    graph = getattr(data, "graph", None)
    if graph is None or not hasattr(graph, "edge_index"):
        raise ConfigError(
            f"{label} graph: dataset {name!r} holds no graph; expected a graph dataset such "
            "as karate_club, sbm, graph_csv or cora_files"
        )
    return graph
