"""``rpnkit predict`` / ``evaluate`` and ``rpnkit.load_run`` on runs trained through the CLI."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from tests.conftest import run_rpnkit
from tests.trained_runs import (
    COLOURS,
    FEATURES,
    features,
    last_epoch,
    rpn_layers,
    train,
    write_colours,
    write_sums,
    write_table,
)

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def colours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch RPN classifier trained on a CSV whose labels are words."""
    folder = tmp_path_factory.mktemp("colours")
    data = write_colours(folder / "colours.csv")
    model = {"name": "rpn", "parameters": {"layers": rpn_layers(3)}}
    return train(folder, data, "colour", model, metric=["accuracy", "f1"])


@pytest.fixture(scope="module")
def sums(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch RPN regression on a CSV with a numeric target."""
    folder = tmp_path_factory.mktemp("sums")
    data = write_sums(folder / "sums.csv")
    model = {"name": "rpn", "parameters": {"layers": rpn_layers(1)}}
    return train(folder, data, "total", model, loss="mse", metric="mse")


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def test_predict_names_classes_with_the_files_labels(colours: Path, tmp_path: Path) -> None:
    x = features(7, seed=5)
    # the columns in another order than the training file's: matched by name
    new = write_table(tmp_path / "new.csv", x[:, [2, 0, 1]], ["c", "a", "b"])
    out = tmp_path / "predictions.csv"
    done = run_rpnkit("predict", str(colours), str(new), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert len(rows) == 7
    assert list(rows[0]) == ["prediction", *(f"probability_{c}" for c in sorted(COLOURS))]
    for row in rows:
        assert row["prediction"] in COLOURS
        probabilities = [float(row[f"probability_{c}"]) for c in COLOURS]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-9)
        assert all(0.0 <= p <= 1.0 for p in probabilities)
        most_likely = max(COLOURS, key=lambda c: float(row[f"probability_{c}"]))
        assert row["prediction"] == most_likely
    # the same rows through Python give the same answer
    assert [r["prediction"] for r in rows] == rpnkit.load_run(colours).predict(x).labels


def test_predict_writes_the_regression_value(sums: Path, tmp_path: Path) -> None:
    x = features(5, seed=6)
    new = write_table(tmp_path / "new.csv", x, list(FEATURES))
    out = tmp_path / "values.csv"
    done = run_rpnkit("predict", str(sums), str(new), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert [list(r) for r in rows] == [["prediction"]] * 5
    run = rpnkit.load_run(sums)
    expected = run.predict(torch.from_numpy(x)).values
    assert expected is not None
    got = torch.tensor([float(r["prediction"]) for r in rows])
    torch.testing.assert_close(got, expected.reshape(-1), rtol=1e-5, atol=1e-6)


def test_predict_standardises_raw_inputs_as_in_training(colours: Path) -> None:
    run = rpnkit.load_run(colours)
    record = json.loads((colours / "preprocessing.json").read_text())
    assert record["feature_names"] == list(FEATURES)
    assert record["classes"] == sorted(COLOURS)
    x = torch.from_numpy(features(9, seed=7))
    mean = torch.tensor(record["feature_mean"], dtype=torch.float64)
    std = torch.tensor(record["feature_std"], dtype=torch.float64)
    with torch.no_grad():
        scores = run.model(((x - mean) / std).float())
    predictions = run.predict(x)
    torch.testing.assert_close(predictions.outputs, scores)
    assert predictions.probabilities is not None
    torch.testing.assert_close(predictions.probabilities, torch.softmax(scores.double(), dim=1))


def test_load_run_predicts_a_tensor_an_array_and_a_file(colours: Path, tmp_path: Path) -> None:
    run = rpnkit.load_run(colours)
    assert not run.model.training
    assert run.config.data["parameters"]["target"] == "colour"
    x = features(6, seed=8)
    path = write_table(tmp_path / "rows.csv", x, list(FEATURES))
    from_array = run.predict(x)
    from_tensor = run.predict(torch.from_numpy(x))
    from_file = run.predict(path)
    np.savez(tmp_path / "rows.npz", x=x)
    assert run.predict(tmp_path / "rows.npz").labels == from_file.labels
    assert len(from_array) == 6
    assert from_array.labels == from_tensor.labels == from_file.labels
    torch.testing.assert_close(from_array.outputs, from_file.outputs)


def evaluate_json(*args: str) -> dict[str, object]:
    done = run_rpnkit("evaluate", *args, "--json")
    assert done.returncode == 0, done.stderr
    report: dict[str, object] = json.loads(done.stdout)
    return report


def test_evaluate_reproduces_the_recorded_test_metrics(colours: Path) -> None:
    report = evaluate_json(str(colours))
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    final = last_epoch(colours)
    assert metrics["loss"] == pytest.approx(final["test_loss"], rel=1e-5)
    assert metrics["accuracy"] == pytest.approx(final["test_accuracy"], rel=1e-6)
    assert metrics["f1"] == pytest.approx(final["test_f1"], rel=1e-6)
    assert report["samples"] == 12  # the default 20% of 60 rows
    done = run_rpnkit("evaluate", str(colours))
    assert done.returncode == 0 and "accuracy" in done.stdout


def test_evaluate_scores_another_labelled_file(colours: Path) -> None:
    data = colours.parent / "colours.csv"
    report = evaluate_json(str(colours), "--data", str(data))
    assert report["samples"] == 60 and report["recorded"] is None
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    rows = read_rows(data)
    truth = [row["colour"] for row in rows]
    x = np.array([[float(row[name]) for name in FEATURES] for row in rows])
    predicted = rpnkit.load_run(colours).predict(x, batch_size=7)
    assert predicted.labels is not None
    hits = np.mean([p == t for p, t in zip(predicted.labels, truth, strict=True)])
    assert metrics["accuracy"] == pytest.approx(hits)


def test_evaluate_a_regression_run(sums: Path) -> None:
    metrics = evaluate_json(str(sums))["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["loss"] == pytest.approx(last_epoch(sums)["test_loss"], rel=1e-5)


# -- bad input --------------------------------------------------------------------------------
def expect_error(*args: str, fragments: tuple[str, ...], output: Path | None = None) -> str:
    """The command exits 2 with one ``error:`` line, no traceback, and leaves no output."""
    done = run_rpnkit(*args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    if output is not None:
        assert not output.exists()
        assert not list(output.parent.glob(f".{output.name}*"))
    return lines[0]


def copy_run(run: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    return copy


@pytest.mark.parametrize("command", ["predict", "evaluate", "export"])
def test_a_missing_run_dir(command: str, tmp_path: Path) -> None:
    new = write_table(tmp_path / "new.csv", features(3), list(FEATURES))
    extra = {"predict": [str(new), "-o", str(tmp_path / "o.csv")], "export": ["--format", "onnx"]}
    missing = str(tmp_path / "nowhere")
    expect_error(command, missing, *extra.get(command, []), fragments=("does not exist",))


def test_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a run\n")
    expect_error("evaluate", str(tmp_path), fragments=("no config.yaml", "rpnkit train"))


def test_an_empty_folder_is_a_run_killed_before_training(tmp_path: Path) -> None:
    expect_error("evaluate", str(tmp_path), fragments=("is empty", "train it again"))


def test_a_run_without_model_pt(colours: Path, tmp_path: Path) -> None:
    run = copy_run(colours, tmp_path)
    (run / "model.pt").unlink()
    expect_error("evaluate", str(run), fragments=("no model.pt",))


def test_an_interrupted_run_is_refused_with_the_resume_command(
    colours: Path, tmp_path: Path
) -> None:
    run = copy_run(colours, tmp_path)
    summary = json.loads((run / "history.json").read_text())
    summary["partial"] = True
    (run / "history.json").write_text(json.dumps(summary))
    out = tmp_path / "o.csv"
    new = write_table(tmp_path / "new.csv", features(3), list(FEATURES))
    expect_error(
        "predict",
        str(run),
        str(new),
        "-o",
        str(out),
        fragments=("interrupted after 2 epoch(s)", "`rpnkit train --resume "),
        output=out,
    )


def test_a_run_killed_while_writing_is_refused(colours: Path, tmp_path: Path) -> None:
    run = copy_run(colours, tmp_path)
    (run / ".model.pt.rpnkit-tmp").write_bytes(b"half")
    expect_error("evaluate", str(run), fragments=("killed while writing",))


def test_damaged_weights(colours: Path, tmp_path: Path) -> None:
    run = copy_run(colours, tmp_path)
    (run / "model.pt").write_bytes(b"not a model")
    expect_error("evaluate", str(run), fragments=("model.pt", "not a readable model state"))


BAD_TABLES = {
    "missing column": ("a,b\n1,2\n", ("lacks the feature column 'c'",)),
    "extra column": ("a,b,c,d\n1,2,3,4\n", ("column 'd'", "not a feature")),
    "the target column": ("a,b,c,colour\n1,2,3,red\n", ("'colour'", "rpnkit evaluate")),
    "non-numeric cell": ("a,b,c\n1,2,3\n1,two,3\n", ("column 'b' is not numeric", "row 2")),
    "missing value": ("a,b,c\n1,,3\n", ("column 'b' has a missing value at row 1",)),
    "no rows": ("a,b,c\n", ("has no rows",)),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_predict_refuses_a_bad_table(case: str, colours: Path, tmp_path: Path) -> None:
    text, fragments = BAD_TABLES[case]
    new = tmp_path / "new.csv"
    new.write_text(text)
    out = tmp_path / "o.csv"
    expect_error("predict", str(colours), str(new), "-o", str(out), fragments=fragments, output=out)


def test_predict_refuses_the_wrong_feature_width(colours: Path, tmp_path: Path) -> None:
    new = tmp_path / "wide.npy"
    np.save(new, np.zeros((4, 5)))
    out = tmp_path / "o.csv"
    fragments = ("5 feature(s) per row", "takes 3")
    expect_error("predict", str(colours), str(new), "-o", str(out), fragments=fragments, output=out)
    with pytest.raises(ConfigError, match="takes 3"):
        rpnkit.load_run(colours).predict(torch.zeros(2, 4))


def test_predict_refuses_an_unknown_file_type_and_a_missing_input(
    colours: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o.csv"
    odd = tmp_path / "rows.xlsx"
    odd.write_text("a")
    expect_error("predict", str(colours), str(odd), "-o", str(out), fragments=("'.xlsx'",))
    gone = str(tmp_path / "gone.csv")
    expect_error("predict", str(colours), gone, "-o", str(out), fragments=("does not exist",))


def test_evaluate_refuses_a_label_the_run_never_saw(colours: Path, tmp_path: Path) -> None:
    data = write_table(tmp_path / "l.csv", features(2), [*FEATURES, "colour"], ["red", "mauve"])
    expect_error(
        "evaluate", str(colours), "--data", str(data), fragments=("row 2", "'mauve'", "class")
    )


def test_evaluate_a_run_whose_data_file_is_gone(colours: Path, tmp_path: Path) -> None:
    run = copy_run(colours, tmp_path)
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("colours.csv", "moved.csv"))
    expect_error("evaluate", str(run), fragments=("moved.csv", "does not exist", "--data FILE"))


def test_a_device_that_is_not_there(colours: Path) -> None:
    expect_error("evaluate", str(colours), "--device", "bogus", fragments=("'bogus'", "'cpu'"))
    if not torch.cuda.is_available():
        expect_error("evaluate", str(colours), "--device", "cuda", fragments=("not available",))


def test_import_rpnkit_stays_light() -> None:
    code = (
        "import sys, rpnkit, rpnkit.inference, rpnkit.cli.predict, rpnkit.cli.export; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert callable(rpnkit.load_run) and 'torch' in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
