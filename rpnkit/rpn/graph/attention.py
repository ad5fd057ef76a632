"""GAT-style interdependence: bilinear scores on the edges of a graph, softmax per target node.

tinybig's ``graph_bilinear_interdependence_head`` fuses a graph interdependence ``Â`` and a
parameterized bilinear one ``X W Xᵀ`` by elementwise product, then normalises every column of
the product with a softmax over its non-zero entries:

``A = colsoftmax_{≠0}(Â ⊙ (X W Xᵀ))``, applied as ``Aᵀ·Z``,

so node ``j`` receives ``Σ_i A_ij z_i`` over its in-neighbours ``i`` (itself included with
self-dependence). Only the entries on edges can be non-zero, so here the scores are computed
on the edges alone (SDDMM: ``s_e = (x_src W)·x_dst``, or ``(x_src L)·(x_dst Rᵀ)`` for a
factored ``W = L R``), normalised by a segment softmax per target node (``scatter_reduce`` /
``index_add``) and propagated along the edges (:mod:`rpnkit.rpn.graph.edge_ops`: CSR kernels,
memory ``O(E)`` beyond the node features), never an ``n × n`` matrix.
:meth:`~EdgeBilinearInterdependence.calculate_A` builds the dense matrix on request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import choice
from rpnkit.errors import ConfigError
from rpnkit.rpn.graph.edge_ops import edge_dot, edge_propagate
from rpnkit.rpn.graph.source import graph_parts
from rpnkit.rpn.interdependence.base import INSTANCE, Interdependence
from rpnkit.rpn.interdependence.bilinear import (
    DualLPHMParameterizedBilinearInterdependence,
    LowRankParameterizedBilinearInterdependence,
    ParameterizedBilinearInterdependence,
)
from rpnkit.rpn.interdependence.graph import (
    GraphInterdependence,
    MultihopGraphInterdependence,
    PagerankMultihopGraphInterdependence,
)

__all__ = [
    "BILINEAR_KINDS",
    "EdgeBilinearInterdependence",
    "close_factor",
    "graph_function_for",
]

#: The bilinear parameterisations of tinybig's GAT head.
BILINEAR_KINDS: tuple[str, ...] = ("identity", "low_rank", "dual_lphm")


def close_factor(n: int) -> int:
    """The largest divisor of ``n`` not above ``√n`` (tinybig's ``find_close_factors``)."""
    for i in range(math.isqrt(n), 0, -1):
        if n % i == 0:
            return i
    return 1


def graph_function_for(
    graph: Any,
    nodes: Any,
    links: Any,
    directed: bool,
    graph_file_path: Any,
    *,
    b: int | None = None,
    normalization: bool,
    normalization_mode: str,
    self_dependence: bool,
    with_multihop: bool = False,
    h: int = 1,
    accumulative: bool = False,
    with_pagerank: bool = False,
    c: float = 0.15,
    label: str = "graph",
) -> GraphInterdependence:
    """The instance graph interdependence tinybig's graph heads choose with their flags.

    PageRank when ``with_pagerank``, else multi-hop when ``with_multihop``, else the
    (normalised) adjacency; the graph from :func:`~rpnkit.rpn.graph.source.graph_parts`. A
    built :class:`GraphInterdependence` passed as ``graph`` is returned as it is.
    """
    if isinstance(graph, GraphInterdependence):
        return graph
    structure = graph_parts(graph, nodes, links, directed, graph_file_path, label)
    options: dict[str, Any] = {
        **structure,
        "b": b,
        "interdependence_type": INSTANCE,
        "normalization": normalization,
        "normalization_mode": normalization_mode,
        "self_dependence": self_dependence,
    }
    if with_pagerank:
        return PagerankMultihopGraphInterdependence(c=c, **options)
    if with_multihop:
        return MultihopGraphInterdependence(h=h, accumulative=accumulative, **options)
    return GraphInterdependence(**options)


def graph_function_from(options: Mapping[str, Any], label: str) -> GraphInterdependence:
    """:func:`graph_function_for` with its arguments read from a constructor's arguments.

    ``options`` holds ``graph``, ``nodes``, ``links``, ``directed``, ``graph_file_path``,
    ``normalization``, ``normalization_mode``, ``self_dependence``, ``with_multihop``, ``h``,
    ``accumulative``, ``with_pagerank``, ``c`` and optionally ``b``; ``label`` names the
    caller in error messages.
    """
    return graph_function_for(
        options["graph"],
        options["nodes"],
        options["links"],
        options["directed"],
        options["graph_file_path"],
        b=options.get("b"),
        normalization=options["normalization"],
        normalization_mode=options["normalization_mode"],
        self_dependence=options["self_dependence"],
        with_multihop=options["with_multihop"],
        h=options["h"],
        accumulative=options["accumulative"],
        with_pagerank=options["with_pagerank"],
        c=options["c"],
        label=label,
    )


class EdgeBilinearInterdependence(Interdependence):
    r"""Bilinear attention restricted to the edges of a graph (instance type, ``b = n`` nodes).

    ``A_ij = softmax_{i: Â_ij s_ij ≠ 0}(Â_ij s_ij)`` for column ``j``, with ``s_ij = x_i W x_jᵀ``
    and ``Â`` the graph interdependence's matrix (``A_ij = 0`` elsewhere); applied as ``Aᵀ·Z``
    by propagation along the edges. ``W = ψ(w)`` has ``l`` learnable values: ``m²`` (dense),
    ``2rm`` (low rank) or dual lphm with ``p`` tinybig's close factor of ``m``.

    An edge whose product ``Â_ij s_ij`` is exactly 0 is left out of the softmax, as tinybig's
    ``mask_zeros`` leaves it out (its weight is 0).

    Parameters
    ----------
    b
        Number of nodes (optional: the graph gives it).
    m
        Input features per node (the size of ``W``); required.
    graph, nodes, links, directed, graph_file_path
        The graph, see :func:`~rpnkit.rpn.graph.source.graph_parts`; or a built
        :class:`~rpnkit.rpn.interdependence.GraphInterdependence` (its options then hold).
    normalization, normalization_mode, self_dependence
        ``Â``'s options, as for :class:`~rpnkit.rpn.interdependence.GraphInterdependence`.
    with_multihop, h, accumulative, with_pagerank, c
        Use a multi-hop or PageRank graph interdependence for ``Â`` (dense product then:
        their matrices are not sparse).
    bilinear
        ``"identity"`` (dense ``W``), ``"low_rank"`` or ``"dual_lphm"``.
    r
        Rank for ``low_rank`` / ``dual_lphm``.
    interdependence_type
        Only ``"instance"`` (and its spellings).
    name, device, require_data, require_parameters
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`.

    Differences from tinybig
    ------------------------
    None in value: the same matrix as tinybig 0.2.1's hybrid of ``graph_interdependence`` and
    a bilinear interdependence with the masked column softmax, to float rounding (tinybig's
    masked entries are ``-1e9``, which contribute ``exp(-1e9 - max) = 0``).
    """

    default_interdependence_type: ClassVar[str] = INSTANCE
    default_require_data: ClassVar[bool] = True
    default_require_parameters: ClassVar[bool] = True

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        graph: Any = None,
        nodes: Any = None,
        links: Any = None,
        directed: bool = False,
        graph_file_path: Any = None,
        normalization: bool = True,
        normalization_mode: str = "column",
        self_dependence: bool = True,
        with_multihop: bool = False,
        h: int = 1,
        accumulative: bool = False,
        with_pagerank: bool = False,
        c: float = 0.15,
        bilinear: str = "identity",
        r: int = 3,
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b,
            m=m,
            interdependence_type=interdependence_type,
            require_data=require_data,
            require_parameters=require_parameters,
            name=name,
            device=device,
        )
        if not self.is_instance:
            raise ConfigError(
                "graph_bilinear interdependence_type='attribute' is not valid; expected "
                "'instance' (it mixes the nodes of the graph)"
            )
        if self.m is None:
            raise ConfigError(
                "graph_bilinear m=None is not valid; expected an integer >= 1 (the node "
                "features, the size of W)"
            )
        kind = str(choice(bilinear, BILINEAR_KINDS, "graph_bilinear bilinear"))
        # a GraphInterdependence passed as graph (built once by a model, shared by its layers)
        # is used as it is
        graph_function = graph_function_from(locals(), "graph_bilinear")
        self.graph = graph_function
        self.b = graph_function.n
        self.sparse = type(graph_function) is GraphInterdependence
        self.bilinear_kind = kind
        sizes: dict[str, Any] = {"b": self.b, "m": self.m, "interdependence_type": INSTANCE}
        scores: ParameterizedBilinearInterdependence
        if kind == "low_rank":
            scores = LowRankParameterizedBilinearInterdependence(r=r, **sizes)
        elif kind == "dual_lphm":
            scores = DualLPHMParameterizedBilinearInterdependence(
                r=r, p=close_factor(self.m), **sizes
            )
        else:
            scores = ParameterizedBilinearInterdependence(**sizes)
        self.scores = scores

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.graph.n

    def calculate_l(self) -> int:
        """The bilinear part's parameter count (the graph part has none)."""
        return self.scores.calculate_l()

    def edge_scores(self, x: Tensor, w: Tensor | None) -> Tensor:
        """``s_e = x_src W x_dstᵀ`` for every stored edge ``e`` of ``Â`` (SDDMM)."""
        left, right = self.scores.fabrication.factorize(self.scores.check_w(w))
        adjacency = self.graph.adjacency
        if left is None:  # right is W (m × m): s = x_src · (W x_dstᵀ)
            source, target = x, x @ right.transpose(0, 1)
        else:  # W = L R: s = (x_src L) · (x_dst Rᵀ)
            source, target = x @ left, x @ right.transpose(0, 1)
        return edge_dot(adjacency, source, target)

    def edge_weights(self, x: Tensor, w: Tensor | None) -> Tensor:
        """The non-zero entries of ``A`` on the stored edges, in the adjacency's edge order."""
        adjacency = self.graph.adjacency
        values = adjacency.weight.to(x.dtype) * self.edge_scores(x, w)
        keep = values != 0
        logits = values.masked_fill(~keep, float("-inf"))
        top = torch.full((self.n,), float("-inf"), dtype=x.dtype, device=x.device)
        top = top.scatter_reduce(0, adjacency.dst, logits, "amax", include_self=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        exp = torch.exp(logits - top.index_select(0, adjacency.dst)) * keep
        total = torch.zeros(self.n, dtype=x.dtype, device=x.device).index_add(0, adjacency.dst, exp)
        total = torch.where(total > 0, total, torch.ones_like(total))
        return exp / total.index_select(0, adjacency.dst)

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """The dense ``n × n`` matrix (``x`` is ``Xᵀ``, as for every instance function)."""
        data = self.check_x(x).transpose(0, 1)
        if self.sparse:
            adjacency = self.graph.adjacency
            A = torch.zeros(self.n, self.n, dtype=data.dtype, device=data.device)
            return A.index_put(
                (adjacency.src, adjacency.dst), self.edge_weights(data, w), accumulate=True
            )
        product = self.graph.dense_A().to(data.dtype) * self.scores.calculate_A(x, w)
        mask = product != 0
        logits = product.masked_fill(~mask, float("-inf"))
        top = logits.amax(0, keepdim=True)
        top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
        exp = torch.exp(logits - top) * mask
        total = exp.sum(0, keepdim=True)
        return exp / torch.where(total > 0, total, torch.ones_like(total))

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """``Aᵀ·data`` by propagation along the edges (dense only for multi-hop / PageRank)."""
        batch = self.check_x(x)
        data = self.check_x(kappa_x if kappa_x is not None else x)
        if batch.shape[0] != self.n or data.shape[0] != self.n:
            raise ConfigError(
                f"graph_bilinear: a batch of {data.shape[0]} rows is not valid; expected the "
                f"whole graph, {self.n} rows in node order"
            )
        if not self.sparse:
            return self.calculate_A(batch.transpose(0, 1), w).transpose(0, 1) @ data
        return edge_propagate(self.graph.adjacency, self.edge_weights(batch, w), data)

    def extra_repr(self) -> str:
        """Nodes, stored edges and the bilinear form."""
        return (
            f"instance, n={self.n}, nnz={self.graph.adjacency.nnz}, bilinear={self.bilinear_kind}"
        )
