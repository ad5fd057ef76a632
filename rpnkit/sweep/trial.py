"""One sweep trial: an ordinary ``rpnkit train`` process, watched through its history.

The trial trains in its own process, into its own run directory, with the search-space values
given as ``--set`` assignments (checked exactly as a user's) and its own ``--threads``. The
process is started by the sweep's launcher (:mod:`rpnkit.sweep.launcher`): forked from a warm
helper that has torch and rpnkit imported already, or, where fork is not available, a fresh
``python -m rpnkit train``. The run
keeps ``history.csv`` current after every epoch (the ``csv`` logger, whose rows are host floats
the learner already has: no extra host sync in the training loop). The sweep process watches
that file; each new row's objective value goes to Optuna's pruner, and a trial the pruner gives
up on is stopped with SIGTERM, which ``rpnkit train`` handles like Ctrl-C: what it learned is
kept, marked partial. On Linux the trial also gets SIGTERM when the sweep process dies (killed
included), so no orphan keeps training; a trial killed by a signal fails with that reason.
"""

from __future__ import annotations

import csv
import io
import json
import math
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpnkit.sweep.objective import Objective
from rpnkit.sweep.processes import Launcher, SubprocessLauncher

__all__ = [
    "TRIAL_FILE",
    "Outcome",
    "run_trial",
    "trial_arguments",
    "write_trial_file",
]

#: The file the sweep writes into each trial's run directory (state, objective, reason).
TRIAL_FILE = "trial.json"

#: How often the sweep looks at a running trial's history (seconds); the trial's exit is seen
#: at once (:meth:`~rpnkit.sweep.processes.TrialProcess.pause`).
POLL_SECONDS = 0.25


@dataclass
class Outcome:
    """How a trial ended.

    Attributes
    ----------
    state
        ``"complete"``, ``"pruned"`` or ``"failed"``.
    value
        The objective's best value (``None`` when the trial failed before one).
    reason
        Why it failed or was pruned, one line.
    epochs
        The epochs whose history the sweep saw.
    """

    state: str
    value: float | None
    reason: str | None = None
    epochs: int = 0


def trial_arguments(
    config: Path,
    run_dir: Path,
    assignments: Sequence[str],
    threads: int,
    trust_code: bool,
) -> list[str]:
    """The ``rpnkit train ...`` arguments of one trial (what follows ``rpnkit``)."""
    arguments = ["train", str(config), "--quiet", "--output", str(run_dir)]
    arguments += ["--threads", str(threads)]
    for assignment in assignments:
        arguments += ["--set", assignment]
    if trust_code:
        arguments.append("--trust-code")
    return arguments


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    return list(csv.DictReader(io.StringIO(text)))


def _reason(log: Path, code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the trial process was killed by {name}"
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return "the trial process failed (no log)"
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("error:")]
    text = errors[-1][len("error:") :].strip() if errors else (lines[-1] if lines else "")
    return (text or "the trial process failed with no message")[:300]


def run_trial(
    arguments: Sequence[str],
    run_dir: Path,
    log: Path,
    objective: Objective,
    report: Callable[[int, float], bool],
    threads: int,
    started: Callable[[int], None] = lambda pid: None,
    launcher: Launcher | None = None,
) -> Outcome:
    """Run one trial's process to its end, pruning it when ``report`` says so.

    Parameters
    ----------
    arguments
        The trial's ``rpnkit`` arguments (:func:`trial_arguments`).
    run_dir
        Its run directory (``--output``), whose ``history.csv`` is watched.
    log
        The file that receives the process's output.
    objective
        The history column reported to the pruner.
    report
        ``(epoch, value) -> prune?``, called once per new history row.
    threads
        The trial's thread budget, also given to OpenMP in its environment.
    started
        Called with the process id once the process runs.
    launcher
        What starts the process (default: a fresh ``python -m rpnkit`` process).
    """
    launcher = launcher if launcher is not None else SubprocessLauncher()
    history = run_dir / "history.csv"
    seen, pruned, stamp = 0, False, None
    process = launcher.run(arguments, log, threads)
    try:
        started(process.pid)
        while process.poll() is None:
            process.pause(POLL_SECONDS)
            try:
                now = history.stat().st_mtime_ns
            except OSError:
                continue
            if now == stamp or pruned:
                continue
            stamp = now
            rows = _read_rows(history)
            for i, row in enumerate(rows[seen:], start=seen):
                value = objective.value(row)
                if value is not None and not math.isnan(value) and report(i, value):
                    pruned = True
                    process.send_signal(signal.SIGTERM)
                    break
            seen = max(seen, len(rows))
    except BaseException:
        process.kill()
        process.wait()
        raise
    code = process.wait()
    rows = _final_rows(run_dir)
    value = objective.best(rows)
    if pruned:
        return Outcome("pruned", value, f"pruned after epoch {seen - 1}", len(rows))
    if code != 0:
        return Outcome("failed", None, _reason(log, code), len(rows))
    if value is None or math.isnan(value):
        why = "diverged (NaN)" if value is not None else f"history has no {objective.column}"
        return Outcome("failed", value, f"objective {objective.name}: {why}", len(rows))
    return Outcome("complete", value, None, len(rows))


def _final_rows(run_dir: Path) -> list[dict[str, Any]]:
    try:
        summary = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return _read_rows(run_dir / "history.csv")
    rows = summary.get("history") if isinstance(summary, dict) else None
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def write_trial_file(run_dir: Path, record: Mapping[str, Any]) -> None:
    """Write the sweep's record of a trial into its directory (``trial.json``), atomically."""
    from rpnkit.atomic import atomic_open

    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_open(run_dir / TRIAL_FILE) as file:
        file.write(json.dumps(dict(record), indent=2, default=str).encode())
