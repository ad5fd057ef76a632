"""Sharding a DataLoader over the processes of a data-parallel run.

The training loader's ``batch_size`` is the global batch (:func:`batch_share`); a test loader
is split without padding by :class:`StridedSampler`. :func:`rebuild` makes a loader like the
given one (collate function, workers, generator, ...) drawing from another sampler.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch.utils.data import (
    BatchSampler,
    DataLoader,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
)

from rpnkit.errors import ConfigError

__all__ = ["StridedSampler", "batch_share", "data_loader", "rebuild", "shuffles"]


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


def data_loader(loader: object, argument: str) -> DataLoader[Any]:
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


def rebuild(loader: DataLoader[Any], sampler: Sampler[int], batch_size: int) -> DataLoader[Any]:
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


def shuffles(loader: DataLoader[Any], argument: str) -> bool:
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
