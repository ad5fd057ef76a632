"""``rpnkit train``, ``validate`` and ``plot`` on the shipped configs and on bad input."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import torch
import yaml

from rpnkit.cli import main

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _train(config: str, out: Path, *extra: str) -> int:
    return main(["train", str(CONFIGS / config), "--output", str(out), "--quiet", *extra])


@pytest.mark.parametrize(
    "config", ["digits.yaml", "iris.yaml", "function_fit.yaml", "tinybig_iris.yaml"]
)
def test_every_shipped_config_trains(config: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(config, out, "--set", "learner.n_epochs=2") == 0
    best = ["best.pt"] if config == "digits.yaml" else []  # digits keeps its best epoch too
    assert sorted(p.name for p in out.iterdir()) == [
        *best,
        "config.yaml",
        "history.csv",
        "history.json",
        "model.pt",
        "preprocessing.json",
    ]
    history = json.loads((out / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [0, 1]
    assert all(row["train_loss"] > 0 for row in history)
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert len(rows) == 2 and float(rows[1]["train_loss"]) == pytest.approx(
        history[1]["train_loss"]
    )
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["learner"]["n_epochs"] == 2
    weights = torch.load(out / "model.pt", weights_only=True)
    assert all(isinstance(t, torch.Tensor) for t in weights.values())


def test_digits_reaches_the_advertised_accuracy(tmp_path: Path) -> None:
    assert _train("digits.yaml", tmp_path / "run") == 0
    final = json.loads((tmp_path / "run" / "history.json").read_text())["history"][-1]
    assert final["test_accuracy"] >= 0.95


def test_checkpoints_go_to_the_output_dir(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ("--set", "learner.n_epochs=2", "--set", "output.checkpoints=true")
    assert _train("iris.yaml", out, *args) == 0
    assert any((out / "checkpoints").iterdir())


def test_same_seed_same_result(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert _train("iris.yaml", tmp_path / name, "--set", "learner.n_epochs=2") == 0
    a = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_validate_accepts_a_good_config(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # its own output directory: what earlier commands left in runs/ does not matter
    out = str(tmp_path / "run")
    assert main(["validate", str(CONFIGS / "digits.yaml"), "--output", out]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "parameters" in out


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


BROKEN = """
data: {name: digts}
model:
  name: rpn
  parameters:
    layers:
      - {m: 64, n: 32, expansion: taylorr}
learner:
  n_epochs: 2
  optimizer: {name: adamw, parameters: {lrr: 0.1}}
  loss: cross_entropyy
metric: accuracyy
"""


def test_validate_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_write(tmp_path, BROKEN))]) == 2
    lines = capsys.readouterr().out.strip().splitlines()
    problems = [line for line in lines if line.startswith("error: ")]
    assert len(problems) == 5, lines
    joined = "\n".join(problems)
    for expected in (
        "data: unknown dataset 'digts' (did you mean 'digits'?)",
        "model: ",
        "'taylorr'",
        "metric[0]: unknown metric 'accuracyy' (did you mean 'accuracy'",
        "learner.loss: unknown loss 'cross_entropyy'",
        # checked on a stand-in parameter although the model failed; reported once
        "learner.optimizer: optimizer 'adamw' has no parameter 'lrr' (did you mean 'lr'?)",
    ):
        assert expected in joined


WRONG_TYPES = """
data: {name: digits, parameters: {batch_size: big}}
model: {name: rpn, parameters: {layers: [{m: 64, n: 10}]}}
learner: {n_epochs: 2, optimizer: {name: adamw, parameters: {lr: fast}}, grad_clip_norm: x}
"""


def test_validate_names_wrong_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(_write(tmp_path, WRONG_TYPES))]) == 2
    problems = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error")]
    assert len(problems) == 3, problems
    assert "batch_size must be a positive integer, got 'big'" in problems[0]
    assert (
        "optimizer 'adamw' parameter lr='fast' is not valid; expected a non-negative finite number"
        in problems[1]
    )
    assert "grad_clip_norm='x' is not valid" in problems[2]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data: digits\nmodel: {name: rpn\n", "malformed YAML at line"),
        ("data: digits\nmodl: {}\n", "unknown key modl (did you mean 'model'?)"),
        ("data: digits\nmodel: rpn\nlearner: {n_epochs: two}\n", "learner.n_epochs must be an integer"),
        ("data: nope\nmodel: {name: rpn, parameters: {layers: [{m: 64, n: 10}]}}\n",
         "unknown dataset 'nope'"),
        ("data: digits\nmodel: {name: rpn, parameters: {layers: [{m: 64, n: 32}, {m: 16, n: 10}]}}\n",
         "model.layers[1].m=16 does not match model.layers[0].n=32"),
        ("data: digits\nmodel: {name: rpn, parameters: {layers: [{m: 60, n: 10}]}}\n",
         "the first layer takes m=60 inputs but dataset 'digits' has 64 features"),
    ],
)  # fmt: skip
def test_bad_configs_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    out = tmp_path / "out"
    assert main(["train", str(_write(tmp_path, text)), "--output", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert not out.exists()


def test_a_non_empty_output_dir_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    fixed = ("--set", "learner.n_epochs=1", "--set", "output.versioned=false")
    assert _train("iris.yaml", out, *fixed) == 2
    assert "is not empty; add --overwrite" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    # versioned (as the shipped config is), the run goes beside it and keep.txt stays
    assert _train("iris.yaml", out, "--set", "learner.n_epochs=1") == 0
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (tmp_path / "out-2" / "model.pt").is_file()


def test_plot_draws_curves(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train("iris.yaml", out, "--set", "learner.n_epochs=3") == 0
    png = tmp_path / "curves.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "history.json"
    history.write_text(json.dumps({"history": [{"epoch": 0, "train_loss": 1.0}]}))
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", str(history), "-o", str(tmp_path / "c.png")]) == 2
    assert "pip install 'rpnkit[plot]'" in capsys.readouterr().err


def test_plot_of_a_missing_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plot", str(tmp_path / "nope.json")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_the_readme_main_command_runs_twice_in_a_row(tmp_path: Path) -> None:
    """``rpnkit train configs/digits.yaml`` twice: the second run keeps the first one."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "rpnkit", "train", str(CONFIGS / "digits.yaml"), "--quiet"]
    command += ["--set", "learner.n_epochs=1"]  # the directories are under test, not accuracy
    runs = [subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)]
    first = (tmp_path / "runs" / "digits" / "model.pt").read_bytes()
    runs.append(subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300))
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr
    assert "'runs/digits' holds an earlier run; this one goes to 'runs/digits-2'" in runs[1].stderr
    assert (tmp_path / "runs" / "digits" / "model.pt").read_bytes() == first  # nothing lost
    assert (tmp_path / "runs" / "digits-2" / "history.json").is_file()
    again = subprocess.run([*command, "--overwrite"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0 and not (tmp_path / "runs" / "digits-3").exists()
    refused = subprocess.run(
        [*command, "--set", "output.versioned=false"], cwd=tmp_path, capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: output.dir 'runs/digits' is not empty; add --overwrite to replace the run in "
        "it, or choose another directory with --output"
    )
