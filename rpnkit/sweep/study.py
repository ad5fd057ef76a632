"""A sweep's Optuna study: its storage, its record, and trials left behind by a killed worker.

Embedded by default: the study lives in ``DIR/study.journal`` (Optuna's journal-file storage,
safe for several processes of one machine), and ``DIR/sweep.json`` says where the study is.
With ``--storage URL`` (``sqlite:///...``, ``postgresql+psycopg2://...``, ``mysql+pymysql://...``)
it lives in an RDB Optuna supports, which workers on other machines join (``rpnkit sweep --join URL --study
NAME``). The sweep's definition (the base config's text, the space, the objective, the sampler
and the number of trials) is stored in the study's user attributes, so a joining worker needs
nothing but the URL and the name.

A trial of a killed worker stays ``RUNNING`` in the storage. :func:`recover_stale` fails it
(marked ``rpnkit_discarded``, so it is not counted), removes its half-written directory, and
queues its parameters again, so the study finishes every point once.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna

from rpnkit.errors import ConfigError
from rpnkit.sweep.space import Dimension

__all__ = [
    "RECORD",
    "counted",
    "distributions",
    "joined_seed",
    "make_sampler",
    "open_storage",
    "recover_stale",
    "shown_url",
    "worker_id",
]

#: The file in a sweep directory saying where its study lives.
RECORD = "sweep.json"
#: The user attribute of a trial that does not count (killed while running, or surplus).
DISCARDED = "rpnkit_discarded"
#: The study's user attribute listing the trials whose points were queued again.
REQUEUED = "rpnkit_requeued"


def worker_id() -> str:
    """``host:pid`` of this process: which worker runs a trial."""
    return f"{socket.gethostname()}:{os.getpid()}"


def joined_seed(seed: int) -> int:
    """The sampler seed of a worker joining a study whose seed is ``seed``.

    Its own stream, from ``seed`` and the worker's ``host:pid``: workers started together on
    several machines see the same study and would otherwise draw the same points.
    """
    return zlib.crc32(f"{seed}:{worker_id()}".encode())


def resumed_seed(seed: int, trials: int) -> int:
    """The sampler seed of a sweep resumed when its study holds ``trials`` trials.

    A resumed sampler seeded with the study's own seed would draw the points the stopped
    sweep started with again (a random sampler, TPE's startup trials); this stream still
    follows from ``seed`` (a resumed sweep is repeatable) but not the first one.
    """
    return zlib.crc32(f"{seed}:resumed after {trials}".encode())


#: The pip package of each SQLAlchemy driver module a storage URL may need.
_DRIVER_PACKAGES = {
    "psycopg2": "psycopg2-binary",
    "psycopg": "'psycopg[binary]'",
    "pymysql": "PyMySQL",
    "MySQLdb": "mysqlclient",
    "mysql": "mysql-connector-python",
}

#: A URL scheme naming a driver explicitly, for each database.
_DRIVER_EXAMPLES = {"postgresql": "postgresql+psycopg2://", "mysql": "mysql+pymysql://"}


def shown_url(url: str) -> str:
    """``url`` with its password (if any) written as ``***``, for messages."""
    if "://" not in url:
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL sqlalchemy parses: no password to hide there
        return url


def _missing_driver(exc: BaseException) -> str | None:
    """The name of the driver module whose import failed under ``exc``, if that is the cause."""
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, ModuleNotFoundError) and current.name:
            return current.name.split(".")[0]
        current = current.__cause__ or current.__context__
    return None


def open_storage(url: str, option: str = "--storage") -> optuna.storages.BaseStorage:
    """Optuna's storage at ``url``: an RDB URL (``scheme://...``) or a journal file's path.

    An RDB URL names its SQLAlchemy driver or gets SQLAlchemy's default for the database
    (``postgresql://`` is psycopg 3 from SQLAlchemy 2.1 on, psycopg2 before);
    ``postgresql+psycopg2://`` names one.

    Parameters
    ----------
    url
        The storage.
    option
        The command-line option that gave ``url``, named in errors.

    Raises
    ------
    ConfigError
        When the storage cannot be opened: one line naming ``option``, the URL (password
        hidden) and the reason (a missing driver module with the package that provides it).
    """
    try:
        if "://" in url:
            with warnings.catch_warnings():  # heartbeat_interval is "experimental"
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, heartbeat_interval=30, grace_period=90)
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        return JournalStorage(JournalFileBackend(url))
    except Exception as exc:  # OSError, ValueError, sqlalchemy's (bad URL, server down)
        module = _missing_driver(exc) if isinstance(exc, ImportError) else None
        if module is not None:
            package = _DRIVER_PACKAGES.get(module, module)
            reason = f"its driver module {module!r} is not installed (pip install {package})"
            scheme = url.partition("://")[0]
            example = _DRIVER_EXAMPLES.get(scheme)  # only for a URL without its own driver
            if example:
                reason += f", or name an installed driver in the URL, as in {example}"
        else:
            text = str(exc).strip()
            reason = text.splitlines()[0] if text else type(exc).__name__
        raise ConfigError(f"{option} {shown_url(url)!r} cannot be opened: {reason}") from None


def distributions(dimensions: Sequence[Dimension]) -> dict[str, Any]:
    """Optuna's distribution of each dimension; choices are stored as their JSON text."""
    out: dict[str, Any] = {}
    for dim in dimensions:
        if dim.kind == "choice":
            out[dim.key] = optuna.distributions.CategoricalDistribution(
                [json.dumps(c, sort_keys=True) for c in dim.choices]
            )
        elif dim.kind == "int":
            out[dim.key] = optuna.distributions.IntDistribution(
                int(dim.low), int(dim.high), step=dim.step
            )
        else:
            out[dim.key] = optuna.distributions.FloatDistribution(
                dim.low, dim.high, log=dim.kind == "loguniform"
            )
    return out


def make_sampler(
    kind: str, dimensions: Sequence[Dimension], seed: int | None, n_trials: int
) -> optuna.samplers.BaseSampler:
    """The sampler ``kind`` (``grid``, ``tpe`` or ``random``) over ``dimensions``.

    TPE starts from random points for a third of the trials (between 2 and 10, Optuna's
    default), so a short sweep is not all random.
    """
    if kind == "grid":
        grid = {d.key: [json.dumps(c, sort_keys=True) for c in d.choices] for d in dimensions}
        return _Grid(grid, seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, n_trials // 3)))


class _Grid(optuna.samplers.GridSampler):
    """Optuna's grid sampler, without its ``study.stop()`` when the grid is exhausted.

    That call is only allowed inside ``study.optimize``; the sweep's workers use ask and tell
    and stop by counting the study's trials.
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        state: optuna.trial.TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Nothing: the sweep counts its trials itself."""


def counted(trial: optuna.trial.FrozenTrial) -> bool:
    """Whether a trial counts toward the study's number of trials: not discarded, and not failed
    while still marked running (an RDB heartbeat found its worker dead)."""
    if trial.user_attrs.get(DISCARDED):
        return False
    failed = trial.state == optuna.trial.TrialState.FAIL
    return not (failed and trial.user_attrs.get("state") == "running")


def _alive(worker: str) -> bool:
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's worker: only the RDB heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for(process: str, limit: float = 60.0) -> None:
    """Wait until the trial process ``host:pid`` of this machine has exited (it got SIGTERM when
    its sweep died, and may still be writing what it learned)."""
    if not process or not process.rpartition(":")[2].isdigit():
        return
    deadline = time.monotonic() + limit
    while _alive(process) and time.monotonic() < deadline:
        time.sleep(0.1)


def recover_stale(study: optuna.Study, everything: bool) -> list[int]:
    """Fail the trials whose worker died, remove their directories, queue their points again.

    Parameters
    ----------
    study
        The study.
    everything
        Treat every running trial as stale (``--resume``: the user says no worker is left);
        otherwise only those of a dead process of this machine, and those an RDB's heartbeat
        gave up on.

    Returns
    -------
    list of int
        The numbers of the trials recovered.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    storage = study._storage
    recovered = []
    requeued = set(study.user_attrs.get(REQUEUED, []))
    for trial in study.get_trials(deepcopy=False):
        running = trial.state == optuna.trial.TrialState.RUNNING
        stale_fail = not running and not counted(trial) and trial.number not in requeued
        worker = str(trial.user_attrs.get("worker", ""))
        if not (stale_fail or (running and (everything or not _alive(worker)))):
            continue
        if running:
            try:  # marked while it can be: a finished trial's attributes are frozen
                storage.set_trial_user_attr(trial._trial_id, DISCARDED, True)
                storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # its worker finished it meanwhile after all
        _wait_for(str(trial.user_attrs.get("process", "")))
        directory = trial.user_attrs.get("dir")
        if isinstance(directory, str) and Path(directory).is_dir():
            shutil.rmtree(directory, ignore_errors=True)
        study.enqueue_trial(dict(trial.params), skip_if_exists=False)
        requeued.add(trial.number)
        recovered.append(trial.number)
    if recovered:
        study.set_user_attr(REQUEUED, sorted(requeued))
    return recovered


def write_record(directory: Path, storage: str, study_name: str) -> None:
    """Write ``DIR/sweep.json``: where the sweep's study lives."""
    from rpnkit.atomic import atomic_open

    text = json.dumps({"storage": storage, "study": study_name}, indent=2).encode()
    with atomic_open(directory / RECORD) as file:
        file.write(text)


def read_record(directory: Path) -> Mapping[str, str]:
    """``DIR/sweep.json`` of a sweep directory.

    Raises
    ------
    ConfigError
        When ``directory`` is not a sweep directory.
    """
    try:
        record = json.loads((directory / RECORD).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        raise ConfigError(
            f"--resume {str(directory)!r} is not a sweep directory (no readable {RECORD})"
        ) from None
    if not isinstance(record, dict) or not {"storage", "study"} <= set(record):
        raise ConfigError(f"--resume {str(directory)!r}: {RECORD} is not a sweep record")
    return record
