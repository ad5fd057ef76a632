"""``rpnkit compare``: one row per run, only the keys that differ, states never dropped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from rpnkit.cli.compare import differing_keys, find_runs, read_run, run_labels
from rpnkit.errors import ConfigError
from tests.conftest import run_rpnkit

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

TINY = {
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
        "n_epochs": 2,
        "loss": "cross_entropy",
        "optimizer": {"name": "adamw", "parameters": {"lr": 0.003}},
    },
    "metric": ["accuracy", "f1"],
}


def train_runs(root: Path) -> list[Path]:
    """Three finished runs: two lrs, and one with a taylor expansion (a real train each)."""
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY))
    settings = [
        [],
        ["--set", "learner.optimizer.parameters.lr=0.01"],
        ["--set", "model.parameters.layers.0.expansion=taylor"],
    ]
    runs = []
    for i, extra in enumerate(settings):
        out = root / f"run{i}"
        result = run_rpnkit("train", str(config), "--quiet", "--output", str(out), *extra)
        assert result.returncode == 0, result.stderr
        runs.append(out)
    return runs


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return train_runs(tmp_path_factory.mktemp("compare"))


def test_compare_shows_only_the_keys_that_differ(runs: list[Path]) -> None:
    result = run_rpnkit("compare", *map(str, runs), "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [Path(r["run"]) for r in rows] == runs
    keys = [k for k in rows[0] if "." in k]
    assert keys == ["model.layers.0.expansion", "learner.optimizer.lr"]
    assert [r["learner.optimizer.lr"] for r in rows] == [0.003, 0.01, 0.003]
    assert [r["model.layers.0.expansion"] for r in rows] == ["identity", "identity", "taylor"]
    assert all(r["status"] == "finished" and r["epochs"] == 2 for r in rows)
    assert rows[0]["params"] < rows[2]["params"]  # taylor expands 64 inputs to many more
    assert all(0 < r["test_accuracy"] <= 1 and r["test_f1"] is not None for r in rows)


def test_compare_sorts_and_prints_tsv_in_a_pipe(runs: list[Path]) -> None:
    result = run_rpnkit("compare", *map(str, runs), "--sort", "test_accuracy", "--reverse")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split("\t")
    column = header.index("test_accuracy")
    values = [float(line.split("\t")[column]) for line in lines[1:]]
    assert values == sorted(values, reverse=True) and len(values) == 3


def test_an_interrupted_run_is_a_row_saying_so(runs: list[Path], tmp_path: Path) -> None:
    stopped = tmp_path / "stopped"
    shutil.copytree(runs[0], stopped)
    summary = json.loads((stopped / "history.json").read_text())
    summary["partial"] = True  # what rpnkit train writes when Ctrl-C stops it
    (stopped / "history.json").write_text(json.dumps(summary))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.yaml").write_text(yaml.safe_dump(TINY))  # killed before any history
    rows = json.loads(
        run_rpnkit("compare", str(runs[1]), str(stopped), str(broken), "--json").stdout
    )
    assert [r["status"] for r in rows] == ["finished", "interrupted", "failed"]


def test_a_glob_and_a_bad_path(runs: list[Path]) -> None:
    found = find_runs([str(runs[0].parent / "run*")])
    assert found == runs
    with pytest.raises(ConfigError, match="is not a run directory"):
        find_runs([str(runs[0].parent / "nothing-here")])
    bad = run_rpnkit("compare", str(runs[0]), "--sort", "nosuch")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--sort 'nosuch'" in bad.stderr


def test_differing_keys_treats_a_name_and_a_spec_alike() -> None:
    a = {"model": {"layers": [{"expansion": "taylor", "n": 4}]}, "output": {"dir": "a"}}
    b = {
        "model": {"layers": [{"expansion": {"name": "taylor", "parameters": {"d": 3}}, "n": 4}]},
        "output": {"dir": "b"},
    }
    c = {"model": {"layers": [{"expansion": "bspline", "n": 4}]}, "output": {"dir": "c"}}
    assert differing_keys([a, b, c]) == ["model.layers.0.expansion", "model.layers.0.expansion.d"]
    assert differing_keys([a, a]) == []  # output.dir always differs and is never a difference


def test_labels_name_what_differs(runs: list[Path]) -> None:
    labels = run_labels([read_run(p) for p in runs])
    assert labels == [
        "expansion=identity, lr=0.003",
        "expansion=identity, lr=0.01",
        "expansion=taylor, lr=0.003",
    ]
