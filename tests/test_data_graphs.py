"""Graph datasets: karate club, stochastic block model, CSV / npz / Cora-style files, splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rpnkit import build
from rpnkit.data.graph_files import graph_csv, graph_npz
from rpnkit.data.graphs import GraphBundle, GraphData
from rpnkit.data.karate import karate_club
from rpnkit.data.planetoid import cora, cora_files
from rpnkit.data.sbm import sbm
from rpnkit.errors import ConfigError


def one_line_error(call: Any, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def write_graph_csv(tmp_path: Path, nodes: str, edges: str) -> tuple[str, str]:
    (tmp_path / "nodes.csv").write_text(nodes)
    (tmp_path / "edges.csv").write_text(edges)
    return str(tmp_path / "nodes.csv"), str(tmp_path / "edges.csv")


NODES = "id,f1,f2,label\n" + "".join(f"n{i},{i},{i % 3},{'ab'[i % 2]}\n" for i in range(10))
EDGES = "source,target\nn0,n1\nn1,n2\nn9,n0\n"


# -- karate club -------------------------------------------------------------------------------
def test_karate_club_has_34_nodes_78_edges_and_2_factions() -> None:
    bundle = build("dataset", "karate_club")
    assert isinstance(bundle, GraphBundle)
    graph = bundle.graph
    assert graph is not None
    assert (graph.num_nodes, graph.num_edges, graph.num_classes) == (34, 78, 2)
    assert bundle.classes == ("Mr. Hi", "Officer") and graph.y.bincount().tolist() == [17, 17]
    assert not graph.directed and graph.symmetric_edge_index().shape == (2, 156)
    # the two leaders: node 0 (Mr. Hi, 16 friends) and node 33 (the officer, 17)
    assert graph.degrees()[[0, 33]].tolist() == [16, 17] and graph.y[[0, 33]].tolist() == [0, 1]
    assert torch.equal(graph.x, torch.eye(34)) and bundle.in_features == 34


def test_karate_club_serves_the_whole_graph_as_one_batch_with_disjoint_node_sets() -> None:
    bundle = karate_club(seed=3)
    batches = list(bundle.train_loader)
    assert len(batches) == 1 and batches[0][0].shape == (34, 34)
    assert torch.equal(batches[0][1], bundle.graph.y)  # type: ignore[union-attr]
    sets = [set(bundle.train_idx.tolist()), set(bundle.val_idx.tolist()),
            set(bundle.test_idx.tolist())]  # fmt: skip
    assert sum(map(len, sets)) == 34 and len(set.union(*sets)) == 34
    assert (bundle.n_train, bundle.n_test) == (len(sets[0]), len(sets[2]))
    again = karate_club(seed=3)
    assert torch.equal(again.train_idx, bundle.train_idx)
    leaders = karate_club(train_idx=[0, 33], test_idx=list(range(1, 33)))
    assert leaders.train_idx.tolist() == [0, 33] and len(leaders.val_idx) == 0


# -- stochastic block model --------------------------------------------------------------------
def test_sbm_plants_its_classes_in_the_edges() -> None:
    bundle = sbm(n_classes=3, nodes_per_class=120, p_in=0.1, p_out=0.01, seed=1)
    graph = bundle.graph
    assert graph is not None and graph.y.bincount().tolist() == [120, 120, 120]
    src, dst = graph.edge_index
    assert bool((src < dst).all())  # undirected: every pair once, no self loop
    within = int((graph.y[src] == graph.y[dst]).sum())
    between = graph.num_edges - within
    pairs_in, pairs_out = 3 * 120 * 119 / 2, 3 * 120 * 120
    # edge densities within 4 standard deviations of p_in and p_out
    assert abs(within / pairs_in - 0.1) < 4 * (0.1 * 0.9 / pairs_in) ** 0.5
    assert abs(between / pairs_out - 0.01) < 4 * (0.01 * 0.99 / pairs_out) ** 0.5
    same = sbm(n_classes=3, nodes_per_class=120, p_in=0.1, p_out=0.01, seed=1).graph
    assert same is not None and torch.equal(same.edge_index, graph.edge_index)
    assert torch.equal(same.x, graph.x)


def test_sbm_features_are_class_centres_plus_noise() -> None:
    graph = sbm(n_classes=2, nodes_per_class=400, n_features=8, signal=3.0, noise=0.5).graph
    assert graph is not None
    centres = torch.stack([graph.x[graph.y == k].mean(dim=0) for k in range(2)])
    assert torch.allclose(centres.norm(dim=1), torch.tensor([3.0, 3.0]), atol=0.2)
    spread = (graph.x - centres[graph.y]).std(dim=0, correction=0)
    assert torch.allclose(spread, torch.full((8,), 0.5), atol=0.06)
    directed = sbm(nodes_per_class=[5, 7, 9], directed=True, p_in=1.0, p_out=0.0).graph
    assert directed is not None and directed.num_edges == 5 * 4 + 7 * 6 + 9 * 8


def test_sbm_options_are_checked() -> None:
    one_line_error(lambda: sbm(p_in=1.5), "p_in must be a probability")
    one_line_error(lambda: sbm(nodes_per_class=[3, 4]), "nodes_per_class", "list of 3 counts")
    one_line_error(lambda: sbm(test_size=0.7, val_size=0.5), "the graph has 300")


# -- CSV graphs --------------------------------------------------------------------------------
def test_graph_csv_reads_features_labels_and_edges_by_id(tmp_path: Path) -> None:
    nodes, edges = write_graph_csv(tmp_path, NODES, EDGES)
    bundle = graph_csv(nodes=nodes, edges=edges, test_size=2, val_size=2)
    graph = bundle.graph
    assert graph is not None and graph.node_ids == tuple(f"n{i}" for i in range(10))
    assert graph.edge_index.tolist() == [[0, 1, 9], [1, 2, 0]]
    assert graph.x[4].tolist() == [4.0, 1.0] and bundle.classes == ("a", "b")
    assert (len(graph.train_idx), len(graph.val_idx), len(graph.test_idx)) == (6, 2, 2)
    standardized = graph_csv(nodes=nodes, edges=edges, standardize=True, test_size=2, val_size=2)
    train_x = standardized.graph.x[standardized.train_idx]  # type: ignore[union-attr]
    assert torch.allclose(train_x.mean(dim=0), torch.zeros(2), atol=1e-6)


def test_graph_csv_malformed_files_are_one_line_errors(tmp_path: Path) -> None:
    nodes, edges = write_graph_csv(tmp_path, NODES, EDGES + "n3,n77\n")
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges), "'edges.csv' line 5",
                   "node 'n77'", "not among the 10 nodes")  # fmt: skip
    nodes, edges = write_graph_csv(tmp_path, NODES + "n10,1,2\n", EDGES)
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges), "'nodes.csv': line 12 has 3 field(s)",
                   "the header has 4")  # fmt: skip
    nodes, edges = write_graph_csv(tmp_path, NODES, EDGES)
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges, label="class"),
                   "label='class' is not a column of 'nodes.csv'")  # fmt: skip
    nodes, edges = write_graph_csv(tmp_path, NODES.replace("n4,4", "n4,four"), EDGES)
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges), "line 6, column 'f1'",
                   "'four' is not a number")  # fmt: skip
    nodes, edges = write_graph_csv(tmp_path, NODES + "n3,0,0,a\n", EDGES)
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges), "node id 'n3' appears twice")
    nodes, edges = write_graph_csv(tmp_path, NODES, "from,to\nn0,n1\n")
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges), "source='source'")
    nodes, edges = write_graph_csv(tmp_path, NODES, EDGES)
    one_line_error(lambda: graph_csv(nodes=nodes, edges=edges, train_idx=[0, 1], test_idx=[1]),
                   "node 1 is in more than one")  # fmt: skip


# -- npz graphs --------------------------------------------------------------------------------
def test_graph_npz_reads_arrays_and_its_own_masks(tmp_path: Path) -> None:
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    y = np.array([0, 1] * 4)
    mask = np.zeros(8, dtype=bool)
    mask[:3] = True
    np.savez(tmp_path / "g.npz", x=x, y=y, edge_index=np.array([[0, 1], [2, 3], [7, 0]]),
             train_mask=mask, test_idx=np.array([5, 6, 7]))  # fmt: skip
    bundle = graph_npz(path=str(tmp_path / "g.npz"))
    graph = bundle.graph
    assert graph is not None and graph.edge_index.tolist() == [[0, 2, 7], [1, 3, 0]]
    assert graph.train_idx.tolist() == [0, 1, 2] and graph.test_idx.tolist() == [5, 6, 7]
    assert torch.equal(graph.x, torch.from_numpy(x)) and len(graph.val_idx) == 0


def test_graph_npz_malformed_archives_are_one_line_errors(tmp_path: Path) -> None:
    x, y = np.ones((6, 2)), np.array([0, 1] * 3)
    np.savez(tmp_path / "far.npz", x=x, y=y, edge_index=np.array([[0, 9]]))
    one_line_error(lambda: graph_npz(path=str(tmp_path / "far.npz"), test_size=2, val_size=0),
                   "edge_index names node 9", "outside 0..5")  # fmt: skip
    np.savez(tmp_path / "short.npz", x=x, y=y[:4], edge_index=np.array([[0, 1]]))
    one_line_error(lambda: graph_npz(path=str(tmp_path / "short.npz")), "of shape (n,)")
    np.savez(tmp_path / "none.npz", x=x, y=y)
    one_line_error(lambda: graph_npz(path=str(tmp_path / "none.npz")), "no array 'edge_index'")
    np.savez(tmp_path / "obj.npz", x=x, y=y, edge_index=np.array([{"a": 1}], dtype=object))
    one_line_error(lambda: graph_npz(path=str(tmp_path / "obj.npz")), "not a readable .npz")


# -- Cora-style pairs --------------------------------------------------------------------------
def write_cora(folder: Path, n: int = 12, cites: str | None = None) -> None:
    lines = [f"p{i}\t{i % 2}\t1\t{i % 3}\t{'Theory' if i % 3 else 'Neural'}" for i in range(n)]
    (folder / "cora.content").write_text("\n".join(lines) + "\n")
    (folder / "cora.cites").write_text(cites if cites is not None else "p0\tp1\np2\tp3\np5\tp1\n")


def test_cora_files_read_the_content_and_cites_pair(tmp_path: Path) -> None:
    write_cora(tmp_path)
    bundle = cora_files(content=str(tmp_path / "cora.content"),
                        cites=str(tmp_path / "cora.cites"), test_size=3, val_size=2)  # fmt: skip
    graph = bundle.graph
    assert graph is not None and graph.directed  # tinybig keeps citations one way
    assert graph.edge_index.tolist() == [[0, 2, 5], [1, 3, 1]]
    assert bundle.classes == ("Neural", "Theory") and graph.y[:3].tolist() == [0, 1, 1]
    assert graph.x[4].tolist() == pytest.approx([0.0, 0.5, 0.5])  # row-normalised (tinybig)
    raw = cora_files(content=str(tmp_path / "cora.content"), cites=str(tmp_path / "cora.cites"),
                     row_normalize=False, test_size=3)  # fmt: skip
    assert raw.graph is not None and raw.graph.x[4].tolist() == [0.0, 1.0, 1.0]


def test_cora_takes_tinybigs_split_and_node_link_files(tmp_path: Path) -> None:
    write_cora(tmp_path, n=1600)
    (tmp_path / "cora.content").rename(tmp_path / "node")
    (tmp_path / "cora.cites").rename(tmp_path / "link")
    bundle = build("dataset", "cora", root=str(tmp_path))
    assert bundle.train_idx.tolist() == list(range(140))
    assert bundle.val_idx.tolist() == list(range(140, 500))
    assert bundle.test_idx.tolist() == list(range(500, 1500))


def test_cora_style_malformed_files_are_one_line_errors(tmp_path: Path) -> None:
    write_cora(tmp_path, cites="p0\tp1\np2\tp404\n")
    one_line_error(lambda: cora(root=str(tmp_path), split="random"), "'cora.cites' line 2",
                   "node 'p404'", "unknown_nodes: drop")  # fmt: skip
    dropped = cora(root=str(tmp_path), split="random", unknown_nodes="drop", test_size=3)
    assert dropped.graph is not None and dropped.graph.num_edges == 1
    write_cora(tmp_path)
    with (tmp_path / "cora.content").open("a") as stream:
        stream.write("p99\t1\t0\tTheory\n")
    one_line_error(lambda: cora(root=str(tmp_path), split="random"), "line 13 has 4 fields",
                   "the first line has 5")  # fmt: skip
    write_cora(tmp_path, cites="p0\tp1\tp2\n")
    one_line_error(lambda: cora(root=str(tmp_path), split="random"), "line 1 has 3 fields")
    one_line_error(lambda: cora(), "rpnkit downloads nothing", "graph/cora/node", "{root:")


def node_sets(
    train: list[int], val: list[int], test: list[int]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    as_long = (torch.tensor(part, dtype=torch.long) for part in (train, val, test))
    return next(as_long), next(as_long), next(as_long)


def test_graph_data_checks_its_parts() -> None:
    x, y = torch.ones(4, 2), torch.tensor([0, 1, 0, 1])
    edges = torch.tensor([[0, 1], [1, 2]])
    one_line_error(
        lambda: GraphData("g", x, y[:3], edges, *node_sets([0], [], [1])), "4 class indices"
    )
    one_line_error(lambda: GraphData("g", x, y, edges.t().reshape(1, 4), *node_sets([0], [], [1])),
                   "shape (2, n_edges)")  # fmt: skip
    one_line_error(
        lambda: GraphData("g", x, y, edges, *node_sets([0, 7], [], [1])), "train_idx", "0..3"
    )
    graph = GraphData("g", x, y, edges, *node_sets([0, 1], [2], [3]))
    assert graph.edges == [(0, 1), (1, 2)] and list(graph.nodes) == [0, 1, 2, 3]
