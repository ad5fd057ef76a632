"""The launcher's helper process (``python -m rpnkit.sweep.helper PARENT_PID``).

It imports torch and what ``rpnkit train`` runs (:data:`WARM_MODULES`), then serves the
requests of :class:`~rpnkit.sweep.launcher.WarmLauncher` (see :mod:`rpnkit.sweep.launcher` for
the protocol and the process lifetimes), forking one child per request. It never runs a torch
operation and starts no Python thread, so each fork is a clean copy; should an imported module
have started a thread anyway, the child replaces itself with a fresh ``python -m rpnkit``
(exec) instead of running in the copy.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rpnkit.cli.leave import leave
from rpnkit.sweep.launcher import write_frame
from rpnkit.sweep.processes import die_with_parent, resolve

__all__ = ["WARM_MODULES", "helper_main"]

#: The modules the helper imports before its first fork: torch and what ``rpnkit train`` runs.
WARM_MODULES = (
    "torch",
    "rpnkit.cli",
    "rpnkit.cli.train",
    "rpnkit.components.trust",
    "rpnkit.learner.dynamo_import",
    "rpnkit.learner.loop",
    "rpnkit.run.config",
    "rpnkit.run.lock",
    "rpnkit.run.runner",
    "rpnkit.sweep.plan",
    "rich.console",
)

_HEADER_SIZE = 4


class _Request:
    """What a forked child does: ``kind`` ``"run"`` or ``"call"`` and its fields."""

    def __init__(self, message: tuple[Any, ...]) -> None:
        self.kind: str = message[0]
        self.ident: int = message[1]
        self.cold = False
        if self.kind == "run":
            _, _, self.argv, self.log, self.threads = message
        elif self.kind == "call":
            _, _, self.target, self.args, self.result, self.threads = message
        elif self.kind == "warm":
            _, _, self.modules = message


def _serve(requests: int, replies: int) -> _Request | None:
    """The helper's loop: fork a child per request, report starts and exits.

    Returns ``None`` in the helper once it is done, and the request in a forked child. A
    ``close`` request (the sweep ends) stops the children still running (SIGTERM) and returns
    once they have ended. An input that ends without one means the sweep died: the helper
    leaves at once (it is being killed with the sweep anyway), without signalling its children,
    which get their one SIGTERM from their parent-death signal (a second one could cut short
    the saving of what a trial learned).
    """
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    signal.set_wakeup_fd(wake_write)
    children: dict[int, int] = {}
    buffer = b""
    helper = os.getpid()
    open_input = True
    while open_input or children:
        readable, _, _ = select.select([requests, wake_read] if open_input else [wake_read], [], [])
        if wake_read in readable:
            os.read(wake_read, 4096)
        while children:  # reap every child that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            ident = children.pop(pid, None)
            if ident is not None:
                write_frame(replies, ("exited", ident, os.waitstatus_to_exitcode(status)))
        if not open_input or requests not in readable:
            continue
        data = os.read(requests, 1 << 16)
        if not data:  # no close request first: the sweep died
            os._exit(0)
        buffer += data
        while len(buffer) >= _HEADER_SIZE:
            size = int.from_bytes(buffer[:_HEADER_SIZE], "big")
            if len(buffer) < _HEADER_SIZE + size:
                break
            request = _Request(pickle.loads(buffer[_HEADER_SIZE : _HEADER_SIZE + size]))
            buffer = buffer[_HEADER_SIZE + size :]
            if request.kind == "warm":
                _warm(request.modules)
                write_frame(replies, ("exited", request.ident, 0))
                continue
            if request.kind == "close":  # the sweep ends: stop the trials still running
                open_input = False
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                break
            request.cold = threading.active_count() > 1  # a thread: fork, then exec afresh
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child: drop the helper's state, become the request
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                for fd in (requests, replies, wake_read, wake_write):
                    os.close(fd)
                die_with_parent(signal.SIGTERM)
                if os.getppid() != helper:  # the helper died before the line above
                    os.kill(os.getpid(), signal.SIGTERM)
                return request
            children[pid] = request.ident
            write_frame(replies, ("started", request.ident, pid))
    return None


def _warm(modules: Sequence[str]) -> None:
    """Import ``modules`` (what a child imported: the config's components) quietly, each that
    imports by its name; their import-time output went to the sweep already, from the child."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in modules:
                if name in sys.modules or name == "__main__":
                    continue
                try:
                    importlib.import_module(name)
                except BaseException:  # a module the trial imports its own way
                    sys.modules.pop(name, None)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.dup2(saved, 2)
        os.close(saved)


def _picklable(exc: BaseException) -> BaseException | None:
    """``exc`` when it survives a pickle round trip (to be raised in the sweep), else ``None``."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


def _fresh_random_state() -> None:
    """Seed Python's and numpy's global generators afresh, as a new process would (a fork
    copies the helper's; torch's default generator is the same fixed seed in both)."""
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _become(request: _Request) -> int:
    """In a forked child: set up as the trial and run it; return the exit code."""
    threads = int(request.threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    import torch

    torch.set_num_threads(threads)  # before any torch operation of this process
    _fresh_random_state()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    if request.kind == "run":
        out = os.open(request.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        if request.cold:  # pragma: no cover - only when an import started a thread
            os.execv(sys.executable, [sys.executable, "-m", "rpnkit", *request.argv])
        from rpnkit.cli import main

        sys.argv = [str(Path(sys.modules["rpnkit"].__file__ or "rpnkit").parent / "__main__.py")]
        sys.argv += list(request.argv)
        return main(list(request.argv), own_process=True)
    before = set(sys.modules)
    try:
        ok, value = True, resolve(request.target)(*request.args)
    except BaseException as exc:  # reported to the sweep, which raises it there
        ok, value = False, (_picklable(exc), traceback.format_exc())
    imported = sorted(set(sys.modules) - before)
    Path(request.result).write_bytes(pickle.dumps((ok, value, imported)))
    return 0 if ok else 1


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def helper_main(parent: int) -> int:
    """The helper process: import, serve until the sweep asks it to close.

    Parameters
    ----------
    parent
        The sweep's process id: the helper leaves at once when it is no longer its parent.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the trials, not the launcher
    die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:
        return 1
    requests = os.dup(0)
    replies = os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # a stray print goes to the sweep's stderr, never into the replies
    for name in WARM_MODULES:
        importlib.import_module(name)
    write_frame(replies, ("ready", os.getpid()))
    request = _serve(requests, replies)
    if request is None:  # nothing to flush or keep: leave without tearing torch down
        os._exit(0)
    try:
        code = _become(request)
    except SystemExit as exc:
        code = _exit_code(exc)
    except KeyboardInterrupt:
        traceback.print_exc()
        _leave_by_signal(signal.SIGINT)
        code = 130
    except BaseException:
        traceback.print_exc()
        code = 1
    leave(code)  # as the interpreter would, without tearing torch down


def _leave_by_signal(sig: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


if __name__ == "__main__":
    raise SystemExit(helper_main(int(sys.argv[1])))
