"""Zachary's karate club: 34 members, 78 friendships, 2 factions (the ``karate_club`` dataset).

W. W. Zachary, "An information flow model for conflict and fission in small groups",
Journal of Anthropological Research 33 (1977). The graph (undirected, unweighted) and each
member's faction after the split (``Mr. Hi`` or ``Officer``, 17 each) ship with rpnkit as two
small CSV files (``rpnkit/data/shipped/karate_club_nodes.csv`` and ``..._edges.csv``), the
same graph as networkx's ``karate_club_graph()``. The members have no features: each node's
feature vector is one-hot (34 features), as in the GCN paper's karate club example.
"""

from __future__ import annotations

from pathlib import Path

from rpnkit.data.graph_files import graph_csv
from rpnkit.data.graphs import GraphBundle

__all__ = ["karate_club"]

_FILES = Path(__file__).with_name("shipped")


def karate_club(
    *,
    train_size: float | int | None = None,
    val_size: float | int = 0.1,
    test_size: float | int = 0.3,
    seed: int = 0,
    train_idx: list[int] | None = None,
    val_idx: list[int] | None = None,
    test_idx: list[int] | None = None,
) -> GraphBundle:
    """The karate club graph with seeded, stratified train/val/test member sets.

    Parameters
    ----------
    train_size, val_size, test_size, seed, train_idx, val_idx, test_idx
        The node sets, as for the ``graph_csv`` dataset: fractions of the 34 members or
        member counts, drawn stratified by faction with ``seed``, or the index lists
        themselves (e.g. ``train_idx: [0, 33]``, the two leaders).

    Returns
    -------
    GraphBundle
        34 nodes, 78 undirected edges, 34 one-hot features, classes ``("Mr. Hi", "Officer")``.
    """
    return graph_csv(
        nodes=str(_FILES / "karate_club_nodes.csv"),
        edges=str(_FILES / "karate_club_edges.csv"),
        id_column="node",
        label="club",
        features="identity",
        name="karate_club",
        train_size=train_size,
        val_size=val_size,
        test_size=test_size,
        seed=seed,
        train_idx=train_idx,
        val_idx=val_idx,
        test_idx=test_idx,
    )
