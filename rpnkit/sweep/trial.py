"""One sweep trial: an ordinary ``python -m rpnkit train`` process, watched through its history.

The trial trains in its own process, into its own run directory, with the search-space values
given as ``--set`` assignments (checked exactly as a user's) and its own ``--threads``. The run
keeps ``history.csv`` current after every epoch (the ``csv`` logger, whose rows are host floats
the learner already has: no extra host sync in the training loop). The sweep process watches
that file; each new row's objective value goes to Optuna's pruner, and a trial the pruner gives
up on is stopped with SIGTERM, which ``rpnkit train`` handles like Ctrl-C: what it learned is
kept, marked partial. On Linux the trial also gets SIGTERM when the sweep process dies (killed
included), so no orphan keeps training.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rpnkit.sweep.objective import Objective

__all__ = ["TRIAL_FILE", "Outcome", "run_trial", "trial_command", "write_trial_file"]

#: The file the sweep writes into each trial's run directory (state, objective, reason).
TRIAL_FILE = "trial.json"

#: How often the sweep looks at a running trial's history (seconds); the trial's exit is seen
#: at once (:func:`_exit_waiter`).
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


def trial_command(
    config: Path,
    run_dir: Path,
    assignments: Sequence[str],
    threads: int,
    trust_code: bool,
) -> list[str]:
    """The ``python -m rpnkit train`` command line of one trial."""
    command = [sys.executable, "-m", "rpnkit", "train", str(config), "--quiet"]
    command += ["--output", str(run_dir), "--threads", str(threads)]
    for assignment in assignments:
        command += ["--set", assignment]
    if trust_code:
        command.append("--trust-code")
    return command


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _exit_waiter(pid: int) -> tuple[Callable[[float], None], Callable[[], None]]:
    """``(wait, close)``: ``wait(seconds)`` returns when the process ``pid`` exits or after
    ``seconds``, whichever is first (a pidfd on Linux; a plain sleep elsewhere)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return time.sleep, lambda: None

    def wait(seconds: float) -> None:
        select.select([fd], [], [], seconds)

    return wait, lambda: os.close(fd)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    return list(csv.DictReader(io.StringIO(text)))


def _reason(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
    except OSError:
        return "the trial process failed (no log)"
    lines = [line for line in lines if line]
    errors = [line for line in lines if line.startswith("error:")]
    text = errors[-1][len("error:") :].strip() if errors else (lines[-1] if lines else "")
    return (text or "the trial process failed with no message")[:300]


def run_trial(
    command: Sequence[str],
    run_dir: Path,
    log: Path,
    objective: Objective,
    report: Callable[[int, float], bool],
    threads: int,
    started: Callable[[int], None] = lambda pid: None,
) -> Outcome:
    """Run one trial's process to its end, pruning it when ``report`` says so.

    Parameters
    ----------
    command
        The trial's command line (:func:`trial_command`).
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
    """
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    history = run_dir / "history.csv"
    seen, pruned, stamp = 0, False, None
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        started(process.pid)
        wait, close = _exit_waiter(process.pid)
        try:
            while process.poll() is None:
                wait(POLL_SECONDS)
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
        finally:
            close()
    rows = _final_rows(run_dir)
    value = objective.best(rows)
    if pruned:
        return Outcome("pruned", value, f"pruned after epoch {seen - 1}", len(rows))
    if process.returncode != 0:
        return Outcome("failed", None, _reason(log), len(rows))
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
