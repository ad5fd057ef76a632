"""Each training run calls its own callbacks: none leaks into another run or into the process.

A run's dispatch holds the process's training plugins and the run's callbacks; nested runs
(one trained inside another run's hook) and concurrent runs (two threads) never see each
other's callbacks, and the process-wide plugin manager never holds a run's callback.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import rpnkit
from rpnkit import hookimpl
from rpnkit.learner import BackwardLearner, EarlyStopping, TrainContext
from rpnkit.learner.hooks import PluginHookError
from rpnkit.plugins.state import get_plugin_manager

FROZEN = {"optimizer_configs": {"name": "sgd", "parameters": {"lr": 0.0}}}


def data(seed: int = 0) -> dict[str, Any]:
    """A tiny three-class problem: 32 training and 16 test samples, batches of 8."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(48, 5, generator=generator)
    y = (x[:, :3] + 0.3 * torch.randn(48, 3, generator=generator)).argmax(dim=1)
    return {
        "train_loader": DataLoader(TensorDataset(x[:32], y[:32]), batch_size=8),
        "test_loader": DataLoader(TensorDataset(x[32:], y[32:]), batch_size=8),
    }


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))


def learner(**kwargs: Any) -> BackwardLearner:
    kwargs.setdefault("n_epochs", 2)
    return BackwardLearner(verbose=False, **kwargs)


class Seen:
    """A callback recording the contexts and epochs it is called with."""

    def __init__(self) -> None:
        self.starts: list[TrainContext] = []
        self.epochs: list[tuple[TrainContext, int]] = []

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        self.starts.append(context)

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        self.epochs.append((context, context.epoch))


class TrainsInnerModels:
    """A callback training ``count`` small models (each with its own callback) every epoch."""

    def __init__(self, count: int, inner_epochs: int = 2, **inner: Any) -> None:
        self.count = count
        self.inner_epochs = inner_epochs
        self.inner = inner
        self.inner_seen: list[Seen] = []
        self.inner_stoppers: list[EarlyStopping] = []

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        for i in range(self.count):
            seen, stopper = Seen(), EarlyStopping(patience=5)
            self.inner_seen.append(seen)
            self.inner_stoppers.append(stopper)
            run = learner(
                n_epochs=self.inner_epochs, callbacks=[seen], early_stopping=stopper, **self.inner
            )
            run.train(mlp(seed=i + 1), data(seed=i + 1))


@pytest.fixture
def process_plugins() -> Iterator[set[Any]]:
    """The process manager's plugins before the test; checks that it holds the same after."""
    manager = get_plugin_manager()
    before = set(manager.get_plugins())
    yield before
    assert set(manager.get_plugins()) == before


def test_a_nested_run_leaves_the_outer_runs_callbacks_alone(process_plugins: set[Any]) -> None:
    outer_seen, trainer = Seen(), TrainsInnerModels(count=3)
    record = learner(n_epochs=2, callbacks=[outer_seen, trainer]).train(mlp(), data())
    outer = outer_seen.starts[0]
    assert [epoch for _, epoch in outer_seen.epochs] == [0, 1]  # once per outer epoch, not 6
    assert all(
        context is outer for context in outer_seen.starts + [c for c, _ in outer_seen.epochs]
    )
    assert len(record["history"]) == 2
    assert len(trainer.inner_seen) == 6
    for seen in trainer.inner_seen:
        (inner,) = seen.starts
        assert inner is not outer
        assert seen.epochs == [(inner, 0), (inner, 1)]  # its own run's epochs only


def test_an_outer_early_stopping_counts_only_outer_epochs(process_plugins: set[Any]) -> None:
    stopper = EarlyStopping(patience=2)
    trainer = TrainsInnerModels(count=2, inner_epochs=3)
    record = learner(n_epochs=10, early_stopping=stopper, callbacks=[trainer], **FROZEN).train(
        mlp(), data()
    )
    # A frozen model: the best test loss at epoch 0, then two epochs without improvement.
    assert len(record["history"]) == 3
    assert (stopper.best_epoch, stopper.wait) == (0, 2)
    assert stopper.best == record["history"][0]["test_loss"]
    # Each inner stopper saw its own three epochs and nothing of the outer run.
    for inner in trainer.inner_stoppers:
        assert inner.best_epoch is not None and inner.best_epoch <= 2
        assert inner.wait <= 2


def test_runs_in_two_threads_see_only_their_own_epochs(process_plugins: set[Any]) -> None:
    together = threading.Barrier(2, timeout=60)
    errors: list[BaseException] = []

    class Meets(Seen):
        """Waits for the other thread's run to start too, so both runs overlap."""

        @hookimpl
        def rpnkit_train_start(self, context: TrainContext) -> None:
            super().rpnkit_train_start(context)
            together.wait()

    seen = {"a": Meets(), "b": Meets()}
    epochs = {"a": 3, "b": 4}

    def train(key: str) -> None:
        try:
            learner(n_epochs=epochs[key], callbacks=[seen[key]]).train(mlp(), data())
        except BaseException as exc:  # reported by the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=train, args=(key,)) for key in seen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    for key, callback in seen.items():
        (context,) = callback.starts
        assert callback.epochs == [(context, epoch) for epoch in range(epochs[key])]
    assert seen["a"].starts[0] is not seen["b"].starts[0]


@pytest.fixture
def registered_seen() -> Iterator[Seen]:
    """A :class:`Seen` registered for every run with :func:`rpnkit.register_plugin`."""
    plugin = Seen()
    name = rpnkit.register_plugin(plugin, name="test-run-hooks-seen")
    yield plugin
    get_plugin_manager().unregister(name=name)


def test_a_process_plugin_is_called_in_every_run(registered_seen: Seen) -> None:
    learner(n_epochs=2).train(mlp(), data())
    learner(n_epochs=1, callbacks=[Seen()]).train(mlp(), data())
    first, second = registered_seen.starts
    assert first is not second
    assert registered_seen.epochs == [(first, 0), (first, 1), (second, 0)]


def test_a_callback_also_registered_process_wide_is_called_once(registered_seen: Seen) -> None:
    learner(n_epochs=2, callbacks=[registered_seen]).train(mlp(), data())
    (context,) = registered_seen.starts
    assert registered_seen.epochs == [(context, 0), (context, 1)]


def test_the_process_manager_never_holds_a_runs_callback(process_plugins: set[Any]) -> None:
    manager = get_plugin_manager()
    held: list[bool] = []

    class Looks(Seen):
        @hookimpl
        def rpnkit_epoch_end(self, context: TrainContext) -> None:
            held.append(manager.is_registered(self))

    callback = Looks()
    learner(n_epochs=2, callbacks=[callback], early_stopping=3).train(mlp(), data())
    assert held == [False, False]
    assert set(manager.get_plugins()) == process_plugins


class Raises:
    """A third-party callback failing in its second epoch."""

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        if context.epoch == 1:
            raise RuntimeError("disk full")


def test_the_process_manager_holds_no_callback_after_a_failed_run(
    process_plugins: set[Any],
) -> None:
    callback, stopper = Raises(), EarlyStopping(patience=3)
    with pytest.raises(
        PluginHookError, match=r"raised in hook rpnkit_epoch_end.*disk full"
    ) as info:
        learner(n_epochs=3, callbacks=[callback], early_stopping=stopper).train(mlp(), data())
    assert info.value.plugin.startswith("rpnkit.run.Raises.")
    assert info.value.completed == 2
    manager = get_plugin_manager()
    assert not manager.is_registered(callback) and not manager.is_registered(stopper)


def test_a_runs_callbacks_and_process_plugins_follow_pluggys_order(
    process_plugins: set[Any],
) -> None:
    calls: list[str] = []

    class Process:
        @hookimpl
        def rpnkit_epoch_end(self) -> None:
            calls.append("process")

    class Plain:
        @hookimpl
        def rpnkit_epoch_end(self) -> None:
            calls.append("run")

    class First:
        @hookimpl(tryfirst=True)
        def rpnkit_epoch_end(self) -> None:
            calls.append("first")

    class Last:
        @hookimpl(trylast=True)
        def rpnkit_epoch_end(self) -> None:
            calls.append("last")

    class Wraps:
        @hookimpl(wrapper=True)
        def rpnkit_epoch_end(self) -> Generator[None, None, None]:
            calls.append("wrap-before")
            result = yield
            calls.append("wrap-after")
            return result

    name = rpnkit.register_plugin(Process(), name="test-run-hooks-order")
    try:
        callbacks = [Last(), First(), Wraps(), Plain()]
        learner(n_epochs=1, callbacks=callbacks).train(mlp(), data())
    finally:
        get_plugin_manager().unregister(name=name)
    # tryfirst, plain (the run's callback, registered after the process plugin), trylast,
    # all inside the wrapper.
    assert calls == ["wrap-before", "first", "run", "process", "last", "wrap-after"]


class _Shapes:
    """Hook implementations in every form pluggy accepts, and attributes that are none."""

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None: ...

    @hookimpl(specname="rpnkit_epoch_end")
    def _renamed(self, context: TrainContext) -> None: ...

    @staticmethod
    @hookimpl
    def rpnkit_train_end(context: TrainContext) -> None: ...

    @hookimpl
    @classmethod
    def rpnkit_epoch_start(cls, context: TrainContext) -> None: ...

    @property
    def rpnkit_progress(self) -> None:
        raise AssertionError("a property is never evaluated")


class _Slotted:
    __slots__ = ("rpnkit_epoch_end",)
    rpnkit_epoch_end: Any


def _impls(manager: Any) -> list[tuple[str, str, Any, bool]]:
    from rpnkit.learner.hooks import TRAINING_HOOKS

    return [
        (name, impl.plugin_name, getattr(impl.function, "__func__", impl.function), impl.tryfirst)
        for name in TRAINING_HOOKS
        for impl in getattr(manager.hook, name).get_hookimpls()
    ]


def test_a_run_registers_exactly_what_pluggy_would() -> None:
    import pluggy

    from rpnkit.learner.hooks import TrainingHooks, callback_name
    from rpnkit.plugins import hookspecs
    from rpnkit.plugins.manager import PluginManager

    instance = _Shapes()
    instance.__dict__["rpnkit_epoch_end"] = hookimpl(lambda context: None)
    slotted = _Slotted()
    slotted.rpnkit_epoch_end = hookimpl(trylast=True)(lambda context: None)
    callbacks = [instance, _Shapes, slotted, EarlyStopping(2), Seen()]
    run = TrainingHooks(callbacks, process=PluginManager())
    plain = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    plain.add_hookspecs(hookspecs)
    for callback in callbacks:
        plain.register(callback, name=callback_name(callback))
    assert _impls(run.manager) == _impls(plain)
    assert len(_impls(plain)) == 14  # 5 + 4 (the class itself) + 1 (the slot) + 2 + 2
