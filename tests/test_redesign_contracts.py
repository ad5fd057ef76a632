"""Contracts the redesign keeps: validate and train agree, and registration follows pluggy."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from rpnkit import BackwardLearner, Registry, build, hookimpl
from rpnkit.cli import main
from rpnkit.plugins.manager import PluginManager, PluginWarning

ONE_CYCLE = """
seed: 0
data: {name: iris, parameters: {batch_size: 16}}
model: {name: rpn, parameters: {layers: [{m: 4, n: 3}]}}
learner:
  n_epochs: 3
  lr_scheduler: {name: one_cycle, parameters: {max_lr: 0.5}}
metric: accuracy
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "one_cycle.yaml"
    path.write_text(ONE_CYCLE)
    return path


def test_one_cycle_without_total_steps_validates(tmp_path: Path) -> None:
    assert main(["validate", str(_config(tmp_path))]) == 0


def test_one_cycle_without_total_steps_trains_from_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", str(_config(tmp_path)), "--output", str(out), "--quiet"]) == 0
    history = json.loads((out / "history.json").read_text())["history"]
    assert len(history) == 3
    # OneCycle steps per batch: 3 epochs of ceil(135 / 16) = 9 steps, ending at its floor
    assert history[0]["lr"] < 0.5 and history[-1]["lr"] < history[1]["lr"]


def test_one_cycle_without_total_steps_trains_in_python() -> None:
    data = build("dataset", "iris", batch_size=16)
    model = build("model", "rpn", layers=[{"m": 4, "n": 3}])
    learner = BackwardLearner(
        n_epochs=2,
        verbose=False,
        lr_scheduler_configs={"name": "one_cycle", "parameters": {"max_lr": 0.5}},
    )
    learner.check(model, data)
    record = learner.train(model, data)
    lrs = [row["lr"] for row in record["history"]]
    # OneCycle starts at max_lr / div_factor (25) and is half-way up its ramp after epoch 0
    assert lrs[0] == pytest.approx(0.5 / 25)
    assert lrs[0] < lrs[1] <= 0.5


class _Order:
    """Records the order in which plugins' registration hooks run."""

    calls: ClassVar[list[str]] = []


class _First:
    @hookimpl(tryfirst=True)
    def rpnkit_add_components(self, registry: Registry) -> None:
        _Order.calls.append("first")


class _Plain:
    @hookimpl
    def rpnkit_add_components(self, registry: Registry) -> None:
        _Order.calls.append("plain")


class _Last:
    @hookimpl(trylast=True)
    def rpnkit_add_components(self, registry: Registry) -> None:
        _Order.calls.append("last")


class _NoArguments:
    """A hook implementation declaring a subset (none) of the spec's arguments."""

    @hookimpl
    def rpnkit_add_groups(self) -> None:
        _Order.calls.append("no-arguments")


def _manager(*plugins: object) -> PluginManager:
    manager = PluginManager()
    for i, plugin in enumerate(plugins):
        manager.register(plugin, name=f"p{i}")
    return manager


def test_registration_follows_pluggys_call_order() -> None:
    _Order.calls = []
    # registered last, trylast; then plain; then tryfirst: pluggy runs tryfirst, plain, trylast
    _manager(_Last(), _Plain(), _First()).populate(Registry())
    assert _Order.calls == ["first", "plain", "last"]
    _Order.calls = []
    _manager(_First(), _Plain(), _Last()).populate(Registry())
    assert _Order.calls == ["first", "plain", "last"]


def test_plain_implementations_run_most_recent_first() -> None:
    _Order.calls = []

    class Second(_Plain):
        @hookimpl
        def rpnkit_add_components(self, registry: Registry) -> None:
            _Order.calls.append("second")

    _manager(_Plain(), Second()).populate(Registry())
    assert _Order.calls == ["second", "plain"]


def test_an_implementation_gets_only_the_arguments_it_declares() -> None:
    _Order.calls = []
    manager = _manager(_NoArguments())
    with warnings.catch_warnings():
        warnings.simplefilter("error", PluginWarning)  # a TypeError would be reported as one
        manager.populate(Registry())
    assert _Order.calls == ["no-arguments"]


def test_a_plugin_can_override_a_builtin_name_after_the_builtins() -> None:
    class Override:
        @hookimpl
        def rpnkit_add_components(self, registry: Registry) -> None:
            registry.register("loss", "mse", "torch.nn:L1Loss", override=True)

    manager = PluginManager()
    manager.load_builtins()
    manager.register(Override(), name="override")
    registry = Registry()
    manager.populate(registry)
    assert registry.get_info("loss", "mse").plugin == "override"
    assert isinstance(registry.build("loss", "mse"), torch.nn.L1Loss)
