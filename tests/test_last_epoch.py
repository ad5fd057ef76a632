"""The in-memory checkpoint of the last completed epoch (what ``rpnkit train`` saves on Ctrl-C)."""

from __future__ import annotations

import io
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.learner import BackwardLearner, TrainContext
from rpnkit.learner.callbacks import LastEpoch, host_copy
from rpnkit.learner.checkpoint import training_state


class Keeps:
    """Keeps the run's context and the state of every epoch, through ``torch.save``."""

    def __init__(self) -> None:
        self.saved: list[bytes] = []
        self.context: TrainContext | None = None

    @hookimpl(trylast=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        self.context = context
        buffer = io.BytesIO()
        torch.save(training_state(context), buffer)
        self.saved.append(buffer.getvalue())


def train(*callbacks: Any, n_epochs: int = 3) -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(40, 5, generator=generator)
    y = x[:, :3].argmax(dim=1)
    data = {
        "train_loader": DataLoader(
            TensorDataset(x[:32], y[:32]), batch_size=8, shuffle=True, generator=generator
        ),
        "test_loader": DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8),
    }
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3))
    learner = BackwardLearner(n_epochs=n_epochs, verbose=False, callbacks=list(callbacks))
    learner.train(model, data, metric="accuracy")


def assert_same(a: Any, b: Any, where: str = "state") -> None:
    """Equal types, keys, attributes and bit-identical tensors, all the way down."""
    assert type(a) is type(b), where
    if isinstance(a, torch.Tensor):
        assert (a.dtype, a.shape, a.device) == (b.dtype, b.shape, b.device), where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        assert getattr(a, "__dict__", {}) == getattr(b, "__dict__", {}), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_the_state_is_the_last_epochs_checkpoint_as_torch_save_gives_it() -> None:
    keeper, reference = LastEpoch(), Keeps()
    train(keeper, reference)
    expected = torch.load(io.BytesIO(reference.saved[-1]), map_location="cpu", weights_only=True)
    state = keeper.state()
    assert state is not None and state["epoch"] == 2
    assert_same(state, expected)
    assert hasattr(state["model"], "_metadata")  # the state_dict's versions, as torch.load has


def test_the_state_does_not_change_with_the_model_or_between_readers() -> None:
    keeper, reference = LastEpoch(), Keeps()
    train(keeper, reference, n_epochs=1)
    assert reference.context is not None
    with torch.no_grad():
        for parameter in reference.context.model.parameters():
            parameter.add_(1.0)
    reference.context.history[-1]["train_loss"] = -1.0
    first = keeper.state()
    assert first is not None
    first["model"]["0.weight"].zero_()
    first["history"].clear()
    expected = torch.load(io.BytesIO(reference.saved[-1]), map_location="cpu", weights_only=True)
    assert_same(keeper.state(), expected)


def test_host_copy_shares_nothing_mutable() -> None:
    tensor = torch.arange(4.0, requires_grad=True)
    rows = [{"a": 1.0}]
    value: dict[str, Any] = {"t": tensor, "rows": rows, "pair": (1, "x"), "none": None}
    copied = host_copy(value)
    assert_same(copied, {**value, "t": tensor.detach()})
    assert copied["t"].data_ptr() != tensor.data_ptr() and not copied["t"].requires_grad
    assert copied["rows"] is not rows and copied["rows"][0] is not rows[0]
    assert host_copy(None) is None
