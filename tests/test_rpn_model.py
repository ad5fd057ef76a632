"""Heads, layers and models: tinybig's end-to-end check, fast paths, fusion, chaining, state."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch

from rpnkit import build
from rpnkit.errors import ComponentNotFoundError, ConfigError
from rpnkit.plugins.state import get_registry, reset_registry
from rpnkit.rpn import (
    RPN,
    Expansion,
    LowRankReconciliation,
    ProcessingChain,
    RPNHead,
    RPNLayer,
    TaylorExpansion,
    build_model,
)


def _reference_output(head: RPNHead, x: torch.Tensor) -> torch.Tensor:
    """The head's function computed naively: materialised κ(x) and ψ(w_c), channel mean."""
    weights = head.reconciliation(head.w)
    out = torch.stack([head.expansion(x) @ weights[c].T for c in range(head.channels)]).mean(0)
    if head.bias is not None:
        out = out + head.bias
    return head.output_process(out + head.remainder(x))


def test_tinybig_end_to_end_head() -> None:
    head = RPNHead(
        2,
        2,
        expansion="taylor",
        reconciliation={"name": "lorr", "parameters": {"r": 1, "enable_bias": True}},
        remainder={"name": "linear", "parameters": {"enable_bias": True}},
        channels=2,
        postprocess=["layer_norm"],
    )
    with torch.no_grad():
        steps = torch.arange(1.0, 9.0)
        head.w.copy_(torch.stack([0.1 * steps, -0.05 * steps]))
        head.bias.copy_(torch.tensor([0.1, -0.2]))
        head.remainder.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
        head.remainder.bias.copy_(torch.tensor([0.0, 0.3]))
    x = torch.tensor([[0.5, -0.3], [1.0, 2.0]])
    expected_expansion = [
        [1.68708, -1.24698, 0.77019, -0.69684, -0.69684, 0.18338],
        [-0.99999, 0.0, -0.99999, 0.0, 0.0, 1.99999],
    ]
    torch.testing.assert_close(
        head.expansion(x), torch.tensor(expected_expansion), atol=1e-4, rtol=0
    )
    expected = torch.tensor([[0.57708, 0.60416], [1.15, -1.30]])
    torch.testing.assert_close(head(x), expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("postprocess", [None, ["layer_norm"], ["sigmoid"]])
@pytest.mark.parametrize(
    "reconciliation",
    ["identity", {"name": "low_rank", "parameters": {"r": 2, "enable_bias": True}}, "hm"],
    ids=["identity", "low_rank", "hm"],
)
def test_taylor_head_matches_materialising_computation(
    reconciliation: Any, postprocess: list[str] | None, channels: int
) -> None:
    torch.manual_seed(0)
    head = RPNHead(
        5,
        4,
        expansion="taylor",
        reconciliation=reconciliation,
        remainder="linear",
        channels=channels,
        postprocess=postprocess,
    ).double()
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(6, 5, dtype=torch.float64)
    torch.testing.assert_close(head(x), _reference_output(head, x), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize(
    ("expansion", "reconciliation", "remainder"),
    [
        ("fourier", "lphm", "zero"),
        ("bspline", "dual_lphm", "linear"),
        ("chebyshev", {"name": "hypernet", "parameters": {"l": 6, "h": 5}}, "identity"),
        ({"name": "extended", "parameters": {"expansions": ["taylor", "fourier"]}}, "lorr", "zero"),
    ],
)
def test_other_heads_match_materialising_computation(
    expansion: Any, reconciliation: Any, remainder: str
) -> None:
    torch.manual_seed(0)
    head = RPNHead(4, 4, expansion, reconciliation, remainder, channels=2).double()
    x = torch.rand(5, 4, dtype=torch.float64) * 1.6 - 0.8
    torch.testing.assert_close(head(x), _reference_output(head, x), atol=1e-10, rtol=1e-10)


def test_head_accepts_leading_dimensions_and_output_process() -> None:
    torch.manual_seed(0)
    head = RPNHead(3, 2, expansion="taylor", remainder="linear", output_process=["relu"])
    x = torch.randn(2, 5, 3)
    out = head(x)
    assert out.shape == (2, 5, 2)
    assert (out >= 0).all()
    torch.testing.assert_close(out.reshape(10, 2), head(x.reshape(10, 3)))


def test_head_initialisation_is_xavier_uniform_per_tensor() -> None:
    torch.manual_seed(0)
    head = RPNHead(
        64,
        32,
        expansion="taylor",
        reconciliation={"name": "low_rank", "parameters": {"r": 2, "enable_bias": True}},
        remainder={"name": "linear", "parameters": {"enable_bias": True}},
        channels=2,
    )
    l = head.reconciliation.l  # noqa: E741
    bounds = {
        "w": math.sqrt(6 / (l + 2)),
        "bias": math.sqrt(6 / (1 + 32)),
        "remainder.weight": math.sqrt(6 / (32 + 64)),
        "remainder.bias": math.sqrt(6 / (1 + 32)),
    }
    parameters = dict(head.named_parameters())
    assert set(parameters) == set(bounds)
    for name, bound in bounds.items():
        values = parameters[name].detach()
        assert values.abs().max() <= bound, name
        assert values.abs().max() > 0.8 * bound, name
        assert values.min() < 0 < values.max(), name


def test_initialisation_is_deterministic_under_manual_seed() -> None:
    config = [
        {"m": 3, "n": 4, "expansion": "taylor", "reconciliation": "lorr", "remainder": "linear"}
    ]
    torch.manual_seed(7)
    first = build_model(config).state_dict()
    torch.manual_seed(7)
    second = build_model(config).state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_head_rejects_instances_built_for_other_sizes() -> None:
    with pytest.raises(ConfigError, match="built with D=6, but the head needs D=12"):
        RPNHead(3, 4, expansion="taylor", reconciliation=LowRankReconciliation(n=4, D=6))


def test_head_rejects_postprocess_for_expansion_instance() -> None:
    with pytest.raises(ConfigError, match=r"postprocess=.*already built expansion"):
        RPNHead(2, 2, expansion=TaylorExpansion(), postprocess=["layer_norm"])


def test_identity_remainder_needs_equal_sizes() -> None:
    with pytest.raises(ConfigError, match="identity remainder needs m == n, got m=3, n=2"):
        RPNHead(3, 2, remainder="identity")


def test_head_rejects_wrong_input_width() -> None:
    with pytest.raises(ConfigError, match=r"head input has 4 features.*expected m=3"):
        RPNHead(3, 2)(torch.randn(2, 4))


@pytest.mark.parametrize("fusion", ["mean", "sum", "concat"])
def test_layer_fuses_independent_heads(fusion: str) -> None:
    torch.manual_seed(0)
    layer = RPNLayer(
        3, 2, expansion="taylor", reconciliation="lorr", remainder="linear", width=3, fusion=fusion
    )
    x = torch.randn(4, 3)
    outputs = [head(x) for head in layer.heads]
    expected = {
        "mean": torch.stack(outputs).mean(0),
        "sum": torch.stack(outputs).sum(0),
        "concat": torch.cat(outputs, dim=-1),
    }[fusion]
    torch.testing.assert_close(layer(x), expected)
    assert layer.out_features == expected.shape[-1]
    heads = list(layer.heads)
    assert not torch.equal(heads[0].w, heads[1].w)
    assert heads[0].expansion is not heads[1].expansion


def test_layer_copies_component_instances_per_head() -> None:
    layer = RPNLayer(
        2, 2, reconciliation={"name": "hypernet", "parameters": {"l": 3, "static": False}}, width=2
    )
    first, second = (head.reconciliation for head in layer.heads)
    assert first is not second
    assert first.output_weight.data_ptr() != second.output_weight.data_ptr()


def test_unknown_fusion_suggests_close_match() -> None:
    with pytest.raises(
        ComponentNotFoundError, match=r"unknown fusion 'man' \(did you mean .*'mean'"
    ):
        RPNLayer(2, 2, width=2, fusion="man")


def test_model_chains_layers_and_accepts_device() -> None:
    torch.manual_seed(0)
    model = build_model(
        [
            {"m": 6, "n": 4, "expansion": "taylor", "reconciliation": "lorr", "width": 2},
            {"m": 4, "n": 3, "expansion": "bspline", "remainder": "linear"},
        ]
    )
    x = torch.randn(5, 6)
    out = model(x, device="cpu")
    layers = list(model.layers)
    torch.testing.assert_close(out, layers[1](layers[0](x)))
    assert out.shape == (5, 3)
    assert (model.in_features, model.out_features) == (6, 3)


def test_model_builds_from_registry_config() -> None:
    layers = [{"m": 4, "n": 2, "expansion": "chebyshev", "remainder": "linear"}]
    model = build("model", {"name": "rpn", "parameters": {"layers": layers}})
    assert isinstance(model, RPN)
    assert model(torch.randn(3, 4)).shape == (3, 2)


def test_mismatched_layer_sizes_name_both_layers() -> None:
    with pytest.raises(
        ConfigError, match=r"^model.layers\[1\].m=32 does not match model.layers\[0\].n=64$"
    ):
        build_model([{"m": 8, "n": 64}, {"m": 32, "n": 2}])


def test_concat_output_size_is_used_for_chaining() -> None:
    message = (
        r"model.layers\[1\].m=4 does not match model.layers\[0\] output size 8 \(n=4, width=2, "
        r"fusion ConcatenationFusion\)"
    )
    with pytest.raises(ConfigError, match=message):
        build_model([{"m": 3, "n": 4, "width": 2, "fusion": "concat"}, {"m": 4, "n": 1}])
    model = build_model([{"m": 3, "n": 4, "width": 2, "fusion": "concat"}, {"m": 8, "n": 1}])
    assert model(torch.randn(2, 3)).shape == (2, 1)


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            [{"m": 2, "n": 2, "expanson": "taylor"}],
            r"unknown key 'expanson'.*did you mean 'expansion'",
        ),
        ([{"m": 2}], r"model.layers\[0\] is missing the required key\(s\) \['n'\]"),
        ([{"m": 2, "n": 0}], r"model.layers\[0\].n=0 is not valid"),
        ([], r"model.layers is empty"),
        ("taylor", r"expected a list of layer configs"),
    ],
)
def test_malformed_layer_configs_raise_config_error(layers: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_model(layers)


def test_unknown_component_names_the_layer_and_suggests() -> None:
    message = r"model.layers\[1\]: unknown reconciliation 'lowrank' \(did you mean 'low_rank'\?\)"
    with pytest.raises(ComponentNotFoundError, match=message):
        build_model([{"m": 2, "n": 2}, {"m": 2, "n": 2, "reconciliation": "lowrank"}])


class _Square(Expansion):
    """κ(x) = x², a stand-in for a third-party expansion."""

    def calculate_D(self, m: int) -> int:
        return m

    def expand(self, x: torch.Tensor) -> torch.Tensor:
        return x * x


@pytest.fixture
def square_expansion() -> Iterator[str]:
    get_registry().register("expansion", "test_square", _Square, summary="x squared")
    yield "test_square"
    reset_registry()


def test_third_party_expansion_works_by_name(square_expansion: str) -> None:
    torch.manual_seed(0)
    model = build_model([{"m": 3, "n": 2, "expansion": square_expansion}])
    head = model.layers[0].heads[0]
    x = torch.randn(4, 3)
    assert isinstance(head.expansion, _Square)
    torch.testing.assert_close(model(x), (x * x) @ head.w.view(2, 3).T)


def test_state_dict_round_trip_keeps_fixed_random_tensors() -> None:
    config = [
        {
            "m": 3,
            "n": 2,
            "expansion": "gaussian_rbf",
            "reconciliation": {"name": "hypernet", "parameters": {"l": 4, "h": 3}},
        }
    ]
    torch.manual_seed(0)
    source = build_model(config)
    torch.manual_seed(1)
    target = build_model(config)
    x = torch.randn(5, 3)
    assert not torch.allclose(source(x), target(x))
    state = source.state_dict()
    assert any(key.endswith("reconciliation.output_weight") for key in state)
    assert any(key.endswith("expansion.centres") for key in state)
    target.load_state_dict(state)
    torch.testing.assert_close(target(x), source(x))


def test_gradients_reach_every_parameter() -> None:
    torch.manual_seed(0)
    model = build_model(
        [
            {
                "m": 4,
                "n": 3,
                "expansion": "taylor",
                "reconciliation": {"name": "lorr", "parameters": {"enable_bias": True}},
                "remainder": "linear",
                "channels": 2,
                "postprocess": ["layer_norm"],
            },
            {"m": 3, "n": 2, "expansion": "fourier", "reconciliation": "dual_lphm"},
        ]
    )
    model(torch.randn(8, 4)).square().mean().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all() and parameter.grad.abs().sum() > 0, name


def test_model_runs_in_float64_after_double() -> None:
    torch.manual_seed(0)
    model = build_model([{"m": 3, "n": 2, "expansion": "bspline", "remainder": "linear"}]).double()
    out = model(torch.randn(4, 3, dtype=torch.float64))
    assert out.dtype == torch.float64


@pytest.mark.parametrize("step", ["dropout", torch.nn.functional.dropout, torch.nn.Dropout(0.5)])
def test_dropout_output_process_follows_the_training_mode(step: Any) -> None:
    torch.manual_seed(0)
    model = build_model([{"m": 8, "n": 64, "output_process": [step]}])
    x = torch.randn(16, 8)
    model.train()
    trained = model(x)
    assert (trained == 0).float().mean() > 0.3  # about half the entries are dropped
    model.eval()
    without = build_model([{"m": 8, "n": 64}])
    without.load_state_dict(model.state_dict())
    torch.testing.assert_close(model(x), without(x))
    torch.testing.assert_close(model(x), model(x))


def test_rrelu_step_is_random_only_in_training() -> None:
    chain = ProcessingChain(["rrelu"])
    x = -torch.ones(1000)
    chain.eval()
    torch.testing.assert_close(chain(x), x * (1 / 8 + 1 / 3) / 2)
    chain.train()
    assert chain(x).std() > 0
