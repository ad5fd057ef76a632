"""RPN 2 graph models: gcn and gat against tinybig 0.2.1, edge attention against its dense definition."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.attention.bilinear import masked_column_softmax
from rpnkit.rpn.graph import EdgeBilinearInterdependence, graph_parts, node_sets, resolve_graph
from rpnkit.rpn.presets.graph import gat, gcn

LINKS = [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 0), (0, 3), (6, 2), (6, 5)]
NODES = 7


def _quiet(build: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):  # tinybig prints while it builds
        return build()


def _params(model: torch.nn.Module) -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in model.parameters()]


def _dense_gat(graph_A: torch.Tensor, x: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """The definition: column softmax over the non-zeros of Â ⊙ X W Xᵀ."""
    return masked_column_softmax(graph_A * (x @ W @ x.T))


@pytest.mark.parametrize(
    ("options", "count"),
    [({}, 5 * 4 + 4 * 3), ({"with_lorr": True, "r": 2, "with_residual": True,
                            "enable_bias": True}, 71)],
)  # fmt: skip
def test_gcn_parameters_and_outputs_match_tinybig(tinybig: Any, options: dict, count: int) -> None:
    graph = _quiet(lambda: tinybig.koala.topology.graph(
        nodes=list(range(NODES)), links=LINKS, directed=False))  # fmt: skip
    reference = _quiet(lambda: tinybig.model.gcn(dims=[5, 4, 3], graph=graph, **options))
    ours = gcn([5, 4, 3], nodes=NODES, links=LINKS, **options)
    assert sum(p.numel() for p in ours.parameters()) == count
    assert sum(p.numel() for p in reference.parameters()) == count
    assert sorted(_params(ours)) == sorted(_params(reference))
    # same weights -> same node outputs (log-probabilities)
    names = {"w": "w", "b": "bias", "w_remainder": "remainder.weight"}
    state = {}
    for key, value in reference.state_dict().items():
        layer, rest = key.split(".heads.0.")
        state[f"{layer}.heads.0.{names[rest]}"] = value
    ours.load_state_dict(state)
    x = torch.randn(NODES, 5)
    with contextlib.redirect_stdout(io.StringIO()):
        expected = reference(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "options",
    [{}, {"with_lorr_interdependence": True, "r_interdependence": 2},
     {"with_dual_lphm_interdependence": True, "r_interdependence": 1}],
)  # fmt: skip
def test_gat_parameters_and_outputs_match_tinybig(tinybig: Any, options: dict) -> None:
    graph = _quiet(lambda: tinybig.koala.topology.graph(
        nodes=list(range(NODES)), links=LINKS, directed=False))  # fmt: skip
    reference = _quiet(lambda: tinybig.model.gat(dims=[4, 6, 2], graph=graph, **options))
    ours = gat([4, 6, 2], nodes=NODES, links=LINKS, **options)
    assert sorted(_params(ours)) == sorted(_params(reference))
    names = {"w": "w", "w_instance_interdependence": "w_instance_interdependence"}
    state = {}
    for key, value in reference.state_dict().items():
        layer, rest = key.split(".heads.0.")
        state[f"{layer}.heads.0.{names[rest]}"] = value
    ours.load_state_dict(state)
    x = torch.randn(NODES, 4)
    with contextlib.redirect_stdout(io.StringIO()):
        expected = reference(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("bilinear", ["identity", "low_rank", "dual_lphm"])
@pytest.mark.parametrize("normalization", [True, False])
def test_edge_attention_equals_its_dense_definition(bilinear: str, normalization: bool) -> None:
    torch.manual_seed(0)
    f = EdgeBilinearInterdependence(
        m=4, nodes=NODES, links=LINKS, bilinear=bilinear, r=2, normalization=normalization
    )
    x, z = torch.randn(NODES, 4), torch.randn(NODES, 3)
    w = torch.randn(f.calculate_l())
    W = f.scores.calculate_W(w)
    expected = _dense_gat(f.graph.dense_A(), x, W)
    torch.testing.assert_close(f.calculate_A(x.T, w), expected)
    torch.testing.assert_close(f(x, w, kappa_x=z), expected.T @ z)
    assert torch.allclose(expected.sum(0), torch.ones(NODES))  # every column a distribution


def test_edge_attention_is_sparse_and_differentiable() -> None:
    f = EdgeBilinearInterdependence(m=3, nodes=NODES, links=LINKS)
    assert f.calculate_l() == 9
    x = torch.randn(NODES, 3, requires_grad=True)
    w = torch.randn(9, requires_grad=True)
    f(x, w).square().sum().backward()
    assert x.grad is not None and w.grad is not None and torch.isfinite(w.grad).all()
    # an edge whose score is exactly zero is left out of its softmax (tinybig's mask_zeros)
    zero = f.edge_weights(torch.zeros(NODES, 3), w)
    assert torch.equal(zero, torch.zeros_like(zero))


def test_multihop_attention_uses_the_dense_product() -> None:
    f = EdgeBilinearInterdependence(m=3, nodes=NODES, links=LINKS, with_multihop=True, h=2)
    x, w = torch.randn(NODES, 3), torch.randn(9)
    expected = _dense_gat(f.graph.dense_A(), x, f.scores.calculate_W(w))
    torch.testing.assert_close(f(x, w), expected.T @ x)


def test_gcn_equals_mean_over_in_neighbours_and_self() -> None:
    model = gcn([3, 2], nodes=NODES, links=LINKS, with_softmax=False, with_relu=False)
    head = model.layers[0].heads[0]
    x = torch.randn(NODES, 3)
    A = torch.eye(NODES)
    for a, b in LINKS:
        A[a, b] = A[b, a] = 1.0
    mean = (A / A.sum(0, keepdim=True)).T @ x
    W = head.w.view(2, 3)
    torch.testing.assert_close(model(x), mean @ W.T)


def test_graph_models_from_registry_names_and_tinybig_paths() -> None:
    data = rpnkit.build("dataset", "karate_club")
    for name in ("gcn", "tinybig.model.gcn", "tinybig.model.rpn_gcn", "rpn_gat"):
        model = rpnkit.build("model", name, dims=[34, 4, 2], graph={"name": "karate_club"})
        assert model(data.graph.x).shape == (34, 2)
    from rpnkit.plugins.state import get_registry

    names = set(get_registry().names("model"))
    assert {"gcn", "gat", "rnn", "regression_rnn", "transformer"} <= names
    assert {"graph_interdependence", "graph_bilinear_interdependence"} <= set(
        get_registry().names("layer")
    )


def test_graph_sources_and_node_sets() -> None:
    data = rpnkit.build("dataset", "karate_club")
    parts = graph_parts(data, None, None, False, None, "gcn")
    assert parts["nodes"] == 34 and parts["links"].shape[0] == 2
    assert set(node_sets(data)) >= {"train_idx", "test_idx"}
    assert node_sets(torch.zeros(2)) == {}
    spec = {"name": "gcn", "parameters": {"dims": [34, 2], "graph": "auto"}}
    resolved = resolve_graph(spec, {"name": "karate_club", "parameters": {}})
    assert resolved["parameters"]["graph"] == {"name": "karate_club", "parameters": {}}
    assert spec["parameters"]["graph"] == "auto"  # the input is unchanged


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({"graph": "auto"}, "graph='auto' takes the run's dataset"),
     ({"graph_file_path": "g.pkl"}, "does not unpickle"),
     ({}, "graph=None and links=None"),
     ({"graph": {"name": "iris"}}, "holds no graph")],
)  # fmt: skip
def test_graph_mistakes_are_one_line(kwargs: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words) as caught:
        gcn([4, 2], **kwargs)
    assert "\n" not in str(caught.value)


def test_wrong_node_count_is_one_line() -> None:
    model = gat([3, 2], nodes=NODES, links=LINKS)
    with pytest.raises(ConfigError, match="expected the whole graph, 7 rows") as caught:
        model(torch.randn(5, 3))
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("dim", [0, 1])
def test_sparse_propagation_and_its_gradient_equal_the_dense_product(
    dtype: torch.dtype, dim: int
) -> None:
    from rpnkit.rpn.interdependence.topological import Adjacency

    links = torch.tensor([[0, 1, 2, 2, 4, 1], [1, 2, 4, 0, 3, 1]])
    adjacency = Adjacency(5, links[0], links[1], directed=False, self_scaling=2.0,
                          normalization=True, normalization_mode="row_column")  # fmt: skip
    dense = adjacency.dense().to(dtype)
    z = (
        torch.randn(5, 3, dtype=dtype, requires_grad=True)
        if dim == 0
        else torch.randn(3, 5, dtype=dtype, requires_grad=True)
    )
    grad = torch.randn(5, 3, dtype=dtype) if dim == 0 else torch.randn(3, 5, dtype=dtype)
    out = adjacency.propagate(z, dim)
    expected = dense.T @ z if dim == 0 else z @ dense
    torch.testing.assert_close(out, expected)
    (got,) = torch.autograd.grad(out, z, grad)
    (want,) = torch.autograd.grad(expected, z, grad)
    torch.testing.assert_close(got, want)


def test_gcn_with_its_sparse_copies_deep_copies_and_trains() -> None:
    import copy

    data = rpnkit.build("dataset", "karate_club")
    model = gcn([34, 4, 2], graph=data)
    x = data.graph.x
    with torch.inference_mode():
        model(x)  # the CSR copies are built here, inside inference mode
    twin = copy.deepcopy(model)  # the copies are left out of the state and rebuilt
    torch.testing.assert_close(twin(x), model(x))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    torch.testing.assert_close(model.double()(x.double()), twin.double()(x.double()))


@pytest.mark.parametrize("name", ["log_softmax", "softmax", "softmin"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(2000, 4), (700, 15), (300, 2), (2000, 16), (10, 4)])
def test_softmax_output_step_equals_the_last_dim_reduction(
    name: str, dtype: torch.dtype, shape: tuple[int, int]
) -> None:
    """A graph model's log-softmax over few classes is computed across the transposed rows
    (faster on CPU); values and gradients equal torch's reduction over the last dimension."""
    from rpnkit.rpn.processing import ProcessingChain

    step = ProcessingChain([name])
    reference = getattr(torch, name) if name != "softmin" else torch.nn.functional.softmin
    x = (torch.randn(*shape, dtype=dtype) * 4).requires_grad_()
    grad = torch.randn(*shape, dtype=dtype)
    out, want = step(x), reference(x, dim=-1)
    eps = torch.finfo(dtype).eps  # summation order: a few units in the last place at most
    torch.testing.assert_close(out, want, rtol=4 * eps, atol=8 * eps)
    (got,) = torch.autograd.grad(out, x, grad)
    (expected,) = torch.autograd.grad(want, x, grad)
    torch.testing.assert_close(got, expected, rtol=4 * eps, atol=16 * eps)
    assert out.shape == x.shape
    transposed = shape[1] < 16 and shape[0] * shape[1] >= 4096
    assert out.is_contiguous() is not transposed  # the fast path is the one tested


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_edge_products_and_their_gradients_equal_the_gathered_definition(
    dtype: torch.dtype,
) -> None:
    """SDDMM and weighted propagation on the edges (CSR kernels for float32/float64, the
    gather way otherwise) against gather / multiply / scatter-add."""
    from rpnkit.rpn.graph.edge_ops import edge_dot, edge_propagate
    from rpnkit.rpn.interdependence.topological import Adjacency

    links = torch.tensor(LINKS).T
    adjacency = Adjacency(NODES, links[0], links[1], directed=False, self_scaling=1.0)
    src, dst = adjacency.src, adjacency.dst
    source, target, data = (torch.randn(NODES, 5, dtype=dtype, requires_grad=True) for _ in "std")
    weights = torch.randn(adjacency.nnz, dtype=dtype, requires_grad=True)
    scores = edge_dot(adjacency, source, target)
    mixed = edge_propagate(adjacency, weights, data)
    expected_scores = (source[src] * target[dst]).sum(1)
    expected_mixed = torch.zeros_like(data).index_add(0, dst, data[src] * weights[:, None])
    tolerance = {"rtol": 2e-2, "atol": 5e-2} if dtype == torch.bfloat16 else {}
    torch.testing.assert_close(scores, expected_scores, **tolerance)
    torch.testing.assert_close(mixed, expected_mixed, **tolerance)
    g_scores, g_mixed = torch.randn_like(scores), torch.randn_like(mixed)
    inputs = [source, target, weights, data]
    got = torch.autograd.grad([scores, mixed], inputs, [g_scores, g_mixed])
    want = torch.autograd.grad([expected_scores, expected_mixed], inputs, [g_scores, g_mixed])
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, **tolerance)


@pytest.mark.parametrize("bilinear", ["identity", "low_rank"])
def test_edge_attention_gradients_equal_the_dense_definition(bilinear: str) -> None:
    torch.manual_seed(1)
    f = EdgeBilinearInterdependence(m=4, nodes=NODES, links=LINKS, bilinear=bilinear, r=2)
    x = torch.randn(NODES, 4, dtype=torch.float64, requires_grad=True)
    z = torch.randn(NODES, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(f.calculate_l(), dtype=torch.float64, requires_grad=True)
    f = f.double()
    out = f(x, w, kappa_x=z)
    expected = _dense_gat(f.graph.dense_A(), x, f.scores.calculate_W(w)).T @ z
    torch.testing.assert_close(out, expected)
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, [x, z, w], grad)
    want = torch.autograd.grad(expected, [x, z, w], grad)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)
