"""How a sweep starts its trials: the launcher's interface, and the plain one (a subprocess each).

A launcher (:class:`Launcher`) starts a trial's ``rpnkit ARGS`` process with its output in
the trial's log and its thread budget, and hands back a :class:`TrialProcess` (what
:class:`subprocess.Popen` shows: pid, exit code, signals) that
:func:`~rpnkit.sweep.trial.run_trial` watches and prunes; it also runs an rpnkit function
(:meth:`Launcher.call`) where the sweep wants it run. :class:`SubprocessLauncher` is the plain
one: each trial a fresh ``python -m rpnkit`` process that gets SIGTERM when this process dies
(on Linux), each call in this process. The warm one, which forks its trials from a process
that has torch imported already, is :mod:`rpnkit.sweep.launcher`.
"""

from __future__ import annotations

import importlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "Launcher",
    "LauncherError",
    "SubprocessLauncher",
    "TrialProcess",
    "die_with_parent",
    "resolve",
]

_PR_SET_PDEATHSIG = 1


class LauncherError(RuntimeError):
    """The helper process is gone, or a function called through it raised."""


class TrialProcess(Protocol):
    """A started trial process, as :class:`subprocess.Popen` shows one."""

    pid: int

    def poll(self) -> int | None:
        """The exit code, or ``None`` while it runs."""

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; return the code."""

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the process unless it has ended."""

    def kill(self) -> None:
        """SIGKILL the process unless it has ended."""

    def pause(self, seconds: float) -> None:
        """Return when the process ends or after ``seconds``, whichever is first."""


class Launcher(Protocol):
    """Starts trial processes (:meth:`run`) and runs rpnkit functions (:meth:`call`)."""

    def run(self, argv: Sequence[str], log: Path, threads: int) -> TrialProcess:
        """Start ``rpnkit ARGV`` with its output in ``log`` and ``threads`` threads."""

    def call(self, target: str, args: tuple[Any, ...], threads: int, warm: bool = False) -> Any:
        """Return ``module:function(*args)`` (arguments and result pickled); ``warm``: the
        launcher also imports what the call imported, for the trials after it."""

    def close(self) -> None:
        """Stop the launcher (its running trials get SIGTERM)."""


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent dies (nothing elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig))
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


class _Spawned:
    """A :class:`subprocess.Popen` with :meth:`pause` (a pidfd wait)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process
        self.pid = process.pid
        self._pause, self._close = _exit_waiter(process.pid)

    def poll(self) -> int | None:
        code = self._process.poll()
        if code is not None:
            self._release()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = self._process.wait(timeout)
        self._release()
        return code

    def send_signal(self, sig: int) -> None:
        self._process.send_signal(sig)

    def kill(self) -> None:
        self._process.kill()

    def pause(self, seconds: float) -> None:
        self._pause(seconds)

    def _release(self) -> None:
        close, self._close = self._close, lambda: None
        close()
        self._pause = time.sleep


def _die_with_parent_hook() -> None:  # pragma: no cover - runs in the child before exec
    die_with_parent(signal.SIGTERM)


class SubprocessLauncher:
    """Each trial a fresh ``python -m rpnkit`` process; each call in this process."""

    def run(self, argv: Sequence[str], log: Path, threads: int) -> TrialProcess:
        """Start ``python -m rpnkit ARGV`` (SIGTERM when this process dies, on Linux)."""
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "rpnkit", *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                preexec_fn=_die_with_parent_hook if sys.platform == "linux" else None,
            )
        return _Spawned(process)

    def call(self, target: str, args: tuple[Any, ...], threads: int, warm: bool = False) -> Any:
        """Run ``module:function(*args)`` here."""
        return resolve(target)(*args)

    def close(self) -> None:
        """Nothing to stop."""


def resolve(target: str) -> Callable[..., Any]:
    """The function ``module:name`` names (imported)."""
    module, _, name = target.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function
