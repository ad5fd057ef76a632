"""Holding Ctrl-C and SIGTERM back while a file that must be complete is written.

An interrupt that lands inside ``torch.save`` is turned by torch's zip writer into a
``RuntimeError`` (``unexpected pos``), losing both the file and the interrupt. Inside
:func:`signals_deferred` SIGINT and SIGTERM are only recorded; when the block ends the
previous handlers are put back and the first recorded signal is raised again, so it acts right
after the write, exactly as it would have before it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["DEFERRED", "signals_deferred"]

#: The signals :func:`signals_deferred` holds back.
DEFERRED: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Record SIGINT / SIGTERM in the block and deliver the first one right after it.

    Only the main thread can handle signals; elsewhere (and for a signal whose handler was
    not installed from Python) the block runs unchanged. The handlers are restored when the
    block ends, so the process is left as it was.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {}
    for number in DEFERRED:
        handler = signal.getsignal(number)
        if handler is None:  # installed outside Python: leave it alone
            continue
        previous[number] = handler
        signal.signal(number, record)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if received:
            signal.raise_signal(received[0])
