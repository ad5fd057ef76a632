"""Leaving a process at once: what the interpreter does on exit, without tearing modules down.

An interpreter that exits normally first runs its ``atexit`` functions and then tears down
every module, which for torch, Optuna, scikit-learn and matplotlib costs a few tenths of a
second and does nothing a finished command needs. :func:`leave` does the first part only. It
is for a process that is the command's own (the ``rpnkit`` command that asked for it, a trial
forked by the sweep's launcher), never for a library call.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

__all__ = ["leave"]


def leave(code: int) -> NoReturn:
    """End this process with exit code ``code``, as the interpreter would but without teardown.

    Non-daemon threads are joined, ``atexit`` functions run and standard output and error are
    flushed; then the process exits at once (:func:`os._exit`).
    """
    main_thread = threading.main_thread()
    for thread in threading.enumerate():
        if thread is not main_thread and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
