"""Published tinybig configs of every version, with tinybig's meaning: ignored keys, v0.1.x and
RPN 2 spellings, the interdependence tutorial configs, and the one-line notices.

The fixtures under ``tests/configs/tinybig_rpn2`` say in their header what was changed from
the tinyBIG repository's file.
"""

from __future__ import annotations

import contextlib
import copy
import io
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import rpnkit
from rpnkit.run.config import load_config
from rpnkit.tinybig.problems import TinybigIgnoredKeyWarning, TinybigNotice
from rpnkit.tinybig.run import translate_tinybig

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "configs" / "tinybig_rpn2"
IGNORED = HERE / "digits_v01_ignored_keys.yaml"
V01_NESTED = HERE / "composite_v01_expansion_function_configs.yaml"
RPN2_HEAD = HERE / "iris_rpn2_head.yaml"


def _rpnkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *args], capture_output=True, text=True, cwd=ROOT
    )


def _translate(raw: dict[str, Any]) -> tuple[dict[str, Any], list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = translate_tinybig(copy.deepcopy(raw))
    return out, caught


def _of(caught: list[warnings.WarningMessage], category: type[Warning]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, category)]


# -- keys tinybig never read ----------------------------------------------------------------


def test_validate_lists_one_warning_per_ignored_key_and_exits_0() -> None:
    done = _rpnkit("validate", str(IGNORED))
    assert done.returncode == 0, done.stdout + done.stderr
    warnings_ = [line for line in done.stdout.splitlines() if line.startswith("warning: ")]
    assert len(warnings_) == 3
    assert any(
        "model_configs.device: ignored" in w and "configurations.device" in w for w in warnings_
    )
    assert any(
        "postprocess_function_configs: ignored, as tinybig ignored it" in w
        and "move it into data_transformation_parameters" in w
        for w in warnings_
    )
    assert f"{IGNORED}: OK" in done.stdout


@pytest.mark.e2e
def test_strict_turns_the_warnings_into_errors() -> None:
    done = _rpnkit("validate", "--strict", str(IGNORED))
    assert done.returncode == 2
    errors = [line for line in done.stdout.splitlines() if line.startswith("error: ")]
    assert len(errors) == 3 and all("(--strict)" in e for e in errors)
    trained = _rpnkit("train", "--strict", "--quiet", str(IGNORED), "--output", "/nonexistent")
    assert trained.returncode == 2 and "(--strict)" in trained.stderr


def test_ignored_keys_mean_what_they_meant_in_tinybig() -> None:
    raw = yaml.safe_load(IGNORED.read_text())
    out, caught = _translate(raw)
    assert len(_of(caught, TinybigIgnoredKeyWarning)) == 3
    layers = out["model"]["parameters"]["layers"]
    # no layer norm: the published MNIST run had none either
    assert all("postprocess" not in layer["expansion"].get("parameters", {}) for layer in layers)
    conf = raw["configurations"]
    del conf["model_configs"]["device"]
    for layer in conf["model_configs"]["model_parameters"]["layer_configs"]:
        section = layer["layer_parameters"]["head_configs"][0]["head_parameters"]
        section["data_transformation_configs"].pop("postprocess_function_configs", None)
        section["data_transformation_configs"].pop("postprocess_functions", None)
    without, caught = _translate(raw)
    assert without["model"] == out["model"] and not _of(caught, TinybigIgnoredKeyWarning)


def test_model_configs_device_warns_only_when_it_differs() -> None:
    raw = yaml.safe_load(IGNORED.read_text())
    raw["configurations"]["model_configs"]["device"] = "cpu"
    _, caught = _translate(raw)
    assert not [w for w in _of(caught, TinybigIgnoredKeyWarning) if "model_configs.device" in w]
    _, caught = _translate(yaml.safe_load(V01_NESTED.read_text()))  # device cpu in both places
    assert not _of(caught, TinybigIgnoredKeyWarning)


# -- spellings --------------------------------------------------------------------------------


def test_v01_expansion_function_configs_build_the_same_model_as_0_2_1s_spelling() -> None:
    old = load_config(V01_NESTED).model
    new = load_config(ROOT / "tests" / "configs" / "tinybig" / "composite_nested.yaml").model
    assert old == new
    expansion = old["parameters"]["layers"][0]["expansion"]
    assert [part["name"] for part in expansion["parameters"]["expansions"]] == [
        "bspline",
        "taylor",
    ]


@pytest.mark.e2e
def test_rpn2_head_config_builds_and_trains(tmp_path: Path) -> None:
    spec = load_config(RPN2_HEAD).model
    (layer,) = spec["parameters"]["layers"]
    assert layer["attribute_interdependence"]["name"] == "lowrank_parameterized_bilinear"
    assert layer["instance_interdependence"]["name"] == "rv_coefficient"
    assert layer["batch_num"] == 15 and layer["output_process"] == ["batch_norm"]
    model = rpnkit.build("model", spec["name"], **spec["parameters"])
    head = model.layers[0].heads[0]
    assert head.w_attribute_interdependence.shape == (2, 2 * 15)  # W = AB, b × b, rank 1
    done = _rpnkit("train", str(RPN2_HEAD), "--quiet", "--output", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "run" / "model.pt").is_file()


def test_rpn2_head_config_matches_tinybigs_model(tinybig: Any) -> None:
    from tinybig.config import config as tinybig_config

    section = yaml.safe_load(RPN2_HEAD.read_text())["configurations"]["model_configs"]
    # tinybig 0.2.1 reads function_class in head sections; no BatchNorm (never trained there)
    head = section["model_parameters"]["layer_configs"][0]["layer_parameters"]["head_configs"][0]
    parameters = head["head_parameters"]
    attribute = parameters["attribute_interdependence_configs"]
    parameters["attribute_interdependence_configs"] = {
        "function_class": attribute["data_interdependence_function_class"],
        "function_parameters": attribute["data_interdependence_function_parameters"],
    }
    parameters["instance_interdependence_configs"]["function_parameters"]["b"] = 15
    del parameters["output_process_function_configs"]
    parameters["instance_interdependence_configs"] = None  # RV differs by rpnkit's rule
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = tinybig_config.get_obj_from_str(section["model_class"])(
            **copy.deepcopy(section["model_parameters"])
        )
    spec = load_config(RPN2_HEAD).model
    layer = spec["parameters"]["layers"][0]
    del layer["instance_interdependence"], layer["output_process"]
    ours = rpnkit.build("model", spec["name"], **spec["parameters"])
    mine = dict(ours.named_parameters())
    with torch.no_grad():
        for name, value in theirs.named_parameters():
            mine[name.replace(".b", ".bias") if name.endswith(".b") else name].copy_(value)
    x = torch.rand(15, 4, generator=torch.Generator().manual_seed(0))
    with contextlib.redirect_stdout(io.StringIO()):
        expected = theirs(x, device="cpu")
    torch.testing.assert_close(ours(x), expected, rtol=1e-4, atol=1e-5)


# -- tinyBIG's two interdependence tutorial configs -----------------------------------------


def _tutorial(tinybig: Any, name: str) -> tuple[Any, Any]:
    from tinybig.config.base_config import config

    raw = yaml.safe_load((HERE / f"{name}.yaml").read_text())
    section = raw["data_interdependence_function_configs"]
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = config.instantiation_from_configs(
            configs=copy.deepcopy(section),
            class_name="data_interdependence_function_class",
            parameter_name="data_interdependence_function_parameters",
        )
        ours = rpnkit.build("interdependence", section)
    return ours, theirs


def test_data_interdependence_tutorial_config_builds_the_same_function(tinybig: Any) -> None:
    ours, theirs = _tutorial(tinybig, "data_interdependence_function_config")
    assert type(ours).__name__ == "LowRankParameterizedBilinearInterdependence"
    assert ours.calculate_l() == theirs.calculate_l() == 4
    x = torch.rand(2, 4, generator=torch.Generator().manual_seed(1))
    w = torch.rand(1, 4, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ours.calculate_A(x, w), theirs.calculate_A(x, w))
    torch.testing.assert_close(ours(x, w), theirs(x=x, w=w))


def test_structural_interdependence_tutorial_config_builds_the_same_function(
    tinybig: Any,
) -> None:
    ours, theirs = _tutorial(tinybig, "structural_interdependence_function_config")
    assert ours.calculate_m_prime() == theirs.calculate_m_prime() == 150528
    x = torch.rand(1, 32 * 32 * 3, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(ours(x), theirs(x=x))


# -- notices ---------------------------------------------------------------------------------


def test_a_divergent_component_is_announced_once(tmp_path: Path) -> None:
    raw = yaml.safe_load(V01_NESTED.read_text())
    for layer in raw["configurations"]["model_configs"]["model_parameters"]["layer_configs"]:
        head = layer["layer_parameters"]["head_configs"][0]["head_parameters"]
        head["data_transformation_configs"] = {
            "function_class": "tinybig.expansion.laguerre_expansion",
            "function_parameters": {"d": 2},
        }
    path = tmp_path / "laguerre.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = _rpnkit("validate", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    notices = [line for line in done.stdout.splitlines() if line.startswith("notice: ")]
    assert len(notices) == 1 and "laguerre" in notices[0]


def test_list_held_batch_norm_and_dropout_are_announced() -> None:
    raw = yaml.safe_load(RPN2_HEAD.read_text())
    layer = raw["configurations"]["model_configs"]["model_parameters"]["layer_configs"][0]
    head = layer["layer_parameters"]["head_configs"][0]["head_parameters"]
    head["output_process_function_configs"].append({"function_class": "torch.nn.Dropout"})
    out, caught = _translate(raw)
    notices = _of(caught, TinybigNotice)
    assert any("BatchNorm1d in a tinybig processing list" in n for n in notices)
    assert any("Dropout in a tinybig processing list" in n for n in notices)
    assert out["model"]["parameters"]["layers"][0]["output_process"] == ["batch_norm", "dropout"]
