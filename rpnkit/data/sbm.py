"""A stochastic block model with planted classes and noisy features (the ``sbm`` dataset).

Nodes fall into ``n_classes`` blocks (their class); an edge joins two nodes of one block with
probability ``p_in`` and of two blocks with ``p_out``, each pair drawn once. Every class has a
random centre of length ``signal`` in feature space, and a node's features are its class's
centre plus Gaussian noise of standard deviation ``noise``: with ``signal`` small against
``noise`` the features alone say little, and a model gains by reading the edges
(``p_in > p_out``: neighbours tend to share the class). Everything is drawn from one
generator seeded by ``seed``, so equal seeds give equal graphs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.data.graphs import GraphBundle, GraphData, graph_bundle
from rpnkit.data.node_splits import choose_splits
from rpnkit.errors import ConfigError

__all__ = ["sbm", "sbm_edges"]


def sbm_edges(
    sizes: list[int], p_in: float, p_out: float, directed: bool, generator: torch.Generator
) -> Tensor:
    """The ``(2, E)`` edges of a stochastic block model, nodes numbered block by block.

    Undirected: every unordered pair ``i < j`` is drawn once and listed once as ``(i, j)``.
    Directed: every ordered pair ``i != j`` is drawn. No self loops. Memory is one block
    pair's ``n_a × n_b`` draw at a time.
    """
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    parts = []
    for a, (start_a, n_a) in enumerate(zip(starts, sizes, strict=True)):
        for b, (start_b, n_b) in enumerate(zip(starts, sizes, strict=True)):
            if not directed and b < a:
                continue
            hit = torch.rand(n_a, n_b, generator=generator) < (p_in if a == b else p_out)
            if a == b:
                hit &= (
                    torch.ones(n_a, n_b, dtype=torch.bool).triu(1)
                    if not directed
                    else ~torch.eye(n_a, dtype=torch.bool)
                )
            rows, cols = torch.nonzero(hit, as_tuple=True)
            parts.append(torch.stack([rows + start_a, cols + start_b]))
    return torch.cat(parts, dim=1)


def _probability(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"dataset 'sbm': {field} must be a probability in [0, 1], got {value!r}")
    return float(value)


def _non_negative(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"dataset 'sbm': {field} must be a non-negative number, got {value!r}")
    return float(value)


def sbm(
    *,
    n_classes: int = 3,
    nodes_per_class: int | list[int] = 100,
    p_in: float = 0.1,
    p_out: float = 0.01,
    n_features: int = 16,
    signal: float = 1.0,
    noise: float = 1.0,
    directed: bool = False,
    train_size: float | int | None = None,
    val_size: float | int = 0.1,
    test_size: float | int = 0.2,
    seed: int = 0,
    standardize: bool = False,
) -> GraphBundle:
    """Generate a stochastic-block-model graph with planted classes and noisy features.

    Parameters
    ----------
    n_classes
        Number of blocks (classes).
    nodes_per_class
        Nodes per block: one count for every block, or a list of ``n_classes`` counts.
    p_in, p_out
        Probability of an edge inside a block and between two blocks.
    n_features
        Feature dimension.
    signal
        Length of every class's feature centre (random direction).
    noise
        Standard deviation of the Gaussian noise added to every feature.
    directed
        Draw every ordered pair (edges go one way) instead of every unordered pair.
    train_size, val_size, test_size, seed
        The node sets, drawn stratified by class as for ``graph_csv``; ``seed`` also seeds
        the graph and the features.
    standardize
        Standardise the features with the training nodes' statistics.

    Returns
    -------
    GraphBundle
        Nodes numbered block by block (class ``k`` holds the ``k``-th block), classes
        ``"0" .. "n_classes-1"``.

    Raises
    ------
    ConfigError
        For a count, probability or size out of range.
    """
    n_classes = positive_int(n_classes, "dataset 'sbm' n_classes")
    if isinstance(nodes_per_class, int) and not isinstance(nodes_per_class, bool):
        sizes = [nodes_per_class] * n_classes
    elif isinstance(nodes_per_class, (list, tuple)) and len(nodes_per_class) == n_classes:
        sizes = list(nodes_per_class)
    else:
        raise ConfigError(
            f"dataset 'sbm': nodes_per_class must be a node count or a list of {n_classes} "
            f"counts, got {nodes_per_class!r}"
        )
    sizes = [positive_int(size, "dataset 'sbm' nodes_per_class") for size in sizes]
    n_features = positive_int(n_features, "dataset 'sbm' n_features")
    p_in, p_out = _probability("p_in", p_in), _probability("p_out", p_out)
    signal, noise = _non_negative("signal", signal), _non_negative("noise", noise)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"dataset 'sbm': seed must be a non-negative integer, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    y = torch.repeat_interleave(torch.arange(n_classes), torch.tensor(sizes))
    edges = sbm_edges(sizes, p_in, p_out, bool(directed), generator)
    centres = torch.randn(n_classes, n_features, generator=generator, dtype=torch.float64)
    centres = signal * centres / centres.norm(dim=1, keepdim=True).clamp_min(1e-12)
    x = centres[y] + noise * torch.randn(
        len(y), n_features, generator=generator, dtype=torch.float64
    )
    sets = choose_splits("sbm", y, train_size=train_size, val_size=val_size,
                         test_size=test_size, seed=seed)  # fmt: skip
    classes = tuple(str(k) for k in range(n_classes))
    graph = GraphData("sbm", x.float(), y, edges, *sets, directed=bool(directed), classes=classes)
    return graph_bundle(graph, standardize=standardize)
