"""RPN 2 grid models: ``cnn`` and ``resnet`` against tinybig 0.2.1, the registry, the config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry
from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.cnn import cnn, resnet

ROOT = Path(__file__).resolve().parents[1]

_MODEL_CASES = [
    ("cnn", {"h": 8, "w": 8, "channel_nums": [1, 4, 8], "fc_dims": [10], "p_h": 1}),
    ("resnet", {"h": 6, "w": 6, "channel_nums": [2, 3, 4], "fc_dims": [5, 3], "p_h": 1,
                "pooling_p_h": 0, "pooling_p_h_prime": 1, "pooling_p_w": 0,
                "pooling_p_w_prime": 1, "pooling_cd_h": 2, "pooling_cd_w": 2, "pooling_cd_d": 1}),
    ("cnn", {"h": 9, "w": 7, "channel_nums": [2, 3, 4, 2, 3], "fc_dims": [6, 5, 3], "p_h": 2,
             "patch_size_half_after_pooling": True, "pooling_layer_gaps": 1,
             "pooling_metric": "batch_sum", "with_lorr": True, "r": 2, "pooling_cd_h": 2,
             "pooling_cd_w": 2, "pooling_cd_d": 1}),
    ("cnn", {"h": 9, "w": 7, "channel_nums": [2, 3, 4], "fc_dims": [6, 3],
             "patch_shape": "cylinder", "p_r": 1, "with_dual_lphm": True, "r": 1,
             "with_softmax": True, "enable_bias": False}),
]  # fmt: skip


def _tinybig_model(name: str, options: dict[str, Any]) -> Any:
    from tinybig.model.rpn_cnn import cnn as tinybig_cnn
    from tinybig.model.rpn_cnn import resnet as tinybig_resnet

    return (tinybig_cnn if name == "cnn" else tinybig_resnet)(**options)


def _trained_parameters(model: torch.nn.Module) -> list[torch.Tensor]:
    """The parameters tinybig registers too (its BatchNorm modules are not registered)."""
    batch_norm = {
        id(p)
        for m in model.modules()
        if isinstance(m, torch.nn.BatchNorm1d)
        for p in m.parameters()
    }
    return [p for p in model.parameters() if id(p) not in batch_norm]


@pytest.mark.parametrize(("name", "options"), _MODEL_CASES)
def test_parameter_counts_and_shapes_equal_tinybigs(
    tinybig: Any, name: str, options: dict[str, Any]
) -> None:
    reference = _tinybig_model(name, options)
    model = rpnkit.build("model", name, **options)
    assert isinstance(model, RPN)
    assert [tuple(p.shape) for p in _trained_parameters(model)] == [
        tuple(p.shape) for p in reference.parameters()
    ]
    flat = torch.randn(5, options["channel_nums"][0] * options["h"] * options["w"])
    image = flat.view(5, options["channel_nums"][0], options["h"], options["w"])
    assert model(flat).shape == reference(flat).shape == (5, options["fc_dims"][-1])
    assert model(image).shape == (5, options["fc_dims"][-1])
    grids = [layer.output_grid for layer in model.layers if hasattr(layer, "output_grid")]
    assert grids == [
        tuple(layer.get_output_grid_shape()) for layer in reference.layers[: len(grids)]
    ]


@pytest.mark.parametrize(("name", "options"), _MODEL_CASES[:3])
def test_models_compute_tinybigs_function(tinybig: Any, name: str, options: dict[str, Any]) -> None:
    plain = {**options, "with_batch_norm": False, "with_dropout": False}
    reference = _tinybig_model(name, plain)
    model = rpnkit.build("model", name, **plain)
    with torch.no_grad():
        for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
            mine.copy_(theirs)
    x = torch.randn(4, options["channel_nums"][0] * options["h"] * options["w"])
    torch.testing.assert_close(model(x), reference(x), rtol=1e-4, atol=1e-5)


def test_models_answer_to_tinybig_names_and_show_their_keywords() -> None:
    registry = get_registry()
    for alias in ("rpn_cnn", "tinybig.model.cnn", "tinybig.model.rpn_cnn",
                  "tinybig.model.rpn_cnn.cnn"):  # fmt: skip
        assert registry.get("model", alias) is cnn
    assert registry.get("model", "tinybig.model.rpn_cnn.resnet") is resnet
    for group, name in (("head", "grid_interdependence_head"), ("head", "grid_compression_head"),
                        ("layer", "grid_interdependence_layer"),
                        ("layer", "grid_compression_layer")):  # fmt: skip
        assert registry.get_info(group, name).name == name.rsplit("_", 1)[0]
    model = resnet(h=4, w=4, channel_nums=[1, 2], fc_dims=[3], p_h=1)
    assert model.layers[0].heads[0].remainder is not None  # always residual


def test_grid_layers_inside_an_rpn_layer_list() -> None:
    torch.manual_seed(0)
    model = rpnkit.build("model", {"name": "rpn", "parameters": {"layers": [
        {"name": "grid_interdependence_layer",
         "parameters": {"h": 8, "w": 8, "in_channel": 1, "out_channel": 2, "p_h": 1}},
        {"name": "grid_compression", "parameters": {
            "h": 8, "w": 8, "channel_num": 2, "p_h": 0, "p_h_prime": 1, "p_w": 0,
            "p_w_prime": 1, "cd_h": 2, "cd_w": 2, "cd_d": 1}},
        {"m": "auto", "n": 10},
    ]}})  # fmt: skip
    assert [layer.out_features for layer in model.layers] == [128, 32, 10]
    assert model(torch.randn(3, 1, 8, 8)).shape == (3, 10)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channel_nums": [1], "fc_dims": [3]}, "channel_nums=[1] is not valid"),
        ({"channel_nums": [1, 2], "fc_dims": []}, "fc_dims=[] is not valid"),
        ({"channel_nums": [1, 0], "fc_dims": [3]}, "channel_nums[1]=0"),
        ({"channel_nums": [1, 2], "fc_dims": [3], "pooling_layer_gaps": 0},
         "pooling_layer_gaps=0"),
    ],
)  # fmt: skip
def test_model_errors_are_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cnn(h=4, w=4, p_h=1, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def _train(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RPNKIT_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", "train", str(ROOT / "configs" / "cnn_digits.yaml"),
         "--output", str(out), "--quiet", *extra],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_shipped_cnn_digits_config_trains_and_predicts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    done = _train(out, "--set", "learner.n_epochs=1", "--set", "learner.lr_scheduler=null")
    assert done.returncode == 0, done.stderr[-2000:]
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history) == 1 and history[0]["test_accuracy"] > 0.5
    run = rpnkit.load_run(out)
    images = torch.rand(3, 64)  # the saved model takes tinybig's flat layout too
    assert run.predict(images).outputs.shape == (3, 10)


@pytest.mark.e2e
def test_shipped_cnn_digits_config_reaches_its_accuracy(tmp_path: Path) -> None:
    done = _train(tmp_path / "run")
    assert done.returncode == 0, done.stderr[-2000:]
    final = json.loads((tmp_path / "run" / "history.json").read_text())["history"][-1]
    assert final["test_accuracy"] >= 0.97
