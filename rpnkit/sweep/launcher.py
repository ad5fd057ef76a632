"""A warm trial launcher: one helper process that imports torch and rpnkit once, forking a trial.

A trial run as ``python -m rpnkit train`` spends more than a second starting: the interpreter,
``import torch`` and rpnkit's training modules (and about half a second more leaving, tearing
torch down). The sweep starts one helper process instead (``python -m rpnkit.sweep.helper``,
started as the sweep starts, so its imports overlap the sweep's own work) that imports all of
that once and then only waits. For each trial it forks a child, which

* sends its output to the trial's log (stdout and stderr, as the subprocess did),
* takes the trial's thread budget (``OMP_NUM_THREADS`` and :func:`torch.set_num_threads`,
  before any torch operation) and fresh seeds for Python's and numpy's global generators (as
  a new process has),
* runs :func:`rpnkit.cli.main` with the trial's arguments, exactly what ``python -m rpnkit``
  runs, and leaves with its exit code (non-daemon threads joined, ``atexit`` functions run and
  output flushed, then at once: no interpreter teardown).

The helper never runs a torch operation and starts no Python thread, so a fork is a clean
copy (the one native thread, OpenBLAS's idle pool started when numpy is imported, is stopped
and restarted around a fork by OpenBLAS itself). It reports each child's process id when it
starts and its exit code when it ends (``-N``: killed by signal ``N``, as
:attr:`subprocess.Popen.returncode`). The sweep signals the child directly (pruning is a
SIGTERM to its process id, as before).

Process lifetime: the helper dies (SIGKILL) when the sweep's process dies, and every child
gets SIGTERM when the helper dies (Linux's parent-death signal, both), so a killed sweep leaves
no trial training. When the sweep ends, it asks the helper to close (a ``close`` request): the
helper ends its children (SIGTERM) and exits once they have; an input that ends without that
request means the sweep died, and the helper leaves at once, without signalling the children
(each gets its one SIGTERM from its parent-death signal). Ctrl-C reaches the trials directly
(they are in the terminal's process group) and the helper ignores it.

The protocol, on the helper's stdin and stdout, is a stream of frames (a 4-byte big-endian
length, then a pickle): requests ``("run", id, argv, log, threads)``, ``("call", id,
"module:function", args, result_path, threads)``, ``("warm", id, modules)`` and ``("close",
id)``; replies ``("ready", pid)``, ``("started", id, pid)`` and ``("exited", id, code)``. A
``call`` runs a
function of rpnkit in a child and pickles its return value (or its error) and the modules it
imported to ``result_path``: the sweep's checks build the config once that way, without
importing torch into the sweep's process, and the helper then imports what that build
imported (``warm``: the config's components), so the trials find them imported too.

This module is the sweep's side (:class:`WarmLauncher`); the helper's is
:mod:`rpnkit.sweep.helper`. Where fork is not available (not Linux), :func:`start_launcher`
returns a :class:`~rpnkit.sweep.processes.SubprocessLauncher`: each trial a fresh
``python -m rpnkit`` process, calls in this process, as before.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from rpnkit.sweep.processes import (
    Launcher,
    LauncherError,
    SubprocessLauncher,
    TrialProcess,
)

__all__ = ["WarmLauncher", "forking_available", "read_frame", "start_launcher", "write_frame"]

_HEADER = struct.Struct(">I")


def write_frame(fd: int, message: tuple[Any, ...]) -> None:
    """Write one frame (a 4-byte big-endian length, then the pickled ``message``) to ``fd``."""
    data = pickle.dumps(message)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:  # one thread at a time writes to a pipe; a write may take part of a frame
        view = view[os.write(fd, view) :]


def read_frame(stream: IO[bytes]) -> tuple[Any, ...] | None:
    """The next frame's message from ``stream``; ``None`` at its end."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        return None
    message: tuple[Any, ...] = pickle.loads(data)
    return message


class _Child:
    """A trial forked by the helper, seen from the sweep: its pid and, once it ends, its code."""

    def __init__(self) -> None:
        self.pid = 0
        self.returncode: int | None = None
        self.started = threading.Event()
        self.exited = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self.exited.wait(timeout):
            raise subprocess.TimeoutExpired(f"trial process {self.pid}", timeout or 0.0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None and self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def pause(self, seconds: float) -> None:
        self.exited.wait(seconds)

    def _end(self, code: int) -> None:
        self.returncode = code
        self.started.set()
        self.exited.set()


class WarmLauncher:
    """The sweep's side of the helper process (see the module docstring).

    Thread-safe: the sweep's workers start trials from their own threads.
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "rpnkit.sweep.helper", str(os.getpid())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._requests = self._process.stdin.fileno()
        self._lock = threading.Lock()
        self._children: dict[int, _Child] = {}
        self._next = 0
        self._lost: str | None = None
        self._warned = False
        self.ready = threading.Event()
        self.helper_pid = self._process.pid
        self._reader = threading.Thread(
            target=self._read, args=(self._process.stdout,), name="rpnkit-launcher", daemon=True
        )
        self._reader.start()

    def _send(self, make: Callable[[int], tuple[Any, ...]]) -> _Child:
        child = _Child()
        with self._lock:
            if self._lost is not None:
                raise LauncherError(self._lost)
            ident = self._next
            self._next += 1
            self._children[ident] = child
            try:
                write_frame(self._requests, make(ident))
            except OSError as exc:
                del self._children[ident]
                raise LauncherError(f"the trial launcher is gone ({exc})") from None
        return child

    def run(self, argv: Sequence[str], log: Path, threads: int) -> TrialProcess:
        """Fork a child of the helper running ``rpnkit ARGV``; return once it has a pid.

        Once the helper is gone (it should not be: only a fault kills it), each trial is a
        fresh ``python -m rpnkit`` process, with one ``warning:`` line when that starts.
        """
        try:
            child = self._send(lambda i: ("run", i, list(argv), str(log), int(threads)))
            child.started.wait()
            if child.pid:
                return child
        except LauncherError:
            pass
        with self._lock:
            warned, self._warned = self._warned, True
        if not warned:
            print(
                f"warning: {self._lost}; the trials start as their own processes",
                file=sys.stderr,
            )
        return SubprocessLauncher().run(argv, log, threads)

    def call(self, target: str, args: tuple[Any, ...], threads: int, warm: bool = False) -> Any:
        """``module:function(*args)`` in a child of the helper; its result (or error).

        With ``warm``, the helper then imports the modules the call imported (a build's
        components, say), before its next child. The function's own exception is raised
        here when it can be sent back (an rpnkit error, say); otherwise a
        :class:`~rpnkit.sweep.processes.LauncherError` with its traceback. Once the helper is
        gone, the call runs in this process.
        """
        fd, name = tempfile.mkstemp(prefix="rpnkit-call-", suffix=".pickle")
        os.close(fd)
        result = Path(name)
        try:
            try:
                child = self._send(lambda i: ("call", i, target, args, str(result), int(threads)))
            except LauncherError:
                return SubprocessLauncher().call(target, args, threads)
            code = child.wait()
            try:
                ok, value, imported = pickle.loads(result.read_bytes())
            except (OSError, EOFError, pickle.UnpicklingError):
                raise LauncherError(f"{target} ended with exit code {code} and no result") from None
        finally:
            result.unlink(missing_ok=True)
        if warm and imported:  # the helper imports them too, before its next child: warm trials
            self._send(lambda i: ("warm", i, imported))
        if not ok:
            error, text = value
            if isinstance(error, BaseException):
                raise error
            raise LauncherError(f"{target} failed:\n{text}")
        return value

    def _read(self, stream: IO[bytes]) -> None:
        """The reader thread: hand each reply to its child; when the replies end (the helper
        is gone, or a reply cannot be read), end every child still waiting."""
        try:
            while (message := read_frame(stream)) is not None:
                self._dispatch(message)
        finally:
            with self._lock:
                self._lost = "the trial launcher process ended"
                orphans = list(self._children.values())
                self._children.clear()
            self.ready.set()
            for child in orphans:  # got SIGTERM with the helper: wait until each is gone
                if child.pid:
                    _until_gone(child.pid)
                child._end(-int(signal.SIGKILL) if child.pid else 1)

    def _dispatch(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "ready":
            self.ready.set()
            return
        with self._lock:
            child = self._children.get(message[1])
            if kind == "exited":
                self._children.pop(message[1], None)
        if child is None:
            return
        if kind == "started":
            child.pid = int(message[2])
            child.started.set()
        elif kind == "exited":
            child._end(int(message[2]))

    def close(self) -> None:
        """Ask the helper to close: it stops its children (SIGTERM) and exits once they have.

        A helper still importing (not ready: no child started yet) is killed instead, so a
        sweep that stops early (a bad config) does not wait for its imports.
        """
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            if not self.ready.is_set():
                with contextlib.suppress(OSError):
                    process.kill()
            else:
                with self._lock, contextlib.suppress(OSError):
                    write_frame(self._requests, ("close", -1))
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._reader.join(10)


def _until_gone(pid: int, limit: float = 60.0) -> None:
    """Wait until the process ``pid`` (not a child of this one) has ended, or ``limit`` s."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):  # no pidfd: poll (an unreaped zombie waits the limit)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)
        return
    try:
        select.select([fd], [], [], limit)  # readable once it has exited, reaped or not
    finally:
        os.close(fd)


def forking_available() -> bool:
    """Whether the warm launcher works here (Linux: fork and the parent-death signal)."""
    return sys.platform == "linux" and hasattr(os, "fork")


def start_launcher(warm: bool = True) -> Launcher:
    """The sweep's launcher: a :class:`WarmLauncher` on Linux, else a
    :class:`SubprocessLauncher` (also when ``warm`` is false)."""
    if warm and forking_available():
        try:
            return WarmLauncher()
        except OSError:
            pass
    return SubprocessLauncher()
