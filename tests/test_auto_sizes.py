"""``auto`` sizes: an RPN model's input and output widths taken from the dataset."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import nn

from rpnkit import build
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry, reset_registry
from rpnkit.rpn import build_model
from rpnkit.rpn.sizes import auto_fields, resolve_sizes
from rpnkit.run.config import load_config, normalize_config
from rpnkit.run.runner import assemble, check_config
from tests.conftest import run_rpnkit

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
AUTO_LAYER = {"m": "auto", "n": "auto", "expansion": "taylor"}
AUTO_SETS = (
    "--set",
    "model.parameters.layers.0.m=auto",
    "--set",
    "model.parameters.layers.0.n=auto",
)


def write_csv(
    path: Path, features: int = 6, classes: tuple[str, ...] = ("a", "b", "c", "d")
) -> Path:
    """A CSV of ``features`` numeric columns and a ``label`` column of string classes."""
    generator = random.Random(0)
    rows = [",".join([*(f"x{i}" for i in range(features)), "label"])]
    for i in range(12 * len(classes)):
        kind = i % len(classes)
        cells = [f"{kind + generator.random():.3f}" for _ in range(features)]
        rows.append(",".join([*cells, classes[kind]]))
    path.write_text("\n".join(rows) + "\n")
    return path


def _config(model: Any, data: Any = "iris") -> Any:
    return normalize_config({"data": data, "model": model, "output": {"dir": None}})


# -- resolution ------------------------------------------------------------------------------
def test_the_first_m_and_the_last_n_take_the_dataset_widths() -> None:
    data = build("dataset", "wine")
    spec = {"name": "rpn", "parameters": {"layers": [{"m": "auto", "n": 8}, {"m": 8, "n": "auto"}]}}
    resolved, sizes = resolve_sizes(spec, data)
    assert sizes == {"model.parameters.layers[0].m": 13, "model.parameters.layers[1].n": 3}
    assert [(layer["m"], layer["n"]) for layer in resolved["parameters"]["layers"]] == [
        (13, 8),
        (8, 3),
    ]
    assert spec["parameters"]["layers"][0]["m"] == "auto"  # the given config is unchanged
    model = build("model", resolved)
    assert (model.in_features, model.out_features) == (13, 3)


def test_a_preset_takes_its_first_and_last_dims_from_the_dataset() -> None:
    spec = {"name": "kan", "parameters": {"dims": ["auto", 5, "auto"]}}
    resolved, sizes = resolve_sizes(spec, build("dataset", "iris"))
    assert resolved["parameters"]["dims"] == [4, 5, 3]
    assert sizes == {"model.parameters.dims[0]": 4, "model.parameters.dims[2]": 3}


def test_numbers_and_other_models_are_left_alone() -> None:
    assert auto_fields({"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}}) == {}
    assert auto_fields({"name": "no_such_model", "parameters": {"layers": [AUTO_LAYER]}}) == {}
    # torch's Linear is no RPN: its own meaning, not rpnkit's auto
    assert auto_fields({"name": "torch.nn.Linear", "parameters": {"in_features": "auto"}}) == {}


def test_an_inner_m_auto_is_the_previous_layers_output_size() -> None:
    torch.manual_seed(0)
    model = build_model(
        [{"m": 4, "n": 5, "width": 2, "fusion": "concatenation"}, {"m": "auto", "n": 3}]
    )
    assert model.layers[1].m == 10
    assert model(torch.randn(2, 4)).shape == (2, 3)
    repeated = build_model([{"m": 4, "n": 6}, {"m": "auto", "n": 6}], depth_alloc=[1, 3])
    assert [layer.m for layer in repeated.layers] == [4, 6, 6, 6]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([{"m": "autoo", "n": 3}], r"^model.layers\[0\].m='autoo' is not valid \(did you mean 'auto'\?\)"),
        ([{"m": 0, "n": 3}], r"^model.layers\[0\].m=0 is not valid; expected an integer >= 1 or 'auto'"),
        ([{"m": 4, "n": -1}], r"^model.layers\[0\].n=-1 is not valid; expected an integer >= 1 or 'auto'"),
        ([{"m": 4, "n": 2}, {"m": "Auto", "n": 3}], r"^model.layers\[1\].m='Auto'.*did you mean 'auto'"),
        ([{"m": 4, "n": "auto"}, {"m": "auto", "n": 3}], r"^model.layers\[0\].n='auto' is not valid here"),
        ([{"m": 4, "n": 2}, {"m": 2, "n": True}, {"m": 2, "n": 3}], r"^model.layers\[1\].n=True is not valid; expected an integer >= 1$"),
        # in Python, the dataset's widths are unknown: a one-line pointer to the numbers
        ([{"m": "auto", "n": 3}], r"^model.layers\[0\].m='auto' stands for the dataset's number of features.*give a number$"),
    ],
)  # fmt: skip
def test_bad_sizes_are_one_line_errors(layers: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as excinfo:
        build_model(layers)
    assert "\n" not in str(excinfo.value)


def test_a_preset_refuses_auto_inside_dims() -> None:
    with pytest.raises(ConfigError, match=r"dims\[1\]='auto' is not valid here"):
        build("model", "kan", dims=[4, "auto", 3])
    problems = check_config(_config({"name": "kan", "parameters": {"dims": [4, "auto", 3]}}))
    assert problems == [
        "model: dims[1]='auto' is not valid here: only a model's first input size, its last "
        "output size and an inner RPN layer's m may be 'auto'; give a number"
    ]


# -- the runner ------------------------------------------------------------------------------
def test_the_runner_builds_the_model_with_the_resolved_sizes() -> None:
    config = _config({"name": "rpn", "parameters": {"layers": [AUTO_LAYER]}}, "breast_cancer")
    parts, problems = assemble(config, verbose=False)
    assert problems == [] and parts is not None
    assert (parts.model.in_features, parts.model.out_features) == (30, 2)
    assert parts.sizes == {"model.parameters.layers[0].m": 30, "model.parameters.layers[0].n": 2}
    assert parts.config is not None
    assert parts.config.model["parameters"]["layers"][0] == {**AUTO_LAYER, "m": 30, "n": 2}
    assert config.model["parameters"]["layers"][0] == AUTO_LAYER  # the caller's is unchanged


@pytest.fixture
def widthless_dataset() -> Iterator[str]:
    """A dataset that gives two loaders and no widths."""

    def loaders() -> dict[str, Any]:
        data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.zeros(8, dtype=torch.long))
        loader = torch.utils.data.DataLoader(data, batch_size=4)
        return {"train_loader": loader, "test_loader": loader}

    get_registry().register("dataset", "test_widthless", loaders, summary="no widths")
    yield "test_widthless"
    reset_registry()


def test_auto_without_dataset_widths_is_one_line_naming_the_field(widthless_dataset: str) -> None:
    config = _config(
        {"name": "rpn", "parameters": {"layers": [{"m": "auto", "n": 2}]}}, widthless_dataset
    )
    assert check_config(config) == [
        "model: model.parameters.layers[0].m='auto' takes the dataset's number of features, but "
        "the dataset does not give one (in_features); give a number"
    ]


def test_auto_waits_silently_for_data_that_failed_to_build() -> None:
    config = _config({"name": "rpn", "parameters": {"layers": [AUTO_LAYER]}}, "irs")
    problems = check_config(config)
    assert len(problems) == 1 and problems[0].startswith("data: unknown dataset 'irs'")


def test_a_plugin_model_receives_auto_with_its_own_meaning() -> None:
    seen: dict[str, Any] = {}

    def echo(layers: Any) -> nn.Module:
        seen["layers"] = layers
        return nn.Linear(4, 3)

    get_registry().register("model", "test_echo", echo, summary="records its layers")
    try:
        config = _config({"name": "test_echo", "parameters": {"layers": [{"m": "auto"}]}})
        assert check_config(config) == []
        assert seen["layers"] == [{"m": "auto"}]
    finally:
        reset_registry()


def test_the_tinybig_form_keeps_its_meaning_and_refuses_auto() -> None:
    key = "configurations.model_configs.model_parameters.layer_configs.0.layer_parameters.m"
    with pytest.raises(ConfigError, match=r"layer_parameters.m='auto': expected an integer >= 1"):
        load_config(CONFIGS / "tinybig_iris.yaml", [f"{key}=auto"])


# -- the command line ------------------------------------------------------------------------
@pytest.mark.e2e
def test_train_on_a_csv_of_any_shape_then_predict_evaluate_and_resume(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "mine.csv")
    out = tmp_path / "runs" / "mine"
    common = (
        "--set", "data.name=csv", "--set", f"data.parameters.path={data}",
        "--set", "data.parameters.target=label", *AUTO_SETS,
    )  # fmt: skip
    checked = run_rpnkit("validate", str(CONFIGS / "iris.yaml"), *common)
    assert checked.returncode == 0, checked.stderr
    line = (
        "model.parameters.layers[0].m=6, model.parameters.layers[0].n=4 (from dataset 'mine.csv')"
    )
    assert f"  auto:    {line}" in checked.stdout.splitlines()

    trained = run_rpnkit(
        "train", str(CONFIGS / "iris.yaml"), "--output", str(out), *common,
        "--set", "learner.n_epochs=1", "--set", "output.checkpoints=true",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr.splitlines().count(f"auto sizes: {line}") == 1
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert [(layer["m"], layer["n"]) for layer in saved["model"]["parameters"]["layers"]] == [
        (6, 4)
    ]

    features = tmp_path / "new.csv"
    features.write_text(
        "x0,x1,x2,x3,x4,x5\n" + "0.5,0.5,0.5,0.5,0.5,0.5\n3.5,3.5,3.5,3.5,3.5,3.5\n"
    )
    predicted = run_rpnkit("predict", str(out), str(features), "-o", str(tmp_path / "p.csv"))
    assert predicted.returncode == 0, predicted.stderr
    rows = (tmp_path / "p.csv").read_text().splitlines()
    assert rows[0].split(",") == ["prediction", *(f"probability_{c}" for c in "abcd")]
    assert len(rows) == 3 and all(row.split(",")[0] in "abcd" for row in rows[1:])
    evaluated = run_rpnkit("evaluate", str(out))
    assert evaluated.returncode == 0 and "accuracy" in evaluated.stdout, evaluated.stderr

    resumed = run_rpnkit(
        "train", str(CONFIGS / "iris.yaml"), "--resume", str(out), "--quiet", *common,
        "--set", "learner.n_epochs=2",
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stderr
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["model"]["parameters"]["layers"][0]["m"] == 6
    assert saved["learner"]["n_epochs"] == 2
