"""Data-parallel training on :mod:`torch.distributed`: launches, the process group, sharding.

rpnkit scales on PyTorch's own engine: ``torchrun`` (:mod:`torch.distributed.run`) starts the
processes and :class:`~torch.nn.parallel.DistributedDataParallel` averages the gradients.
This module holds what :class:`~rpnkit.learner.BackwardLearner` does around them.

* :func:`data_parallel` detects a launch (torchrun's ``RANK``, ``WORLD_SIZE`` and
  ``LOCAL_RANK``, or a default process group the caller initialised), gives each process its
  device (``cuda:LOCAL_RANK`` on GPUs) and initialises the default process group when none
  exists: ``gloo`` on the CPU, ``nccl`` on CUDA. A group created here stays for the rest of the
  process, so later :meth:`~rpnkit.learner.BackwardLearner.train` and
  :meth:`~rpnkit.learner.BackwardLearner.test` calls reuse it (initialising a group again
  after destroying it is not reliable under torchrun's rendezvous store), and is destroyed
  when the process exits; a group the caller initialised is used as it is and left alone.
* :class:`DataParallel` wraps the model, shards the loaders and reduces numbers over the
  processes.

**Batches.** The training loader's ``batch_size`` is the *global* batch: each of the ``W``
processes takes ``batch_size / W`` samples per step, so a config trains with the same batch on
any number of processes, and ``batch_size`` must be a multiple of ``W``. Because every process
computes the mean loss (``reduction="mean"``, as the learner requires) over equally many
samples, DDP's average of the gradients is the gradient of the mean loss over the global
batch, as in a single process.

**Sharding.** The training set is split with :class:`~torch.utils.data.DistributedSampler`,
re-seeded every epoch (``set_epoch``) from the loader's generator seed, shuffled if the loader
shuffles. When the number of training samples is a multiple of ``W``, every global batch, the
last partial one included, has the samples and size of a single-process batch (in another
order when shuffling). Otherwise ``DistributedSampler`` repeats up to ``W - 1`` samples per
epoch so that every process runs the same number of equal steps, or, when the loader has
``drop_last=True``, leaves up to ``W - 1`` samples out instead. The test set is split without
padding (:class:`StridedSampler`): process ``r`` evaluates samples ``r, r + W, r + 2W, ...``,
and the loss sums, sample counts and metric states are summed over the processes, so every
process reports the numbers a single process gets on the whole test set.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    DistributedSampler,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.learner.device import resolve_device

__all__ = [
    "BACKENDS",
    "LAUNCH_VARIABLES",
    "STRATEGIES",
    "Backend",
    "DataParallel",
    "Strategy",
    "StridedSampler",
    "batch_share",
    "check_backend",
    "check_strategy",
    "data_parallel",
    "launch_rank",
]

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
    """Return ``strategy`` if it is one of :data:`STRATEGIES`.

    Raises
    ------
    ConfigError
        For any other value, with close matches.
    """
    if strategy in STRATEGIES:
        return strategy  # type: ignore[return-value]
    raise ConfigError(
        f"strategy={strategy!r} is not valid{did_you_mean(str(strategy), STRATEGIES)}; "
        f"expected {', '.join(map(repr, STRATEGIES))}"
    )


def check_backend(backend: object) -> Backend | None:
    """Return ``backend`` if it is ``None`` (chosen by device) or one of :data:`BACKENDS`.

    Raises
    ------
    ConfigError
        For any other value, with close matches.
    """
    if backend is None or backend in BACKENDS:
        return backend  # type: ignore[return-value]
    raise ConfigError(
        f"backend={backend!r} is not valid{did_you_mean(str(backend), BACKENDS)}; expected "
        f"None (gloo on the CPU, nccl on CUDA), {', '.join(map(repr, BACKENDS))}"
    )


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


def _destroy_if_current(group: object) -> None:
    """Destroy the default process group if it is still ``group``, the one rpnkit created."""
    if _initialised() and dist.group.WORLD is group:
        dist.destroy_process_group()


def data_parallel(
    strategy: Strategy, device: str | torch.device, backend: Backend | None = None
) -> tuple[torch.device, DataParallel | None]:
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
        The device, and the :class:`DataParallel` of this process or ``None`` for a
        single-process run.

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
        return target, None
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


def batch_share(batch_size: int, world_size: int, argument: str) -> int:
    """Return each process's share of a global batch, ``batch_size / world_size``.

    Parameters
    ----------
    batch_size
        The global batch size.
    world_size
        The number of processes.
    argument
        What set the batch size, for the error message.

    Raises
    ------
    ConfigError
        If ``batch_size`` is smaller than or not a multiple of ``world_size``.
    """
    if batch_size < world_size or batch_size % world_size:
        problem = "smaller than" if batch_size < world_size else "not a multiple of"
        below = max(world_size, batch_size - batch_size % world_size)
        raise ConfigError(
            f"{argument}={batch_size} is {problem} the world size {world_size}: the batch size "
            f"is global and each process takes batch_size / {world_size} samples per step; use "
            f"a multiple of {world_size} such as {below} or {below + world_size}"
        )
    return batch_size // world_size


class StridedSampler(Sampler[int]):
    """Indices ``rank, rank + world_size, rank + 2 * world_size, ...`` below ``size``.

    The processes' shares are disjoint and together hold every index exactly once, without
    the padding of :class:`~torch.utils.data.DistributedSampler`, so evaluating them and
    summing the results is exact. Shares differ in length by at most one.

    Parameters
    ----------
    size
        Number of samples.
    rank
        This process's rank.
    world_size
        Number of processes.
    """

    def __init__(self, size: int, rank: int, world_size: int) -> None:
        self.size = size
        self.rank = rank
        self.world_size = world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.size, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.size, self.world_size))


def _data_loader(loader: object, argument: str) -> DataLoader[Any]:
    """Check ``loader`` can be sharded: a batching DataLoader over a map-style dataset."""
    if not isinstance(loader, DataLoader):
        raise ConfigError(
            f"{argument} must be a torch.utils.data.DataLoader under DDP, so the learner can "
            f"shard it over the processes; got {type(loader).__name__}"
        )
    if isinstance(loader.dataset, IterableDataset):
        raise ConfigError(
            f"{argument} reads an IterableDataset, which cannot be sharded by index under DDP; "
            "use a map-style dataset, or strategy 'single'"
        )
    if loader.batch_size is None or type(loader.batch_sampler) is not BatchSampler:
        raise ConfigError(
            f"{argument} uses its own batch_sampler; under DDP give the DataLoader batch_size "
            "and shuffle instead, so the learner can shard it"
        )
    return loader


def _rebuild(loader: DataLoader[Any], sampler: Sampler[int], batch_size: int) -> DataLoader[Any]:
    """A loader like ``loader`` (collate_fn, workers, generator, ...) drawing from ``sampler``."""
    options: dict[str, Any] = {}
    if getattr(loader, "in_order", True) is False:
        options["in_order"] = False
    return DataLoader(
        loader.dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=loader.num_workers,
        collate_fn=loader.collate_fn,
        pin_memory=loader.pin_memory,
        drop_last=loader.drop_last,
        timeout=loader.timeout,
        worker_init_fn=loader.worker_init_fn,
        multiprocessing_context=loader.multiprocessing_context,
        generator=loader.generator,
        prefetch_factor=loader.prefetch_factor,
        persistent_workers=loader.persistent_workers,
        pin_memory_device=loader.pin_memory_device,
        **options,
    )


def _shuffles(loader: DataLoader[Any], argument: str) -> bool:
    """Whether ``loader`` shuffles; an error for samplers that cannot be re-created sharded."""
    sampler = loader.sampler
    if isinstance(sampler, SequentialSampler):
        return False
    if (
        isinstance(sampler, RandomSampler)
        and not sampler.replacement
        and sampler.num_samples == len(sampler.data_source)
    ):
        return True
    raise ConfigError(
        f"{argument} draws with {type(sampler).__name__}, which DDP cannot shard; give a "
        "DataLoader with shuffle=True or False (sharded with DistributedSampler), or one with "
        "your own DistributedSampler"
    )


@dataclass(frozen=True)
class DataParallel:
    """This process's place in a data-parallel run over the default process group.

    Every method that communicates must be called by every process, in the same order.

    Attributes
    ----------
    rank
        This process's rank, ``0 .. world_size - 1``.
    world_size
        Number of processes training together.
    device
        This process's device.
    """

    rank: int
    world_size: int
    device: torch.device

    def wrap(self, model: nn.Module) -> DistributedDataParallel:
        """Wrap ``model`` (already on :attr:`device`) in DistributedDataParallel.

        Rank 0's parameters and buffers are copied to every process when wrapping.
        """
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids)

    def shard_train_loader(self, loader: object, argument: str) -> DataLoader[Any]:
        """Return this process's share of a training loader (see the module docstring).

        A loader that already draws from a :class:`~torch.utils.data.DistributedSampler` for
        this run is used as it is, its ``batch_size`` then being per process.

        Parameters
        ----------
        loader
            The training DataLoader; its ``batch_size`` is the global batch.
        argument
            Its name, for error messages.

        Raises
        ------
        ConfigError
            If the loader cannot be sharded, or its batch size is smaller than or not a
            multiple of the world size.
        """
        data = _data_loader(loader, argument)
        sampler = data.sampler
        if isinstance(sampler, DistributedSampler):
            if (sampler.num_replicas, sampler.rank) != (self.world_size, self.rank):
                raise ConfigError(
                    f"{argument} has a DistributedSampler for rank {sampler.rank} of "
                    f"{sampler.num_replicas}, but this process is rank {self.rank} of "
                    f"{self.world_size}; give a plain DataLoader and let the learner shard it"
                )
            return data
        shuffle = _shuffles(data, argument)
        world = self.world_size
        share = batch_share(int(data.batch_size or 0), world, f"{argument} batch_size")
        sharded: DistributedSampler[Any] = DistributedSampler(
            data.dataset,
            num_replicas=world,
            rank=self.rank,
            shuffle=shuffle,
            seed=self._shared_seed(data),
            drop_last=data.drop_last,
        )
        result = _rebuild(data, sharded, share)
        if len(result) == 0:
            raise ConfigError(
                f"{argument} leaves no training batch for {world} processes: "
                f"{len(sharded)} sample(s) each, {share} per step and drop_last=True; lower "
                "batch_size or set drop_last false"
            )
        return result

    def shard_test_loader(self, loader: object, argument: str) -> DataLoader[Any]:
        """Return this process's share of a test loader: a :class:`StridedSampler`, no padding.

        The shares follow the dataset's order, also for a loader that shuffles: the order of
        evaluation changes no loss or score.

        Raises
        ------
        ConfigError
            If the loader cannot be sharded exactly (its own sampler, ``drop_last=True``).
        """
        data = _data_loader(loader, argument)
        _shuffles(data, argument)  # a sampler drawing every sample once, in any order
        if data.drop_last:
            raise ConfigError(
                f"{argument} has drop_last=True, which DDP cannot reproduce exactly (each "
                "process would drop its own samples); set drop_last false for evaluation"
            )
        size = len(cast(Sized, data.sampler))
        return _rebuild(
            data, StridedSampler(size, self.rank, self.world_size), int(data.batch_size or 1)
        )

    @staticmethod
    def set_epoch(loader: object, epoch: int) -> None:
        """Re-seed the loader's DistributedSampler for ``epoch`` (nothing for other loaders)."""
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)

    def _shared_seed(self, loader: DataLoader[Any]) -> int:
        """The shuffling seed: the loader's generator seed (else torch's), from rank 0."""
        generator = loader.generator
        if generator is None:
            generator = getattr(loader.sampler, "generator", None)
        seed = generator.initial_seed() if generator is not None else torch.initial_seed()
        value = torch.tensor([seed % 2**62], dtype=torch.int64, device=self.device)
        dist.broadcast(value, src=0)
        return int(value.item())

    def sum_over_processes(self, tensor: Tensor) -> Tensor:
        """Sum ``tensor`` over the processes, in place; return it."""
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def all_true(self, flag: Tensor) -> bool:
        """Whether the boolean ``flag`` is true on every process (one host read)."""
        value = flag.detach().reshape(1).to(dtype=torch.int32)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    def any_true(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        value = torch.tensor([int(flag)], dtype=torch.int32, device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Give every process rank 0's buffers (batch-norm statistics, ...), in place."""
        for buffer in module.buffers():
            dist.broadcast(buffer, src=0)

    def gather_rows(self, rows: Tensor | None, size: int) -> Tensor:
        """Reassemble on every process the rows the :class:`StridedSampler` shares evaluated.

        Parameters
        ----------
        rows
            This process's rows, in its share's order; ``None`` if it had none.
        size
            The number of rows of all shares together.

        Returns
        -------
        Tensor
            The ``size`` rows in the order of the unsharded loader, on the CPU.
        """
        shares: list[Tensor | None] = [None] * self.world_size
        dist.all_gather_object(shares, None if rows is None else rows.detach().cpu())
        first = next(share for share in shares if share is not None)
        gathered = first.new_empty((size, *first.shape[1:]))
        for rank, share in enumerate(shares):
            if share is not None:
                gathered[rank :: self.world_size] = share
        return gathered
