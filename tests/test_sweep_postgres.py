"""``rpnkit sweep`` across machines: workers that ``--join`` one study kept in a real PostgreSQL.

The server is started for the test (``tests/postgres_server.py``: pgserver's binaries or
``initdb``/``postgres`` on ``PATH``, a temporary cluster on a free port); the test is skipped,
with the reason, only when no server can be started here within a minute.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres_server import PostgresUnavailable, Server, running_server
from tests.test_sweep import write_config

optuna = pytest.importorskip("optuna")
LR = "learner.optimizer.parameters.lr"
#: The study's number of trials, shared by three workers.
N_TRIALS = 9


@pytest.fixture
def postgres() -> Iterator[Server]:
    """A PostgreSQL server of this test alone, stopped (and its folder removed) after it."""
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(running_server(limit=60.0))
        except PostgresUnavailable as exc:
            pytest.skip(f"no PostgreSQL server can be started here: {exc}")
        yield server


def _sweep(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "sweep", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )


def _wait_for_trial(worker: subprocess.Popen[str], directory: Path) -> None:
    """Wait until ``worker`` has begun a trial in ``directory`` (it has drawn its first point)."""
    deadline = time.monotonic() + 120
    while not any(directory.glob("trial-*")):
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, f"no trial began in {directory} within 120 s"
        time.sleep(0.05)


def test_joined_workers_draw_their_own_points(monkeypatch: pytest.MonkeyPatch) -> None:
    # the old seed, the study's seed plus its number of trials, was the same for workers that
    # joined together, and their random samplers drew the same points
    from rpnkit.sweep import study

    seeds = []
    for worker in ("node-1:4242", "node-2:4242", "node-1:4243"):
        monkeypatch.setattr(study, "worker_id", lambda worker=worker: worker)
        assert study.joined_seed(0) == study.joined_seed(0)  # one worker keeps its stream
        seeds.append(study.joined_seed(0))
    assert len(set(seeds)) == 3  # three workers, three streams
    space = {"x": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)}
    draws = set()
    for seed in seeds:
        sampler = optuna.samplers.RandomSampler(seed=seed)
        draws.add(optuna.create_study(sampler=sampler).ask(space).params["x"])
    assert len(draws) == 3


def test_a_missing_driver_is_one_line_naming_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from rpnkit.errors import ConfigError
    from rpnkit.sweep.study import open_storage

    monkeypatch.setitem(sys.modules, "psycopg2", None)  # import psycopg2 fails
    with pytest.raises(ConfigError) as caught:
        open_storage("postgresql+psycopg2://me:secret@db.example:5432/sweeps", "--join")
    message = str(caught.value)
    assert message == (
        "--join 'postgresql+psycopg2://me:***@db.example:5432/sweeps' cannot be opened: its "
        "driver module 'psycopg2' is not installed (pip install psycopg2-binary)"
    )


def test_a_server_that_is_down_is_one_line() -> None:
    pytest.importorskip("psycopg2")
    from rpnkit.errors import ConfigError
    from rpnkit.sweep.study import open_storage

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConfigError) as caught:
        open_storage(f"postgresql+psycopg2://me:secret@127.0.0.1:{port}/sweeps")
    message = str(caught.value)
    assert message.startswith(f"--storage 'postgresql+psycopg2://me:***@127.0.0.1:{port}/sweeps'")
    assert "Connection refused" in message and "\n" not in message and "secret" not in message


@pytest.mark.e2e
def test_workers_joining_a_postgres_study_finish_it_once(postgres: Server, tmp_path: Path) -> None:
    postgres.create_database("sweeps")
    url = postgres.url("sweeps")  # postgresql+psycopg2://postgres@127.0.0.1:PORT/sweeps
    config = write_config(tmp_path / "c.yaml", {"space": {LR: "loguniform(1e-3, 1e-1)"}})
    # the first worker makes the study; two more join it from their own directories, as the
    # workers of other machines do (nothing is shared but the database)
    dirs = [tmp_path / "first", tmp_path / "machine-2", tmp_path / "machine-3"]
    workers = [
        _sweep(str(config), "--objective", "train_loss", "--sampler", "random",
               "--trials", str(N_TRIALS), "--storage", url, "--study", "pg",
               "--output", str(dirs[0]))
    ]  # fmt: skip
    try:
        _wait_for_trial(workers[0], dirs[0])
        # both join while the first worker is paused in its first trial, so that each of the
        # three runs trials (and the joiners see the same study, as workers started together
        # on several machines do)
        workers[0].send_signal(signal.SIGSTOP)
        workers += [_sweep("--join", url, "--study", "pg", "--output", str(d)) for d in dirs[1:]]
        for worker, directory in zip(workers[1:], dirs[1:], strict=True):
            _wait_for_trial(worker, directory)
        workers[0].send_signal(signal.SIGCONT)
        errors = [worker.communicate(timeout=300)[1] for worker in workers]
    finally:
        workers[0].send_signal(signal.SIGCONT)
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, err in zip(workers, errors, strict=True):
        assert worker.returncode == 0, err

    study = optuna.load_study(study_name="pg", storage=url)
    counted = [t for t in study.trials if not t.user_attrs.get("rpnkit_discarded")]
    assert len(counted) == N_TRIALS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in counted)
    assert len({t.params[LR] for t in counted}) == N_TRIALS  # no point ran twice
    trial_dirs = [Path(t.user_attrs["dir"]) for t in counted]
    assert len({d.resolve() for d in trial_dirs}) == N_TRIALS
    assert all((d / "model.pt").is_file() for d in trial_dirs)
    # each worker's trials lie in its own directory, and there is no other trial directory
    on_disk = {p.resolve() for d in dirs for p in d.glob("trial-*")}
    assert on_disk == {d.resolve() for d in trial_dirs}
    assert len({t.user_attrs["worker"] for t in counted}) == 3  # the work was shared

    # the study is PostgreSQL's: its tables hold the trials
    connection = postgres.connect("sweeps")
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT t.state, count(*) FROM trials t JOIN studies s USING (study_id) "
                "WHERE s.study_name = %s GROUP BY t.state",
                ("pg",),
            )
            states = dict(cursor.fetchall())
    finally:
        connection.close()
    assert states.get("COMPLETE") == N_TRIALS
