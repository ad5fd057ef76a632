"""A checkpoint is verified before it is trusted: its schema, its checksum and its manifest (the
optimizer's and scheduler's classes, the model's parameter names and shapes) against the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner
from rpnkit.learner.checkpoint import CHECKPOINT_NAME, load_checkpoint
from rpnkit.learner.checkpoint_verification import checksum


def _data() -> dict[str, DataLoader[Any]]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(48, 6, generator=generator)
    y = (x[:, 0] > 0).long()
    return {
        "train_loader": DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8),
        "test_loader": DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8),
    }


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))


def _learner(optimizer: str = "adam", scheduler: str | None = "step", **kwargs: Any) -> Any:
    schedulers = {
        "step": {"name": "step", "parameters": {"step_size": 1}},
        "cosine": {"name": "cosine", "parameters": {"T_max": 4}},
    }
    return BackwardLearner(
        n_epochs=kwargs.pop("n_epochs", 3),
        optimizer_configs={"name": optimizer, "parameters": {"lr": 0.01}},
        lr_scheduler_configs=schedulers[scheduler] if scheduler else None,
        verbose=False,
        **kwargs,
    )


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A checkpoint folder after one epoch with Adam and a StepLR."""
    _learner(n_epochs=1, checkpoint_dir=tmp_path).train(_model(), _data())
    return tmp_path


def _rewrite(folder: Path, change: Any, keep_checksum: bool = True) -> None:
    file = folder / CHECKPOINT_NAME
    state = torch.load(file, weights_only=True)
    change(state)
    if not keep_checksum:
        state["checksum"] = checksum(state)
    torch.save(state, file)


@pytest.mark.parametrize(
    ("optimizer", "scheduler", "words"),
    [
        ("sgd", "step", ("optimizer", "adam.Adam", "sgd.SGD")),
        ("adamw", "step", ("optimizer", "adam.Adam", "adamw.AdamW")),
        ("adam", "cosine", ("lr_scheduler", "StepLR", "CosineAnnealingLR")),
    ],
)
def test_another_optimizer_or_scheduler_is_refused_before_any_state_loads(
    saved: Path, optimizer: str, scheduler: str, words: tuple[str, ...]
) -> None:
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    with pytest.raises(ConfigError) as caught:
        _learner(optimizer, scheduler, resume=saved).train(model, _data())
    message = str(caught.value)
    assert "\n" not in message and all(w in message for w in words), message
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_model_of_another_shape_is_named_in_one_line(saved: Path) -> None:
    wider = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 2))
    with pytest.raises(ConfigError, match=r"parameter '0\.weight' has shape \[8, 6\] there"):
        _learner(resume=saved).train(wider, _data())


def test_one_flipped_bit_in_a_weight_is_refused(saved: Path) -> None:
    file = saved / CHECKPOINT_NAME
    weight = load_checkpoint(saved)["model"]["0.weight"]
    raw = bytearray(file.read_bytes())
    at = bytes(raw).find(weight.numpy().tobytes())
    assert at > 0
    raw[at + 5] ^= 0x01
    file.write_bytes(bytes(raw))
    with pytest.raises(ConfigError, match=r"corrupt .*checksum does not match"):
        load_checkpoint(saved)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda s: s.update(position={"epoch": "one", "batches": 0}), ("position",)),
        (lambda s: s.update(history=["x"]), ("history",)),
        (lambda s: s.pop("rng"), ("rng is missing",)),
        (lambda s: s["rng"].pop("numpy"), ("rng",)),
        (lambda s: s.update(step=-4), ("step",)),
        (lambda s: s["model"].update(extra="not a tensor"), ("model",)),
        (lambda s: s.pop("manifest"), ("manifest is missing",)),
    ],
)
def test_a_checkpoint_outside_the_schema_is_refused_in_one_line(
    saved: Path, change: Any, words: tuple[str, ...]
) -> None:
    _rewrite(saved, change, keep_checksum=False)
    with pytest.raises(ConfigError) as caught:
        load_checkpoint(saved)
    message = str(caught.value)
    assert "\n" not in message and "not a valid checkpoint" in message
    assert all(w in message for w in words), message


def test_an_edit_that_keeps_the_schema_is_caught_by_the_checksum(saved: Path) -> None:
    _rewrite(saved, lambda s: s.update(position={"epoch": 0, "batches": 3}))
    with pytest.raises(ConfigError, match="checksum does not match"):
        load_checkpoint(saved)


def test_a_renamed_parameter_is_named(saved: Path) -> None:
    def rename(state: dict[str, Any]) -> None:
        state["model"]["0.w"] = state["model"].pop("0.weight")
        state["manifest"]["parameters"]["0.w"] = state["manifest"]["parameters"].pop("0.weight")

    _rewrite(saved, rename, keep_checksum=False)
    with pytest.raises(ConfigError, match=r"lacks '0\.weight' and has '0\.w'"):
        _learner(resume=saved).train(_model(), _data())


def test_an_older_format_is_refused_naming_it(saved: Path) -> None:
    _rewrite(saved, lambda s: s.update(format="rpnkit.checkpoint/1"), keep_checksum=False)
    with pytest.raises(ConfigError, match=r"'rpnkit\.checkpoint/1', written by an older rpnkit"):
        load_checkpoint(saved)
