"""Batches sliced out of tensors in memory: :class:`BatchLoader`, a faster loader.

A :class:`~torch.utils.data.DataLoader` over a :class:`~torch.utils.data.TensorDataset` builds
every batch sample by sample: one ``dataset[i]`` call per sample, then a collation that stacks
them. For data that already lies in memory a batch is just ``features[rows]``:
:class:`BatchLoader` draws the epoch's permutation and serves each batch with one indexing
operation per tensor.

It is a drop-in DataLoader (a subclass, with the same ``dataset``, ``batch_size``,
``drop_last``, ``sampler`` and ``generator`` attributes) and serves the same batches: each
epoch it draws from its generator exactly what a DataLoader with ``shuffle=True`` and a
generator seeded by ``seed`` draws, so an epoch's order, and the random stream a run goes on
with, are the same whichever of the two serves the data. On top of a DataLoader it has a
position that can be saved and restored (:meth:`BatchLoader.state_dict`), an order that is a
pure function of ``(seed, epoch)`` (:meth:`BatchLoader.set_epoch`), data-parallel shards
(:meth:`BatchLoader.shard`) and device-resident data (:meth:`BatchLoader.to`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, TensorDataset

from rpnkit.errors import ConfigError

__all__ = ["BatchLoader", "Loader", "RowSource"]

#: A loader of ``(features, targets)`` batches: a DataLoader or a :class:`BatchLoader`.
Loader = DataLoader[tuple[Tensor, ...]]
_STATE_KEYS = ("epoch", "batches")


@runtime_checkable
class RowSource(Protocol):
    """A dataset that hands out many rows at once, e.g. read from a memory-mapped file."""

    def __len__(self) -> int:
        """Number of rows."""
        ...

    def gather(self, rows: Tensor) -> tuple[Tensor, ...]:
        """The tensors of the rows ``rows`` (an ``int64`` index tensor), in that order."""
        ...


class BatchLoader(DataLoader[tuple[Tensor, ...]]):
    """Serve ``(features, targets)`` batches by slicing a permuted index.

    Parameters
    ----------
    dataset
        A :class:`~torch.utils.data.TensorDataset` (its tensors may live on a GPU), or a
        dataset with a ``gather(rows)`` method (a :class:`RowSource`), which is asked for a
        whole batch at once.
    batch_size
        Samples per batch, a positive integer.
    shuffle
        Draw a new order every epoch; otherwise serve the rows in dataset order.
    drop_last
        Leave out the last, incomplete batch.
    seed
        Seeds the generator of the shuffle order, a non-negative integer.
    pin_memory
        On a machine with CUDA, gather the batches of CPU tensors into page-locked memory,
        so a copy to the GPU with ``non_blocking=True`` runs alongside computation.

    Notes
    -----
    One iteration runs at a time: starting a new one begins a new epoch, as a DataLoader's
    does. Batches are copies; changing one in place leaves the dataset alone.
    """

    def __init__(
        self,
        dataset: Dataset[tuple[Tensor, ...]],
        batch_size: int = 1,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int = 0,
        pin_memory: bool = False,
    ) -> None:
        self._setup(dataset, batch_size, shuffle, drop_last, seed, pin_memory, 0, 1)

    def _setup(
        self,
        dataset: Dataset[tuple[Tensor, ...]],
        batch_size: int,
        shuffle: bool,
        drop_last: bool,
        seed: int,
        pin_memory: bool,
        rank: int,
        world_size: int,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ConfigError(
                f"BatchLoader batch_size must be a positive integer, got {batch_size!r}"
            )
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ConfigError(f"BatchLoader seed must be a non-negative integer, got {seed!r}")
        for flag, value in (
            ("shuffle", shuffle),
            ("drop_last", drop_last),
            ("pin_memory", pin_memory),
        ):
            if not isinstance(value, bool):
                raise ConfigError(f"BatchLoader {flag} must be true or false, got {value!r}")
        self._tensors: tuple[Tensor, ...] | None = None
        self._source: RowSource | None = None
        if isinstance(dataset, TensorDataset):
            self._tensors = tuple(dataset.tensors)
        elif isinstance(dataset, RowSource):
            self._source = dataset
        else:
            raise ConfigError(
                "BatchLoader needs a TensorDataset or a dataset with a gather(rows) method, got "
                f"{type(dataset).__name__}; use torch.utils.data.DataLoader for other datasets"
            )
        self._n = len(dataset)
        self._device = self._tensors[0].device if self._tensors else torch.device("cpu")
        self._pin = pin_memory and self._device.type == "cpu" and torch.cuda.is_available()
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        super().__init__(
            dataset,
            batch_size=batch_size // world_size,
            shuffle=shuffle and self._n > 0,
            generator=generator,
            drop_last=drop_last,
            pin_memory=self._pin,
        )
        self.seed = seed
        self.shuffle = shuffle
        self.global_batch_size = batch_size
        self.rank = rank
        self.world_size = world_size
        self._epoch = 0
        self._served = 0
        self._in_progress = False
        self._resume_at: int | None = None
        self._mark = generator.get_state() if generator is not None else None

    # -- iteration --------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of batches per epoch (steps, for a shard)."""
        full, rest = divmod(self._n, self.global_batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:  # type: ignore[override]
        # (DataLoader.__iter__ is typed as returning its iterator class; ours is a generator.)
        start = self._resume_at or 0
        self._resume_at = None
        if self._in_progress:  # an abandoned pass still counts as an epoch
            self._epoch += 1
        # A DataLoader draws its workers' base seed from its generator (the global one when it
        # has none) as an iteration starts; draw it too, so the random streams stay the same.
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        self._in_progress = True
        self._served = start
        # The epoch's order is drawn now, not at the first batch: once ``iter()`` returns, the
        # generator is where it is after the epoch's draws, so a checkpoint taken inside an
        # epoch can set the random states back before serving the next batch.
        order = None
        if self.generator is not None:
            order = torch.randperm(self._n, generator=self.generator).to(self._device)
        return self._serve(start, order)

    def _serve(self, start: int, order: Tensor | None) -> Iterator[tuple[Tensor, ...]]:
        n, size = self._n, self.global_batch_size
        for step in range(start, len(self)):
            low, high = step * size + self.rank, min((step + 1) * size, n)
            rows = (
                slice(low, high, self.world_size)
                if order is None
                else order[low : high : self.world_size]
            )
            batch = self._gather(rows)
            self._served = step + 1
            yield batch
        if self.generator is not None:
            # RandomSampler draws one more permutation when asked past the end of the epoch.
            torch.randperm(n, generator=self.generator)
            self._mark = self.generator.get_state()
        self._epoch += 1
        self._served = 0
        self._in_progress = False

    def _gather(self, rows: slice | Tensor) -> tuple[Tensor, ...]:
        if self._tensors is None:
            assert self._source is not None
            if isinstance(rows, slice):
                rows = torch.arange(rows.start, rows.stop, rows.step)
            batch = self._source.gather(rows)
            return tuple(t.pin_memory() for t in batch) if self._pin else batch
        if not self._pin:
            if isinstance(rows, slice):
                return tuple(t[rows].clone() for t in self._tensors)
            return tuple(t.index_select(0, rows) for t in self._tensors)
        pinned = []
        for tensor in self._tensors:
            count = len(range(self._n)[rows]) if isinstance(rows, slice) else len(rows)
            out = torch.empty((count, *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
            if isinstance(rows, slice):
                out.copy_(tensor[rows])
            else:
                torch.index_select(tensor, 0, rows, out=out)
            pinned.append(out)
        return tuple(pinned)

    # -- position ---------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration serve epoch ``epoch`` of this loader's run.

        The order of epoch ``e`` is the one the loader serves in its ``e``-th full pass after
        being built with ``seed``: a pure function of ``(seed, epoch)``, so every process of a
        data-parallel run, and a resumed run, gets it from the seed and the epoch alone.
        Setting the epoch the loader is at costs nothing; any other replays the generator's
        draws of the epochs before it (two permutations of the data per epoch).

        Parameters
        ----------
        epoch
            A non-negative integer.
        """
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
            raise ConfigError(f"BatchLoader epoch must be a non-negative integer, got {epoch!r}")
        generator = self.generator
        if generator is not None and not (
            epoch == self._epoch
            and not self._in_progress
            and self._mark is not None
            and torch.equal(generator.get_state(), self._mark)
        ):
            generator.manual_seed(self.seed)
            for _ in range(epoch):
                torch.empty((), dtype=torch.int64).random_(generator=generator)
                torch.randperm(self._n, generator=generator)
                torch.randperm(self._n, generator=generator)
            self._mark = generator.get_state()
        self._epoch = epoch
        self._served = 0
        self._in_progress = False
        self._resume_at = None

    def state_dict(self) -> dict[str, int]:
        """The loader's position: ``{"epoch": E, "batches": B}``.

        ``E`` is the epoch in progress (or the next one, between epochs) and ``B`` the number
        of its batches already served. Plain integers, so it saves in any checkpoint.
        """
        batches = self._served if self._in_progress else (self._resume_at or 0)
        return {"epoch": self._epoch, "batches": batches}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue at the position ``state``: the next iteration serves epoch ``E`` from batch ``B``.

        The batches are those an uninterrupted run serves from that point, in the same order.

        Raises
        ------
        ConfigError
            If ``state`` is not a mapping of exactly ``epoch`` and ``batches`` or is out of
            range for this loader.
        """
        if not isinstance(state, Mapping) or sorted(state) != sorted(_STATE_KEYS):
            keys = sorted(map(str, state)) if isinstance(state, Mapping) else type(state).__name__
            raise ConfigError(
                f"BatchLoader state must be a mapping with keys 'epoch' and 'batches', got {keys}"
            )
        epoch, batches = state["epoch"], state["batches"]
        if (
            not isinstance(batches, int)
            or isinstance(batches, bool)
            or not 0 <= batches <= len(self)
        ):
            raise ConfigError(
                f"BatchLoader state batches={batches!r} is not valid; expected an integer from 0 "
                f"to {len(self)} (batches per epoch)"
            )
        self.set_epoch(epoch)
        self._resume_at = batches or None

    def _copy_position(self, other: BatchLoader) -> None:
        if self.generator is not None and other.generator is not None:
            self.generator.set_state(other.generator.get_state())
            self._mark = None if other._mark is None else other._mark.clone()
        self._epoch, self._served = other._epoch, other._served
        self._in_progress, self._resume_at = other._in_progress, other._resume_at

    # -- derived loaders --------------------------------------------------------------------
    def shard(self, rank: int, world_size: int) -> BatchLoader:
        """This process's share of every batch in a data-parallel run of ``world_size`` processes.

        For each global batch ``perm[k*B:(k+1)*B]`` of this loader, process ``rank`` gets the
        rows ``[rank::world_size]`` of it, so the processes' batches of one step together are
        exactly the batch a single process gets (``B`` is this loader's ``batch_size``, the
        global batch). Every shard draws the same permutations from the same seed; a shard
        starts at this loader's position.

        Parameters
        ----------
        rank
            This process's rank, ``0 .. world_size - 1``.
        world_size
            Number of processes; ``batch_size`` must be a multiple of it.

        Returns
        -------
        BatchLoader
            A loader of ``batch_size // world_size`` samples per step (fewer in a last,
            incomplete batch), with as many steps as this loader has batches.

        Raises
        ------
        ConfigError
            For a rank out of range, a batch size that does not split evenly, or a last
            batch smaller than ``world_size`` (some process would get no sample).
        """
        if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
            raise ConfigError(
                f"BatchLoader world_size must be a positive integer, got {world_size!r}"
            )
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank < world_size:
            raise ConfigError(
                f"BatchLoader rank={rank!r} is not valid; expected 0 to {world_size - 1}"
            )
        if self.world_size != 1:
            raise ConfigError(
                "BatchLoader.shard: this loader is already a shard; shard the whole loader"
            )
        size = self.global_batch_size
        if size % world_size:
            raise ConfigError(
                f"BatchLoader batch_size={size} is not a multiple of the world size {world_size}; "
                "every process must get an equal share of each batch"
            )
        last = self._n % size
        if not self.drop_last and 0 < last < world_size:
            raise ConfigError(
                f"BatchLoader: the last batch has {last} sample(s), fewer than the world size "
                f"{world_size}, so some process would get none; set drop_last true or change "
                "batch_size"
            )
        shard = BatchLoader.__new__(BatchLoader)
        shard._setup(
            self.dataset, size, self.shuffle, self.drop_last, self.seed, self._pin, rank, world_size
        )
        shard._copy_position(self)
        return shard

    def to(self, device: torch.device | str) -> BatchLoader:
        """A loader like this one whose tensors live on ``device``; batches are sliced there.

        On a GPU this removes the per-batch copy from host memory altogether. The new loader
        starts at this loader's position.

        Raises
        ------
        ConfigError
            If the loader reads a row source (a file) rather than tensors in memory.
        """
        if self._tensors is None:
            raise ConfigError(
                f"BatchLoader.to({str(device)!r}): this loader reads its rows from "
                f"{type(self.dataset).__name__}, not tensors in memory; use pin_memory instead"
            )
        moved = TensorDataset(*(t.to(device) for t in self._tensors))
        loader = BatchLoader.__new__(BatchLoader)
        loader._setup(
            moved,
            self.global_batch_size,
            self.shuffle,
            self.drop_last,
            self.seed,
            self._pin,
            self.rank,
            self.world_size,
        )
        loader._copy_position(self)
        return loader

    def __repr__(self) -> str:
        shard = f", rank={self.rank}, world_size={self.world_size}" if self.world_size > 1 else ""
        return (
            f"BatchLoader(samples={self._n}, batch_size={self.global_batch_size}, "
            f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}{shard})"
        )
