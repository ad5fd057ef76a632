"""Checkpoints: atomic saves, safe loading, and resuming to exactly the uninterrupted result."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner, TrainContext
from rpnkit.learner.checkpoint import (
    FORMAT,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
    save_checkpoint,
)
from rpnkit.plugins.state import get_plugin_manager


def data(own_generator: bool) -> dict[str, DataLoader[Any]]:
    """Shuffled training data, driven by the loader's own generator or by torch's global one."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(72, 6, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    shuffle_generator = torch.Generator().manual_seed(7) if own_generator else None
    return {
        "train_loader": DataLoader(
            TensorDataset(x[:48], y[:48]), batch_size=8, shuffle=True, generator=shuffle_generator
        ),
        "test_loader": DataLoader(TensorDataset(x[48:], y[48:]), batch_size=8),
    }


def model(seed: int) -> nn.Module:
    """A model with dropout, so training draws random numbers every step."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 2))


def learner(**kwargs: Any) -> BackwardLearner:
    kwargs.setdefault("n_epochs", 4)
    return BackwardLearner(
        optimizer_configs={"name": "adamw", "parameters": {"lr": 0.02}},
        lr_scheduler_configs={"name": "step", "parameters": {"step_size": 1, "gamma": 0.7}},
        verbose=False,
        **kwargs,
    )


class StopAfter:
    """A plugin ending training after ``epoch``, as an interruption would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        context.should_stop = context.epoch == self.epoch


def without_seconds(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


@pytest.mark.parametrize("own_generator", [True, False], ids=["loader-generator", "global-rng"])
@pytest.mark.e2e
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(
    tmp_path: Path, own_generator: bool
) -> None:
    torch.manual_seed(0)
    uninterrupted = model(0)
    full = learner().train(uninterrupted, data(own_generator), metric="accuracy")

    plugin = StopAfter(1)
    get_plugin_manager().register(plugin, name="test-stop-after")
    try:
        torch.manual_seed(0)
        first = learner(checkpoint_dir=tmp_path).train(
            model(0), data(own_generator), metric="accuracy"
        )
    finally:
        get_plugin_manager().unregister(plugin)
    assert len(first["history"]) == 2

    torch.manual_seed(12345)  # whatever the state now, the checkpoint's random states win
    resumed = model(99)
    record = learner(resume=tmp_path).train(resumed, data(own_generator), metric="accuracy")
    assert sorted(record["training"]) == [2, 3]
    for name, value in uninterrupted.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert without_seconds(record["history"]) == without_seconds(full["history"])


def test_a_checkpoint_holds_the_state_after_every_epoch(tmp_path: Path) -> None:
    net = model(0)
    record = learner(n_epochs=2, checkpoint_dir=tmp_path).train(net, data(True), metric="accuracy")
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    state = torch.load(tmp_path / "last.pt", weights_only=True)
    assert state["format"] == FORMAT
    assert state["epoch"] == 1
    assert state["history"] == record["history"]
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state["model"].items())
    assert state["lr_scheduler"]["last_epoch"] == 2
    assert len(state["optimizer"]["state"]) == len(list(net.parameters()))
    assert set(state["rng"]) == {"torch", "cuda", "numpy", "python", "loaders"}
    assert len(state["rng"]["loaders"]) == 1


def test_resuming_a_finished_run_is_refused_in_one_line(tmp_path: Path) -> None:
    learner(n_epochs=2, checkpoint_dir=tmp_path).train(model(0), data(True))
    net = model(5)
    before = [p.detach().clone() for p in net.parameters()]
    with pytest.raises(ConfigError) as caught:
        learner(n_epochs=2, resume=tmp_path / "last.pt").train(net, data(True))
    assert str(caught.value) == (
        f"resume={str(tmp_path / 'last.pt')!r}: that run already finished its 2 epoch(s) and "
        "n_epochs is 2; there is nothing to resume (raise n_epochs to train further)"
    )
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))
    record = learner(n_epochs=3, resume=tmp_path / "last.pt").train(net, data(True))
    assert len(record["history"]) == 3


def test_a_failed_save_leaves_the_previous_checkpoint_and_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "last.pt"
    save_checkpoint({"format": FORMAT, "epoch": 0}, path)
    with pytest.raises(Exception, match="pickle"):
        save_checkpoint({"format": FORMAT, "epoch": 1, "bad": lambda: None}, path)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert torch.load(path, weights_only=True)["epoch"] == 0


class Payload:
    """An arbitrary object: loading it would need unpickling code, which is refused."""


def test_loading_refuses_anything_but_tensors_and_plain_values(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"format": FORMAT, "payload": Payload()}, path)
    with pytest.raises(ConfigError, match="was refused: it holds an object of type") as info:
        load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and "evil.pt" in message and "Payload" in message
    assert "weights_only" not in message and "trust" not in message


def test_loading_refuses_files_that_are_not_rpnkit_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(model(0).state_dict(), path)
    with pytest.raises(ConfigError, match="is not an rpnkit checkpoint"):
        load_checkpoint(path)
    with pytest.raises(ConfigError, match="no checkpoint file at"):
        load_checkpoint(tmp_path / "missing")


def test_resuming_into_a_different_setup_is_refused(tmp_path: Path) -> None:
    learner(n_epochs=1, checkpoint_dir=tmp_path).train(model(0), data(True))
    wider = nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2))
    with pytest.raises(ConfigError, match="checkpoint's model state does not fit this run's model"):
        learner(resume=tmp_path).train(wider, data(True))
    plain = BackwardLearner(n_epochs=2, verbose=False, resume=tmp_path)
    with pytest.raises(ConfigError, match="has a lr_scheduler state but this run has no"):
        plain.train(model(0), data(True))
    with pytest.raises(ConfigError, match="1 data-loader generator state"):
        learner(resume=tmp_path).train(model(0), data(False))


def test_random_states_round_trip() -> None:
    generator = torch.Generator().manual_seed(3)
    loader = DataLoader(TensorDataset(torch.zeros(4)), shuffle=True, generator=generator)
    state = capture_rng_state([loader])

    def draw() -> tuple[Any, ...]:
        return (
            torch.rand(3).tolist(),
            np.random.rand(3).tolist(),
            random.random(),
            torch.rand(3, generator=generator).tolist(),
        )

    first = draw()
    restore_rng_state(state, [loader])
    assert draw() == first
