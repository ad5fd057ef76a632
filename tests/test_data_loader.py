"""Tests of rpnkit.data.loader.BatchLoader: DataLoader's batches, positions, shards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import data
from rpnkit.data import BatchLoader, DataBundle
from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner
from rpnkit.learner.context import TrainContext
from rpnkit.plugins.hookspecs import hookimpl
from rpnkit.plugins.state import get_plugin_manager

N = 37


def tensors() -> TensorDataset:
    generator = torch.Generator().manual_seed(0)
    return TensorDataset(torch.randn(N, 3, generator=generator), torch.arange(N))


def epochs(loader: Any, count: int) -> list[list[tuple[Tensor, ...]]]:
    return [[tuple(batch) for batch in loader] for _ in range(count)]


def same_batches(a: list[tuple[Tensor, ...]], b: list[tuple[Tensor, ...]]) -> bool:
    return len(a) == len(b) and all(
        len(x) == len(y) and all(torch.equal(s, t) for s, t in zip(x, y, strict=True))
        for x, y in zip(a, b, strict=True)
    )


@pytest.mark.parametrize("batch_size", [1, 5, 37, 50])
@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_serves_exactly_the_batches_of_a_seeded_dataloader(
    batch_size: int, drop_last: bool, shuffle: bool
) -> None:
    dataset = tensors()
    generator = torch.Generator().manual_seed(9) if shuffle else None
    reference = DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, drop_last=drop_last
    )
    loader = BatchLoader(dataset, batch_size, shuffle=shuffle, drop_last=drop_last, seed=9)
    assert len(loader) == len(reference)
    torch.manual_seed(3)
    expected = epochs(reference, 3)
    after_reference = torch.rand(4)  # the global stream after three DataLoader passes
    torch.manual_seed(3)
    served = epochs(loader, 3)
    assert torch.equal(torch.rand(4), after_reference)
    for want, got in zip(expected, served, strict=True):
        assert same_batches(want, got)
    if shuffle:
        assert generator is not None and loader.generator is not None
        assert torch.equal(loader.generator.get_state(), generator.get_state())


def test_is_a_dataloader_with_its_attributes() -> None:
    dataset = tensors()
    loader = BatchLoader(dataset, 8, shuffle=True, drop_last=True, seed=4)
    assert isinstance(loader, DataLoader)
    assert loader.dataset is dataset and len(loader.dataset) == N
    assert (loader.batch_size, loader.drop_last, loader.shuffle, loader.seed) == (8, True, True, 4)
    assert loader.generator is not None and loader.generator.initial_seed() == 4
    assert "samples=37" in repr(loader) and "batch_size=8" in repr(loader)


def test_every_epoch_draws_a_new_order_and_covers_each_row_once() -> None:
    loader = BatchLoader(tensors(), 10, shuffle=True, seed=1)
    first, second = [torch.cat([y for _, y in e]) for e in epochs(loader, 2)]
    assert sorted(first.tolist()) == list(range(N)) == sorted(second.tolist())
    assert not torch.equal(first, second)


def test_batches_are_copies() -> None:
    dataset = tensors()
    kept = dataset.tensors[0].clone()
    for shuffle in (False, True):
        for x, _ in BatchLoader(dataset, 8, shuffle=shuffle):
            x.add_(1.0)
    assert torch.equal(dataset.tensors[0], kept)


def test_set_epoch_makes_the_order_a_function_of_seed_and_epoch() -> None:
    run = epochs(BatchLoader(tensors(), 6, shuffle=True, seed=5), 4)
    fresh = BatchLoader(tensors(), 6, shuffle=True, seed=5)
    fresh.set_epoch(2)
    assert same_batches(epochs(fresh, 1)[0], run[2])
    assert same_batches(epochs(fresh, 1)[0], run[3])  # it goes on from there
    fresh.set_epoch(0)
    assert same_batches(epochs(fresh, 1)[0], run[0])
    fresh.set_epoch(1)
    fresh.set_epoch(1)  # setting the epoch it is at changes nothing
    assert same_batches(epochs(fresh, 1)[0], run[1])


def test_state_dict_resumes_inside_an_epoch_with_the_same_order() -> None:
    uninterrupted = epochs(BatchLoader(tensors(), 4, shuffle=True, seed=2), 3)
    loader = BatchLoader(tensors(), 4, shuffle=True, seed=2)
    assert loader.state_dict() == {"epoch": 0, "batches": 0}
    list(loader)
    partial = []
    for step, batch in enumerate(loader):
        partial.append(tuple(batch))
        if step == 2:
            break
    state = loader.state_dict()
    assert state == {"epoch": 1, "batches": 3}

    resumed = BatchLoader(tensors(), 4, shuffle=True, seed=2)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    rest = [tuple(batch) for batch in resumed]
    assert same_batches(partial + rest, uninterrupted[1])
    assert resumed.state_dict() == {"epoch": 2, "batches": 0}
    assert same_batches(epochs(resumed, 1)[0], uninterrupted[2])


@pytest.mark.parametrize("world_size", [2, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shards_together_make_every_global_batch(world_size: int, drop_last: bool) -> None:
    loader = BatchLoader(tensors(), 8, shuffle=True, seed=3, drop_last=drop_last)
    shards = [loader.shard(rank, world_size) for rank in range(world_size)]
    assert all(len(s) == len(loader) for s in shards)
    assert all(s.batch_size == 8 // world_size for s in shards)
    for _ in range(2):
        per_rank = [list(s) for s in shards]
        for step, (features, labels) in enumerate(loader):
            for rank in range(world_size):
                x, y = per_rank[rank][step]
                assert torch.equal(x, features[rank::world_size])
                assert torch.equal(y, labels[rank::world_size])
            union = torch.cat([per_rank[r][step][1] for r in range(world_size)])
            assert sorted(union.tolist()) == sorted(labels.tolist())


def test_a_shard_follows_set_epoch_like_its_loader() -> None:
    loader = BatchLoader(tensors(), 8, shuffle=True, seed=3)
    shard = loader.shard(1, 2)
    loader.set_epoch(3)
    shard.set_epoch(3)
    assert all(torch.equal(y[1::2], z) for (_, y), (_, z) in zip(loader, shard, strict=True))


def test_to_a_device_serves_the_same_batches() -> None:
    loader = BatchLoader(tensors(), 8, shuffle=True, seed=6)
    moved = loader.to("cpu")
    assert moved is not loader
    assert same_batches(epochs(moved, 2)[1], epochs(loader, 2)[1])


def test_pin_memory_gives_pinned_batches_where_cuda_is() -> None:
    loader = BatchLoader(tensors(), 8, shuffle=True, seed=6, pin_memory=True)
    plain = BatchLoader(tensors(), 8, shuffle=True, seed=6)
    served = epochs(loader, 1)[0]
    assert same_batches(served, epochs(plain, 1)[0])
    assert all(t.is_pinned() == torch.cuda.is_available() for batch in served for t in batch)


class Squares:
    """A row source: rows computed on demand, handed out a batch at a time."""

    def __init__(self) -> None:
        self.calls = 0

    def __len__(self) -> int:
        return 20

    def gather(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        self.calls += 1
        return rows.float().unsqueeze(1) ** 2, rows

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        features, labels = self.gather(torch.tensor([index]))
        return features[0], labels[0]


def test_a_row_source_is_asked_once_per_batch() -> None:
    source = Squares()
    loader = BatchLoader(source, 6, shuffle=True, seed=0)  # type: ignore[arg-type]
    batches = list(loader)
    assert source.calls == len(batches) == 4
    labels = torch.cat([y for _, y in batches])
    assert sorted(labels.tolist()) == list(range(20))
    assert all(torch.equal(x[:, 0], y.float() ** 2) for x, y in batches)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: BatchLoader(tensors(), 0), "batch_size must be a positive integer, got 0"),
        (lambda: BatchLoader(tensors(), 4, seed=-1), "seed must be a non-negative integer"),
        (lambda: BatchLoader(tensors(), 4, shuffle="yes"), "shuffle must be true or false"),  # type: ignore[arg-type]
        (lambda: BatchLoader([1, 2, 3], 4), "needs a TensorDataset or a dataset with a gather"),  # type: ignore[arg-type]
        (lambda: BatchLoader(tensors(), 4).set_epoch(-1), "epoch must be a non-negative"),
        (lambda: BatchLoader(tensors(), 4).load_state_dict({"epoch": 0}), "keys 'epoch' and 'batches'"),
        (lambda: BatchLoader(tensors(), 4).load_state_dict({"epoch": 0, "batches": 11}), "from 0 to 10"),
        (lambda: BatchLoader(tensors(), 6).shard(0, 4), "batch_size=6 is not a multiple of the world size 4"),
        (lambda: BatchLoader(tensors(), 4).shard(2, 2), "rank=2 is not valid; expected 0 to 1"),
        (lambda: BatchLoader(tensors(), 4, drop_last=True).shard(0, 2).shard(0, 2), "already a shard"),
        (lambda: BatchLoader(TensorDataset(torch.zeros(9, 1)), 4).shard(0, 2), "the last batch has 1 sample"),
    ],
)  # fmt: skip
def test_mistakes_are_one_line_config_errors(call: Any, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        call()
    assert message in str(info.value) and "\n" not in str(info.value)


def test_bundles_serve_batchloaders_unless_workers_are_asked_for() -> None:
    bundle = data.iris(batch_size=16)
    assert isinstance(bundle.train_loader, BatchLoader)
    assert isinstance(bundle.test_loader, BatchLoader) and not bundle.test_loader.shuffle
    workers = data.iris(batch_size=16, num_workers=1)
    assert type(workers.train_loader) is DataLoader
    assert same_batches(
        [tuple(b) for b in bundle.train_loader], [tuple(b) for b in workers.train_loader]
    )


def reference_loaders(bundle: DataBundle, seed: int) -> dict[str, DataLoader[Any]]:
    """Plain DataLoaders over the bundle's own tensors, shuffled from the same seed."""
    train = bundle.train_loader.dataset
    test = bundle.test_loader.dataset
    return {
        "train_loader": DataLoader(
            train, batch_size=16, shuffle=True, generator=torch.Generator().manual_seed(seed)
        ),
        "test_loader": DataLoader(test, batch_size=16),
    }


def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 3))


def learner(**kwargs: Any) -> BackwardLearner:
    return BackwardLearner(n_epochs=4, loss="cross_entropy", verbose=False, **kwargs)


def history(record: dict[str, Any]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in record["history"]]


def test_the_learner_trains_the_same_on_a_bundle_as_on_dataloaders() -> None:
    bundle = data.iris(batch_size=16, seed=2)
    with_bundle, with_loaders = net(), net()
    torch.manual_seed(1)
    first = learner().train(with_bundle, bundle, metric="accuracy")
    torch.manual_seed(1)
    second = learner().train(with_loaders, reference_loaders(bundle, 2), metric="accuracy")
    assert history(first) == history(second)
    for name, value in with_bundle.state_dict().items():
        assert torch.equal(value, with_loaders.state_dict()[name]), name


class StopAfter:
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        context.should_stop = context.epoch == self.epoch


@pytest.mark.e2e
def test_a_resumed_run_on_a_bundle_matches_an_uninterrupted_one(tmp_path: Path) -> None:
    torch.manual_seed(0)
    uninterrupted = net()
    full = learner().train(uninterrupted, data.iris(batch_size=16), metric="accuracy")
    plugin = StopAfter(1)
    get_plugin_manager().register(plugin, name="test-loader-stop-after")
    try:
        torch.manual_seed(0)
        learner(checkpoint_dir=tmp_path).train(net(), data.iris(batch_size=16), metric="accuracy")
    finally:
        get_plugin_manager().unregister(plugin)
    torch.manual_seed(321)
    resumed = net()
    record = learner(resume=tmp_path).train(resumed, data.iris(batch_size=16), metric="accuracy")
    assert history(record) == history(full)
    for name, value in uninterrupted.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
