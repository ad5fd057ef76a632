"""``rpnkit sweep`` end to end: pruning, two workers on one storage, kill and resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import run_rpnkit
from tests.test_sweep import EXPANSION, write_config

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.e2e
LR = "learner.optimizer.parameters.lr"


def sweep_rows(directory: Path) -> list[dict[str, str]]:
    with open(directory / "sweep.csv", newline="") as file:
        return list(csv.DictReader(file))


def kill_sweep_at(path: Path, config: Path, *options: str) -> None:
    """Run ``rpnkit sweep CONFIG --objective train_loss OPTIONS --output DIR`` (``DIR`` is
    ``path``'s parent) in the background and SIGKILL it once ``path`` exists."""
    sweep = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "sweep", str(config), "--objective", "train_loss",
         *options, "--output", str(path.parent)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 200
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()


def test_tpe_prunes_a_hopeless_trial(tmp_path: Path) -> None:
    # lr 1e-8 learns nothing: its train loss stays above every good trial's from epoch 1 on
    config = write_config(tmp_path / "c.yaml", {"space": {LR: [0.01, 1.0e-8]}}, n_epochs=8)
    out = tmp_path / "tpe"
    result = run_rpnkit(
        "sweep",
        str(config),
        "--sampler",
        "tpe",
        "--trials",
        "8",
        "--objective",
        "train_loss",
        "--set",
        "data.parameters.batch_size=16",
        "--output",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    rows = sweep_rows(out)
    assert len(rows) == 8
    pruned = [r for r in rows if r["state"] == "pruned"]
    assert pruned, result.stderr
    assert all(json.loads(r[LR]) == 1.0e-8 for r in pruned)
    # a pruned trial is an interrupted run directory, shown as pruned by compare
    table = json.loads(run_rpnkit("compare", str(out), "--json").stdout)
    assert {t["status"] for t in table} >= {"finished", "pruned"}


#: A grid of 8 points, or a range the random sampler draws 8 points from.
WORKER_SPACES = {
    "grid": {EXPANSION: ["identity", "taylor", "chebyshev", "bspline"], LR: [0.01, 0.02]},
    "random": {LR: "loguniform(1e-3, 1e-1)"},
}


@pytest.mark.parametrize("sampler", ["random", "grid"])
def test_two_workers_share_one_study(tmp_path: Path, sampler: str) -> None:
    config = write_config(tmp_path / "c.yaml", {"space": WORKER_SPACES[sampler]})
    url = f"sqlite:///{tmp_path / 'study.db'}"
    out = tmp_path / "shared"
    env = {**os.environ, "COLUMNS": "200"}
    first = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "sweep", str(config), "--objective", "train_loss",
         "--sampler", sampler, "--trials", "8", "--storage", url, "--study", "two",
         "--output", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not (out / "sweep.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    second = run_rpnkit("sweep", "--join", url, "--study", "two", "--output", str(out))
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert second.returncode == 0, second.stderr
    study = optuna.load_study(study_name="two", storage=url)
    counted = [t for t in study.trials if not t.user_attrs.get("rpnkit_discarded")]
    assert len(counted) == 8
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in counted)
    dirs = [t.user_attrs["dir"] for t in counted]
    assert len(set(dirs)) == 8 and all(Path(d, "model.pt").is_file() for d in dirs)
    assert len({t.user_attrs["worker"] for t in counted}) == 2  # both workers ran trials
    points = {json.dumps(t.params, sort_keys=True) for t in counted}
    assert len(points) == 8  # no point run twice (a grid: every point once)


def test_kill_and_resume_finishes_the_study(tmp_path: Path) -> None:
    space = {EXPANSION: ["identity", "taylor", "chebyshev", "bspline"]}
    config = write_config(tmp_path / "c.yaml", {"space": space}, n_epochs=3)
    out = tmp_path / "killed"
    kill_sweep_at(out / "trial-0001", config, "--set", "data.parameters.batch_size=16")
    resumed = run_rpnkit("sweep", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    assert "cut off; running them again" in resumed.stderr
    rows = sweep_rows(out)
    assert len(rows) == 4 and {r["state"] for r in rows} == {"complete"}
    assert sorted(json.loads(r[EXPANSION]) for r in rows) == sorted(space[EXPANSION])
    trial_dirs = sorted(p.name for p in out.glob("trial-*"))
    assert trial_dirs == sorted(Path(r["dir"]).name for r in rows)  # the cut-off one is gone
    table = json.loads(run_rpnkit("compare", str(out), "--json").stdout)
    assert [t["status"] for t in table] == ["finished"] * 4


def test_a_resumed_random_sweep_draws_new_points(tmp_path: Path) -> None:
    # a resumed sampler seeded like the stopped one would draw that sweep's first points again
    config = write_config(
        tmp_path / "c.yaml", {"space": {LR: "loguniform(1e-4, 1e-1)"}}, n_epochs=2
    )
    out = tmp_path / "random"
    kill_sweep_at(out / "trial-0002", config, "--sampler", "random", "--trials", "5")
    resumed = run_rpnkit("sweep", "--resume", str(out))
    assert resumed.returncode == 0, resumed.stderr
    rows = sweep_rows(out)  # the cut-off trial runs again under a new number
    assert len(rows) == 5 and {r["state"] for r in rows} <= {"complete", "pruned"}
    values = [json.loads(r[LR]) for r in rows]
    assert len(set(values)) == 5, values
