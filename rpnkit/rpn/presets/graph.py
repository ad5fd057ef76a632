"""Graph model presets: tinybig's ``gcn`` and ``gat`` as :class:`~rpnkit.rpn.model.RPN` stacks.

Both take one graph, whose ``n`` nodes are one batch ``(n, dims[0])`` in node order, and give
``(n, dims[-1])`` node outputs (log-probabilities by default). The graph is built once (an edge
list, ``O(E)`` memory) and shared by every layer. In a run config ``graph: auto`` is the run's
own graph dataset; train with the learner's node sets (``train_idx`` / ``val_idx`` /
``test_idx``), which ``rpnkit train`` passes for a graph dataset.

Like tinybig's, the hidden layers have relu (and BatchNorm / Dropout when asked) where a
layer's ``n`` differs from ``dims[-1]``, and the log-softmax is on the layer ``dims[-2] →
dims[-1]``: tinybig's own conditions, kept as they are.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from rpnkit.rpn.graph.attention import graph_function_from
from rpnkit.rpn.graph.layers import (
    graph_bilinear_interdependence_layer,
    graph_interdependence_layer,
)
from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.dims import check_dims, layer_outputs

__all__ = ["gat", "gcn"]


def gcn(
    dims: Sequence[int],
    channel_num: int = 1,
    width: int = 1,
    name: str = "rpn_gcn",
    graph: Any = None,
    graph_file_path: Any = None,
    nodes: Any = None,
    links: Any = None,
    directed: bool = False,
    with_multihop: bool = False,
    h: int = 1,
    accumulative: bool = False,
    with_pagerank: bool = False,
    c: float = 0.15,
    require_data: bool = False,
    require_parameters: bool = False,
    normalization: bool = True,
    normalization_mode: str = "column",
    self_dependence: bool = True,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    enable_bias: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    device: object = None,
) -> RPN:
    """tinybig's ``gcn``: one graph interdependence layer per pair of ``dims``.

    Every layer computes ``out(Âᵀ X ψ(w)ᵀ + b + π(X))`` with ``Â`` the graph's adjacency plus
    self-loops, column-normalised (the mean over a node's in-neighbours and itself), applied
    by sparse propagation. Parameter count: ``Σ dims[i]·dims[i+1]`` per channel and head with
    the defaults (tinybig's).

    Parameters
    ----------
    dims
        Layer sizes ``[features, hidden…, classes]``; ``auto`` first/last in a run config.
    graph
        ``auto`` (a run config: the run's graph dataset), a graph dataset spec
        (``{"name": "karate_club"}``), a :class:`~rpnkit.data.graphs.GraphData` /
        ``GraphBundle``, a ``2 × E`` edge index, tinybig's or a networkx graph.
    channel_num, width, graph_file_path, nodes, links, directed, with_multihop, h, accumulative, with_pagerank, c, require_data, require_parameters, normalization, normalization_mode, self_dependence, with_dual_lphm, with_lorr, r, with_residual, enable_bias, with_batch_norm, with_relu, with_softmax, with_dropout, p
        As for :func:`~rpnkit.rpn.graph.graph_interdependence_layer`.
    name, device
        Accepted for tinybig configs.

    Returns
    -------
    RPN
        The model.

    Differences from tinybig
    ------------------------
    The layers' BatchNorm and Dropout are registered modules (trained, and switched off by
    ``eval()``); tinybig keeps them in a plain list. ``width`` heads are independent (tinybig
    repeats one head object). ``graph_file_path`` (a pickle) is refused.
    """
    sizes = check_dims(dims)
    function = graph_function_from(locals(), "gcn")
    flags = dict(locals())
    return RPN(
        [
            graph_interdependence_layer(m, n, **_layer_flags(flags, m, n, sizes))
            for m, n in itertools.pairwise(sizes)
        ]
    )


def gat(
    dims: Sequence[int],
    channel_num: int = 1,
    width: int = 1,
    name: str = "rpn_gat",
    graph: Any = None,
    graph_file_path: Any = None,
    nodes: Any = None,
    links: Any = None,
    directed: bool = False,
    with_multihop: bool = False,
    h: int = 1,
    accumulative: bool = False,
    with_pagerank: bool = False,
    c: float = 0.15,
    require_data: bool = False,
    require_parameters: bool = False,
    normalization: bool = True,
    normalization_mode: str = "column",
    self_dependence: bool = True,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = False,
    r_interdependence: int = 3,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    enable_bias: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    device: object = None,
) -> RPN:
    """tinybig's ``gat``: one graph-bilinear (attention on the edges) layer per pair of ``dims``.

    Every layer computes ``out(Aᵀ X ψ(w)ᵀ + b + π(X))`` with
    ``A = colsoftmax_{≠0}(Â ⊙ X W Xᵀ)`` computed on the edges only (SDDMM and a segment
    softmax per target node; time ``O(E·m)``, memory ``O(E)`` beyond the node features, never
    ``n × n``). Parameter count per layer: ``m² + m·n`` with the defaults (tinybig's).

    Parameters
    ----------
    dims, graph
        As for :func:`gcn`.
    with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence
        ``W``'s parameterisation (dense by default).
    channel_num, width, graph_file_path, nodes, links, directed, with_multihop, h, accumulative, with_pagerank, c, require_data, require_parameters, normalization, normalization_mode, self_dependence, with_dual_lphm, with_lorr, r, with_residual, enable_bias, with_batch_norm, with_relu, with_softmax, with_dropout, p
        As for :func:`gcn`.
    name, device
        Accepted for tinybig configs.

    Returns
    -------
    RPN
        The model.

    Differences from tinybig
    ------------------------
    As for :func:`gcn`; the attention's values are tinybig's (its dense ``n × n`` scores
    masked by the graph equal the scores on the edges).
    """
    sizes = check_dims(dims)
    function = graph_function_from(locals(), "gat")
    flags = dict(locals())
    return RPN(
        [
            graph_bilinear_interdependence_layer(m, n, **_layer_flags(flags, m, n, sizes))
            for m, n in itertools.pairwise(sizes)
        ]
    )


#: The model's arguments every layer takes as they are.
_SHARED = (
    "width",
    "channel_num",
    "with_dual_lphm",
    "with_lorr",
    "r",
    "with_residual",
    "enable_bias",
    "p",
)
#: The bilinear (GAT) layers' own arguments.
_BILINEAR = ("with_dual_lphm_interdependence", "with_lorr_interdependence", "r_interdependence")


def _layer_flags(flags: dict[str, Any], m: int, n: int, sizes: list[int]) -> dict[str, Any]:
    """The layer ``m → n``'s arguments from the model's: the shared graph ``function`` and
    tinybig's output conditions (:func:`~rpnkit.rpn.presets.dims.layer_outputs`; the softmax
    is the log-softmax)."""
    return {
        **{key: flags[key] for key in _SHARED + _BILINEAR if key in flags},
        "graph": flags["function"],
        **layer_outputs(flags, m, n, sizes),
    }
