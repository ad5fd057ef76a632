"""Fusions, and the head and layer options around them, against tinybig 0.2.1 itself."""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor

from rpnkit import build
from rpnkit.errors import ComponentNotFoundError, ConfigError
from rpnkit.plugins.state import get_registry, reset_registry
from rpnkit.rpn import (
    INIT_METHODS,
    Fusion,
    LinearRemainder,
    MeanFusion,
    RPNHead,
    RPNLayer,
    build_model,
)

# (rpnkit name, tinybig class in tinybig.fusion.*, parameters), inputs of sizes [4, 4, 4]
FUSIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("mean", "metric_fusion.mean_fusion", {}),
    ("sum", "basic_fusion.summation_fusion", {}),
    ("concatenation", "concatenation_fusion.concatenation_fusion", {}),
    ("weighted_summation", "basic_fusion.weighted_summation_fusion", {"weights": [0.2, -1, 3]}),
    ("parameterized_weighted_summation", "basic_fusion.parameterized_weighted_summation_fusion", {}),
    ("max", "metric_fusion.max_fusion", {}),
    ("min", "metric_fusion.min_fusion", {}),
    ("prod", "metric_fusion.prod_fusion", {}),
    ("median", "metric_fusion.median_fusion", {}),
    ("l1_norm", "metric_fusion.l1_norm_fusion", {}),
    ("l2_norm", "metric_fusion.l2_norm_fusion", {}),
    ("parameterized_concatenation",
     "parameterized_concatenation_fusion.parameterized_concatenation_fusion", {"n": 3}),
    ("lowrank_parameterized_concatenation",
     "parameterized_concatenation_fusion.lowrank_parameterized_concatenation_fusion",
     {"n": 3, "r": 2}),
    ("hm_parameterized_concatenation",
     "parameterized_concatenation_fusion.hm_parameterized_concatenation_fusion",
     {"n": 4, "p": 2, "q": 3}),
    ("lphm_parameterized_concatenation",
     "parameterized_concatenation_fusion.lphm_parameterized_concatenation_fusion",
     {"n": 4, "p": 2, "q": 3, "r": 1}),
    ("dual_lphm_parameterized_concatenation",
     "parameterized_concatenation_fusion.dual_lphm_parameterized_concatenation_fusion",
     {"n": 4, "p": 2, "r": 2}),
]  # fmt: skip
DIMS = [4, 4, 4]


def _tinybig_class(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(f"tinybig.fusion.{module}"), name)


def _tinybig_fusion(path: str, parameters: dict[str, Any], dims: list[int]) -> Any:
    options = dict(parameters)
    if "weights" in options:
        options["weights"] = torch.tensor(options["weights"], dtype=torch.float64)
    return _tinybig_class(path)(dims=dims, **options)


def _inputs(dims: list[int], batch: int = 5, seed: int = 0) -> list[Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, d, generator=generator, dtype=torch.float64) for d in dims]


@pytest.mark.parametrize(("name", "path", "parameters"), FUSIONS, ids=[f[0] for f in FUSIONS])
def test_fusion_matches_tinybig(
    tinybig: Any, name: str, path: str, parameters: dict[str, Any]
) -> None:
    reference = _tinybig_fusion(path, parameters, DIMS)
    fusion = build("fusion", name, dims=DIMS, **parameters).double()
    assert isinstance(fusion, Fusion)
    assert (fusion.n, fusion.l) == (reference.calculate_n(), reference.calculate_l())
    w = torch.randn(1, fusion.l, dtype=torch.float64) if fusion.l else None
    # tinybig's weighted summation asserts one row per input, so it takes w flattened
    tinybig_w = w.reshape(-1) if name == "parameterized_weighted_summation" else w
    xs = _inputs(DIMS)
    expected = reference(x=xs, w=tinybig_w)
    torch.testing.assert_close(fusion(xs, w), expected, rtol=1e-12, atol=1e-12)


def test_average_matches_tinybig_in_single_precision(tinybig: Any) -> None:
    # tinybig's average_fusion keeps its 1/k weights in float32 whatever the input type
    from tinybig.fusion import average_fusion

    xs = [x.float() for x in _inputs(DIMS)]
    expected = average_fusion(dims=DIMS)(x=xs)
    torch.testing.assert_close(build("fusion", "average", dims=DIMS)(xs), expected)


@pytest.mark.parametrize("name", ["l1_norm", "l2_norm", "median", "prod"])
def test_metric_fusion_takes_tinybig_metric_callables(tinybig: Any, name: str) -> None:
    from tinybig.koala import linear_algebra, statistics

    function = getattr(linear_algebra, f"batch_{name}", None) or getattr(
        statistics, f"batch_{name}"
    )
    xs = _inputs([3, 3, 3, 3], batch=4)
    by_callable = build("fusion", "metric", dims=[3] * 4, metric=function)(xs)
    by_name = build("fusion", "metric", dims=[3] * 4, metric=name)(xs)
    torch.testing.assert_close(by_callable, by_name, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(by_callable, build("fusion", name, dims=[3] * 4)(xs))


def test_fusion_preprocess_and_postprocess_match_tinybig(tinybig: Any) -> None:
    from tinybig.fusion import concatenation_fusion, max_fusion

    def norm(x: Tensor) -> Tensor:
        return torch.nn.functional.layer_norm(x, x.shape[-1:])

    xs = _inputs(DIMS)
    fused = build("fusion", "max", dims=DIMS, preprocess=["layer_norm"], postprocess=["tanh"])
    reference = max_fusion(
        dims=DIMS, preprocess_functions=[norm], postprocess_functions=[torch.tanh]
    )
    torch.testing.assert_close(fused(xs), reference(x=xs), rtol=1e-12, atol=1e-12)
    mixed = _inputs([2, 5])
    fused = build("fusion", "concat", dims=[2, 5], preprocess=["layer_norm"])
    reference = concatenation_fusion(dims=[2, 5], preprocess_functions=[norm])
    torch.testing.assert_close(fused(mixed), reference(x=mixed), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("name", "parameters"),
    [
        ("lowrank_parameterized_concatenation", {"n": 3, "r": 2}),
        ("hm_parameterized_concatenation", {"n": 2, "p": 2}),
        ("random_matrix_adaption_parameterized_concatenation", {"n": 3, "r": 2}),
    ],
)
def test_reconciled_concatenation_is_concatenation_times_reconciled_weight(
    name: str, parameters: dict[str, Any]
) -> None:
    if "random_matrix" in name:
        _require("reconciliation", "random_matrix_adaption")
    fusion = build("fusion", name, dims=[4, 2], **parameters).double()
    assert fusion.reconciliation is not None
    assert (fusion.reconciliation.n, fusion.reconciliation.D) == (fusion.n, 6)
    w = torch.randn(1, fusion.l, dtype=torch.float64)
    xs = _inputs([4, 2])
    expected = torch.cat(xs, dim=-1) @ fusion.weight(w).T
    torch.testing.assert_close(fusion(xs, w), expected, rtol=1e-12, atol=1e-12)


def test_random_matrix_adaption_concatenation_matches_tinybig(tinybig: Any) -> None:
    _require("reconciliation", "random_matrix_adaption")
    from tinybig.fusion import random_matrix_adaption_parameterized_concatenation_fusion as cls

    reference = cls(dims=[4, 2], n=3, r=2)
    fusion = build(
        "fusion", "random_matrix_adaption_parameterized_concatenation", dims=[4, 2], n=3, r=2
    ).double()
    assert (fusion.n, fusion.l) == (reference.calculate_n(), reference.calculate_l())
    # tinybig draws its fixed matrices on the first call; give it rpnkit's
    reference.parameter_fabrication.A = fusion.reconciliation.A.clone()
    reference.parameter_fabrication.B = fusion.reconciliation.B.clone()
    w = torch.randn(1, fusion.l, dtype=torch.float64)
    xs = _inputs([4, 2])
    torch.testing.assert_close(fusion(xs, w), reference(x=xs, w=w), rtol=1e-12, atol=1e-12)


def test_fusions_of_unequal_sizes() -> None:
    assert build("fusion", "concatenation", dims=[2, 5]).n == 7
    assert build("fusion", "parameterized_concatenation", dims=[2, 5], n=3).l == 21
    with pytest.raises(ConfigError, match=r"mean fusion needs inputs of equal size, got dims="):
        build("fusion", "mean", dims=[2, 5])
    with pytest.raises(ConfigError, match=r"sizes \[2, 5\] needs n, the output size"):
        build("fusion", "parameterized_concatenation", dims=[2, 5])


@pytest.mark.parametrize(
    ("spec", "parameters", "message"),
    [
        ("weighted_summation", {"weights": [1.0, 2.0]}, r"got 2 weights for 3 inputs"),
        ("weighted_summation", {"weights": "ab"}, r"weights of type str are invalid"),
        ("metric", {"metric": "l3_norm"}, r"metric='l3_norm' is unknown \(did you mean .*'l1_norm'"),
        ("hm_parameterized_concatenation", {"p": 3}, r"^hm_parameterized_concatenation fusion: .*p=3"),
        ("mean", {"dims": []}, r"fusion dims=\[\] is not valid"),
    ],
)  # fmt: skip
def test_fusion_configuration_errors(spec: str, parameters: dict[str, Any], message: str) -> None:
    options = {"dims": DIMS, **parameters}
    with pytest.raises(ConfigError, match=message):
        build("fusion", spec, **options)


def test_fusion_checks_its_inputs_and_parameters() -> None:
    fusion = build("fusion", "parameterized_weighted_summation", dims=[2, 2])
    xs = [torch.randn(3, 2), torch.randn(3, 2)]
    with pytest.raises(ConfigError, match=r"needs its parameters w of shape \(1, 2\)"):
        fusion(xs)
    with pytest.raises(ConfigError, match=r"inputs of last sizes \[2\]; it was built for dims"):
        fusion(xs[:1], torch.ones(1, 2))


def test_registry_lists_fusions_with_tinybig_aliases() -> None:
    names = get_registry().names("fusion")
    assert {"mean", "sum", "concatenation", "max", "parameterized_concatenation"} <= set(names)
    for alias, canonical in [
        ("average_fusion", "mean"),
        ("summation", "sum"),
        ("concat", "concatenation"),
        ("lowrank_parameterized_concatenation_fusion", "lowrank_parameterized_concatenation"),
    ]:
        assert get_registry().get_info("fusion", alias).name == canonical
    with pytest.raises(ComponentNotFoundError, match=r"unknown fusion 'maximum'"):
        build("fusion", "maximum", dims=DIMS)


def _require(group: str, name: str) -> None:
    """Skip when ``name`` is not registered on this branch (it is added elsewhere)."""
    try:
        get_registry().get_info(group, name)
    except ComponentNotFoundError:
        pytest.skip(f"{group} {name!r} is not registered in this build")


# -- heads -------------------------------------------------------------------------------


def _tinybig_head(tinybig: Any, channel_fusion: Any, **options: Any) -> Any:
    from tinybig.expansion import taylor_expansion
    from tinybig.module import head
    from tinybig.reconciliation import lorr_reconciliation
    from tinybig.remainder import linear_remainder

    return head(
        m=3,
        n=4,
        channel_num=3,
        data_transformation=taylor_expansion(d=2),
        parameter_fabrication=lorr_reconciliation(r=2, enable_bias=True),
        remainder=linear_remainder(enable_bias=True),
        channel_fusion=channel_fusion,
        **options,
    )


def _head(channel_fusion: Any, **options: Any) -> RPNHead:
    return RPNHead(
        3,
        4,
        expansion="taylor",
        reconciliation={"name": "lorr", "parameters": {"r": 2, "enable_bias": True}},
        remainder={"name": "linear", "parameters": {"enable_bias": True}},
        channels=3,
        channel_fusion=channel_fusion,
        **options,
    ).double()


def _copy_head(reference: Any, head: RPNHead) -> None:
    """Copy a tinybig head's parameters into an rpnkit head."""
    with torch.no_grad():
        head.w.copy_(reference.w)
        if head.bias is not None:
            head.bias.copy_(reference.b)
        if isinstance(head.remainder, LinearRemainder):
            head.remainder.weight.copy_(reference.w_remainder)
            if head.remainder.bias is not None:
                head.remainder.bias.copy_(reference.b_remainder)
        if head.w_channel_fusion is not None:
            head.w_channel_fusion.copy_(reference.w_channel_fusion)


HEAD_FUSIONS = ["mean", "sum", "max", "median", "lowrank_parameterized_concatenation"]


@pytest.mark.parametrize("name", HEAD_FUSIONS)
def test_head_channel_fusion_input_and_output_process_match_tinybig(
    tinybig: Any, name: str
) -> None:
    torch.set_default_dtype(torch.float64)
    try:
        path = next(path for n, path, _ in FUSIONS if n == name)
        parameters = {"r": 2} if "lowrank" in name else {}
        reference = _tinybig_head(
            tinybig,
            _tinybig_fusion(path, parameters, [4] * 3),
            input_process_functions=[torch.nn.Tanh()],
            output_process_functions=[torch.nn.ReLU()],
        )
        head = _head(
            {"name": name, "parameters": parameters},
            input_process=["tanh"],
            output_process=["relu"],
        )
        _copy_head(reference, head)
        x = torch.randn(6, 3) * 2
        expected = reference(x)
    finally:
        torch.set_default_dtype(torch.float32)
    torch.testing.assert_close(head(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("fusion", "reconciliation"),
    [
        ("sum", "identity"),
        ("sum", "lorr"),
        ({"name": "weighted_summation", "parameters": {"weights": [0.5, -2.0, 1.5]}}, "lorr"),
        ("parameterized_weighted_summation", "identity"),
        ("parameterized_weighted_summation", "low_rank"),
        ("mean", "hm"),
    ],
)
def test_folded_channel_sum_equals_the_plain_channel_outputs(
    fusion: Any, reconciliation: str
) -> None:
    torch.manual_seed(0)
    folded = RPNHead(
        5, 4, "taylor", {"name": reconciliation, "parameters": {"enable_bias": True}}, "linear",
        channels=3, channel_fusion=fusion, postprocess=["layer_norm"],
    ).double()  # fmt: skip
    spec = fusion if isinstance(fusion, dict) else {"name": fusion, "parameters": {}}
    # a postprocess step that changes nothing makes the fusion opaque: the head takes the
    # plain path, one output per channel
    opaque = {**spec, "parameters": {**spec["parameters"], "postprocess": [lambda t: t]}}
    plain = RPNHead(
        5, 4, "taylor", {"name": reconciliation, "parameters": {"enable_bias": True}}, "linear",
        channels=3, channel_fusion=opaque, postprocess=["layer_norm"],
    ).double()  # fmt: skip
    plain.load_state_dict(folded.state_dict())
    assert folded.channel_fusion.combination(folded.w_channel_fusion) is not None
    assert plain.channel_fusion.combination(plain.w_channel_fusion) is None
    x = torch.randn(7, 5, dtype=torch.float64)
    torch.testing.assert_close(folded(x), plain(x), rtol=1e-10, atol=1e-10)


def test_head_with_learnable_weighted_channel_sum() -> None:
    # tinybig's own head fails on this fusion (it asserts one weight row per channel)
    torch.manual_seed(0)
    head = _head("parameterized_weighted_summation")
    assert head.w_channel_fusion is not None and head.w_channel_fusion.shape == (1, 3)
    x = torch.randn(4, 3, dtype=torch.float64)
    weights = head.reconciliation(head.w)
    outputs = torch.stack([head.expansion(x) @ weights[c].T + head.bias for c in range(3)])
    alpha = head.w_channel_fusion.reshape(3, 1, 1)
    expected = (alpha * outputs).sum(0) + head.remainder(x)
    torch.testing.assert_close(head(x), expected, rtol=1e-12, atol=1e-12)
    head(x).sum().backward()
    assert head.w_channel_fusion.grad is not None and head.w_channel_fusion.grad.abs().sum() > 0


def test_size_changing_channel_fusion() -> None:
    head = RPNHead(3, 2, channels=3, channel_fusion="concatenation")
    assert head.out_features == 6
    assert head(torch.randn(5, 3)).shape == (5, 6)
    with pytest.raises(ConfigError, match=r"gives 6 outputs, but the remainder LinearRemainder"):
        RPNHead(3, 2, remainder="linear", channels=3, channel_fusion="concatenation")
    with pytest.raises(ConfigError, match=r"channel_fusion MeanFusion was built with dims=\[2\]"):
        RPNHead(3, 2, channels=2, channel_fusion=MeanFusion([2]))


@pytest.mark.parametrize(
    "method", ["xavier_uniform", "xavier_normal", "kaiming_uniform", "fanout_std_uniform"]
)
def test_parameters_init_method_draws_tinybig_numbers(tinybig: Any, method: str) -> None:
    from tinybig.fusion import lowrank_parameterized_concatenation_fusion

    fusion = lowrank_parameterized_concatenation_fusion(dims=[4] * 3, r=2)
    reference = _tinybig_head(tinybig, fusion, parameters_init_method=method)
    head = _head(
        {"name": "lowrank_parameterized_concatenation", "parameters": {"r": 2}},
        parameters_init_method=method,
    ).float()
    torch.manual_seed(3)
    reference.initialize_parameters()
    torch.manual_seed(3)
    head.reset_parameters()
    pairs = {
        "w": (reference.w, head.w),
        "bias": (reference.b, head.bias),
        "remainder weight": (reference.w_remainder, head.remainder.weight),
        "remainder bias": (reference.b_remainder, head.remainder.bias),
        "channel fusion": (reference.w_channel_fusion, head.w_channel_fusion),
    }
    for name, (expected, actual) in pairs.items():
        assert torch.equal(actual, expected), name


def test_kaiming_normal_has_the_variance_of_kaiming_uniform() -> None:
    torch.manual_seed(0)
    head = RPNHead(60, 50, remainder="linear", parameters_init_method="kaiming_normal")
    l = head.reconciliation.l  # noqa: E741
    assert head.w.std().item() == pytest.approx(1 / math.sqrt(3 * l), rel=0.05)
    assert head.remainder.weight.std().item() == pytest.approx(1 / math.sqrt(3 * 60), rel=0.05)
    assert set(INIT_METHODS) >= {"xavier_uniform", "kaiming_normal", "fanout_std_uniform"}


def test_unknown_init_method_suggests() -> None:
    with pytest.raises(
        ConfigError,
        match=r"parameters_init_method='xavier_unifrom' .*did you mean 'xavier_uniform'",
    ):
        RPNHead(2, 2, parameters_init_method="xavier_unifrom")


def test_input_process_applies_before_expansion_and_remainder() -> None:
    torch.manual_seed(0)
    head = RPNHead(3, 3, "taylor", "lorr", "identity", input_process=["sigmoid"])
    x = torch.randn(4, 3)
    z = torch.sigmoid(x)
    expected = head.expansion(z) @ head.reconciliation(head.w)[0].T + z
    torch.testing.assert_close(head(x), expected)


# -- layers and models --------------------------------------------------------------------


def test_layer_head_configs_and_width_alloc() -> None:
    torch.manual_seed(0)
    layer = RPNLayer(
        3, 2, remainder="linear", fusion="concatenation", width_alloc=[2, 1],
        heads=[{"expansion": "taylor", "channels": 2}, {"expansion": "fourier"}],
    )  # fmt: skip
    heads = list(layer.heads)
    assert layer.width == 3 and layer.out_features == 6
    assert [type(h.expansion).__name__ for h in heads] == [
        "TaylorExpansion", "TaylorExpansion", "FourierExpansion",
    ]  # fmt: skip
    assert [h.channels for h in heads] == [2, 2, 1]
    assert all(isinstance(h.remainder, LinearRemainder) for h in heads)
    assert not torch.equal(heads[0].w, heads[1].w)
    x = torch.randn(5, 3)
    torch.testing.assert_close(layer(x), torch.cat([h(x) for h in heads], dim=-1))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"width": 3, "heads": [{}, {}]}, r"width=3 does not match the 2 heads; give width_alloc"),
        ({"width": 2, "width_alloc": [1, 2], "heads": [{}, {}]}, r"whose sum is 3"),
        ({"width_alloc": [1], "heads": [{}, {}]}, r"width_alloc has 1 entries for 2 heads"),
        ({"width_alloc": [2]}, r"width_alloc=\[2\] needs heads"),
        ({"heads": [{"expanson": "taylor"}]}, r"heads\[0\] has unknown key 'expanson'.*'expansion'"),
        ({"heads": [{"n": 4}]}, r"heads\[0\] sets 'n'; the sizes of a head are the layer's"),
        ({"heads": [{"expansion": "taylr"}]}, r"^heads\[0\]: unknown expansion 'taylr'"),
        ({"heads": [RPNHead(2, 3)]}, r"heads\[0\] maps m=2 to n=3; the layer needs m=2, n=2"),
    ],
)  # fmt: skip
def test_layer_head_config_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises((ConfigError, ComponentNotFoundError), match=message):
        RPNLayer(2, 2, **options)


def test_layer_fusion_matches_tinybig_and_its_init(tinybig: Any) -> None:
    from tinybig.expansion import fourier_expansion, taylor_expansion
    from tinybig.fusion import parameterized_concatenation_fusion
    from tinybig.module import head, layer
    from tinybig.reconciliation import identity_reconciliation
    from tinybig.remainder import zero_remainder

    expansions = [taylor_expansion(d=2), fourier_expansion(), taylor_expansion(d=2)]
    tinybig_heads = [
        head(
            m=3,
            n=2,
            data_transformation=kappa,
            parameter_fabrication=identity_reconciliation(),
            remainder=zero_remainder(),
        )
        for kappa in expansions
    ]
    reference = layer(
        m=3, n=2, heads=tinybig_heads,
        head_fusion=parameterized_concatenation_fusion(dims=[2, 2, 2], n=2),
    )  # fmt: skip
    ours = RPNLayer(
        3, 2, fusion="parameterized_concatenation", width_alloc=[1, 1, 1],
        heads=[{"expansion": "taylor"}, {"expansion": "fourier"}, {"expansion": "taylor"}],
    )  # fmt: skip
    assert ours.w_head_fusion is not None and ours.w_head_fusion.shape == (1, 12)
    torch.manual_seed(5)
    reference.initialize_parameters()
    torch.manual_seed(5)
    ours.reset_parameters()
    assert torch.equal(ours.w_head_fusion, reference.w_head_fusion)
    for mine, theirs in zip(ours.heads, tinybig_heads, strict=True):
        assert torch.equal(mine.w, theirs.w)
    x = torch.randn(6, 3)
    torch.testing.assert_close(ours(x), reference(x))


def test_model_depth_alloc_builds_fresh_layers() -> None:
    torch.manual_seed(0)
    model = build_model(
        [{"m": 3, "n": 3, "expansion": "taylor", "remainder": "linear"}, {"m": 3, "n": 2}],
        depth_alloc=[3, 1],
    )
    layers = list(model.layers)
    assert len(layers) == 4 and layers[-1].n == 2
    assert not torch.equal(layers[0].heads[0].w, layers[1].heads[0].w)
    assert layers[0].heads[0].expansion is not layers[1].heads[0].expansion
    assert len(build_model([{"m": 2, "n": 2}], depth=3).layers) == 3
    with pytest.raises(ConfigError, match=r"depth=3 does not match the 2 model.layers"):
        build_model([{"m": 2, "n": 2}, {"m": 2, "n": 2}], depth=3)
    with pytest.raises(ConfigError, match=r"model.layers\[0\] is a built RPNLayer, which cannot"):
        build_model([RPNLayer(2, 2)], depth=2)


def test_parameter_count_equals_tinybig_for_the_same_config(tinybig: Any) -> None:
    from tinybig.model import rpn

    def tinybig_head(expansion: str, recon: str, fusion: str | None) -> dict[str, Any]:
        parameters: dict[str, Any] = {
            "channel_num": 2,
            "data_transformation_configs": {"function_class": f"tinybig.expansion.{expansion}"},
            "parameter_fabrication_configs": {
                "function_class": f"tinybig.reconciliation.{recon}",
                "function_parameters": {"enable_bias": True},
            },
            "remainder_configs": {"function_class": "tinybig.remainder.linear_remainder"},
        }
        if fusion is not None:
            parameters["channel_fusion_configs"] = {
                "function_class": f"tinybig.fusion.{fusion}",
                "function_parameters": {"dims": [3, 3]},
            }
        return {"head_class": "tinybig.module.rpn_head", "head_parameters": parameters}

    reference = rpn(
        depth_alloc=[2, 1],
        layer_configs=[
            {"layer_class": "tinybig.module.rpn_layer", "layer_parameters": {
                "m": 3, "n": 3, "width_alloc": [1, 2],
                "head_configs": [
                    tinybig_head("taylor_expansion", "lorr_reconciliation",
                                 "parameterized_weighted_summation_fusion"),
                    tinybig_head("bspline_expansion", "identity_reconciliation", None),
                ],
                "head_fusion_configs": {
                    "function_class": "tinybig.fusion.lowrank_parameterized_concatenation_fusion",
                    "function_parameters": {"dims": [3, 3, 3], "r": 2},
                },
            }},
            {"layer_class": "tinybig.module.rpn_layer", "layer_parameters": {
                "m": 3, "n": 2, "width": 1, "head_configs": [tinybig_head(
                    "fourier_expansion", "identity_reconciliation", None)],
            }},
        ],
    )  # fmt: skip
    head = {"channels": 2, "remainder": "linear"}
    ours = build_model(
        [
            {"m": 3, "n": 3, "width_alloc": [1, 2], "fusion": "lowrank_parameterized_concatenation",
             "heads": [
                 {**head, "expansion": "taylor", "channel_fusion": "parameterized_weighted_summation",
                  "reconciliation": {"name": "lorr", "parameters": {"enable_bias": True}}},
                 {**head, "expansion": "bspline",
                  "reconciliation": {"name": "identity", "parameters": {"enable_bias": True}}},
             ]},
            {"m": 3, "n": 2, **head, "expansion": "fourier",
             "reconciliation": {"name": "identity", "parameters": {"enable_bias": True}}},
        ],
        depth_alloc=[2, 1],
    )  # fmt: skip
    assert len(ours.layers) == len(reference.layers) == 3

    def count(model: torch.nn.Module) -> int:
        return sum(p.numel() for p in model.parameters())

    assert count(ours) == count(reference)


class _Softmax(Fusion):
    """A third-party fusion: softmax-weighted sum with learnable logits."""

    def calculate_n(self, dims: Any) -> int:
        return dims[0]

    @property
    def l(self) -> int:  # noqa: E743
        return len(self.dims)

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        assert w is not None
        return torch.tensordot(torch.softmax(w.reshape(-1), 0), torch.stack(xs), dims=1)


@pytest.fixture
def softmax_fusion() -> Iterator[str]:
    get_registry().register("fusion", "test_softmax", _Softmax, summary="softmax weights")
    yield "test_softmax"
    reset_registry()


def test_third_party_fusion_works_by_name(softmax_fusion: str) -> None:
    torch.manual_seed(0)
    model = build_model(
        [
            {
                "m": 3,
                "n": 2,
                "width": 2,
                "channels": 2,
                "fusion": softmax_fusion,
                "channel_fusion": softmax_fusion,
            }
        ]
    )
    layer = model.layers[0]
    assert layer.w_head_fusion is not None and layer.heads[0].w_channel_fusion is not None
    x = torch.randn(4, 3)
    outputs = torch.stack([head(x) for head in layer.heads])
    expected = torch.tensordot(torch.softmax(layer.w_head_fusion.reshape(-1), 0), outputs, 1)
    torch.testing.assert_close(model(x), expected)
    model(x).sum().backward()
    assert layer.w_head_fusion.grad is not None


def test_default_model_state_dict_has_no_fusion_entries() -> None:
    model = build_model([{"m": 3, "n": 2, "width": 2, "channels": 3}])
    assert not [key for key in model.state_dict() if "fusion" in key]
    learnable = build_model([{"m": 3, "n": 2, "width": 2, "fusion": "parameterized_concatenation"}])
    assert "layers.0.w_head_fusion" in learnable.state_dict()
