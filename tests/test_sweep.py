"""``rpnkit sweep``: the checks before any trial, and a grid whose trials are ordinary runs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from rpnkit.cli import main
from tests.conftest import run_rpnkit

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

pytest.importorskip("optuna")

#: A config built to train in well under a second per epoch on digits.
BASE = {
    "seed": 0,
    "threads": 1,
    "data": {"name": "digits", "parameters": {"batch_size": 128, "test_size": 0.2, "seed": 0}},
    "model": {
        "name": "rpn",
        "parameters": {
            "layers": [
                {"m": 64, "n": 10, "expansion": "identity", "reconciliation": "identity"},
            ]
        },
    },
    "learner": {
        "n_epochs": 1,
        "loss": "cross_entropy",
        "optimizer": {"name": "adamw", "parameters": {"lr": 0.003}},
    },
    "metric": "accuracy",
}
EXPANSION = "model.parameters.layers.0.expansion"
RECONCILIATION = "model.parameters.layers.0.reconciliation"


def write_config(path: Path, sweep: dict | None = None, **learner: object) -> Path:
    config = json.loads(json.dumps(BASE))
    config["learner"].update(learner)
    if sweep is not None:
        config["sweep"] = sweep
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_every_problem_in_one_pass_and_nothing_on_disk(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "sweep"
    result = run_rpnkit(
        "sweep",
        str(config),
        "--output",
        str(out),
        "--space",
        f"{EXPANSION}=[taylor, bsplin]",
        "--space",
        "learner.optimizer.parameters.lr=loguniform(0, 1)",
        "--space",
        "model.parameters.layerz.0.n=[1, 2]",
        "--space",
        "learner.n_epochs=int(5, 2)",
        "--space",
        "learner.optimizer.parameters.lrr=[0.1]",
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 6, result.stderr
    text = "\n".join(errors)
    assert "'bsplin' is not a registered expansion (did you mean 'bspline'" in text
    assert "loguniform needs 0 < LOW < HIGH" in text
    assert "model.parameters.layerz is not in the config" in text
    assert "'int(5, 2)' is an empty range" in text
    assert "has no parameter 'lrr' (did you mean 'lr'?)" in text
    assert "no validation split" in text  # no default objective without val_size
    assert "6 problem(s); no trial ran" in result.stderr
    assert not out.exists()


def test_values_after_the_first_are_built_too(tmp_path: Path) -> None:
    # the first point is built whole once; a later value of a model key builds its model
    # alone, a later value of another key is validated whole: each bad one is named
    config = write_config(tmp_path / "c.yaml")
    out = tmp_path / "sweep"
    result = run_rpnkit(
        "sweep",
        str(config),
        "--objective",
        "train_loss",
        "--output",
        str(out),
        "--space",
        "model.parameters.layers.0.n=[10, 7]",
        "--space",
        f"{RECONCILIATION}=[identity, {{name: low_rank, parameters: {{r: -1}}}}]",
        "--space",
        "learner.optimizer.parameters.lr=[0.1, -1.0]",
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, result.stderr
    assert errors[0].startswith("error: sweep key model.parameters.layers.0.n=7: model: ")
    assert "gives n=7 outputs but dataset 'digits' needs 10" in errors[0]
    assert errors[1].startswith(f"error: sweep key {RECONCILIATION}=")
    assert "low_rank reconciliation r=-1 is not valid" in errors[1]
    assert errors[2].startswith("error: sweep key learner.optimizer.parameters.lr=-1.0: ")
    assert not out.exists()


def test_bad_jobs_a_test_objective_and_a_missing_optuna(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", {"space": {EXPANSION: ["identity", "taylor"]}})
    jobs = run_rpnkit("sweep", str(config), "--jobs", "0")
    assert jobs.returncode == 2 and jobs.stderr == (
        "error: --jobs=0 is not valid; expected an integer >= 1\n"
    )
    test = run_rpnkit("sweep", str(config), "--objective", "test_accuracy")
    assert test.returncode == 2 and "--allow-test-objective" in test.stderr
    fake = tmp_path / "no-optuna" / "optuna"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named optuna')\n")
    missing = run_rpnkit("sweep", str(config), pythonpath=fake.parent)
    assert missing.returncode == 2
    assert missing.stderr == (
        "error: rpnkit sweep needs optuna; install it with: pip install 'rpnkit[sweep]'\n"
    )


def test_a_plugins_component_is_searchable_by_name(
    tmp_path: Path, make_distribution: object
) -> None:
    plugin = """
        from rpnkit import hookimpl

        @hookimpl
        def rpnkit_add_components(registry):
            registry.register("loss", "sweep_test_huber", "torch.nn:HuberLoss", summary="test")
    """
    site = make_distribution(  # type: ignore[operator]
        "sweep-test-plugin", {"sweeptest": "sweep_test_plugin"}, {"sweep_test_plugin": plugin}
    )
    config = write_config(tmp_path / "c.yaml")
    args = ["sweep", str(config), "--objective", "train_loss", "--output", str(tmp_path / "s")]
    space = ["--space", "learner.loss=[cross_entropy, sweep_test_hubr]"]
    result = run_rpnkit(*args, *space, pythonpath=site)
    assert result.returncode == 2
    assert "'sweep_test_hubr' is not a registered loss (did you mean 'sweep_test_huber'" in (
        result.stderr
    )
    without = run_rpnkit(*args, *space)  # the plugin is what makes the name known
    assert "is not a registered loss (see `rpnkit list loss`)" in without.stderr
    assert not (tmp_path / "s").exists()


def test_the_example_plugins_loss_and_metric_are_swept_by_name(tmp_path: Path) -> None:
    pytest.importorskip("rpnkit_example")  # installed by the README's test command
    config = tmp_path / "regression.yaml"
    config.write_text(
        "seed: 0\n"
        "data: {name: function, parameters: {n_samples: 200, batch_size: 50, val_size: 0.2}}\n"
        "model: {name: rpn, parameters: {layers: [{m: auto, n: auto}]}}\n"
        "learner: {n_epochs: 2, loss: mse, optimizer: {name: adam, parameters: {lr: 0.01}}}\n"
        "metric: [max_error]\n"
        "sweep: {space: {learner.loss: [mse, charbonnier]}}\n"
    )
    out = tmp_path / "s"
    result = run_rpnkit("sweep", str(config), "--objective", "val_max_error", "--output", str(out))
    assert result.returncode == 0, result.stderr
    with open(out / "sweep.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert {json.loads(r["learner.loss"]) for r in rows} == {"mse", "charbonnier"}
    assert {r["state"] for r in rows} == {"complete"} and all(float(r["value"]) for r in rows)


def test_grid_of_three_expansions_by_two_reconciliations(tmp_path: Path) -> None:
    space = {
        EXPANSION: ["identity", "taylor", "chebyshev"],
        RECONCILIATION: ["identity", "low_rank"],
    }
    config = write_config(tmp_path / "grid.yaml", {"space": space})
    out = tmp_path / "sweep"
    result = run_rpnkit(
        "sweep", str(config), "--objective", "train_loss", "--jobs", "2", "--output", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert "6 trial(s), grid sampler" in result.stderr
    with open(out / "sweep.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 6 and {r["state"] for r in rows} == {"complete"}
    points = {(json.loads(r[EXPANSION]), json.loads(r[RECONCILIATION])) for r in rows}
    assert points == {(e, r) for e in space[EXPANSION] for r in space[RECONCILIATION]}
    assert (out / "sweep.png").stat().st_size > 0
    # each trial is an ordinary run: compare reads the sweep directory
    table = json.loads(run_rpnkit("compare", str(out), "--json").stdout)
    assert len(table) == 6
    differing = sorted(k for k in table[0] if k.startswith("model."))
    assert differing == ["model.layers.0.expansion", "model.layers.0.reconciliation"]
    assert {
        (t["model.layers.0.expansion"], t["model.layers.0.reconciliation"]) for t in table
    } == points
    assert all(t["status"] == "finished" and t["objective"] is not None for t in table)
    # a finished sweep's directory is refused for a new one, and --resume has nothing left
    again = run_rpnkit("sweep", str(config), "--objective", "train_loss", "--output", str(out))
    assert again.returncode == 2 and "--resume" in again.stderr
    resumed = run_rpnkit("sweep", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert "trial " not in resumed.stderr.replace("best: trial", "")


def test_a_sweep_without_matplotlib_says_why_it_drew_no_plot(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", {"space": {EXPANSION: ["identity", "taylor"]}})
    fake = tmp_path / "no-matplotlib" / "matplotlib"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    out = tmp_path / "s"
    args = ["sweep", str(config), "--objective", "train_loss", "--output", str(out)]
    result = run_rpnkit(*args, pythonpath=fake.parent)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "no sweep.png: it needs matplotlib; install it with: pip install 'rpnkit[plot]'" in (
        lines
    )
    assert lines[-1] == f"wrote sweep.csv in {out}"
    assert (out / "sweep.csv").is_file() and not (out / "sweep.png").exists()


def test_ranges_read_numbers_as_python_does() -> None:
    from rpnkit.sweep.space import assignment, parse_space

    dims, problems = parse_space(
        {"a": "loguniform(1e-4, 1e-1)", "b": "int(8, 64, 8)", "c": [0.1, 1.0e-8]}
    )
    assert problems == []
    assert (dims[0].low, dims[0].high, dims[1].step) == (1e-4, 1e-1, 8)
    # a searched value goes to --set as YAML that reads back as the same number
    assert assignment("lr", 1e-8) == "lr=1.0e-08"
    assert assignment("x", {"name": "taylor", "parameters": {"d": 2}}) == (
        "x={name: taylor, parameters: {d: 2}}"
    )


def test_a_sweep_config_validates_and_trains_as_written_with_one_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = Path(__file__).resolve().parents[1] / "configs" / "sweep_digits_rpn.yaml"
    assert main(["validate", str(config)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("warning:")] == [
        "warning: section 'sweep' is read only by `rpnkit sweep`; this command uses the "
        "config's own values"
    ]
