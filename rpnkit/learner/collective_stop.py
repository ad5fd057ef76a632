"""Stopping every process of a launch at the same step, and telling a lost peer from a bug.

A signal that stops a launched ``rpnkit train`` (torchrun forwards the launcher's SIGTERM or
Ctrl-C to every process) reaches each process at its own moment, and a process that stops alone
leaves the others blocked in their next collective until torch kills them. Inside
:func:`stop_together` (entered by the ``rpnkit`` command for its own process, never by a library
call) a signal only *requests* a stop (:data:`STOP`). Every process's request travels with the
gradient all-reduce of each step (a one-element all-reduce beside the first bucket's, through
:func:`stop_agreeing_hook`, a DDP communication hook that leaves the gradients exactly as DDP's
default averages them) and with the end-of-epoch
:meth:`~rpnkit.learner.parallel.DataParallel.any_true`. When any process has asked, every
process learns it from the same collective and raises ``KeyboardInterrupt`` at that step, so
they stop together (rank 0 then keeps what was learned) and none waits for a peer that is gone.

A process killed outright makes the others' next collective fail; :func:`lost_peer` tells that
failure from a bug, so that the survivors exit quietly with :data:`LOST_PEER_EXIT` and the
launcher names the process that died.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Any, cast

import torch
import torch.distributed as dist
from torch import Tensor
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from torch.nn.parallel import DistributedDataParallel

__all__ = [
    "LOST_PEER_EXIT",
    "STOP",
    "StopRequest",
    "any_true_or_stop",
    "exchanging_stops",
    "lost_peer",
    "stop_agreeing_hook",
    "stop_together",
]

#: The exit code of a launched process that stopped because another process of its launch
#: died (its collective failed): quiet, so that the launcher names the process that died.
LOST_PEER_EXIT = 3


class StopRequest:
    """A stop asked of this process (by a signal), acted on once every process agrees.

    Attributes
    ----------
    listening
        Whether the processes exchange their requests (set by :meth:`listen`; a library call
        never sets it, so DDP trains with its default communication otherwise).
    requested
        Whether this process was asked to stop.
    agreed
        Whether the processes have learned from one collective that one of them was asked.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to not listening, nothing asked."""
        self.listening = False
        self.requested = False
        self.agreed = False

    def listen(self) -> None:
        """Exchange stop requests in the collectives of data-parallel training from now on."""
        self.listening = True

    def request(self) -> None:
        """Ask every process to stop at the next step (or epoch end) they all reach."""
        self.requested = True

    def agree(self, *, interrupt: bool) -> None:
        """Record that the processes agreed to stop; ``interrupt``: raise ``KeyboardInterrupt``
        in the main thread (through its SIGTERM handler) from a collective's callback."""
        if self.agreed:
            return
        self.agreed = True
        if interrupt:
            _thread.interrupt_main(signal.SIGTERM)


#: This process's stop request (one per process: signals are per process).
STOP = StopRequest()


def stop_agreeing_hook(state: StopRequest, bucket: dist.GradBucket) -> torch.futures.Future[Tensor]:
    """DDP's default gradient averaging, plus, for the first bucket, the processes' stop flags.

    The flag's all-reduce (MAX) is issued before the bucket's, on every process alike, so the
    collectives stay in the same order everywhere; the returned future completes when both
    have, and a raised flag interrupts the main thread at this step on every process.
    """
    if bucket.index() != 0:
        return allreduce_hook(None, bucket)  # type: ignore[arg-type]
    flag = torch.tensor([int(state.requested)], dtype=torch.int32, device=bucket.buffer().device)
    flag_future = dist.all_reduce(flag, op=dist.ReduceOp.MAX, async_op=True).get_future()
    grads = allreduce_hook(None, bucket)  # type: ignore[arg-type]

    def agree(both: torch.futures.Future[list[torch.futures.Future[Any]]]) -> Tensor:
        flag_done, grads_done = both.value()
        if int(flag_done.value()[0].item()):
            state.agree(interrupt=True)
        return cast(Tensor, grads_done.value())

    return torch.futures.collect_all([flag_future, grads]).then(agree)


# DDP checks a hook's annotations against the classes themselves, not their postponed names.
stop_agreeing_hook.__annotations__.update(
    {"state": StopRequest, "bucket": dist.GradBucket, "return": torch.futures.Future[Tensor]}
)


def exchanging_stops(model: DistributedDataParallel) -> DistributedDataParallel:
    """``model`` averaging its gradients through :func:`stop_agreeing_hook` while :data:`STOP`
    listens (unchanged otherwise)."""
    if STOP.listening:
        model.register_comm_hook(STOP, stop_agreeing_hook)
    return model


def any_true_or_stop(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` is true on any process (one all-reduce of the default group).

    While :data:`STOP` listens, the processes' stop requests travel with it: when one was
    asked to stop, every process raises ``KeyboardInterrupt`` here, together.
    """
    flags = [int(flag), int(STOP.requested)] if STOP.listening else [int(flag)]
    value = torch.tensor(flags, dtype=torch.int32, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    result = value.tolist()
    if len(result) > 1 and result[1]:
        STOP.agree(interrupt=False)
        raise KeyboardInterrupt
    return bool(result[0])


def _request_stop(signum: int, frame: FrameType | None) -> None:
    """SIGTERM / SIGINT in a launched process: ask every process to stop together.

    Once they agreed (:data:`STOP`), and for a second signal, the
    stop is ``KeyboardInterrupt`` here and now.
    """
    if STOP.agreed or STOP.requested:
        raise KeyboardInterrupt
    STOP.request()


@contextlib.contextmanager
def stop_together() -> Iterator[None]:
    """In the block, SIGTERM and SIGINT stop every process of the launch at the same step.

    Called by a launched ``rpnkit train`` process for itself (never by a library call): a
    signal only requests the stop, which every process learns from the next collective they
    all take part in (see the module docstring), so no process is left blocked in a
    collective that a stopped peer never joins. The previous handlers, and :data:`STOP`'s
    state, are put back after.
    """
    previous = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    for number in previous:
        signal.signal(number, _request_stop)
    STOP.listen()
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        STOP.reset()


#: What gloo and NCCL say when a peer of a collective is gone.
_LOST_PEER_SIGNS: tuple[str, ...] = (
    "connection reset by peer",
    "connection closed by peer",
    "broken pipe",
    "gloo/transport",
    "nccl communicator was aborted",
    "ncclremoteerror",
)


def lost_peer(error: BaseException) -> bool:
    """Whether ``error`` is a collective that failed because another process of the launch died.

    A :class:`torch.distributed.DistError` (backend or network error), or a ``RuntimeError``
    carrying gloo's or NCCL's words for a lost connection (a collective run inside autograd,
    such as DDP's gradient all-reduce, surfaces as one), anywhere in the chain of causes.
    Any other error is a bug or a mistake, and keeps its own report.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, dist.DistError):
            return True
        if isinstance(current, RuntimeError):
            text = str(current).lower()
            if any(sign in text for sign in _LOST_PEER_SIGNS):
                return True
        current = current.__cause__ or current.__context__
    return False
