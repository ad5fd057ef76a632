"""Every tinybig config key is mapped exactly or refused in one line, never dropped."""

from __future__ import annotations

import contextlib
import copy
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rpnkit import build
from rpnkit.cli import main
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry
from rpnkit.rpn.model import LAYER_KEYS
from rpnkit.run.config import load_config, normalize_config
from rpnkit.tinybig.problems import TinybigConfigError
from rpnkit.tinybig.reading import rpnkit_form
from rpnkit.tinybig.run import translate_tinybig

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "tests" / "configs" / "tinybig"
LAYER = "configurations.model_configs.model_parameters.layer_configs[0].layer_parameters"
HEAD = f"{LAYER}.head_configs[0].head_parameters"


def _function(cls: str, **parameters: Any) -> dict[str, Any]:
    return {"function_class": cls, "function_parameters": parameters}


def _head(**parameters: Any) -> dict[str, Any]:
    defaults = {
        "data_transformation_configs": _function("tinybig.expansion.taylor_expansion", d=2),
        "parameter_fabrication_configs": _function(
            "tinybig.reconciliation.lorr_reconciliation", r=2
        ),
        "remainder_configs": _function("tinybig.remainder.zero_remainder"),
    }
    return {"head_class": "tinybig.module.rpn_head", "head_parameters": {**defaults, **parameters}}


def _config(*heads: dict[str, Any], loss: str = "torch.nn.CrossEntropyLoss", **layer: Any) -> dict:
    """A tinybig 0.2.1 config of one layer 4 -> 3 on iris."""
    return {
        "configurations": {
            "device": "cpu",
            "random_seed": 7,
            "data_configs": {
                "data_class": "tinybig.data.iris",
                "data_parameters": {"name": "iris"},
            },
            "learner_configs": {
                "learner_class": "tinybig.learner.backward_learner",
                "learner_parameters": {
                    "n_epochs": 3,
                    "loss_configs": {"loss_class": loss},
                    "optimizer_configs": {
                        "optimizer_class": "torch.optim.AdamW",
                        "optimizer_parameters": {"lr": 0.01},
                    },
                },
            },
            "model_configs": {
                "model_class": "tinybig.model.rpn",
                "model_parameters": {
                    "layer_configs": [
                        {
                            "layer_class": "tinybig.module.rpn_layer",
                            "layer_parameters": {
                                "m": 4,
                                "n": 3,
                                "head_configs": list(heads) or [_head()],
                                **layer,
                            },
                        }
                    ]
                },
            },
        }
    }


def _layers(raw: dict) -> list[dict[str, Any]]:
    return translate_tinybig(raw)["model"]["parameters"]["layers"]


def _problems(raw: dict) -> list[str]:
    with pytest.raises(TinybigConfigError) as excinfo:
        translate_tinybig(raw)
    assert "\n" not in str(excinfo.value)
    return excinfo.value.problems


def _model(layers: list[dict[str, Any]]) -> torch.nn.Module:
    return get_registry().build("model", "rpn", layers=layers)


# -- spellings and labels ----------------------------------------------------------------------
def test_both_spellings_translate_alike() -> None:
    old = yaml.safe_load((CONFIGS / "digits_old_spelling.yaml").read_text())
    new = yaml.dump(old).replace("data_transformation_class", "function_class")
    for role in ("data_transformation", "parameter_fabrication", "remainder"):
        new = new.replace(f"{role}_class", "function_class")
        new = new.replace(f"{role}_parameters", "function_parameters")
    assert translate_tinybig(yaml.safe_load(new)) == translate_tinybig(old)


def test_class_paths_become_registry_names() -> None:
    raw = _config(
        _head(remainder_configs=_function("tinybig.remainder.linear_remainder")),
    )
    conf = raw["configurations"]["learner_configs"]["learner_parameters"]
    conf["lr_scheduler_configs"] = {
        "lr_scheduler_class": "torch.optim.lr_scheduler.ExponentialLR",
        "lr_scheduler_parameters": {"gamma": 0.9},
    }
    out = translate_tinybig(raw)
    (layer,) = out["model"]["parameters"]["layers"]
    assert (layer["expansion"]["name"], layer["reconciliation"]["name"]) == ("taylor", "low_rank")
    assert layer["remainder"]["name"] == "linear"
    assert out["learner"]["lr_scheduler_interval"] == "epoch"  # tinybig steps once an epoch
    assert [out["learner"][k]["name"] for k in ("loss", "optimizer", "lr_scheduler")] == [
        "cross_entropy",
        "adamw",
        "exponential_lr",
    ]


@pytest.mark.parametrize(
    ("cls", "name"),
    [
        ("tinybig.expansion.legendre_expansion", "legendre"),
        ("tinybig.expansion.hermite_expansion", "hermite"),
        ("tinybig.expansion.chebyshev_expansion", "chebyshev"),
        ("tinybig.expansion.gaussian_rbf_expansion", "gaussian_rbf"),
    ],
)
def test_every_registered_component_maps_by_its_tinybig_class_name(cls: str, name: str) -> None:
    (layer,) = _layers(_config(_head(data_transformation_configs=_function(cls))))
    assert layer["expansion"] == {"name": name, "parameters": {}}
    _model([layer])


def test_extended_expansion_maps_with_its_parts() -> None:
    parts = [
        _function("tinybig.expansion.bspline_expansion"),
        _function("tinybig.expansion.identity_expansion"),
    ]
    head = _head(
        data_transformation_configs=_function(
            "tinybig.expansion.extended_expansion", composition_function_configs=parts
        )
    )
    (layer,) = _layers(_config(head))
    assert layer["expansion"]["name"] == "extended"
    assert [p["name"] for p in layer["expansion"]["parameters"]["expansions"]] == [
        "bspline",
        "identity",
    ]


def test_labels_are_ignored() -> None:
    base = _config()
    labelled = copy.deepcopy(base)
    params = labelled["configurations"]["model_configs"]["model_parameters"]
    params.update(name="my model", device="mps")
    params["layer_configs"][0]["layer_parameters"]["name"] = "first"
    head = params["layer_configs"][0]["layer_parameters"]["head_configs"][0]["head_parameters"]
    head["data_transformation_configs"]["function_parameters"]["name"] = "kappa"
    assert translate_tinybig(labelled) == translate_tinybig(base)


def test_unknown_tinybig_class_is_named_with_its_key_path() -> None:
    raw = _config(_head(data_transformation_configs=_function("tinybig.expansion.taylr_expansion")))
    (problem,) = _problems(raw)
    assert problem.startswith(f"{HEAD}.data_transformation_configs.function_class=")
    # the suggestion is spelt as the config spells it: a tinybig class path
    assert (
        "no rpnkit expansion equivalent (did you mean 'tinybig.expansion.taylor_expansion'"
        in problem
    )


# -- processing functions ----------------------------------------------------------------------
def test_postprocessing_is_kept_and_changes_the_model() -> None:
    plain = _layers(_config())
    normed = _layers(
        _config(
            _head(
                data_transformation_configs=_function(
                    "tinybig.expansion.taylor_expansion",
                    d=2,
                    postprocess_function_configs=[
                        {
                            "function_class": "torch.nn.LayerNorm",
                            "function_parameters": {"normalized_shape": 20},
                        }
                    ],
                )
            )
        )
    )
    assert normed[0]["expansion"]["parameters"]["postprocess"] == ["layer_norm"]
    torch.manual_seed(0)
    a = _model(plain)
    torch.manual_seed(0)
    b = _model(normed)
    x = torch.rand(5, 4)
    assert not torch.allclose(a(x), b(x))


@pytest.mark.parametrize(
    ("key", "value", "steps"),
    [
        ("preprocess_functions", "torch.nn.functional.sigmoid", ["sigmoid"]),
        ("preprocess_functions", ["tanh", "layer_norm"], ["tanh", "layer_norm"]),
        ("preprocess_function_configs", [{"function_class": "torch.nn.SiLU"}], ["silu"]),
        ("preprocess_function_configs", {"function_class": "torch.nn.GELU"}, ["gelu"]),
        (
            "preprocess_function_configs",
            [
                {
                    "function_class": "torch.nn.LeakyReLU",
                    "function_parameters": {"negative_slope": 0.01},
                }
            ],
            ["leaky_relu"],
        ),
        ("preprocess_function_configs", [{"function_class": "torch.nn.Identity"}], None),
    ],
)
def test_processing_functions_map_to_steps(key: str, value: Any, steps: list[str] | None) -> None:
    expansion = _function("tinybig.expansion.taylor_expansion", **{key: value})
    (layer,) = _layers(_config(_head(data_transformation_configs=expansion)))
    assert layer["expansion"]["parameters"].get("preprocess") == steps
    _model([layer])


def test_head_input_and_output_processing_map() -> None:
    head = _head(
        input_process_function_configs=[
            {"function_class": "torch.nn.LayerNorm", "function_parameters": {"normalized_shape": 4}}
        ],
        output_process_functions="relu",
    )
    (layer,) = _layers(_config(head))
    assert (layer["input_process"], layer["output_process"]) == (["layer_norm"], ["relu"])


@pytest.mark.skipif(
    "input_process" not in LAYER_KEYS, reason="waits for head input_process (rpn-fusion)"
)
def test_head_input_processing_builds() -> None:
    head = _head(input_process_functions=["sigmoid"])
    _model(_layers(_config(head)))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("softmax", "tinybig applies nothing for it"),
        ("torch.nn.BatchNorm1d", "batch's statistics"),
        (
            [{"function_class": "torch.nn.functional.silu"}],
            "calls a function config with its parameters and no input",
        ),
        (
            [{"function_class": "torch.nn.Dropout", "function_parameters": {"p": 0.4}}],
            "p=0.4: rpnkit's step 'dropout' takes no parameters",
        ),
        (
            [
                {
                    "function_class": "torch.nn.BatchNorm1d",
                    "function_parameters": {"num_features": 5},
                }
            ],
            "num_features=5: its input has 3 features",
        ),
        (
            [
                {
                    "function_class": "torch.nn.LayerNorm",
                    "function_parameters": {"normalized_shape": 5},
                }
            ],
            "normalized_shape=5: its input has 3 features",
        ),
        (
            {
                "function_class": "torch.nn.LayerNorm",
                "function_parameters": {"normalized_shape": 3},
            },
            "trains its scale and shift",
        ),
        ({"first": {"function_class": "torch.nn.ReLU"}}, "never applies"),
    ],
)
def test_processing_without_exact_equivalent_is_refused(value: Any, reason: str) -> None:
    key = (
        "output_process_functions" if isinstance(value, str) else "output_process_function_configs"
    )
    (problem,) = _problems(_config(_head(**{key: value})))
    assert problem.startswith(f"{HEAD}.{key}") and reason in problem


def test_a_lone_layer_norm_without_affine_parameters_maps() -> None:
    parameters = {"normalized_shape": 3, "elementwise_affine": False}
    value = {"function_class": "torch.nn.LayerNorm", "function_parameters": parameters}
    (layer,) = _layers(_config(_head(output_process_function_configs=value)))
    assert layer["output_process"] == ["layer_norm"]


def test_keys_beside_the_parameters_are_refused() -> None:
    expansion = _function("tinybig.expansion.taylor_expansion", d=2)
    expansion["postprocess"] = "torch.nn.functional.layer_norm"
    expansion["layer_norm"] = True
    problems = _problems(_config(_head(data_transformation_configs=expansion)))
    where = f"{HEAD}.data_transformation_configs"
    assert [p.split(":")[0] for p in problems] == [f"{where}.postprocess", f"{where}.layer_norm"]
    assert all("where tinybig never reads it" in p for p in problems)
    # the processing keys published configs hold there were ignored by tinybig: see
    # tests/test_tinybig_rpn2_configs.py


# -- remainders ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parameters", "remainder"),
    [
        ({}, {"name": "linear", "parameters": {}}),
        (
            {"require_parameters": True, "enable_bias": True},
            {"name": "linear", "parameters": {"enable_bias": True}},
        ),
        (
            {"activation_function_configs": {"function_class": "torch.nn.SiLU"}},
            {"name": "linear", "parameters": {"activation": ["silu"]}},
        ),
        (
            {"activation_functions": "torch.nn.functional.silu"},
            {"name": "linear", "parameters": {"activation": ["silu"]}},
        ),
        ({"require_parameters": False}, {"name": "identity", "parameters": {}}),
    ],
)
def test_linear_remainder_maps_as_tinybigs_head_uses_it(parameters: dict, remainder: dict) -> None:
    head = _head(remainder_configs=_function("tinybig.remainder.linear_remainder", **parameters))
    (layer,) = _layers(_config(head, m=3))
    assert layer["remainder"] == remainder
    _model([{**layer, "m": 3}])


@pytest.mark.parametrize(
    ("cls", "parameters", "reason"),
    [
        ("tinybig.remainder.zero_remainder", {"require_parameters": True}, "never uses"),
        ("tinybig.remainder.identity_remainder", {"require_parameters": True}, "never uses"),
        ("tinybig.remainder.zero_remainder", {"enable_bias": True}, "has no effect here"),
        (
            "tinybig.remainder.linear_remainder",
            {"require_parameters": False, "enable_bias": True},
            "has no effect",
        ),
    ],
)
def test_remainder_options_without_effect_or_with_unused_weights_are_refused(
    cls: str, parameters: dict, reason: str
) -> None:
    (problem,) = _problems(_config(_head(remainder_configs=_function(cls, **parameters))))
    assert (
        problem.startswith(f"{HEAD}.remainder_configs.function_parameters.") and reason in problem
    )


def test_remainder_parameters_match_tinybigs_head(tinybig: Any) -> None:
    from tinybig.model import rpn

    head = _head(
        remainder_configs=_function("tinybig.remainder.linear_remainder", enable_bias=True)
    )
    raw = _config(head)
    layers = raw["configurations"]["model_configs"]["model_parameters"]["layer_configs"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = rpn(layer_configs=copy.deepcopy(layers), device="cpu")
    ours = _model(_layers(raw))
    shapes = sorted(tuple(p.shape) for p in reference.parameters())
    assert sorted(tuple(p.shape) for p in ours.parameters()) == shapes


# -- heads and layers ----------------------------------------------------------------------------
def test_width_left_empty_is_the_number_of_head_configs() -> None:
    (layer,) = _layers(_config(width=None, width_alloc=[1]))
    assert "width" not in layer and "heads" not in layer


def test_one_head_config_repeated_is_width() -> None:
    (layer,) = _layers(_config(width=3))
    assert layer["width"] == 3 and "fusion" not in layer
    model = _model([layer])
    assert len(model.layers[0].heads) == 3


def test_different_heads_are_kept_apart() -> None:
    second = _head(data_transformation_configs=_function("tinybig.expansion.identity_expansion"))
    (layer,) = _layers(_config(_head(), second, width=3, width_alloc=[1, 2]))
    assert [h["expansion"]["name"] for h in layer["heads"]] == ["taylor", "identity", "identity"]
    assert "width" not in layer and "expansion" not in layer


@pytest.mark.parametrize(
    ("layer", "reason"),
    [
        ({"width": 2, "width_alloc": [1, 2]}, "does not match width_alloc, whose sum is 3"),
        ({"width_alloc": [1]}, "width_alloc has 1 counts for 2 head_configs"),
        ({"width": 3}, "width=3 does not match the 2 head_configs"),
    ],
)
def test_inconsistent_allocations_are_refused(layer: dict, reason: str) -> None:
    (problem,) = _problems(_config(_head(), _head(), **layer))
    assert problem.startswith(LAYER) and reason in problem


def test_depth_alloc_repeats_a_layer_with_its_own_parameters() -> None:
    raw = _config(m=4, n=4)
    params = raw["configurations"]["model_configs"]["model_parameters"]
    params["depth_alloc"] = [2]
    layers = _layers(raw)
    assert len(layers) == 2 and layers[0] == layers[1] and layers[0] is not layers[1]
    model = _model(layers)
    assert model.layers[0].heads[0].w is not model.layers[1].heads[0].w


def test_channels_map() -> None:
    (layer,) = _layers(_config(_head(channel_num=2)))
    assert layer["channels"] == 2
    assert _model([layer]).layers[0].heads[0].w.shape[0] == 2


def test_head_sizes_and_l_must_agree_with_the_layer() -> None:
    problems = _problems(_config(_head(m=5, l=7)))
    assert [p.split("=")[0] for p in problems] == [f"{HEAD}.m", f"{HEAD}.l"]
    assert "l=7: reconciliation 'low_rank' has l=46 parameters" in problems[1]
    assert _layers(_config(_head(m=4, n=3, l=46, batch_num=None)))


def test_head_options_rpnkit_lacks_are_refused() -> None:
    problems = _problems(
        _config(_head(attribute_interdependence={"function_class": "x"}, strange=1))
    )
    assert any(p.startswith(f"{HEAD}.strange: not a tinybig head key") for p in problems)
    assert any("a config cannot hold a built function" in p for p in problems)


def test_init_method_is_the_layers_for_every_head() -> None:
    (layer,) = _layers(_config(parameters_init_method="kaiming_uniform"))
    assert layer["parameters_init_method"] == "kaiming_uniform"
    (problem,) = _problems(_config(_head(parameters_init_method="xavier_normal")))
    assert "tinybig's layer replaces it with its own, 'xavier_uniform'" in problem
    (problem,) = _problems(_config(parameters_init_method="orthogonal"))
    assert "uninitialised" in problem


def test_old_fusion_strategy() -> None:
    (layer,) = _layers(_config(width=2, fusion_strategy="average"))
    assert "fusion" not in layer  # the mean, rpnkit's default
    (problem,) = _problems(_config(width=2, fusion_strategy="linear"))
    assert problem.startswith(f"{LAYER}.fusion_strategy=") and "no exact rpnkit fusion" in problem


_needs_fusions = pytest.mark.skipif(
    not get_registry().has_group("fusion"), reason="waits for the fusion group (rpn-fusion)"
)


@_needs_fusions
def test_head_fusion_configs_map_to_fusions() -> None:
    fused = _function("tinybig.fusion.summation_fusion", dims=[3, 3])
    (layer,) = _layers(_config(width=2, head_fusion_configs=fused))
    assert layer["fusion"] == "sum"
    (layer,) = _layers(_config(width=2, fusion_strategy="sum"))
    assert layer["fusion"] == "sum"
    x = torch.rand(5, 4)
    model = _model([layer])
    heads = model.layers[0].heads
    torch.testing.assert_close(model(x), heads[0](x) + heads[1](x))


@_needs_fusions
def test_channel_fusion_maps() -> None:
    fused = _function("tinybig.fusion.summation_fusion", dims=[3, 3])
    (layer,) = _layers(_config(_head(channel_num=2, channel_fusion_configs=fused)))
    assert layer["channel_fusion"] == "sum"
    (problem,) = _problems(
        _config(
            _head(
                channel_num=2,
                channel_fusion_configs=_function("tinybig.fusion.summation_fusion", dims=[3]),
            )
        )
    )
    assert "dims=[3]: the fused outputs have sizes [3, 3]" in problem


# -- data, metric, output --------------------------------------------------------------------------
def test_tinybig_iris_keeps_its_float_labels_unless_the_loss_takes_classes() -> None:
    data = translate_tinybig(_config(loss="torch.nn.MSELoss"))["data"]
    assert data == {
        "name": "label_regression",
        "parameters": {"dataset": "iris", "test_size": 0.1, "standardize": False, "seed": 7},
    }
    bundle = get_registry().build("dataset", data["name"], **data["parameters"])
    _, y = next(iter(bundle.train_loader))
    assert (bundle.task, bundle.out_features, y.dtype, y.shape[1]) == (
        "regression",
        1,
        torch.float32,
        1,
    )
    assert set(torch.cat([b[1] for b in bundle.train_loader]).flatten().tolist()) == {0.0, 1.0, 2.0}
    assert translate_tinybig(_config())["data"]["name"] == "iris"


def test_binary_setup_trains_with_one_output(tmp_path: Path) -> None:
    raw = _config(loss="torch.nn.MSELoss", m=30, n=1)
    conf = raw["configurations"]
    conf["data_configs"] = {
        "data_class": "breast_cancer",
        "data_parameters": {"train_batch_size": 64},
    }
    conf["metric_configs"] = {"metric_class": "tinybig.metric.mse"}
    path = tmp_path / "binary.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / "run"
    assert main(["train", str(path), "--output", str(out), "--quiet"]) == 0
    assert (out / "model.pt").is_file()


@pytest.mark.parametrize(
    ("cls", "reason"),
    [
        (
            "tinybig.data.imdb",
            "is downloaded by tinybig; rpnkit bundles no copy; to train on a local copy, set "
            "data_class to an rpnkit dataset",
        ),
        ("tinybig.data.banknote", "is a table inside tinybig"),
        ("tinybig.data.irs", "no rpnkit dataset equivalent (did you mean 'tinybig.data.iris'"),
    ],
)
def test_datasets_without_an_offline_equivalent_are_refused(cls: str, reason: str) -> None:
    raw = _config()
    raw["configurations"]["data_configs"]["data_class"] = cls
    (problem,) = _problems(raw)
    assert problem.startswith("configurations.data_configs.data_class=") and reason in problem


def test_function_datasets_map_with_their_equation() -> None:
    raw = _config()
    raw["configurations"]["data_configs"] = {
        "data_class": "tinybig.data.feynman_function",
        "data_parameters": {"name": "f", "equation_index": 4, "train_batch_size": 10},
    }
    data = translate_tinybig(raw)["data"]
    assert data == {
        "name": "feynman",
        "parameters": {"equation_index": 4, "batch_size": 10, "seed": 7},
    }


def test_tinybig_metric_defaults_are_kept() -> None:
    raw = _config()
    raw["configurations"]["metric_configs"] = {"metric_class": "tinybig.metric.f1",
                                              "metric_parameters": {"name": "f1"}}  # fmt: skip
    assert translate_tinybig(raw)["metric"] == {"name": "f1", "parameters": {"average": "binary"}}


def test_output_configs_give_a_run_directory(tmp_path: Path) -> None:
    raw = _config()
    assert "output" not in translate_tinybig(raw, tmp_path / "x.yaml")
    raw["configurations"]["result_configs"] = {"result_class": "tinybig.output.rpn_output"}
    assert translate_tinybig(raw, tmp_path / "my_run.yaml")["output"] == {"dir": "runs/my_run"}
    raw["configurations"]["output_configs"] = {"output_class": "tinybig.output.rpn_output"}
    (problem,) = _problems(raw)
    assert "both result_configs and output_configs" in problem


# -- overrides and one pass ------------------------------------------------------------------------
def test_set_reaches_tinybigs_own_keys(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config()))
    config = load_config(
        path,
        [
            "configurations.learner_configs.learner_parameters.n_epochs=2",
            "configurations.model_configs.model_parameters.layer_configs.0.layer_parameters.width=2",
            "seed=3",
        ],
    )
    assert (config.learner["n_epochs"], config.seed) == (2, 3)
    assert config.model["parameters"]["layers"][0]["width"] == 2


def test_validate_reports_every_problem_in_one_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = _config(
        _head(
            data_transformation_configs=_function("tinybig.expansion.taylor_expansion", e=3),
            remainder_configs=_function("tinybig.remainder.zero_remainder", enable_bias=True),
        ),
        fusion_strategy="linear",
    )
    raw["configurations"]["data_configs"]["data_class"] = "tinybig.data.mnist"
    raw["configurations"]["learner_configs"]["learner_parameters"]["optimizer_configs"][
        "optimizer_parameters"
    ]["lrate"] = 1
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert main(["validate", str(path)]) == 2
    lines = capsys.readouterr().out.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 5 and lines[-1] == f"5 problem(s) in {path}"
    with pytest.raises(ConfigError, match=r"^5 problems in broken\.yaml: configurations\."):
        load_config(path)


def test_rpnkit_configs_are_not_translated() -> None:
    config = normalize_config(
        {"data": "iris", "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}}}
    )
    assert config.data == {"name": "iris", "parameters": {}}


def test_tinybig_form_components_build_once_translated() -> None:
    registry = get_registry()
    spec = _function("tinybig.expansion.taylor_expansion", d=2, name="label")
    assert rpnkit_form("expansion", spec, "expansion") == {
        "name": "taylor_expansion",
        "parameters": {"d": 2},
    }
    assert registry.build("expansion", rpnkit_form("expansion", spec, "x")).calculate_D(3) == 12
    old = {"remainder_class": "tinybig.remainder.linear_remainder", "remainder_parameters": {}}
    assert build("remainder", old, m=3, n=2).weight.shape == (2, 3)  # rpnkit.build translates


def test_the_registry_itself_does_not_read_tinybig_form() -> None:
    spec = _function("tinybig.expansion.taylor_expansion", d=2)
    with pytest.raises(ConfigError, match="expansion config has unknown key 'function_class'"):
        get_registry().build("expansion", spec)
