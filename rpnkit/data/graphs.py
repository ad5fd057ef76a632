"""One graph as data: :class:`GraphData` (nodes, features, labels, edges, node splits) and its bundle.

A graph dataset is *transductive*: the whole graph is one batch, every training step sees
every node, and the loss and metrics are taken over node index sets, ``train_idx``,
``val_idx`` and ``test_idx``. :class:`GraphBundle` is a :class:`~rpnkit.data.DataBundle`
whose two loaders each serve that single batch ``(x, y)`` in node order, and which carries
the :class:`GraphData` (edges and node splits) a graph model needs.

Edges are an ``edge_index`` of shape ``(2, E)`` (``int64``, row 0 the sources, row 1 the
targets), each edge listed once as the file gives it; ``directed=False`` says that each one
stands for both directions (:meth:`GraphData.symmetric_edge_index` lists both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from rpnkit.data.bundle import DataBundle
from rpnkit.data.loader import BatchLoader
from rpnkit.errors import ConfigError

__all__ = ["GraphBundle", "GraphData", "class_names", "graph_bundle"]


def _as_index(name: str, field_name: str, value: object, n: int) -> Tensor:
    """``value`` as a 1-D ``int64`` tensor of node indices in ``0 .. n-1``."""
    try:
        index = torch.as_tensor(value if value is not None else [], dtype=torch.long)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"graph {name!r}: {field_name} must be a list of node indices, got "
            f"{type(value).__name__}"
        ) from None
    index = index.flatten()
    outside = index[(index < 0) | (index >= n)]
    if outside.numel():
        raise ConfigError(
            f"graph {name!r}: {field_name} holds node index {int(outside[0])}, outside "
            f"0..{n - 1} (the graph has {n} nodes)"
        )
    if len(torch.unique(index)) != len(index):
        raise ConfigError(f"graph {name!r}: {field_name} names a node more than once")
    return index


@dataclass(frozen=True, eq=False)
class GraphData:
    """A graph with node features, node labels and train/val/test node index sets.

    Attributes
    ----------
    name
        Graph name, for messages.
    x
        Node features, ``float32`` of shape ``(n, in_features)``, rows in node order.
    y
        Node labels: class indices, ``int64`` of shape ``(n,)``.
    edge_index
        ``int64`` of shape ``(2, E)``: edge ``k`` goes from node ``edge_index[0, k]`` to
        node ``edge_index[1, k]`` (node indices, not the file's ids).
    train_idx, val_idx, test_idx
        Disjoint ``int64`` node index sets; ``val_idx`` may be empty.
    directed
        ``False``: every edge stands for both directions.
    node_ids
        The file's id of every node (``node_ids[i]`` is node ``i``); ``None`` for generated
        graphs whose ids are the indices.
    classes
        Name of every class index; ``None`` when the classes have no names.
    """

    name: str
    x: Tensor
    y: Tensor
    edge_index: Tensor
    train_idx: Tensor
    val_idx: Tensor
    test_idx: Tensor
    directed: bool = False
    node_ids: tuple[str, ...] | None = None
    classes: tuple[str, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        name = self.name
        if self.x.ndim != 2 or self.x.shape[0] < 2 or self.x.shape[1] < 1:
            raise ConfigError(
                f"graph {name!r}: node features must have shape (n_nodes >= 2, in_features >= 1),"
                f" got {tuple(self.x.shape)}"
            )
        n = self.x.shape[0]
        if self.y.shape != (n,) or self.y.is_floating_point():
            raise ConfigError(
                f"graph {name!r}: labels must be {n} class indices (one per node), got "
                f"{self.y.dtype} of shape {tuple(self.y.shape)}"
            )
        if self.edge_index.ndim != 2 or self.edge_index.shape[0] != 2:
            raise ConfigError(
                f"graph {name!r}: edge_index must have shape (2, n_edges), got "
                f"{tuple(self.edge_index.shape)}"
            )
        outside = self.edge_index[(self.edge_index < 0) | (self.edge_index >= n)]
        if outside.numel():
            raise ConfigError(
                f"graph {name!r}: edge_index names node {int(outside[0])}, outside 0..{n - 1} "
                f"(the graph has {n} nodes)"
            )
        object.__setattr__(self, "x", self.x.float())
        object.__setattr__(self, "y", self.y.long())
        object.__setattr__(self, "edge_index", self.edge_index.long())
        splits = {}
        for split in ("train_idx", "val_idx", "test_idx"):
            splits[split] = _as_index(name, split, getattr(self, split), n)
            object.__setattr__(self, split, splits[split])
        seen = torch.zeros(n, dtype=torch.long)
        for index in splits.values():
            seen[index] += 1
        if int(seen.max()) > 1:
            raise ConfigError(
                f"graph {name!r}: node {int(torch.nonzero(seen > 1)[0])} is in more than one "
                "of train_idx, val_idx and test_idx; the node sets must be disjoint"
            )
        if not len(self.train_idx) or not len(self.test_idx):
            raise ConfigError(f"graph {name!r}: train_idx and test_idx must not be empty")
        if self.classes is not None and len(self.classes) <= int(self.y.max()):
            raise ConfigError(
                f"graph {name!r}: {len(self.classes)} class names for class indices up to "
                f"{int(self.y.max())}"
            )

    @property
    def num_nodes(self) -> int:
        """Number of nodes ``n``."""
        return int(self.x.shape[0])

    @property
    def num_edges(self) -> int:
        """Number of edges as listed (an undirected edge counts once)."""
        return int(self.edge_index.shape[1])

    @property
    def num_features(self) -> int:
        """Number of node features."""
        return int(self.x.shape[1])

    @property
    def num_classes(self) -> int:
        """Number of classes: the class names, else the largest label plus one."""
        return len(self.classes) if self.classes is not None else int(self.y.max()) + 1

    # networkx-style views, so graph interdependence functions take ``graph=data``.
    @property
    def nodes(self) -> range:
        """The node indices ``0 .. n-1`` (a networkx-style view)."""
        return range(self.num_nodes)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """Every edge as a ``(source, target)`` pair of node indices (networkx-style)."""
        return [(int(a), int(b)) for a, b in self.edge_index.t().tolist()]

    def is_directed(self) -> bool:
        """Whether every edge goes one way only (networkx-style)."""
        return self.directed

    def symmetric_edge_index(self) -> Tensor:
        """Both directions of every edge (for an undirected graph), duplicates removed.

        Returns
        -------
        Tensor
            ``int64`` of shape ``(2, E')``, sorted by source then target; for a directed
            graph the edges as given, deduplicated.
        """
        edges = self.edge_index
        if not self.directed:
            edges = torch.cat([edges, edges.flip(0)], dim=1)
        return torch.unique(edges, dim=1)

    def degrees(self) -> Tensor:
        """Number of edges at every node (in and out; a self loop counts once), ``int64``."""
        edges = self.symmetric_edge_index()
        if self.directed:
            edges = torch.unique(torch.cat([edges, edges.flip(0)], dim=1), dim=1)
        return torch.bincount(edges[0], minlength=self.num_nodes)


@dataclass(frozen=True, eq=False, repr=False)
class GraphBundle(DataBundle):
    """A :class:`~rpnkit.data.DataBundle` holding one graph, served as one batch.

    Both loaders serve the single batch ``(x, y)`` of every node in node order; train on
    ``train_idx`` and evaluate on ``val_idx`` / ``test_idx`` (the learner's ``train_idx`` /
    ``test_idx`` arguments). ``n_train`` and ``n_test`` count the nodes of those sets.

    Attributes
    ----------
    graph
        The :class:`GraphData`: features (standardised when asked), labels, edges, splits.
    """

    graph: GraphData | None = None

    @property
    def train_idx(self) -> Tensor:
        """Training node indices."""
        return self._graph.train_idx

    @property
    def val_idx(self) -> Tensor:
        """Validation node indices (possibly empty)."""
        return self._graph.val_idx

    @property
    def test_idx(self) -> Tensor:
        """Test node indices."""
        return self._graph.test_idx

    @property
    def edge_index(self) -> Tensor:
        """The graph's ``(2, E)`` edge index."""
        return self._graph.edge_index

    @property
    def _graph(self) -> GraphData:
        if self.graph is None:
            raise ConfigError(f"dataset {self.name!r}: this bundle holds no graph")
        return self.graph

    @property
    def n_train(self) -> int:
        """Number of training nodes."""
        return len(self._graph.train_idx)

    @property
    def n_test(self) -> int:
        """Number of test nodes."""
        return len(self._graph.test_idx)

    def __repr__(self) -> str:
        g = self._graph
        return (
            f"GraphBundle(name={self.name!r}, nodes={g.num_nodes}, edges={g.num_edges}, "
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"train/val/test={len(g.train_idx)}/{len(g.val_idx)}/{len(g.test_idx)})"
        )


def graph_bundle(graph: GraphData, *, standardize: bool = False) -> GraphBundle:
    """Wrap ``graph`` as a :class:`GraphBundle` whose loaders serve the whole graph once.

    Parameters
    ----------
    graph
        The graph.
    standardize
        Rescale every feature with the mean and standard deviation of the *training nodes*
        only (constant features are only centred); kept as ``feature_mean`` / ``feature_std``.

    Raises
    ------
    ConfigError
        If ``standardize`` is not a boolean.
    """
    if not isinstance(standardize, bool):
        raise ConfigError(
            f"dataset {graph.name!r}: standardize must be true or false, got {standardize!r}"
        )
    mean: Tensor | None = None
    std: Tensor | None = None
    x = graph.x
    if standardize:
        train = x[graph.train_idx].double()
        mean = train.mean(dim=0)
        std = train.std(dim=0, correction=0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        x = ((x.double() - mean) / std).float()
        mean, std = mean.float(), std.float()
        graph = _replace(graph, x=x)
    data = TensorDataset(graph.x, graph.y)
    n = graph.num_nodes
    return GraphBundle(
        name=graph.name,
        task="classification",
        in_features=graph.num_features,
        out_features=graph.num_classes,
        train_loader=BatchLoader(data, n),
        test_loader=BatchLoader(data, n),
        feature_mean=mean,
        feature_std=std,
        classes=graph.classes,
        graph=graph,
    )


def _replace(graph: GraphData, **changes: Any) -> GraphData:
    values: dict[str, Any] = {
        key: getattr(graph, key)
        for key in ("name", "x", "y", "edge_index", "train_idx", "val_idx", "test_idx",
                    "directed", "node_ids", "classes")
    }  # fmt: skip
    values.update(changes)
    return GraphData(**values)


def class_names(labels: Sequence[str]) -> tuple[tuple[str, ...], Tensor]:
    """Sorted distinct ``labels`` and the class index of every label.

    tinybig numbers string labels in ``set`` order, which changes from one process to the
    next (string hashing is randomised); sorting makes the numbering reproducible.
    """
    names = tuple(sorted(set(labels)))
    index = {c: i for i, c in enumerate(names)}
    return names, torch.tensor([index[c] for c in labels], dtype=torch.long)
