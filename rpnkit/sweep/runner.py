"""Running a sweep's trials: ``--jobs J`` workers asking Optuna for points until the study is done.

Each worker is a thread of the sweep process that asks the study for a trial, runs it as its
own ``rpnkit train`` process (:func:`~rpnkit.sweep.trial.run_trial`, started by the sweep's
launcher, :mod:`rpnkit.sweep.launcher`) with a thread budget of ``cores // J``, and tells the
study how it ended. The study is done when it holds as many counted trials (finished or
running, in any process sharing its storage) as it asks for; a trial asked for beyond that by a
racing worker is discarded before it runs.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from rpnkit.cli.table import say
from rpnkit.sweep.objective import Objective
from rpnkit.sweep.processes import Launcher
from rpnkit.sweep.report import decode
from rpnkit.sweep.space import Dimension, assignment
from rpnkit.sweep.study import DISCARDED, counted, distributions, worker_id
from rpnkit.sweep.trial import run_trial, trial_arguments, write_trial_file

__all__ = ["SweepRun", "thread_budget", "usable_cores"]


def usable_cores() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_budget(jobs: int, config_threads: int | None) -> int:
    """Threads per trial so ``jobs`` trials fit the cores this process may use."""
    share = max(1, usable_cores() // jobs)
    return min(share, config_threads) if config_threads else share


@dataclass
class SweepRun:
    """One worker process's part of a sweep.

    Attributes
    ----------
    study
        The Optuna study.
    dimensions
        The searched keys.
    objective
        The optimised history column.
    n_trials
        How many counted trials the study holds when it is done.
    directory
        Where this process writes trial directories and logs.
    config
        The base config file the trials train (``DIR/base.yaml``).
    assignments
        ``--set`` assignments every trial gets (the user's, the csv logger's, ...).
    jobs
        Trials run at once by this process.
    threads
        Each trial's ``--threads``.
    trust_code
        Pass ``--trust-code`` to the trials.
    launcher
        What starts the trials' processes (default: each a fresh ``python -m rpnkit``).
    """

    study: optuna.Study
    dimensions: Sequence[Dimension]
    objective: Objective
    n_trials: int
    directory: Path
    config: Path
    assignments: Sequence[str]
    jobs: int
    threads: int
    trust_code: bool = False
    launcher: Launcher | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _errors: list[BaseException] = field(default_factory=list)

    def run(self, meanwhile: Callable[[], None] | None = None) -> None:
        """Run trials on ``jobs`` threads until the study is done (Ctrl-C: stop them all).

        A trial stopped by Ctrl-C stays running in the storage: ``--resume`` runs it again.

        Parameters
        ----------
        meanwhile
            Called in this thread once the workers have started (while the first trials
            wait for the launcher, say).
        """
        workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.jobs)]
        for worker in workers:
            worker.start()
        try:
            if meanwhile is not None:
                meanwhile()
            for worker in workers:
                while worker.is_alive():
                    worker.join(0.2)
        except KeyboardInterrupt:
            self._stop.set()
            for worker in workers:
                worker.join()
            raise
        if self._errors:
            raise self._errors[0]

    def _live(self) -> list[optuna.trial.FrozenTrial]:
        running = optuna.trial.TrialState.RUNNING
        return [
            t
            for t in self.study.get_trials(deepcopy=False)
            if counted(t) and (t.state.is_finished() or t.state == running)
        ]

    def _next(self) -> optuna.trial.Trial | None:
        with self._lock:
            if self._stop.is_set() or len(self._live()) >= self.n_trials:
                return None
            trial = self.study.ask(distributions(self.dimensions))
            earlier = [t for t in self._live() if t.number < trial.number]
            if len(earlier) >= self.n_trials:  # another worker took the last one meanwhile
                trial.set_user_attr(DISCARDED, True)
                trial.set_user_attr("state", "discarded")
                self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return None
            return trial

    def _work(self) -> None:
        try:
            while (trial := self._next()) is not None:
                self._run_one(trial)
        except BaseException as exc:  # a bug here must not vanish with its thread
            self._errors.append(exc)
            self._stop.set()

    def _run_one(self, trial: optuna.trial.Trial) -> None:
        name = f"trial-{trial.number:04d}"
        run_dir = self.directory / name
        log = self.directory / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        params = {d.key: decode(trial.params[d.key]) for d in self.dimensions}
        trial.set_user_attr("dir", str(run_dir.resolve()))
        trial.set_user_attr("worker", worker_id())
        trial.set_user_attr("state", "running")
        assignments = [
            *self.assignments,
            *(assignment(k, v) for k, v in params.items()),
        ]
        arguments = trial_arguments(
            self.config, run_dir, assignments, self.threads, self.trust_code
        )

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        def started(pid: int) -> None:
            trial.set_user_attr("process", f"{worker_id().rpartition(':')[0]}:{pid}")

        outcome = run_trial(
            arguments,
            run_dir,
            log,
            self.objective,
            report,
            self.threads,
            started,
            self.launcher,
        )
        if self._stop.is_set() and outcome.state != "complete":
            return  # interrupted with the sweep: left running, --resume runs it again
        record = {
            "trial": trial.number,
            "state": outcome.state,
            "value": outcome.value,
            "objective": self.objective.to_dict(),
            "params": params,
            "reason": outcome.reason,
        }
        write_trial_file(run_dir, record)
        trial.set_user_attr("state", outcome.state)
        if outcome.reason:
            trial.set_user_attr("reason", outcome.reason)
        if outcome.state == "complete":
            self.study.tell(trial, outcome.value)
        elif outcome.state == "pruned":
            self.study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        shown = ", ".join(f"{k.split('.')[-1]}={_short(v)}" for k, v in params.items())
        value = "" if outcome.value is None else f" {self.objective.name}={outcome.value:.4g}"
        why = f" ({outcome.reason})" if outcome.reason and outcome.state == "failed" else ""
        say(f"trial {trial.number}: {outcome.state}{value}  [{shown}]{why}")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return value if isinstance(value, str) else json.dumps(value)
