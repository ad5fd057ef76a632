"""A run directory is checked before predict / evaluate trust it: its preprocessing.json must
fit the model (classes vs outputs, a usable std), else one line, exit 2, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_rpnkit
from tests.trained_runs import rpn_layers, train, write_colours

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("colours")
    data = write_colours(folder / "colours.csv")
    return train(folder, data, "colour", {"name": "rpn", "parameters": {"layers": rpn_layers(3)}})


def _tampered(trained: Path, tmp_path: Path, change: Any) -> Path:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    record = json.loads((run / "preprocessing.json").read_text())
    change(record)
    (run / "preprocessing.json").write_text(json.dumps(record))
    return run


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda r: r.update(classes=["red", "green"], out_features=2), ("2 classes", "3 outputs")),
        (lambda r: r.update(feature_std=[1e-300, 1.0, 1.0]), ("feature_std", "1e-300")),
        (lambda r: r.update(feature_std=[0.0, 1.0, 1.0]), ("feature_std", "0.0")),
        (lambda r: r.update(feature_mean=[0.0, 1.0]), ("feature_mean has 2 entries", "3")),
    ],
    ids=["classes vs outputs", "tiny std", "zero std", "feature count"],
)
@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_a_record_that_does_not_fit_the_model_is_refused(
    trained: Path, tmp_path: Path, change: Any, words: tuple[str, ...], command: str
) -> None:
    run = _tampered(trained, tmp_path, change)
    data = trained.parent / "colours.csv"
    out = tmp_path / "out.csv"
    extra = [str(data), "-o", str(out)] if command == "predict" else ["--data", str(data)]
    result = run_rpnkit(command, str(run), *extra)
    text = result.stdout + result.stderr
    assert result.returncode == 2, text
    errors = [line for line in text.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), errors
    assert "preprocessing.json" in errors[0] and "Traceback" not in text
    assert not out.exists()
