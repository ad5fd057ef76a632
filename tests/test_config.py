"""Config loading, overrides, normalisation and the tinybig translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpnkit.errors import ConfigError
from rpnkit.run.config import apply_overrides, load_config, load_yaml, normalize_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"

MINIMAL = {"data": "iris", "model": {"name": "rpn", "parameters": {"layers": []}}}


@pytest.mark.parametrize("name", ["digits", "iris", "function_fit", "tinybig_iris", "regression"])
def test_shipped_configs_load(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.yaml")
    assert config.model["name"] == "rpn"
    assert config.learner["n_epochs"] >= 1
    assert config.metrics


def test_component_shorthands_normalise() -> None:
    config = normalize_config(
        {**MINIMAL, "learner": {"loss": "mse", "n_epochs": 2}, "metric": "r2"}
    )
    assert config.data == {"name": "iris", "parameters": {}}
    assert config.loss == {"name": "mse", "parameters": {}}
    assert config.metrics == [{"name": "r2", "parameters": {}}]
    assert config.output == {
        "dir": None,
        "save_model": True,
        "checkpoints": False,
        "overwrite": False,
        "versioned": False,
    }


def test_train_options_are_split_from_learner_options() -> None:
    config = normalize_config({**MINIMAL, "learner": {"n_epochs": 2, "display_step": 5}})
    assert config.train == {"display_step": 5}
    assert config.learner == {"n_epochs": 2}


def test_overrides_parse_yaml_values_and_index_lists() -> None:
    raw = load_yaml(CONFIGS / "digits.yaml")
    out = apply_overrides(
        raw,
        [
            "learner.n_epochs=3",
            "model.parameters.layers.0.n=32",
            "output.dir=null",
            "new.key=[1, 2]",
        ],
    )
    assert out["learner"]["n_epochs"] == 3
    assert out["model"]["parameters"]["layers"][0]["n"] == 32
    assert out["output"]["dir"] is None
    assert out["new"] == {"key": [1, 2]}
    assert raw["learner"]["n_epochs"] == 15  # the input is not modified


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**MINIMAL, "lerner": {}}, "unknown key lerner (did you mean 'learner'?)"),
        ({**MINIMAL, "learner": {"n_epochs": 0}}, "learner.n_epochs must be an integer >= 1, got 0"),
        ({**MINIMAL, "seed": "x"}, "seed='x' is not valid; expected an integer from 0 to 2**64 - 1 or null"),
        ({**MINIMAL, "output": {"dri": "x"}}, "unknown key output.dri (did you mean 'dir'?)"),
        ({**MINIMAL, "output": {"save_model": "yes"}}, "output.save_model must be true or false"),
        ({**MINIMAL, "learner": {"optimizer": {"name": "adamw", "params": {}}}},
         "learner.optimizer has unknown key 'params' (did you mean 'parameters'?)"),
        ({**MINIMAL, "metric": [3]}, "metric[0] must be a component name"),
        ({"model": MINIMAL["model"]}, "section 'data' is missing"),
        ({**MINIMAL, "strategy": "dp"}, "strategy='dp' is not valid"),
    ],
)  # fmt: skip
def test_bad_configs_are_one_line_errors(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        normalize_config(raw)
    assert message in str(excinfo.value)
    assert "\n" not in str(excinfo.value)


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("data: digits\nmodel: {name: rpn\nlearner: {}\n")
    with pytest.raises(ConfigError, match=r"malformed YAML at line \d+, column \d+"):
        load_yaml(path)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_yaml(tmp_path / "missing.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_yaml(path)


def test_bad_override_syntax() -> None:
    with pytest.raises(ConfigError, match=r"must look like KEY\.PATH=VALUE"):
        apply_overrides({}, ["learner.n_epochs"])
    with pytest.raises(ConfigError, match="list index from 0 to 0"):
        apply_overrides({"a": [1]}, ["a.3=2"])


# -- the runner builds the learner once, with every setting -----------------------------------
RUNNABLE = {
    "data": {"name": "iris", "parameters": {"batch_size": 16}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 1, "verbose": False, "optimizer": {"name": "sgd"}},
}


def test_the_learner_is_constructed_with_its_checkpoints_and_callbacks(tmp_path: Path) -> None:
    from rpnkit.components.spec import ComponentSpec
    from rpnkit.learner.callbacks import LastEpoch
    from rpnkit.run.runner import assemble_or_raise

    config = normalize_config(
        {**RUNNABLE, "output": {"dir": str(tmp_path / "run"), "checkpoints": {"every_n_steps": 4}}}
    )
    keeper = LastEpoch()
    learner = assemble_or_raise(config, verbose=False, callbacks=[keeper]).learner
    assert learner.checkpoint_dir == tmp_path / "run" / "checkpoints"
    assert learner.checkpoint_every_n_steps == 4
    assert learner.callbacks == [keeper]
    assert isinstance(learner.optimizer, ComponentSpec)  # resolved once, built when training
    assert not (tmp_path / "run").exists()  # building writes nothing


def test_a_learner_setting_from_the_config_meets_the_constructors_checks() -> None:
    from rpnkit.run.runner import check_config

    config = normalize_config(
        {**RUNNABLE, "learner": {**RUNNABLE["learner"], "checkpoint_every_n_steps": 3}}
    )
    assert check_config(config) == [
        "learner: checkpoint_every_n_steps=3 needs checkpoint_dir, the folder to write the "
        "checkpoints into"
    ]


def test_check_takes_the_arguments_of_train() -> None:
    import torch

    from rpnkit import build
    from rpnkit.learner import BackwardLearner

    learner = BackwardLearner(n_epochs=1, verbose=False)
    model = torch.nn.Linear(4, 3)
    data = build("dataset", "iris", batch_size=16)
    learner.check(model, data, "cpu", test_check=False)
    with pytest.raises(ConfigError) as info:
        learner.check(model)
    assert str(info.value) == (
        "BackwardLearner.check is missing required parameter(s) 'data_loader'; given: "
        "<1 positional>"
    )
    with pytest.raises(ConfigError, match=r"has no parameter 'devise' \(did you mean 'device'"):
        learner.check(model, data, devise="cpu")
