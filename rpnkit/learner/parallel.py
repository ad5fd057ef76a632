"""Data-parallel training: sharding the loaders and reducing numbers over the processes.

:class:`DataParallel` is one process's place in a run launched by ``torchrun`` (see
:mod:`rpnkit.learner.launch`); :class:`SingleProcess` is the null object with the same
methods for a run on one process (wrapping returns the model, sums are identities,
``set_epoch`` does nothing), so the training loop has one path.

**Batches.** The training loader's ``batch_size`` is the *global* batch: each of the ``W``
processes takes ``batch_size / W`` samples per step, so a config trains with the same batch on
any number of processes, and ``batch_size`` must be a multiple of ``W``. Because every process
computes the mean loss (``reduction="mean"``, as the learner requires) over equally many
samples, DDP's average of the gradients is the gradient of the mean loss over the global
batch, as in a single process.

**Sharding.** A :class:`~rpnkit.data.loader.BatchLoader` (what rpnkit's datasets serve) is
split with :meth:`~rpnkit.data.loader.BatchLoader.shard`: every process draws the same
permutation from the loader's seed and the epoch, and takes rows ``rank::W`` of each global
batch, so the processes' batches of a step are exactly the batch of a single process (no
sample repeated or left out). Any other training DataLoader is split with :class:`~torch.utils.data.DistributedSampler`,
re-seeded every epoch (``set_epoch``) from the loader's generator seed, shuffled if the loader
shuffles. When the number of training samples is a multiple of ``W``, every global batch, the
last partial one included, has the samples and size of a single-process batch (in another
order when shuffling). Otherwise ``DistributedSampler`` repeats up to ``W - 1`` samples per
epoch so that every process runs the same number of equal steps, or, when the loader has
``drop_last=True``, leaves up to ``W - 1`` samples out instead. The test set is split without
padding (:class:`StridedSampler`): process ``r`` evaluates samples ``r, r + W, r + 2W, ...``,
and the loss sums, sample counts and metric states are summed over the processes, so every
process reports the numbers a single process gets on the whole test set.
Stop requests travel with the gradient all-reduce and :meth:`DataParallel.any_true`
(:mod:`rpnkit.learner.collective_stop`).
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass
from typing import Any, Protocol, cast

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import (
    DataLoader,
    DistributedSampler,
)

from rpnkit.data.loader import BatchLoader
from rpnkit.errors import ConfigError
from rpnkit.learner.collective_stop import any_true_or_stop, exchanging_stops
from rpnkit.learner.device import host_dtype
from rpnkit.learner.sharding import StridedSampler, batch_share, data_loader, rebuild, shuffles
from rpnkit.metrics import Metric

__all__ = ["DataParallel", "Parallel", "SingleProcess"]


class Parallel(Protocol):
    """What the training loop asks of its process group: one or several processes."""

    @property
    def rank(self) -> int:
        """This process's rank (0 on one process)."""
        ...

    @property
    def world_size(self) -> int:
        """The number of processes training together."""
        ...

    @property
    def device(self) -> torch.device:
        """This process's device."""
        ...

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module that trains: ``model`` itself, or its DDP wrapper."""
        ...

    def shard_train_loader(self, loader: Any, argument: str) -> Any:
        """This process's share of the training loader."""
        ...

    def shard_test_loader(self, loader: Any, argument: str) -> Any:
        """This process's share of a test loader (exact: no sample twice)."""
        ...

    def refuse_rows(self, argument: str) -> None:
        """Raise if full-batch row selection (``train_idx``/``test_idx``) cannot be used."""
        ...

    def set_epoch(self, loader: object, epoch: int) -> None:
        """Make ``loader`` serve the order of ``epoch`` (a BatchLoader, a sharded sampler)."""
        ...

    def gather_objects(self, value: Any) -> list[Any]:
        """Every process's ``value``, by rank (picklable values; tensors on the CPU)."""
        ...

    def sum_over_processes(self, tensor: Tensor) -> Tensor:
        """``tensor`` summed over the processes (in place)."""
        ...

    def global_means(self, values: Tensor, counts: list[int]) -> Tensor:
        """Each entry's sample-weighted mean over the processes."""
        ...

    def compute(self, metric: Metric) -> Tensor:
        """The metric's value over the states of every process."""
        ...

    def all_true(self, flag: Tensor) -> bool:
        """Whether the boolean ``flag`` is true on every process (one host read)."""
        ...

    def any_true(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process."""
        ...

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Give every process rank 0's buffers."""
        ...

    def gather_rows(self, rows: Tensor | None, size: int) -> Tensor:
        """Every process's evaluated rows, in the unsharded loader's order."""
        ...


@dataclass(frozen=True)
class SingleProcess:
    """The :class:`Parallel` of a run on one process: every method is the identity.

    Attributes
    ----------
    device
        The training device.
    """

    device: torch.device
    rank: int = 0
    world_size: int = 1

    def wrap(self, model: nn.Module) -> nn.Module:
        """Return ``model``: it trains as it is."""
        return model

    def shard_train_loader(self, loader: Any, argument: str) -> Any:
        """Return ``loader``: the whole training set is this process's."""
        return loader

    def shard_test_loader(self, loader: Any, argument: str) -> Any:
        """Return ``loader``."""
        return loader

    def refuse_rows(self, argument: str) -> None:
        """Nothing to refuse: one process sees every row."""

    def set_epoch(self, loader: object, epoch: int) -> None:
        """Set a :class:`~rpnkit.data.loader.BatchLoader` to ``epoch`` (its order is then a
        function of its seed and the epoch, so a resumed run draws the same); nothing else."""
        if isinstance(loader, BatchLoader):
            loader.set_epoch(epoch)

    def gather_objects(self, value: Any) -> list[Any]:
        """Return ``[value]``."""
        return [value]

    def sum_over_processes(self, tensor: Tensor) -> Tensor:
        """Return ``tensor``: the sum over one process."""
        return tensor

    def global_means(self, values: Tensor, counts: list[int]) -> Tensor:
        """Return ``values``: this process's means are the global ones."""
        return values

    def compute(self, metric: Metric) -> Tensor:
        """Return ``metric.compute()``."""
        return metric.compute()

    def all_true(self, flag: Tensor) -> bool:
        """Return ``flag`` as a bool (one host read)."""
        return bool(flag.item())

    def any_true(self, flag: bool) -> bool:
        """Return ``flag``."""
        return flag

    def broadcast_buffers(self, module: nn.Module) -> None:
        """Nothing to share."""

    def gather_rows(self, rows: Tensor | None, size: int) -> Tensor:
        """Return ``rows`` (an empty tensor for none)."""
        return rows if rows is not None else torch.empty(0)


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
        return exchanging_stops(DistributedDataParallel(model, device_ids=device_ids))

    def shard_train_loader(self, loader: object, argument: str) -> DataLoader[Any]:
        """Return this process's share of a training loader (see the module docstring).

        A :class:`~rpnkit.data.loader.BatchLoader` is sharded with
        :meth:`~rpnkit.data.loader.BatchLoader.shard` (every process slices its rows of each
        global batch, in the order of a single process). A loader that already draws from a :class:`~torch.utils.data.DistributedSampler` for
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
        if isinstance(loader, BatchLoader):
            batch_share(loader.global_batch_size, self.world_size, f"{argument} batch_size")
            last = len(loader.dataset) % loader.global_batch_size  # type: ignore[arg-type]
            if loader.drop_last or not 0 < last < self.world_size:
                return loader.shard(self.rank, self.world_size)
            # a last batch too small to split: DistributedSampler's padding, below
        data = data_loader(loader, argument)
        sampler = data.sampler
        if isinstance(sampler, DistributedSampler):
            if (sampler.num_replicas, sampler.rank) != (self.world_size, self.rank):
                raise ConfigError(
                    f"{argument} has a DistributedSampler for rank {sampler.rank} of "
                    f"{sampler.num_replicas}, but this process is rank {self.rank} of "
                    f"{self.world_size}; give a plain DataLoader and let the learner shard it"
                )
            return data
        shuffle = shuffles(data, argument)
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
        result = rebuild(data, sharded, share)
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
        data = data_loader(loader, argument)
        shuffles(data, argument)  # a sampler drawing every sample once, in any order
        if data.drop_last:
            raise ConfigError(
                f"{argument} has drop_last=True, which DDP cannot reproduce exactly (each "
                "process would drop its own samples); set drop_last false for evaluation"
            )
        size = len(cast(Sized, data.sampler))
        return rebuild(
            data, StridedSampler(size, self.rank, self.world_size), int(data.batch_size or 1)
        )

    def refuse_rows(self, argument: str) -> None:
        """Raise: full-batch rows (``train_idx``/``test_idx``) cannot be sharded."""
        raise ConfigError(
            f"{argument} (full-batch row selection) cannot be sharded over processes; train "
            "and evaluate it with strategy 'single'"
        )

    def set_epoch(self, loader: object, epoch: int) -> None:
        """Set a BatchLoader shard, or re-seed a DistributedSampler, for ``epoch``."""
        if isinstance(loader, BatchLoader):
            loader.set_epoch(epoch)
            return
        sampler = getattr(loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)

    def gather_objects(self, value: Any) -> list[Any]:
        """Every process's ``value``, by rank (one ``all_gather_object``)."""
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, value)
        return gathered

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

    def global_means(self, values: Tensor, counts: list[int]) -> Tensor:
        """Each entry of ``values`` (a mean over ``counts[i]`` local samples) over all processes."""
        values = values.to(host_dtype(values.device))
        weights = torch.tensor(counts, dtype=values.dtype, device=values.device)
        sums = self.sum_over_processes(torch.stack([values * weights, weights]))
        return sums[0] / sums[1]

    def compute(self, metric: Metric) -> Tensor:
        """The metric's value over every process's states (its local states are kept)."""
        with metric.synced():
            return metric.compute()

    def all_true(self, flag: Tensor) -> bool:
        """Whether the boolean ``flag`` is true on every process (one host read)."""
        value = flag.detach().reshape(1).to(dtype=torch.int32)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    def any_true(self, flag: bool) -> bool:
        """Whether ``flag`` is true on any process (and stop requests, see the module)."""
        return any_true_or_stop(flag, self.device)

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
