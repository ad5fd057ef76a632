"""tinybig configs of every published shape run unchanged in rpnkit, with tinybig's meaning.

The configs under ``tests/configs/tinybig`` are tinyBIG's published configs (its
``docs/notes/configs`` and ``tests/unit_tests/configs``) with the data swapped to a bundled set
and the device set to cpu; each says in its header what changed. Every one validates, trains a
few epochs, saves its outputs where it says, and builds a model with exactly the parameters
tinybig 0.2.1 builds from the same config, computing the same outputs from the same values.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from rpnkit.cli import main
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry
from rpnkit.rpn.model import LAYER_KEYS
from rpnkit.run.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "tests" / "configs" / "tinybig").glob("*.yaml"))
SHIPPED = ROOT / "configs" / "tinybig_iris.yaml"
ALL = [*CONFIGS, SHIPPED]
TWO_EPOCHS = "configurations.learner_configs.learner_parameters.n_epochs=2"
#: Configs that need what another branch adds: (group or "layer option", name, where from).
WAITS = {
    "composite_nested.yaml": [("expansion", "nested_expansion", "rpn-exp-a")],
    "breast_cancer_combinatorial.yaml": [
        ("expansion", "combinatorial_normal_expansion", "rpn-exp-b")
    ],
    "digits_multihead.yaml": [
        ("fusion", "summation_fusion", "rpn-fusion"),
        ("layer option", "heads", "rpn-fusion"),
    ],
}
#: tinybig 0.2.1 reads only ``function_class`` / ``function_parameters`` for functions.
OLD_SPELLINGS = ("data_transformation", "parameter_fabrication", "remainder")


def _missing(path: Path) -> str | None:
    """What the config waits for, or ``None`` when this installation has it all."""
    registry = get_registry()
    for group, name, branch in WAITS.get(path.name, []):
        if group == "layer option":
            present = name in LAYER_KEYS
        else:
            present = registry.has_group(group) and bool(
                [e for e in registry.entries(group) if name in (e.name, *e.aliases)]
            )
        if not present:
            return f"the {group} {name!r} ({branch})"
    return None


def _runnable(path: Path) -> Path:
    missing = _missing(path)
    if missing:
        pytest.skip(f"{path.name} waits for {missing}")
    return path


@pytest.fixture(params=ALL, ids=lambda p: p.name)
def config(request: pytest.FixtureRequest) -> Path:
    return _runnable(request.param)


def test_validates(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(config)]) == 0
    assert f"{config}: OK" in capsys.readouterr().out


@pytest.mark.e2e
def test_trains_and_saves_its_outputs_to_a_run_directory_named_after_it(
    config: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", str(config), "--set", TWO_EPOCHS]) == 0
    out = tmp_path / "runs" / config.stem
    assert f"results written to runs/{config.stem}" in " ".join(capsys.readouterr().err.split())
    assert sorted(p.name for p in out.iterdir()) == [
        "config.yaml",
        "history.csv",
        "history.json",
        "model.pt",
        "preprocessing.json",
    ]
    history = json.loads((out / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [0, 1]
    assert all(torch.isfinite(torch.tensor(row["train_loss"])) for row in history)
    # the saved config is rpnkit's form of the same run: it loads and builds the same model
    saved = load_config(out / "config.yaml")
    assert saved.learner["n_epochs"] == 2
    weights = torch.load(out / "model.pt", weights_only=True)
    model = get_registry().build("model", saved.model["name"], **saved.model["parameters"])
    model.load_state_dict(weights)


def test_output_option_chooses_another_directory(tmp_path: Path) -> None:
    out = tmp_path / "elsewhere"
    args = ["train", str(SHIPPED), "--set", TWO_EPOCHS, "--output", str(out), "--quiet"]
    assert main(args) == 0
    assert (out / "model.pt").is_file()


def _tinybig_spelling(node: Any) -> Any:
    """The config with the older function spelling renamed to tinybig 0.2.1's."""
    if isinstance(node, dict):
        renamed = {}
        for key, value in node.items():
            for old in OLD_SPELLINGS:
                key = {
                    f"{old}_class": "function_class",
                    f"{old}_parameters": "function_parameters",
                }.get(key, key)
            renamed[key] = _tinybig_spelling(value)
        return renamed
    if isinstance(node, list):
        return [_tinybig_spelling(item) for item in node]
    return node


def tinybig_model(tinybig: Any, path: Path) -> torch.nn.Module:
    """The model tinybig 0.2.1 builds from the config's ``model_configs``."""
    from tinybig.config import config as tinybig_config

    section = _tinybig_spelling(yaml.safe_load(path.read_text())["configurations"]["model_configs"])
    parameters = copy.deepcopy(section["model_parameters"])
    parameters["device"] = "cpu"
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tinybig_config.get_obj_from_str(section["model_class"])(**parameters)


def _rpnkit_name(tinybig_name: str) -> str:
    """The rpnkit parameter that holds a tinybig head parameter."""
    head, _, leaf = tinybig_name.rpartition(".")
    renames = {"b": "bias", "w_remainder": "remainder.weight", "b_remainder": "remainder.bias"}
    return f"{head}.{renames.get(leaf, leaf)}"


def test_builds_tinybigs_model_with_the_same_outputs(config: Path, tinybig: Any) -> None:
    reference = tinybig_model(tinybig, config)
    spec = load_config(config).model
    ours = get_registry().build("model", spec["name"], **spec["parameters"])
    theirs = dict(reference.named_parameters())
    mine = dict(ours.named_parameters())
    assert sum(p.numel() for p in mine.values()) == sum(p.numel() for p in theirs.values())
    assert {_rpnkit_name(name) for name in theirs} == set(mine)
    with torch.no_grad():
        for name, value in theirs.items():
            mine[_rpnkit_name(name)].copy_(value)
    m = spec["parameters"]["layers"][0]["m"]
    x = 0.1 + 0.8 * torch.rand(16, m, generator=torch.Generator().manual_seed(0))
    reference.eval()
    ours.eval()
    with contextlib.redirect_stdout(io.StringIO()):
        expected = reference(x, device="cpu")
    torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)


def test_the_shipped_config_loads_in_tinybig(tinybig: Any) -> None:
    from tinybig.config import config as tinybig_config

    raw = yaml.safe_load(SHIPPED.read_text())["configurations"]
    model = tinybig_model(tinybig, SHIPPED)
    assert sum(p.numel() for p in model.parameters()) > 0
    learner = raw["learner_configs"]
    built = tinybig_config.get_obj_from_str(learner["learner_class"])(
        **copy.deepcopy(learner["learner_parameters"])
    )
    assert built.n_epochs == learner["learner_parameters"]["n_epochs"]
    metric = raw["metric_configs"]
    tinybig_config.get_obj_from_str(metric["metric_class"])(**metric["metric_parameters"])


@pytest.mark.parametrize("path", [p for p in CONFIGS if p.name in WAITS], ids=lambda p: p.name)
def test_waiting_configs_name_what_they_wait_for(path: Path) -> None:
    if _missing(path) is None:
        pytest.skip(f"{path.name} has everything it needs")
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    assert "\n" not in str(excinfo.value) and "configurations." in str(excinfo.value)
