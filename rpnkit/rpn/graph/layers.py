"""tinybig's graph heads and layers (GCN, GAT) as RPN heads with an instance interdependence.

* ``graph_interdependence_head``: ``A = Â``, the graph's adjacency with self-loops, column
  normalised by default, so ``Aᵀ·X`` is the mean over a node's in-neighbours and itself
  (tinybig's GCN; not the symmetric ``D^{-1/2}(A+I)D^{-1/2}``); or its multi-hop / PageRank
  variants. Applied by sparse propagation (``O(E)`` per feature).
* ``graph_bilinear_interdependence_head``: GAT-style attention on the edges,
  :class:`~rpnkit.rpn.graph.attention.EdgeBilinearInterdependence`.

Both have the identity expansion, a dense / low-rank / dual-lphm reconciliation, a zero or
linear remainder and output steps BatchNorm, relu, dropout, log-softmax (each a flag), with
tinybig's defaults and its ``fanout_std_uniform`` initialisation (which tinybig's graph heads
use whatever ``parameters_init_method`` says). A layer is ``width`` such heads fused by their
mean; its heads are independent (tinybig repeats one head object ``width`` times). The whole
graph is one batch: rows in node order.
"""

from __future__ import annotations

from typing import Any

from rpnkit.rpn.graph.attention import EdgeBilinearInterdependence, graph_function_from
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.head_flags import bilinear_kind, head_options_from
from rpnkit.rpn.layer import RPNLayer

__all__ = [
    "graph_bilinear_interdependence_head",
    "graph_bilinear_interdependence_layer",
    "graph_interdependence_head",
    "graph_interdependence_layer",
]

#: tinybig's graph heads always initialise this way.
_GRAPH_INIT = "fanout_std_uniform"


def _flags(n: int, flags: dict[str, Any]) -> dict[str, Any]:
    softmax = "log_softmax" if flags["with_softmax"] else None
    return head_options_from(n, flags, softmax=softmax, parameters_init_method=_GRAPH_INIT)


def graph_interdependence_head(
    m: int,
    n: int,
    channel_num: int = 1,
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
    with_dropout: bool = True,
    p: float = 0.5,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> RPNHead:
    """tinybig's ``graph_interdependence_head`` (GCN): ``out(Âᵀ X ψ(w)ᵀ + b + π(X))``.

    Parameters
    ----------
    m, n
        Node features in and out.
    channel_num
        Channels of the head.
    graph, graph_file_path, nodes, links, directed
        The graph (see :func:`~rpnkit.rpn.graph.source.graph_parts`; ``graph_file_path``,
        tinybig's pickle, is refused).
    with_multihop, h, accumulative, with_pagerank, c
        ``Â^h`` (or ``Σ Â^k``) / PageRank ``c(I − (1−c)Â)⁻¹`` instead of ``Â``.
    require_data, require_parameters
        Accepted for tinybig's signature (the graph needs neither).
    normalization, normalization_mode, self_dependence
        ``Â``'s degree normalisation and self-loops.
    with_dual_lphm, with_lorr, r, enable_bias, with_residual
        ψ (dual lphm / low rank of rank ``r`` / dense), the bias, a linear remainder.
    with_batch_norm, with_relu, with_dropout, p, with_softmax
        Output steps: BatchNorm1d, relu, Dropout(p), log-softmax.
    parameters_init_method
        Accepted for tinybig's signature; tinybig's graph heads use ``fanout_std_uniform``.
    name, device
        Accepted for tinybig configs (rpnkit modules follow ``.to()``).
    """
    function = graph_function_from(locals(), "graph_interdependence_head")
    flags = dict(locals())
    return RPNHead(m, n, instance_interdependence=function, **_flags(n, flags))


def graph_interdependence_layer(
    m: int,
    n: int,
    width: int = 1,
    channel_num: int = 1,
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
    with_dropout: bool = True,
    p: float = 0.5,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> RPNLayer:
    """tinybig's ``graph_interdependence_layer``: ``width`` GCN heads, fused by their mean.

    Parameters are :func:`graph_interdependence_head`'s, and ``width``.
    """
    function = graph_function_from(locals(), "graph_interdependence_layer")
    flags = dict(locals())
    return RPNLayer(m, n, width=width, instance_interdependence=function, **_flags(n, flags))


def graph_bilinear_interdependence_head(
    m: int,
    n: int,
    channel_num: int = 1,
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
    normalization: bool = False,
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
    with_dropout: bool = True,
    p: float = 0.5,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> RPNHead:
    """tinybig's ``graph_bilinear_interdependence_head`` (GAT): attention on the edges.

    ``A = colsoftmax_{≠0}(Â ⊙ X W Xᵀ)`` computed on the edges only, then
    ``out(Aᵀ X ψ(w)ᵀ + b + π(X))``; ``W`` is dense (``m²`` values per channel), low rank
    (``with_lorr_interdependence``, rank ``r_interdependence``) or dual lphm.

    Parameters
    ----------
    with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence
        The bilinear form's parameterisation.
    m, n, channel_num, graph, graph_file_path, nodes, links, directed, with_multihop, h, accumulative, with_pagerank, c, require_data, require_parameters, normalization, normalization_mode, self_dependence, with_dual_lphm, with_lorr, r, with_residual, enable_bias, with_batch_norm, with_relu, with_softmax, with_dropout, p, parameters_init_method, name, device
        As for :func:`graph_interdependence_head` (here ``normalization`` defaults to
        ``False``, as in tinybig's GAT head).
    """
    function = _edge_attention(m, dict(locals()))
    flags = dict(locals())
    return RPNHead(m, n, instance_interdependence=function, **_flags(n, flags))


def graph_bilinear_interdependence_layer(
    m: int,
    n: int,
    width: int = 1,
    channel_num: int = 1,
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
    normalization: bool = False,
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
    with_dropout: bool = True,
    p: float = 0.5,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> RPNLayer:
    """tinybig's ``graph_bilinear_interdependence_layer``: ``width`` GAT heads, mean-fused.

    Parameters are :func:`graph_bilinear_interdependence_head`'s, and ``width``.
    """
    function = _edge_attention(m, dict(locals()))
    flags = dict(locals())
    return RPNLayer(m, n, width=width, instance_interdependence=function, **_flags(n, flags))


def _edge_attention(m: int, flags: dict[str, Any]) -> EdgeBilinearInterdependence:
    """The GAT head's interdependence for ``m`` input features."""
    return EdgeBilinearInterdependence(
        m=m,
        graph=flags["graph"],
        nodes=flags["nodes"],
        links=flags["links"],
        directed=flags["directed"],
        graph_file_path=flags["graph_file_path"],
        normalization=flags["normalization"],
        normalization_mode=flags["normalization_mode"],
        self_dependence=flags["self_dependence"],
        with_multihop=flags["with_multihop"],
        h=flags["h"],
        accumulative=flags["accumulative"],
        with_pagerank=flags["with_pagerank"],
        c=flags["c"],
        bilinear=bilinear_kind(flags),
        r=flags["r_interdependence"],
    )
