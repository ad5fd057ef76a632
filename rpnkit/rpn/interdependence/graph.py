"""Graph interdependence functions: mixing along the links of a graph.

The graph is given as node ids and links (``(source, target)`` pairs or a ``2 × E``
tensor), or as a graph object (tinybig's ``koala.topology.graph``, or a networkx graph). Its
normalised adjacency ``Â`` is kept as an edge list
(:class:`~rpnkit.rpn.interdependence.adjacency.Adjacency`, memory ``O(nnz)``) and applied
by sparse propagation; no function here forms an ``n × n`` matrix when applied, except a
PageRank whose propagation series would diverge (it is solved densely with a cached LU
factorisation, and says so once). :meth:`calculate_A` builds the matrix when asked.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, positive_float, positive_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.topological import (
    Adjacency,
    TopologicalInterdependence,
    edges_from_links,
)

__all__ = [
    "GraphInterdependence",
    "MultihopGraphInterdependence",
    "PagerankMultihopGraphInterdependence",
]


def _graph_parts(
    graph: Any, nodes: object, links: object, directed: bool, count: int | None, label: str
) -> tuple[Sequence[Hashable], object, bool]:
    """Return ``(node ids, links, directed)`` from a graph object or from nodes and links
    (a ``range`` for a node count, so links are mapped without a lookup table)."""
    if graph is not None:
        if hasattr(graph, "get_links") and isinstance(getattr(graph, "nodes", None), dict):
            ids = sorted(graph.nodes, key=graph.nodes.__getitem__)
            return ids, list(graph.get_links()), bool(getattr(graph, "directed", True))
        if hasattr(graph, "edges") and callable(getattr(graph, "is_directed", None)):
            return list(graph.nodes), list(graph.edges), bool(graph.is_directed())
        raise ConfigError(
            f"{label} graph={short_repr(graph)} is not valid; expected a graph structure "
            "(tinybig.koala.topology.graph or a networkx graph), or nodes and links"
        )
    if links is None:
        raise ConfigError(
            f"{label}: graph=None and links=None; give links ((source, target) pairs or a "
            "2 × E tensor) with nodes, or a graph structure"
        )
    if nodes is None:
        if count is None:
            raise ConfigError(
                f"{label}: nodes=None and no node count; give nodes (a list of ids or a "
                "count), or b (instance type) / m (attribute type)"
            )
        return range(count), links, directed
    if isinstance(nodes, int) and not isinstance(nodes, bool):
        return range(positive_int(nodes, f"{label} nodes")), links, directed
    if isinstance(nodes, Tensor):
        nodes = nodes.tolist()
    if not isinstance(nodes, Sequence) or isinstance(nodes, str) or not nodes:
        raise ConfigError(
            f"{label} nodes={short_repr(nodes)} is not valid; expected a non-empty list of "
            "node ids or a node count"
        )
    ids = list(nodes)
    if len(set(ids)) != len(ids):
        raise ConfigError(
            f"{label} nodes={short_repr(nodes)} is not valid; expected distinct node ids"
        )
    return ids, links, directed


class GraphInterdependence(TopologicalInterdependence):
    r"""Graph interdependence: ``A = Â``, the graph's (normalised) adjacency.

    ``Â[i, j] = 1`` for a link ``i → j`` (both ways when undirected; duplicate links once),
    ``+ I`` when ``self_dependence``, then optionally ``D⁻¹Â`` (row), ``ÂD⁻¹`` (column) or
    rows then columns by square roots of their sums (row_column). Instance type (the
    default) mixes the ``b = n`` nodes of one batch (the whole graph, rows in node order):
    ``Aᵀ·X`` with column normalisation and self-dependence is the mean over a node's
    in-neighbours and itself (the RPN 2 GCN).

    Parameters
    ----------
    graph
        A graph structure: tinybig's ``koala.topology.graph`` or a networkx graph; ``None``
        uses ``nodes`` and ``links``.
    nodes
        Node ids (a node's index is its position) or a node count; ``None`` is
        ``range(b)`` (instance type) or ``range(m)`` (attribute type).
    links
        ``(source, target)`` pairs of node ids, or a ``2 × E`` tensor of them.
    directed
        Whether a link goes one way only (ignored when ``graph`` is given).
    normalization, normalization_mode
        Degree normalisation: ``"row"``, ``"column"`` or ``"row_column"``.
    self_dependence
        Whether to add ``I``.
    b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`; ``b`` (instance)
        or ``m`` (attribute) must be the node count when given.
    """

    label: ClassVar[str] = "graph"
    #: Whether the subclass passes ``self_dependence`` to the adjacency (tinybig's
    #: PageRank does not).
    uses_self_dependence: ClassVar[bool] = True

    def __init__(
        self,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        graph: Any = None,
        nodes: Any = None,
        links: Any = None,
        directed: bool = True,
        normalization: bool = False,
        normalization_mode: str = "row",
        self_dependence: bool = False,
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b, m=m, interdependence_type=interdependence_type, require_data=require_data,
            require_parameters=require_parameters, name=name, device=device,
        )  # fmt: skip
        mode = self.check_mode(normalization_mode, self.label)
        ids, pairs, is_directed = _graph_parts(
            graph, nodes, links, bool(directed), self.side, self.label
        )
        src, dst = edges_from_links(ids, pairs, self.label)
        self.node_ids = list(ids)
        self.directed = is_directed
        self.normalization = bool(normalization)
        self.normalization_mode = mode
        self.self_dependence = bool(self_dependence)
        loop = 1.0 if self.uses_self_dependence and self.self_dependence else 0.0
        adjacency = Adjacency(
            len(ids), src, dst, directed=is_directed, self_scaling=loop,
            normalization=self.normalization, normalization_mode=mode,
        )  # fmt: skip
        self._set_structure(len(ids), adjacency)

    @property
    def node_id_index_map(self) -> dict[Hashable, int]:
        """Node id -> its row (instance type) or column (attribute type)."""
        return {node: i for i, node in enumerate(self.node_ids)}

    @property
    def node_index_id_map(self) -> dict[int, Hashable]:
        """Row or column -> node id."""
        return dict(enumerate(self.node_ids))


class MultihopGraphInterdependence(GraphInterdependence):
    r"""Multi-hop graph interdependence: ``A = Â^h``, or ``Σ_{k=1}^{h} Â^k`` when accumulative.

    Applied as ``h`` sparse propagations (``O(h·nnz)`` per column), never as a matrix power.

    Parameters
    ----------
    h
        Number of hops, >= 1.
    accumulative
        Whether to sum the powers 1..h.
    graph, nodes, links, directed, normalization, normalization_mode, self_dependence, b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`GraphInterdependence`.
    """

    label: ClassVar[str] = "multihop_graph"

    def __init__(self, h: int = 1, accumulative: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.h = positive_int(h, f"{self.label} h")
        self.accumulative = bool(accumulative)

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """``h`` propagations, summed when accumulative."""
        return self._hops(z, dim, self.h, accumulate=self.accumulative)

    def dense_A(self) -> Tensor:
        """``Â^h`` or ``Σ_{k≤h} Â^k`` as a dense matrix."""
        return self._dense_hops(self.h, self.accumulative)


class PagerankMultihopGraphInterdependence(GraphInterdependence):
    r"""Personalised-PageRank interdependence: ``A = c·(I − (1−c)·Â)⁻¹``.

    Where the series ``c·Σ_k ((1−c)Â)^k`` converges (always for a row- or column-normalised
    ``Â``, whose spectral radius is at most 1), ``A`` is applied by propagation and never
    formed: ``Y ← c·X + (1−c)·ÂᵀY`` from ``Y = c·X`` (instance type; ``X·A`` likewise),
    ``K`` steps, memory ``O(nnz)``. ``K`` is fixed at construction from the series of
    ``((1−c)Âᵀ)^k·1``: since every entry of ``Â`` is >= 0, that series bounds every
    column's remainder (times ``max |x|``), and ``K`` is the first step where the bound on
    what is left falls below ``tol``. When ``(1−c)`` times the smaller of ``Â``'s largest
    row and column sums is below 1 the series is known to converge; otherwise those
    propagations of ``1`` decide. Like tinybig's, ``Â`` has no self-loops here whatever
    ``self_dependence`` says.

    Where the series diverges (``(1−c)·ρ(Â) >= 1``, e.g. tinybig's default
    ``normalization=False`` on most undirected graphs) or does not reach ``tol`` within
    ``max_iter`` steps, ``A`` is applied exactly by solving with an LU factorisation of
    ``I − (1−c)Â`` computed once at construction (``O(n³)`` time, ``O(n²)`` memory, one
    warning per object; the inverse itself is never formed). These are tinybig's numbers;
    an exactly singular ``I − (1−c)Â`` (where tinybig's ``torch.inverse`` fails) is a
    :class:`~rpnkit.errors.ConfigError`.

    Parameters
    ----------
    c
        Restart probability, ``0 < c <= 1``.
    tol
        Bound on the remainder of the series, relative to ``max |x|`` (default ``1e-7``).
    max_iter
        Most propagation steps (default 1000); beyond them the dense solve is used.
    graph, nodes, links, directed, normalization, normalization_mode, self_dependence, b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`GraphInterdependence`.

    Attributes
    ----------
    steps
        Number of propagation steps, or ``None`` when ``A`` is applied by the dense solve.
    """

    label: ClassVar[str] = "pagerank_multihop_graph"
    uses_self_dependence: ClassVar[bool] = False

    def __init__(
        self, c: float = 0.15, tol: float = 1e-7, max_iter: int = 1000, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.c = finite_number(c, f"{self.label} c", above=0, at_most=1)
        self.tol = positive_float(tol, f"{self.label} tol")
        self.max_iter = positive_int(max_iter, f"{self.label} max_iter")
        self.steps: int | None = self._steps()
        # LU factors of I − (1−c)Â per (device, dtype); a plain attribute, not a buffer.
        self._lu: dict[tuple[torch.device, torch.dtype], tuple[Tensor, Tensor]] = {}
        if self.steps is None:
            self._lu[(torch.device("cpu"), torch.float64)] = self._factorise()
            warnings.warn(
                f"{self.label} c={self.c:g} with normalization={self.normalization}: the "
                "propagation series c·Σ((1−c)Â)^k would diverge (or not reach tol within "
                f"max_iter={self.max_iter}), so the {self.n}-node graph is dense-solved "
                "(O(n²) memory); normalization=True keeps it sparse",
                UserWarning,
                stacklevel=2,
            )

    @property
    def dense_solve(self) -> bool:
        """Whether ``A`` is applied by the dense LU solve instead of propagation."""
        return self.steps is None

    def _steps(self) -> int | None:
        """Steps after which the remainder bound of the series is below ``tol``, or ``None``
        when the series diverges or does not get there within ``max_iter`` steps."""
        decay = 1.0 - self.c
        bounded = decay * self.adjacency.radius_bound() < 1.0
        v = torch.ones(self.n, 1, dtype=torch.float64)
        adjacency = self.adjacency
        weight = adjacency.weight.double().unsqueeze(1)
        previous = 1.0
        for step in range(1, self.max_iter + 1):
            v = decay * torch.zeros_like(v).index_add(
                0, adjacency.dst, v.index_select(0, adjacency.src) * weight
            )
            size = float(v.abs().max()) if self.n else 0.0
            if size == 0.0:
                return step - 1
            if size > 1e12 or (not bounded and size >= previous and step >= 50):
                return None  # growing, or not shrinking after 50 steps: no convergence
            ratio = size / previous
            previous = size
            if ratio < 1.0 and self.c * size / (1.0 - ratio) <= self.tol:
                return step
        return None

    def _factorise(self) -> tuple[Tensor, Tensor]:
        """LU factors of ``I − (1−c)Â`` in float64; a singular matrix is a ConfigError."""
        matrix = torch.eye(self.n, dtype=torch.float64)
        matrix = matrix - (1.0 - self.c) * self.adjacency.dense().double().cpu()
        lu, pivots, info = torch.linalg.lu_factor_ex(matrix)
        pivot_sizes = lu.diagonal().abs()
        threshold = self.n * torch.finfo(torch.float64).eps * float(pivot_sizes.max())
        singular = int(info) != 0 or not bool(pivot_sizes.isfinite().all())
        if singular or float(pivot_sizes.min()) <= threshold:
            raise ConfigError(
                f"{self.label} c={self.c:g} with normalization={self.normalization} "
                f"(normalization_mode={self.normalization_mode!r}): I − (1−c)Â is singular, so "
                "c·(I − (1−c)Â)⁻¹ does not exist; expected another c, or normalization=True"
            )
        return lu, pivots

    def _factors(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """The LU factors on ``like``'s device and in its dtype (cached)."""
        key = (like.device, like.dtype)
        if key not in self._lu:
            lu, pivots = self._lu[(torch.device("cpu"), torch.float64)]
            self._lu[key] = (lu.to(like.device, like.dtype), pivots.to(like.device))
        return self._lu[key]

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """``Y ← c·z + (1−c)·P(Y)`` for the precomputed number of steps, or the dense solve
        ``c·(I − (1−c)Â)⁻ᵀz`` (``dim=0``) / ``c·z(I − (1−c)Â)⁻¹`` (``dim=1``)."""
        if self.steps is None:
            lu, pivots = self._factors(z)
            if dim == 0:
                solved = torch.linalg.lu_solve(lu, pivots, z, adjoint=True)
            else:
                solved = torch.linalg.lu_solve(lu, pivots, z, left=False)
            return self.c * solved
        start = self.c * z
        y = start
        for _ in range(self.steps):
            y = start + (1.0 - self.c) * self.propagate(y, dim)
        return y

    def dense_A(self) -> Tensor:
        """tinybig's ``c·(I − (1−c)Â)⁻¹``, densely (``O(n³)``; for inspection only)."""
        adj = self.adjacency.dense()
        eye = torch.eye(self.n, dtype=adj.dtype, device=adj.device)
        return self.c * torch.linalg.inv(eye - (1.0 - self.c) * adj)
