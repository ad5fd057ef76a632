"""Launches and the process group: which processes train together, on which devices.

rpnkit scales on PyTorch's own engine: ``torchrun`` (:mod:`torch.distributed.run`) starts the
processes and :class:`~torch.nn.parallel.DistributedDataParallel` averages the gradients.
:func:`data_parallel` detects a launch (torchrun's ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``, or a default process group the caller initialised), gives each process its
device (``cuda:LOCAL_RANK`` on GPUs) and initialises the default process group when none
exists: ``gloo`` on the CPU, ``nccl`` on CUDA. A group created here stays for the rest of the
process, so later :meth:`~rpnkit.learner.BackwardLearner.train` and
:meth:`~rpnkit.learner.BackwardLearner.test` calls reuse it (initialising a group again after
destroying it is not reliable under torchrun's rendezvous store), and is destroyed when the
process exits; a group the caller initialised is used as it is and left alone.

It returns the process's :class:`~rpnkit.learner.parallel.Parallel`: a
:class:`~rpnkit.learner.parallel.DataParallel` under a launch, else the
:class:`~rpnkit.learner.parallel.SingleProcess` null object with the same methods, so the
training loop never asks whether it is distributed.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import os
import sys
from dataclasses import dataclass
from typing import Literal, get_args

import torch
import torch.distributed as dist

from rpnkit.checks import choice
from rpnkit.errors import ConfigError
from rpnkit.learner.device import resolve_device
from rpnkit.learner.parallel import DataParallel, Parallel, SingleProcess

__all__ = [
    "BACKENDS",
    "LAUNCH_VARIABLES",
    "STRATEGIES",
    "Backend",
    "Strategy",
    "check_backend",
    "check_strategy",
    "data_parallel",
    "die_with_parent",
    "launch_rank",
    "wait_for_all",
]

#: How long a process waits at exit for the others before tearing its process group down.
EXIT_WAIT = datetime.timedelta(seconds=10)

#: ``"auto"``: data-parallel when launched on several processes; ``"single"``: one process even
#: under a launch; ``"ddp"``: data-parallel, and an error without a launch.
Strategy = Literal["auto", "single", "ddp"]
#: The valid strategies.
STRATEGIES: tuple[str, ...] = get_args(Strategy)
#: The process-group backends: ``gloo`` (CPU, or CUDA) and ``nccl`` (CUDA only).
Backend = Literal["gloo", "nccl"]
#: The valid backends.
BACKENDS: tuple[str, ...] = get_args(Backend)
#: The environment variables torchrun sets for every process it starts.
LAUNCH_VARIABLES: tuple[str, ...] = ("RANK", "WORLD_SIZE", "LOCAL_RANK")

_LAUNCH_HINT = (
    "run `rpnkit train CONFIG --nproc-per-node N` or `torchrun --nproc-per-node N -m rpnkit "
    "train CONFIG`"
)


def check_strategy(strategy: object) -> Strategy:
    """Return ``strategy`` if it is one of :data:`STRATEGIES` (else a one-line error)."""
    return choice(strategy, STRATEGIES, "strategy")


def check_backend(backend: object) -> Backend | None:
    """Return ``backend`` if it is ``None`` (chosen by device) or one of :data:`BACKENDS`."""
    return choice(backend, BACKENDS, "backend", allow_none=True)


def _initialised() -> bool:
    return dist.is_available() and dist.is_initialized()


def _environment_int(name: str) -> int | None:
    value = os.environ.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(
            f"environment variable {name}={value!r} is not an integer; torchrun sets "
            f"{', '.join(LAUNCH_VARIABLES)} to integers"
        ) from None


def launch_rank() -> int:
    """Return this process's global rank in a :mod:`torch.distributed` launch; 0 outside one.

    The rank in the initialised default process group, else torchrun's ``RANK``. Only rank 0
    shows progress and writes files.
    """
    if _initialised():
        return dist.get_rank()
    return _environment_int("RANK") or 0


@dataclass(frozen=True)
class _Launch:
    """Where this process stands in a launch: global rank, process count, rank on its node."""

    rank: int
    world_size: int
    local_rank: int


def _find_launch() -> _Launch | None:
    """The launch this process belongs to: the initialised default group, else torchrun's
    environment; ``None`` when there is neither."""
    local = _environment_int("LOCAL_RANK")
    if _initialised():
        group_rank = dist.get_rank()
        return _Launch(group_rank, dist.get_world_size(), group_rank if local is None else local)
    rank, world_size = _environment_int("RANK"), _environment_int("WORLD_SIZE")
    if rank is None and world_size is None:
        return None
    if rank is None or world_size is None or not 0 <= rank < world_size:
        raise ConfigError(
            f"torch.distributed launch variables RANK={rank} and WORLD_SIZE={world_size} do not "
            f"describe a process of a launch (need 0 <= RANK < WORLD_SIZE); {_LAUNCH_HINT}"
        )
    if not dist.is_available():
        raise ConfigError(
            "this process was launched for torch.distributed (RANK and WORLD_SIZE are set) but "
            "this torch build has no torch.distributed; use strategy 'single'"
        )
    return _Launch(rank, world_size, rank if local is None else local)


def _process_device(device: str | torch.device, local_rank: int) -> torch.device:
    """The device of one process of a launch: the requested one, CUDA at ``LOCAL_RANK``."""
    target = resolve_device(device)
    if target.type == "mps":
        raise ConfigError(
            f"device={str(device)!r} cannot train with DDP: torch.distributed has no mps "
            "backend; use device 'cpu' or strategy 'single'"
        )
    if target.type != "cuda":
        return target
    auto = isinstance(device, str) and device.strip().lower() == "auto"
    index = None if auto else torch.device(str(device).strip().lower()).index
    if index is not None and index != local_rank:
        raise ConfigError(
            f"device={str(device)!r} names one GPU, but under DDP each process trains on the GPU "
            f"of its LOCAL_RANK (this one: cuda:{local_rank}); use device 'cuda' or 'auto'"
        )
    count = torch.cuda.device_count()
    if local_rank >= count:
        raise ConfigError(
            f"LOCAL_RANK={local_rank} has no GPU: this machine has {count} CUDA device(s); "
            f"launch at most {count} process(es) per node"
        )
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def _check_backend_fits(backend: Backend | None, device: torch.device) -> None:
    if backend == "nccl" and device.type != "cuda":
        raise ConfigError(
            f"backend='nccl' needs CUDA, but the device is '{device}'; use backend 'gloo' (or "
            "None) on the CPU, or device 'cuda'"
        )


def _initialise(backend: Backend, launch: _Launch) -> None:
    """Initialise the default process group from torchrun's environment; destroy it at exit."""
    missing = [name for name in ("MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise ConfigError(
            f"RANK and WORLD_SIZE are set but {' and '.join(missing)} not; torchrun sets all "
            f"of them: {_LAUNCH_HINT}"
        )
    dist.init_process_group(
        backend, init_method="env://", rank=launch.rank, world_size=launch.world_size
    )
    group = dist.group.WORLD
    atexit.register(_destroy_if_current, group)


def wait_for_all() -> None:
    """Under a launch, wait until every process has got here; outside one, return at once.

    Called once a run has finished and rank 0 has written its outputs, so that no process
    tears its process group down (at exit) while another one still talks to it.
    """
    if _initialised():
        dist.barrier()


def _destroy_if_current(group: object) -> None:
    """Destroy the default process group if it is still ``group``, the one rpnkit created.

    At exit, and first waiting (at most :data:`EXIT_WAIT`) until every process is exiting
    too, so that none tears its connections down while another still has work in flight on
    them (a process that left early has been seen to abort in gloo's teardown). A peer that
    died ends the wait at once; one still busy after the wait is left to finish alone; a
    process leaving on an uncaught exception does not wait.
    """
    if _initialised() and dist.group.WORLD is group:
        if getattr(sys, "last_value", None) is None:
            with contextlib.suppress(RuntimeError):  # a peer died, or is still busy
                dist.barrier(async_op=True).wait(timeout=EXIT_WAIT)
        dist.destroy_process_group()


def data_parallel(
    strategy: Strategy, device: str | torch.device, backend: Backend | None = None
) -> tuple[torch.device, Parallel]:
    """Resolve this process's device and, under a launch, join the data-parallel run.

    Parameters
    ----------
    strategy
        ``"auto"``: data-parallel when launched on more than one process; ``"single"``: one
        process even under a launch; ``"ddp"``: data-parallel (on one process too), an error
        without a launch.
    device
        The requested device (see :func:`~rpnkit.learner.device.resolve_device`); under a
        launch, ``"cuda"`` and ``"auto"`` become ``cuda:LOCAL_RANK`` (the global rank when
        ``LOCAL_RANK`` is not set).
    backend
        The process-group backend; ``None`` picks ``nccl`` on CUDA and ``gloo`` otherwise.
        Only used when this call initialises the group.

    Returns
    -------
    tuple
        The device, and this process's :class:`~rpnkit.learner.parallel.Parallel`:
        :class:`~rpnkit.learner.parallel.DataParallel` under a launch, else
        :class:`~rpnkit.learner.parallel.SingleProcess`.

    Raises
    ------
    ConfigError
        For an unknown strategy or backend, ``strategy="ddp"`` without a launch, ``nccl``
        without CUDA, a device that does not fit the launch, or an incomplete launch
        environment.
    """
    strategy = check_strategy(strategy)
    backend = check_backend(backend)
    launch = None if strategy == "single" else _find_launch()
    if launch is None and strategy == "ddp":
        raise ConfigError(
            "strategy='ddp' needs a torch.distributed launch, but RANK and WORLD_SIZE are not "
            f"set and no process group is initialised; {_LAUNCH_HINT}"
        )
    if launch is None or (strategy == "auto" and launch.world_size == 1):
        target = resolve_device(device)
        _check_backend_fits(backend, target)
        return target, SingleProcess(target)
    target = _process_device(device, launch.local_rank)
    _check_backend_fits(backend, target)
    if not _initialised():
        _initialise(backend or ("nccl" if target.type == "cuda" else "gloo"), launch)
    elif backend is not None and dist.get_backend() != backend:
        raise ConfigError(
            f"backend={backend!r} differs from the backend of the initialised process group "
            f"({dist.get_backend()!r}); leave backend None to use the group as it is"
        )
    return target, DataParallel(dist.get_rank(), dist.get_world_size(), target)


#: ``PR_SET_PDEATHSIG`` of Linux's ``prctl``: the signal a process gets when its parent dies.
_PR_SET_PDEATHSIG = 1


def die_with_parent(signal_number: int = 9) -> bool:
    """Have the kernel kill this process when its parent (the launching ``rpnkit``) dies.

    torchrun starts each worker in its own session, so a SIGKILL to the launcher's process
    group does not reach them; on Linux ``prctl(PR_SET_PDEATHSIG)`` is the backstop that ends a
    worker with its launcher. Called by a launched ``rpnkit train`` worker for its own
    process (never by a library call).

    Parameters
    ----------
    signal_number
        The signal sent when the parent dies (``SIGKILL``: nothing is written after the
        launch is gone).

    Returns
    -------
    bool
        Whether the request was made (``False`` off Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal_number, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent or parent == 1:  # the parent died before the request
        os.kill(os.getpid(), signal_number)
    return True
