"""Chain and graph interdependence functions: sparse propagation against the dense definitions
and tinybig 0.2.1."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.topological import TopologicalInterdependence

LINKS = [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 6), (6, 3), (0, 3), (2, 2), (1, 2)]
CHAINS = ["chain", "multihop_chain", "inverse_approx_multihop_chain",
          "exponential_approx_multihop_chain"]  # fmt: skip
GRAPHS = ["graph", "multihop_graph", "pagerank_multihop_graph"]


def build(name: str, **params: Any) -> Any:
    return rpnkit.build("interdependence", name, **params)


def apply_dense(obj: TopologicalInterdependence, x: torch.Tensor) -> torch.Tensor:
    A = obj.calculate_A().to(x.dtype)
    return A.T @ x if obj.is_instance else x @ A


def forbid_dense(obj: TopologicalInterdependence, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> torch.Tensor:
        raise AssertionError("forward formed the dense adjacency")

    monkeypatch.setattr(obj.adjacency, "dense", boom)


def test_directed_chain_by_hand() -> None:
    obj = build("chain", chain_length=4, b=4, m=2)
    x = torch.arange(8.0).view(4, 2)
    expected = x.clone()
    expected[1:] += x[:-1]  # self loop + the link t-1 -> t
    assert torch.equal(obj(x), expected)
    assert obj.calculate_A().tolist() == [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]]


def test_directed_inverse_is_a_cumulative_sum_and_exp_a_series_of_shifts() -> None:
    x = torch.randn(6, 3)
    inverse = build("inverse_approx_multihop_chain", chain_length=6, normalization=True)
    assert torch.allclose(inverse(x), torch.cumsum(x, 0))
    assert torch.equal(inverse.calculate_A(), torch.ones(6, 6).triu())
    exponential = build("exponential_approx_multihop_chain", chain_length=6)
    shifted = torch.stack([
        torch.cat([torch.zeros(k, 3), x[: 6 - k]]) / torch.tensor(float(k)).lgamma().exp() / k
        if k else x
        for k in range(6)
    ]).sum(0)  # fmt: skip
    assert torch.allclose(exponential(x), shifted, atol=1e-6)
    assert exponential.terms == 5


@pytest.mark.parametrize("name", CHAINS)
@pytest.mark.parametrize("bi_directional", [False, True])
@pytest.mark.parametrize("normalization_mode", [None, "row", "column", "row_column"])
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_chain_propagation_equals_the_dense_matrix(
    name: str, bi_directional: bool, normalization_mode: str | None, kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    extra = {"h": 3, "accumulative": bi_directional} if name == "multihop_chain" else {}
    obj = build(
        name, chain_length=7, bi_directional=bi_directional, interdependence_type=kind,
        normalization=normalization_mode is not None,
        normalization_mode=normalization_mode or "row", self_scaling=2.0, **extra,
    )  # fmt: skip
    x = torch.randn(7, 3, dtype=torch.float64)
    x = x if kind == "instance" else x.T.contiguous()
    expected = apply_dense(obj, x)
    forbid_dense(obj, monkeypatch)
    assert torch.allclose(obj(x), expected, atol=1e-6)


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize("normalization_mode", ["row", "column"])
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_graph_propagation_equals_the_dense_matrix(
    name: str, directed: bool, normalization_mode: str, kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    extra = {"h": 3, "accumulative": True} if name == "multihop_graph" else {}
    obj = build(
        name, nodes=list(range(7)), links=LINKS, directed=directed, interdependence_type=kind,
        normalization=True, normalization_mode=normalization_mode, self_dependence=True,
        **extra,
    )  # fmt: skip
    x = torch.randn(7, 4, dtype=torch.float64)
    x = x if kind == "instance" else x.T.contiguous()
    expected = apply_dense(obj, x)
    forbid_dense(obj, monkeypatch)
    assert torch.allclose(obj(x), expected, atol=1e-6)


def test_pagerank_relative_error_against_the_dense_inverse() -> None:
    generator = torch.Generator().manual_seed(0)
    n = 60
    links = torch.randint(0, n, (2, 240), generator=generator)
    obj = build(
        "pagerank_multihop_graph", b=n, m=5, links=links, directed=False,
        normalization=True, normalization_mode="column",
    )  # fmt: skip
    adjacency = obj.adjacency.dense().double()
    exact = 0.15 * torch.linalg.inv(torch.eye(n, dtype=torch.float64) - 0.85 * adjacency)
    x = torch.randn(n, 5, generator=generator)
    error = (obj(x).double() - exact.T @ x.double()).norm() / (exact.T @ x.double()).norm()
    assert error <= 1e-5
    assert 0 < obj.steps < 1000


PATH = [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_pagerank_whose_series_diverges_is_solved_densely(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an undirected path: ρ(Â) = 2cos(π/5) ≈ 1.62, so 0.85·ρ(Â) > 1 and the series diverges
    with pytest.warns(UserWarning, match="dense-solved") as caught:
        obj = build(
            "pagerank_multihop_graph", nodes=4, links=PATH, directed=False,
            interdependence_type=kind,
        )  # fmt: skip
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert obj.dense_solve and obj.steps is None
    adjacency = obj.adjacency.dense().double()
    exact = 0.15 * torch.linalg.inv(torch.eye(4, dtype=torch.float64) - 0.85 * adjacency)
    assert (exact < 0).any()  # no diffusion, but the matrix tinybig returns
    assert torch.allclose(obj.calculate_A().double(), exact, atol=1e-5)
    x = torch.randn(4, 3, dtype=torch.float64)
    x = x if kind == "instance" else x.T.contiguous()
    expected = exact.T @ x if kind == "instance" else x @ exact
    forbid_dense(obj, monkeypatch)
    assert torch.allclose(obj(x), expected, atol=1e-10)
    assert torch.allclose(obj(x.float()), expected.float(), atol=1e-5)  # factors per dtype


def test_pagerank_dense_solve_carries_gradients() -> None:
    with pytest.warns(UserWarning, match="dense-solved"):
        obj = build("pagerank_multihop_graph", nodes=4, links=PATH, directed=False)
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    obj(x).sum().backward()
    assert x.grad is not None
    assert torch.allclose(x.grad, obj.calculate_A().double() @ torch.ones_like(x), atol=1e-5)


def test_pagerank_convergent_series_is_propagated_without_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = build(
            "pagerank_multihop_graph", nodes=4, links=PATH, directed=False, normalization=True
        )
    assert not obj.dense_solve and obj.steps is not None


def test_pagerank_with_a_singular_system_is_a_config_error() -> None:
    # a triangle: Â has eigenvalue 2, so I − 0.5·Â is singular at c = 0.5
    with pytest.raises(ConfigError) as caught:
        build("pagerank_multihop_graph", nodes=3, links=[(0, 1), (1, 2), (2, 0)],
              directed=False, c=0.5)  # fmt: skip
    message = str(caught.value)
    assert "c=0.5" in message and "singular" in message and "\n" not in message


def test_links_as_pairs_tensor_and_ids_agree() -> None:
    pairs = build("graph", nodes=4, links=[(0, 1), (1, 3), (3, 0)], normalization=True)
    table = build("graph", b=4, links=torch.tensor([[0, 1, 3], [1, 3, 0]]), normalization=True)
    named = build(
        "graph", nodes=["a", "b", "c", "d"], links=[("a", "b"), ("b", "d"), ("d", "a")],
        normalization=True,
    )  # fmt: skip
    x = torch.randn(4, 2)
    assert torch.equal(pairs(x), table(x)) and torch.equal(pairs(x), named(x))
    assert named.node_id_index_map == {"a": 0, "b": 1, "c": 2, "d": 3}


@pytest.mark.parametrize(
    ("links", "node"),
    [(torch.tensor([[0, 1, 2], [1, 4, 0]]), "node 4"),
     (torch.tensor([[0, -1], [1, 2]]), "node -1")],
)  # fmt: skip
def test_tensor_links_outside_the_nodes_are_one_line(links: torch.Tensor, node: str) -> None:
    with pytest.raises(ConfigError, match=f"names {node}, which is not in nodes") as caught:
        build("graph", nodes=3, links=links)
    assert "\n" not in str(caught.value)


def test_tensor_links_map_as_the_pairs_do() -> None:
    """Integer tensor links between ids 0…n−1 are mapped without the dictionary; the same
    matrix as the pairs (duplicates, a self-loop link, self-dependence on top of it)."""
    table = torch.tensor([link for link in LINKS]).T
    for ids in (7, list(range(7))):
        for directed in (True, False):
            params = dict(directed=directed, self_dependence=True, normalization=True)
            fast = build("graph", nodes=ids, links=table, **params)
            slow = build("graph", nodes=ids, links=LINKS, **params)
            assert torch.equal(fast.calculate_A(), slow.calculate_A())
    numpy_links = build("graph", nodes=7, links=table.numpy())
    assert torch.equal(
        numpy_links.calculate_A(), build("graph", nodes=7, links=LINKS).calculate_A()
    )


def test_adjacency_matrix_by_hand() -> None:
    """A link counts once (duplicates too); self_scaling adds on top of a self-loop link."""
    from rpnkit.rpn.interdependence.topological import Adjacency

    src, dst = torch.tensor([0, 0, 1, 2, 2]), torch.tensor([1, 1, 2, 2, 0])
    adjacency = Adjacency(3, src, dst, directed=True, self_scaling=0.5)
    expected = torch.tensor([[0.5, 1.0, 0.0], [0.0, 0.5, 1.0], [1.0, 0.0, 1.5]])
    assert torch.equal(adjacency.dense(), expected)
    assert adjacency.nnz == 6
    plain = Adjacency(3, src, dst, directed=False)
    assert torch.equal(plain.dense(), torch.tensor([[0.0, 1, 1], [1, 0, 1], [1, 1, 1]]))


def test_gradient_flows_through_propagation() -> None:
    obj = build("multihop_graph", nodes=7, links=LINKS, h=2, normalization=True)
    x = torch.randn(7, 3, requires_grad=True)
    obj(x).sum().backward()
    assert x.grad is not None
    expected = obj.calculate_A() @ torch.ones(7, 3)
    assert torch.allclose(x.grad, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("graph", {"nodes": [0, 1, 2], "links": [(0, 1), (1, 5)]}, "node 5"),
        ("graph", {"nodes": 3, "links": [(0, 1)], "b": 4}, "b=4"),
        ("graph", {"nodes": [0, 0, 1], "links": [(0, 1)]}, "nodes=[0, 0, 1]"),
        ("graph", {"nodes": 3, "links": [(0, 1)], "normalization_mode": "col"},
         "normalization_mode='col'"),
        ("graph", {"nodes": 3}, "links=None"),
        ("multihop_graph", {"nodes": 3, "links": [(0, 1)], "h": 0}, "h=0"),
        ("pagerank_multihop_graph", {"nodes": 3, "links": [(0, 1)], "c": 1.5}, "c=1.5"),
        ("chain", {"chain_length": 0}, "chain_length=0"),
        ("chain", {}, "chain_length=None"),
        ("chain", {"chain_length": 5, "m": 4, "interdependence_type": "attribute"}, "m=4"),
    ],
)  # fmt: skip
def test_bad_parameters_raise_one_line_errors(
    name: str, params: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build(name, **params)
    message = str(caught.value)
    assert field in message and "\n" not in message


def test_data_with_the_wrong_node_count_is_a_config_error() -> None:
    obj = build("chain", chain_length=5)
    with pytest.raises(ConfigError, match="expected 5 rows"):
        obj(torch.randn(4, 2))


# -- tinybig 0.2.1 ------------------------------------------------------------------------


@pytest.mark.parametrize("name", CHAINS)
@pytest.mark.parametrize("bi_directional", [False, True])
@pytest.mark.parametrize("normalization_mode", [None, "row", "column", "row_column"])
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_chains_give_tinybig_numbers(
    tinybig: Any, name: str, bi_directional: bool, normalization_mode: str | None, kind: str
) -> None:
    extra = {"h": 3, "accumulative": bi_directional} if name == "multihop_chain" else {}
    params = dict(
        chain_length=6, bi_directional=bi_directional, interdependence_type=kind,
        normalization=normalization_mode is not None,
        normalization_mode=normalization_mode or "row", self_scaling=2.0, **extra,
    )  # fmt: skip
    b, m = (6, 3) if kind == "instance" else (3, 6)
    theirs = getattr(tinybig.interdependence, f"{name}_interdependence")(b=b, m=m, **params)
    ours = build(f"{name}_interdependence", b=b, m=m, **params)
    x = torch.randn(b, m)
    assert torch.allclose(ours.calculate_A(), theirs.calculate_A().to_dense(), atol=1e-6)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("directed", [True, False])
@pytest.mark.parametrize(
    ("normalization", "normalization_mode", "self_dependence"),
    [
        (False, "row", False),
        (True, "row", True),
        (True, "column", True),
        (True, "row_column", False),
    ],
)
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_graphs_give_tinybig_numbers(
    tinybig: Any, name: str, directed: bool, normalization: bool, normalization_mode: str,
    self_dependence: bool, kind: str,
) -> None:  # fmt: skip
    extra = {"h": 3, "accumulative": True} if name == "multihop_graph" else {}
    params = dict(
        nodes=list(range(7)), links=LINKS, directed=directed, interdependence_type=kind,
        normalization=normalization, normalization_mode=normalization_mode,
        self_dependence=self_dependence, **extra,
    )  # fmt: skip
    b, m = (7, 3) if kind == "instance" else (3, 7)
    theirs = getattr(tinybig.interdependence, f"{name}_interdependence")(b=b, m=m, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the divergent PageRank says it is dense-solved
        ours = build(name, b=b, m=m, **params)
    x = torch.randn(b, m)
    assert torch.allclose(ours.calculate_A(), theirs.calculate_A().to_dense(), atol=1e-5)
    assert torch.allclose(ours(x), theirs(x), atol=1e-5)


# (links, directed, dense-solved at c = 0.15 without normalisation)
DEFAULT_CASES = [
    (LINKS, False, True),  # ρ(Â) ≈ 2.61
    (LINKS, True, True),  # ρ(Â) ≈ 1.47 (a self-loop on a cycle)
    ([(0, 2), (1, 2), (2, 3), (2, 4), (4, 5), (4, 6)], True, False),  # a DAG: Â nilpotent
]


@pytest.mark.parametrize(("links", "directed", "dense"), DEFAULT_CASES)
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_pagerank_at_tinybig_defaults_gives_tinybig_numbers(
    tinybig: Any, links: list[tuple[int, int]], directed: bool, dense: bool, kind: str
) -> None:
    structure = tinybig.koala.topology.graph(nodes=list(range(7)), links=links, directed=directed)
    b, m = (7, 3) if kind == "instance" else (3, 7)
    theirs = tinybig.interdependence.pagerank_multihop_graph_interdependence(
        b=b, m=m, graph=structure, interdependence_type=kind
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = build(
            "pagerank_multihop_graph_interdependence", b=b, m=m, graph=structure,
            interdependence_type=kind,
        )  # fmt: skip
    assert ours.dense_solve == dense == bool(caught)
    x = torch.randn(b, m)
    assert torch.allclose(ours.calculate_A(), theirs.calculate_A().to_dense(), atol=1e-5)
    assert torch.allclose(ours(x), theirs(x), atol=1e-4)
