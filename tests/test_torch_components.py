"""The builtin torch tables match what the installed torch really has."""

from __future__ import annotations

import inspect

import pytest
import torch

from rpnkit import build, get_registry
from rpnkit.builtin import torch_components as tc


def _classes(module: object, keep: object) -> set[str]:
    return {n for n, obj in vars(module).items() if inspect.isclass(obj) and keep(n, obj)}


def test_losses_match_torch() -> None:
    in_torch = _classes(
        torch.nn, lambda n, o: n.endswith("Loss") and issubclass(o, torch.nn.Module)
    )
    assert {row[1] for row in tc.LOSSES} == in_torch


def test_optimizers_match_torch() -> None:
    in_torch = _classes(
        torch.optim,
        lambda n, o: issubclass(o, torch.optim.Optimizer) and o is not torch.optim.Optimizer,
    )
    assert {row[1] for row in tc.OPTIMIZERS} == in_torch


def test_lr_schedulers_match_torch() -> None:
    module = torch.optim.lr_scheduler
    in_torch = _classes(
        module,
        lambda n, o: (
            not n.startswith("_")
            and o.__module__ == module.__name__
            and (issubclass(o, module.LRScheduler) or o is module.ReduceLROnPlateau)
            and o is not module.LRScheduler
        ),
    )
    assert {row[1] for row in tc.LR_SCHEDULERS} == in_torch


@pytest.mark.parametrize(
    ("group", "alias", "cls"),
    [
        ("optimizer", "adamw", torch.optim.AdamW),
        ("optimizer", "sgd", torch.optim.SGD),
        ("loss", "cross_entropy", torch.nn.CrossEntropyLoss),
        ("loss", "CrossEntropyLoss", torch.nn.CrossEntropyLoss),
        ("loss", "mse", torch.nn.MSELoss),
        ("lr_scheduler", "cosine", torch.optim.lr_scheduler.CosineAnnealingLR),
        ("lr_scheduler", "step", torch.optim.lr_scheduler.StepLR),
        ("lr_scheduler", "exponential", torch.optim.lr_scheduler.ExponentialLR),
        ("lr_scheduler", "plateau", torch.optim.lr_scheduler.ReduceLROnPlateau),
    ],
)
def test_common_aliases(group: str, alias: str, cls: type) -> None:
    assert get_registry().get(group, alias) is cls


def test_every_entry_imports_and_is_attributed_to_the_builtin_plugin() -> None:
    registry = get_registry()
    for group in ("loss", "optimizer", "lr_scheduler"):
        for entry in registry.entries(group, plugin="builtin.torch_components"):
            assert inspect.isclass(entry.load()), entry
    assert len(registry.entries(plugin="builtin.torch_components")) == (
        len(tc.LOSSES) + len(tc.OPTIMIZERS) + len(tc.LR_SCHEDULERS)
    )


def test_every_loss_without_required_arguments_builds() -> None:
    for entry in get_registry().entries("loss", plugin="builtin.torch_components"):
        params = inspect.signature(entry.load()).parameters.values()
        if all(p.default is not inspect.Parameter.empty for p in params):
            assert isinstance(build("loss", entry.name), torch.nn.Module)
