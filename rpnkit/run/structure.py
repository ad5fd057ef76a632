"""What a run adds for a dataset with structure: ``graph: auto`` and a graph's node sets.

A graph model's ``graph: auto`` stands for the run's own dataset: :func:`resolve_graph` puts
the run's ``data`` spec in its place before the model is built, so the run's ``config.yaml``
rebuilds the same graph when the run is loaded. A graph dataset is trained transductively
(the whole graph one batch): :func:`node_sets` gives the learner its ``train_idx`` /
``val_idx`` / ``test_idx``. Nothing here imports torch or :mod:`rpnkit.rpn`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["AUTO_GRAPH", "node_sets", "resolve_graph"]

#: The value of a model's ``graph`` that stands for the run's dataset.
AUTO_GRAPH = "auto"


def resolve_graph(model: Mapping[str, Any], data: Mapping[str, Any] | None) -> dict[str, Any]:
    """``model`` with every ``graph: auto`` replaced by the run's ``data`` spec (a copy).

    The model's own ``graph`` (``gcn``, ``gat``) and the ``graph`` of any component spec
    inside its parameters are resolved: a ``model: rpn`` layer entry such as
    ``{"name": "graph_interdependence_layer", "parameters": {"graph": "auto", ...}}``, or an
    interdependence spec of a plain layer config.

    Parameters
    ----------
    model
        A run config's ``model`` section (``{"name", "parameters"}``).
    data
        The run config's ``data`` section.

    Returns
    -------
    dict
        The model section; an unchanged copy when no ``graph`` in it is ``auto``.
    """
    resolved = copy.deepcopy(dict(model))
    if data and "parameters" in resolved:
        resolved["parameters"] = _with_graph(resolved.get("parameters"), dict(data))
    return resolved


def _with_graph(value: Any, data: dict[str, Any]) -> Any:
    """``value`` with every mapping's ``graph: auto`` replaced by a copy of ``data``."""
    if isinstance(value, Mapping):
        return {
            key: copy.deepcopy(data)
            if key == "graph" and item == AUTO_GRAPH
            else _with_graph(item, data)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_with_graph(item, data) for item in value]
    return value


def node_sets(data: Any) -> dict[str, Any]:
    """The learner's ``train_idx`` / ``val_idx`` / ``test_idx`` for a graph dataset.

    Parameters
    ----------
    data
        A built dataset; a :class:`~rpnkit.data.graphs.GraphBundle` gives its node sets
        (``val_idx`` only when not empty), anything else none.

    Returns
    -------
    dict
        Keyword arguments for :meth:`~rpnkit.learner.BackwardLearner.train`: one full batch,
        the loss on the training nodes, the metrics on the validation and test nodes.
    """
    graph = getattr(data, "graph", None)
    if graph is None or not all(hasattr(graph, k) for k in ("train_idx", "val_idx", "test_idx")):
        return {}
    sets = {"train_idx": graph.train_idx, "test_idx": graph.test_idx}
    if len(graph.val_idx):
        sets["val_idx"] = graph.val_idx
    return sets
