"""The sweep's warm trial launcher: a trial forked from it is ``rpnkit train`` run alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rpnkit.sweep.launcher import WarmLauncher, forking_available
from rpnkit.sweep.objective import Objective
from rpnkit.sweep.processes import LauncherError, SubprocessLauncher, TrialProcess
from rpnkit.sweep.trial import run_trial, trial_arguments
from tests.conftest import run_rpnkit
from tests.test_sweep import EXPANSION, write_config

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not forking_available(), reason="the warm launcher needs Linux"),
]
pytest.importorskip("optuna")

TRAIN_LOSS = Objective("train_loss", "train_loss", "minimize")


@pytest.fixture
def launcher() -> Iterator[WarmLauncher]:
    started = WarmLauncher()
    yield started
    started.close()


def history(run_dir: Path) -> list[dict[str, object]]:
    """The per-epoch numbers of a run, without its wall-clock columns."""
    rows = json.loads((run_dir / "history.json").read_text())["history"]
    return [{k: v for k, v in row.items() if k not in ("seconds", "time")} for row in rows]


def test_a_trial_forked_by_the_launcher_learns_what_train_alone_learns(
    tmp_path: Path, launcher: WarmLauncher
) -> None:
    config = write_config(tmp_path / "c.yaml", n_epochs=3)
    alone = run_rpnkit("train", str(config), "--quiet", "--output", str(tmp_path / "alone"))
    assert alone.returncode == 0, alone.stderr
    args = trial_arguments(config, tmp_path / "forked", [], 1, False)
    process = launcher.run(args, tmp_path / "forked.log", threads=1)
    assert process.pid != launcher.helper_pid and process.wait(120) == 0
    assert launcher.ready.is_set()
    assert history(tmp_path / "forked") == history(tmp_path / "alone")
    assert len(history(tmp_path / "forked")) == 3


def test_a_childs_exit_code_and_log_come_back(tmp_path: Path, launcher: WarmLauncher) -> None:
    log = tmp_path / "bad.log"
    process = launcher.run(["train", str(tmp_path / "missing.yaml")], log, threads=1)
    assert process.wait(60) == 2
    lines = log.read_text().splitlines()
    assert lines and lines[-1].startswith("error:") and "missing.yaml" in lines[-1]


def test_sigterm_prunes_a_trial_started_through_the_launcher(
    tmp_path: Path, launcher: WarmLauncher
) -> None:
    config = write_config(tmp_path / "c.yaml", n_epochs=200)
    run_dir = tmp_path / "pruned"
    csv_logger = 'output.loggers=["csv"]'
    args = trial_arguments(config, run_dir, [csv_logger, "data.parameters.batch_size=16"], 1, False)
    seen: list[int] = []

    def report(epoch: int, value: float) -> bool:
        seen.append(epoch)
        return epoch >= 1

    outcome = run_trial(args, run_dir, tmp_path / "p.log", TRAIN_LOSS, report, 1, launcher=launcher)
    assert outcome.state == "pruned" and seen[:2] == [0, 1]
    assert outcome.reason is not None and outcome.reason.startswith("pruned after epoch ")
    assert int(outcome.reason.rsplit(" ", 1)[1]) >= seen[-1] == 1  # the rows read by then
    assert 1 <= outcome.epochs < 200
    table = json.loads(run_rpnkit("compare", str(run_dir), "--json").stdout)
    assert table[0]["status"] == "interrupted"


def test_a_killed_trial_fails_with_the_signal_as_its_reason(
    tmp_path: Path, launcher: WarmLauncher
) -> None:
    config = write_config(tmp_path / "c.yaml", n_epochs=200)
    run_dir = tmp_path / "killed"
    args = trial_arguments(config, run_dir, ['output.loggers=["csv"]'], 1, False)

    def report(epoch: int, value: float) -> bool:
        if epoch == 0:
            os.kill(pids[0], signal.SIGKILL)
        return False

    pids: list[int] = []
    outcome = run_trial(
        args, run_dir, tmp_path / "k.log", TRAIN_LOSS, report, 1, pids.append, launcher
    )
    assert outcome.state == "failed"
    assert outcome.reason == "the trial process was killed by SIGKILL"


def test_a_call_returns_its_value_or_raises_its_error(launcher: WarmLauncher) -> None:
    assert launcher.call("os.path:join", ("a", "b"), 1) == os.path.join("a", "b")
    with pytest.raises(ZeroDivisionError):  # the function's own error, raised here
        launcher.call("operator:truediv", (1, 0), 1)
    with pytest.raises(AttributeError, match="no_such_function"):
        launcher.call("os:no_such_function", (), 1)
    # each child draws from fresh generators, as a new process would, not from a copied one
    draws = {launcher.call("random:random", (), 1) for _ in range(3)}
    draws |= {launcher.call("numpy.random:random", (), 1) for _ in range(3)}
    assert len(draws) == 6
    local = SubprocessLauncher()
    assert local.call("os.path:join", ("a", "b"), 1) == os.path.join("a", "b")


def start_training(launcher: WarmLauncher, config: Path, run_dir: Path) -> TrialProcess:
    """A long trial started through ``launcher``, once it has written its first epoch."""
    args = trial_arguments(config, run_dir, ['output.loggers=["csv"]'], 1, False)
    running = launcher.run(args, run_dir.with_suffix(".log"), 1)
    deadline = time.monotonic() + 60
    while not (run_dir / "history.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return running


def test_a_lost_helper_leaves_trials_to_their_own_processes(
    tmp_path: Path, launcher: WarmLauncher, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path / "c.yaml", n_epochs=200)
    running = start_training(launcher, config, tmp_path / "r")
    os.kill(launcher.helper_pid, signal.SIGKILL)
    # its running child got SIGTERM (the parent-death signal): train stops as on Ctrl-C
    assert running.wait(60) == -int(signal.SIGKILL)  # the code is lost with the helper
    assert (tmp_path / "r" / "history.json").is_file()
    with pytest.raises(LauncherError):
        launcher._send(lambda i: ("warm", i, []))
    args = trial_arguments(config, tmp_path / "after", ["learner.n_epochs=1"], 1, False)
    assert launcher.run(args, tmp_path / "after.log", 1).wait(120) == 0
    assert "the trial launcher process ended" in capsys.readouterr().err
    assert launcher.call("os.path:join", ("a", "b"), 1) == os.path.join("a", "b")


def test_without_fork_each_trial_is_its_own_process(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.yaml", n_epochs=2)
    args = trial_arguments(config, tmp_path / "plain", ['output.loggers=["csv"]'], 1, False)
    outcome = run_trial(
        args, tmp_path / "plain", tmp_path / "plain.log", TRAIN_LOSS, lambda e, v: False, 1
    )
    assert outcome.state == "complete" and outcome.epochs == 2


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its reaping is left


def test_killing_the_sweep_leaves_no_trial_process(tmp_path: Path) -> None:
    space = {EXPANSION: ["identity", "taylor"]}
    config = write_config(tmp_path / "c.yaml", {"space": space}, n_epochs=200)
    out = tmp_path / "killed"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "sweep", str(config), "--objective", "train_loss",
         "--jobs", "2", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if len(list(out.glob("trial-*/history.csv"))) == 2:
            break
        time.sleep(0.1)
    processes = _descendants(sweep.pid)
    assert len(processes) >= 3, processes  # the launcher and the two trials
    sweep.send_signal(signal.SIGKILL)
    sweep.wait()
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in processes if _alive(p)]
    # the trials got SIGTERM, which train handles like Ctrl-C: what they learned is kept
    for trial in out.glob("trial-*"):
        assert (trial / "history.json").is_file()


def test_closing_the_launcher_stops_its_trials_and_the_helper(tmp_path: Path) -> None:
    launcher = WarmLauncher()
    config = write_config(tmp_path / "c.yaml", n_epochs=200)
    running = start_training(launcher, config, tmp_path / "r")
    launcher.close()  # returns once the helper, and so its trial, has ended
    assert running.poll() is not None and not _alive(running.pid)
    assert not _alive(launcher.helper_pid)
    # the trial got one SIGTERM, which train handles like Ctrl-C: what it learned is kept
    assert json.loads((tmp_path / "r" / "history.json").read_text())["history"]


def test_a_launcher_closed_while_still_importing_is_killed_not_waited_for() -> None:
    launcher = WarmLauncher()
    launcher.close()  # before its imports are done (a sweep stopped by a bad config)
    assert launcher._process.returncode == -int(signal.SIGKILL)
    ready = WarmLauncher()
    assert ready.ready.wait(120)
    ready.close()  # a ready one is asked to close and exits by itself
    assert ready._process.returncode == 0
