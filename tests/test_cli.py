"""The ``rpnkit`` command line: list, show, plugins, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rpnkit import __version__
from rpnkit.cli import main
from tests.conftest import run_rpnkit


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def test_list_prints_the_groups_asked_for(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "optimizer", "loss"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()[1:]]
    assert {row[0] for row in rows} == {"optimizer", "loss"}  # not a terminal: plain rows
    names = {row[1]: row for row in rows}
    assert names["adamw"][3] == "builtin.torch_components" and "cross_entropy" in names


def test_list_in_a_pipe_imports_neither_torch_nor_rich() -> None:
    code = (
        "import sys; from rpnkit.cli import main; rc = main(['list']); "
        "assert not {'torch', 'rich'} & set(sys.modules), 'imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_list_json_is_machine_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"loss", "optimizer", "lr_scheduler", "metric"} <= set(data)
    adamw = next(row for row in data["optimizer"] if row["name"] == "adamw")
    assert adamw == {
        "group": "optimizer",
        "name": "adamw",
        "aliases": ["adam_w"],
        "plugin": "builtin.torch_components",
        "replaces": None,
        "distribution": "rpnkit",
        "target": "torch.optim:AdamW",
        "summary": "AdamW: Adam with decoupled weight decay",
    }


def test_list_filters_by_plugin(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", "--plugin", "example"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {row["name"] for rows in data.values() for row in rows}
    assert names == {"charbonnier", "max_error", "orthogonal"}
    assert {row["distribution"] for rows in data.values() for row in rows} == {"rpnkit-example"}


def test_list_does_not_import_torch() -> None:
    code = (
        "import sys; from rpnkit.cli import main; rc = main(['list']); "
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["adamw", "optimizer/AdamW", "ADAMW"])
def test_show_gives_target_plugin_signature(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", name]) == 0
    out = capsys.readouterr().out
    assert "torch.optim:AdamW" in out
    assert "builtin.torch_components" in out
    assert "AdamW(params, lr=0.001, betas=(0.9, 0.999)" in out
    lr_row = next(line for line in out.splitlines() if line.startswith("parameter: lr\t"))
    assert "float | torch.Tensor" in lr_row and "0.001" in lr_row


def test_show_a_name_in_several_groups(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "mse"]) == 0
    out = capsys.readouterr().out
    assert "loss/mse" in out and "metric/mse" in out


def test_plugins_lists_builtins_and_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["builtin.torch_components"]["status"] == "loaded"
    assert records["example"]["distribution"] == "rpnkit-example"
    assert records["example"]["version"] == "0.1.0"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["list", "optimiser"], "unknown component group 'optimiser' (did you mean 'optimizer'?)"),
        (["show", "adamx"], "no component named 'adamx' (did you mean 'adam', 'adamax', 'adamw'"),
        (["show", "optimizer/adamx"], "unknown optimizer 'adamx' (did you mean"),
        (["list", "--plugin", "exampel"], "--plugin 'exampel' registered no component (did you mean 'example'?)"),
    ],
)  # fmt: skip
def test_user_mistakes_exit_2_with_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and expected in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_version_and_help_on_every_command() -> None:
    result = run_rpnkit("--version")
    assert result.stdout.strip() == f"rpnkit {__version__}"
    commands = ["list", "show", "plugins"]
    for command in commands:
        result = run_rpnkit(command, "--help")
        assert result.returncode == 0 and "usage: rpnkit " + command in result.stdout
