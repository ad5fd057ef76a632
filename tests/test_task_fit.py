"""Tests of task sanity: a loss or metric that cannot measure the target is refused in one line,
a regression file's target is standardised and reported in its own units."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import load_diabetes

from rpnkit import data, load_run
from rpnkit.inference.evaluation import evaluate_run
from rpnkit.inference.export import export_run
from rpnkit.learner.columns import copies_loss, metric_columns
from rpnkit.metrics import MAE
from tests.conftest import run_rpnkit

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
IRIS = str(ROOT / "configs" / "iris.yaml")
REGRESSION = str(ROOT / "configs" / "regression.yaml")
AUTO = ["--set", "model.parameters.layers.0.m=auto", "--set", "model.parameters.layers.0.n=auto"]


def diabetes_csv(path: Path) -> Path:
    """scikit-learn's bundled diabetes set as a CSV with a numeric ``progression`` target."""
    sets = load_diabetes()
    lines = [",".join([*sets.feature_names, "progression"])]
    lines += [
        ",".join([*(f"{v:.6f}" for v in row), f"{t:.1f}"])
        for row, t in zip(sets.data, sets.target, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def csv_args(path: Path, target: str = "progression") -> list[str]:
    return [
        "--set", "data.name=csv", "--set", f"data.parameters.path={path}",
        "--set", f"data.parameters.target={target}", *AUTO,
    ]  # fmt: skip


def test_validate_refuses_cross_entropy_and_accuracy_on_a_float_target(tmp_path: Path) -> None:
    csv = diabetes_csv(tmp_path / "d.csv")
    out = str(tmp_path / "run")
    result = run_rpnkit("validate", IRIS, "--output", out, *csv_args(csv))
    assert result.returncode == 2, result.stderr
    lines = result.stdout.strip().splitlines()
    loss = next(line for line in lines if "learner.loss" in line)
    assert "CrossEntropyLoss needs class labels" in loss and "'d.csv'" in loss
    assert "--set learner.loss=mse --set metric=[r2,mae]" in loss
    assert any(line.startswith("error: metric: accuracy counts class labels") for line in lines)
    trained = run_rpnkit("train", IRIS, "--output", out, *csv_args(csv))
    assert trained.returncode == 2 and "learner.loss" in trained.stderr
    assert not Path(out).exists()  # refused before anything was written
    fixed = run_rpnkit(
        "validate", IRIS, "--output", out, *csv_args(csv),
        "--set", "learner.loss=mse", "--set", "metric=[r2,mae]",
    )  # fmt: skip
    assert fixed.returncode == 0, fixed.stderr


def test_regression_metrics_on_class_labels_and_many_tiny_classes_are_refused(
    tmp_path: Path,
) -> None:
    result = run_rpnkit("validate", IRIS, "--output", str(tmp_path / "r"), "--set", "metric=r2")
    assert result.returncode == 2
    assert "metric: r2 compares numbers, but dataset 'iris' has class labels" in result.stdout
    assert "--set data.parameters.task=regression" in result.stdout
    ints = tmp_path / "ints.csv"
    ints.write_text("a,b,y\n" + "".join(f"{i},{i % 5},{i * 7}\n" for i in range(40)))
    tiny = run_rpnkit("validate", IRIS, "--output", str(tmp_path / "t"), *csv_args(ints, "y"))
    assert tiny.returncode == 2
    assert "task=regression" in tiny.stdout and "has 1" in tiny.stdout


def test_cross_entropy_on_one_output_is_refused(tmp_path: Path) -> None:
    result = run_rpnkit(
        "validate", IRIS, "--output", str(tmp_path / "r"),
        "--set", "model.parameters.layers.0.n=1", "--set", "data.name=breast_cancer",
        "--set", "model.parameters.layers.0.m=30",
    )  # fmt: skip
    assert result.returncode == 2
    assert "with one output is always 0" in result.stdout


def test_a_score_equal_to_the_loss_is_not_folded_into_it() -> None:
    accuracy, mse = metric_columns(["accuracy"])[0], metric_columns(["mse"])[0]
    zeros = [{"train_loss": 0.0, "train_score": 0.0, "test_loss": 0.0, "test_score": 0.0}]
    assert not copies_loss(zeros, accuracy)  # two numbers, not one
    assert copies_loss(zeros, mse)


def test_file_targets_are_standardised_and_metrics_come_in_their_units(tmp_path: Path) -> None:
    csv = diabetes_csv(tmp_path / "d.csv")
    bundle = data.csv_dataset(path=str(csv), target="progression")
    raw = data.csv_dataset(path=str(csv), target="progression", standardize_target=False)
    assert raw.target_mean is None and bundle.target_mean is not None
    (_, scaled), (_, plain) = next(iter(bundle.test_loader)), next(iter(raw.test_loader))
    assert bundle.target_std is not None and float(bundle.target_std[0]) > 50
    torch.testing.assert_close(bundle.unscale(scaled), plain, rtol=1e-5, atol=1e-3)
    in_units = MAE().in_target_units(bundle.target_mean, bundle.target_std)
    in_units.update(scaled + 0.1, scaled)
    expected = 0.1 * float(bundle.target_std[0])
    assert float(in_units.compute()) == pytest.approx(expected, rel=1e-4)


def test_the_regression_recipe_reaches_r2_of_0_4_on_diabetes(tmp_path: Path) -> None:
    csv = diabetes_csv(tmp_path / "diabetes.csv")
    out = tmp_path / "run"
    result = run_rpnkit(
        "train", REGRESSION, "--output", str(out), "--quiet",
        "--set", f"data.parameters.path={csv}", "--set", "data.parameters.target=progression",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    history = json.loads((out / "history.json").read_text())
    last = history[-1] if isinstance(history, list) else history["history"][-1]
    assert last["test_r2"] >= 0.4
    assert 20 < last["test_mae"] < 80  # in the target's units (its std is about 77)
    assert np.isfinite(last["test_loss"])

    # predict, evaluate and export give the target's own units
    predicted, inputs = tmp_path / "predicted.csv", tmp_path / "inputs.csv"
    lines = csv.read_text().splitlines()
    inputs.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    done = run_rpnkit("predict", str(out), str(inputs), "-o", str(predicted))
    assert done.returncode == 0, done.stderr
    rows = predicted.read_text().splitlines()
    values = np.array([float(line.split(",")[-1]) for line in rows[1:]])
    truth = load_diabetes().target
    assert len(values) == len(truth) and 100 < values.mean() < 200
    assert 1 - ((values - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum() >= 0.4
    run = load_run(out)
    report = evaluate_run(run)
    assert report.metrics["mae"] == pytest.approx(last["test_mae"], rel=1e-4)
    assert evaluate_run(run, csv).metrics["mae"] == pytest.approx(
        float(np.abs(values - truth).mean()), rel=1e-3
    )
    exported = export_run(run, "torchscript", tmp_path / "model.pt")
    scripted = torch.jit.load(str(exported.path))
    features = torch.tensor(load_diabetes().data[:5], dtype=torch.float32)
    torch.testing.assert_close(
        scripted(features)[:, 0],
        torch.tensor(values[:5], dtype=torch.float32),
        atol=1e-3,
        rtol=1e-4,
    )
