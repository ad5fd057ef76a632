"""``rpnkit predict`` / ``evaluate`` and ``rpnkit.load_run`` on a run trained on string labels."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import rpnkit
from tests.inference_runs import CLASSES, FEATURES, train
from tests.inference_runs import rpnkit as run_cli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("predict"))


def test_the_run_saves_its_preprocessing(trained: Path) -> None:
    saved = json.loads((trained / "preprocessing.json").read_text())
    assert saved["classes"] == sorted(CLASSES)
    assert saved["feature_names"] == list(FEATURES)
    assert len(saved["feature_mean"]) == len(saved["feature_std"]) == 3


def test_predict_writes_labels_in_the_files_own_names(trained: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    new.write_text("width,petal,sepal\n0.5,0.5,1\n10.5,1.5,1\n20.5,2.5,1\n0.4,0.6,0.2\n")
    out = tmp_path / "out.csv"
    done = run_cli(tmp_path, "predict", str(trained), str(new), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    assert set(rows[0]) == {"prediction", *(f"probability_{c}" for c in CLASSES)}
    for row in rows:
        assert row["prediction"] in CLASSES
        probabilities = {c: float(row[f"probability_{c}"]) for c in CLASSES}
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-9)
        assert row["prediction"] == max(probabilities, key=lambda c: probabilities[c])


def test_load_run_predicts_tensors_arrays_and_files_alike(trained: Path, tmp_path: Path) -> None:
    run = rpnkit.load_run(trained)
    assert not run.model.training
    assert run.config.data["name"] == "csv"
    raw = np.array([[0.5, 1.0, 0.5], [2.5, 1.0, 20.5]])
    file = tmp_path / "rows.csv"
    file.write_text("petal,sepal,width\n0.5,1.0,0.5\n2.5,1.0,20.5\n")
    from_array = run.predict(raw)
    from_tensor = run.predict(torch.from_numpy(raw))
    from_file = run.predict(file)
    assert from_array.labels == from_tensor.labels == from_file.labels
    assert torch.allclose(from_array.probabilities, from_file.probabilities)
    # the standardisation of the training split is applied: the model sees standardised rows
    prep = run.preprocessing
    standard = (torch.from_numpy(raw) - torch.tensor(prep.feature_mean, dtype=torch.float64)) / (
        torch.tensor(prep.feature_std, dtype=torch.float64)
    )
    with torch.inference_mode():
        direct = run.model(standard.float())
    assert torch.allclose(from_array.outputs, direct, atol=1e-6)


def test_evaluate_reproduces_the_recorded_test_metrics(trained: Path, tmp_path: Path) -> None:
    # the config's data path is relative to where the run was trained
    done = run_cli(trained.parent, "evaluate", str(trained), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    last = json.loads((trained / "history.json").read_text())["history"][-1]
    assert report["metrics"]["loss"] == pytest.approx(last["test_loss"], rel=1e-6)
    assert report["metrics"]["accuracy"] == pytest.approx(last["test_accuracy"], rel=1e-6)
    assert report["metrics"]["f1"] == pytest.approx(last["test_f1"], rel=1e-6)
    assert report["recorded"]["loss"] == pytest.approx(last["test_loss"])
    assert report["samples"] == 12  # 20% of the 60 rows


def test_evaluate_on_another_labelled_file(trained: Path, tmp_path: Path) -> None:
    file = tmp_path / "labelled.csv"
    file.write_text(
        "petal,sepal,width,species\n0.5,1,0.5,rose\n1.5,1,10.5,tulip\n2.5,1,20.5,daisy\n"
    )
    done = run_cli(tmp_path, "evaluate", str(trained), "--data", str(file), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["samples"] == 3 and report["recorded"] is None
    run = rpnkit.load_run(trained)
    labels = run.predict(np.array([[0.5, 1, 0.5], [1.5, 1, 10.5], [2.5, 1, 20.5]])).labels
    assert labels is not None
    right = sum(a == b for a, b in zip(labels, ["rose", "tulip", "daisy"], strict=True))
    assert report["metrics"]["accuracy"] == pytest.approx(right / 3)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("petal,sepal\n1,2\n", "lacks the feature column 'width'"),
        ("petal,sepal,width,colour\n1,2,3,4\n", "has the column 'colour'"),
        ("petal,sepal,width\n1,abc,3\n", "column 'sepal' is not numeric"),
        ("petal,sepal,width\n1,,3\n", "column 'sepal' has a missing value at row 1"),
    ],
)
def test_bad_inputs_are_one_line_errors_and_write_nothing(
    trained: Path, tmp_path: Path, content: str, expected: str
) -> None:
    file = tmp_path / "in.csv"
    file.write_text(content)
    out = tmp_path / "out.csv"
    done = run_cli(tmp_path, "predict", str(trained), str(file), "-o", str(out))
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_wrong_width_array(trained: Path, tmp_path: Path) -> None:
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 5)))
    done = run_cli(tmp_path, "predict", str(trained), "x.npz", "-o", "out.csv")
    assert done.returncode == 2 and "5 feature(s) per row; the run's model takes 3" in done.stderr
    with pytest.raises(rpnkit.RpnkitError, match="takes 3"):
        rpnkit.load_run(trained).predict(np.zeros((2, 4)))


def test_not_a_finished_run(trained: Path, tmp_path: Path) -> None:
    missing = run_cli(tmp_path, "predict", str(tmp_path / "nope"), "x.csv", "-o", "o.csv")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    # a run without model.pt, and one interrupted (history.json marked partial)
    import shutil

    no_model = tmp_path / "no_model"
    shutil.copytree(trained, no_model)
    (no_model / "model.pt").unlink()
    done = run_cli(tmp_path, "evaluate", str(no_model))
    assert done.returncode == 2 and "has no model.pt" in done.stderr
    partial = tmp_path / "partial"
    shutil.copytree(trained, partial)
    summary = json.loads((partial / "history.json").read_text())
    (partial / "history.json").write_text(json.dumps({**summary, "partial": True}))
    done = run_cli(trained.parent, "evaluate", str(partial))
    assert done.returncode == 2 and "was interrupted after 2 epoch(s)" in done.stderr
    assert "Traceback" not in done.stderr
