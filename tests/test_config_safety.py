"""A config never runs arbitrary code: dotted paths name registered components or classes of
the group's kind, unless the caller opts in with --trust-code / trusted_code()."""

from __future__ import annotations

from pathlib import Path

import pytest

from rpnkit import build, trusted_code
from rpnkit.errors import ConfigError
from tests.conftest import run_rpnkit

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

BASE_DATA = "data: {name: iris}\n"
BASE_MODEL = "model: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}\n"


def _hostile(tmp_path: Path, marker: Path) -> dict[str, str]:
    shell = f"{{name: os.system, parameters: {{command: 'touch {marker}'}}}}"
    return {
        "learner.loss": BASE_DATA + BASE_MODEL + f"learner: {{loss: {shell}}}\n",
        "learner.optimizer": BASE_DATA + BASE_MODEL + f"learner: {{optimizer: {shell}}}\n",
        "learner.lr_scheduler": BASE_DATA + BASE_MODEL + f"learner: {{lr_scheduler: {shell}}}\n",
        "data": f"data: {shell}\n" + BASE_MODEL,
        "model": BASE_DATA + f"model: {shell}\n",
        "metric[0]": BASE_DATA + BASE_MODEL + f"metric: {shell}\n",
        "model.layers[0]": BASE_DATA
        + "model: {name: rpn, parameters: {layers: [{m: 4, n: 3, expansion: "
        + shell
        + "}]}}\n",
    }


@pytest.mark.parametrize(
    "field",
    [
        "learner.loss",
        "learner.optimizer",
        "learner.lr_scheduler",
        "data",
        "model",
        "metric[0]",
        "model.layers[0]",
    ],
)
@pytest.mark.parametrize("command", ["validate", "train"])
def test_a_shell_command_in_a_config_never_runs(tmp_path: Path, field: str, command: str) -> None:
    marker = tmp_path / "PWNED"
    config = tmp_path / "hostile.yaml"
    config.write_text(_hostile(tmp_path, marker)[field])
    out = tmp_path / "run"
    extra = ["--output", str(out), "--quiet"] if command == "train" else []
    result = run_rpnkit(command, str(config), *extra)
    assert result.returncode == 2, result.stderr
    assert not marker.exists()
    assert not out.exists()
    text = result.stdout + result.stderr
    assert field in text and "'os.system'" in text and "--trust-code" in text
    assert "Traceback" not in text


def test_a_class_of_the_groups_kind_is_accepted_by_path() -> None:
    loss = build("loss", {"name": "torch.nn.SmoothL1Loss", "parameters": {"beta": 0.5}})
    assert type(loss).__name__ == "SmoothL1Loss"


def test_a_class_of_another_kind_is_refused_naming_what_the_group_accepts() -> None:
    with pytest.raises(
        ConfigError, match=r"loss 'torch.optim.SGD' names SGD.*subclasses of torch\.nn\.Module"
    ):
        build("loss", "torch.optim.SGD")


def test_trusted_code_is_an_explicit_opt_in_in_python() -> None:
    with pytest.raises(ConfigError, match="not a registered loss"):
        build("loss", "collections.OrderedDict")
    with trusted_code():
        assert type(build("loss", "collections.OrderedDict")).__name__ == "OrderedDict"
    with pytest.raises(ConfigError, match="not a registered loss"):
        build("loss", "collections.OrderedDict")


def test_trust_code_flag_opts_in_on_the_command_line(tmp_path: Path) -> None:
    config = tmp_path / "trusted.yaml"
    config.write_text(BASE_DATA + BASE_MODEL + "learner: {loss: collections.OrderedDict}\n")
    refused = run_rpnkit("validate", str(config))
    assert refused.returncode == 2 and "not a registered loss" in refused.stdout
    trusted = run_rpnkit("validate", str(config), "--trust-code")
    # the class is built now; it is no loss function, which the learner says in one line
    assert "not a registered loss" not in trusted.stdout
    assert "loss must be callable" in trusted.stdout
