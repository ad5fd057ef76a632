"""The best epoch of a run: which one, by which history column, and its weights.

A run that keeps its best weights (``BackwardLearner(save_best=...)`` or
``restore_best=True``; ``output.save_best`` and ``learner.restore_best`` in a config) holds a
:class:`BestWeights` on its :class:`~rpnkit.learner.context.TrainContext`. After every epoch
the loop shows it the new history row; when the monitored column improves (strictly, so the
first of equal epochs is kept, as early stopping counts), the model's ``state_dict`` is copied
to host memory, bit for bit (:func:`~rpnkit.learner.callbacks.host_copy`). Its state travels
in every checkpoint (:func:`run_state`, :func:`restore_best`), so a resumed run selects the
same best epoch as one that never stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from rpnkit.checks import choice
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.learner.checkpoint import training_state
from rpnkit.learner.device import host_dtype
from rpnkit.learner.evaluation import Evaluation
from rpnkit.learner.host import host_copy
from rpnkit.learner.record import BestRecord

if TYPE_CHECKING:
    from rpnkit.learner.context import Mode, TrainContext

__all__ = [
    "BestSpec",
    "BestWeights",
    "best_keeper",
    "check_save_best",
    "finish_best",
    "restore_best",
    "run_state",
]

#: ``save_best`` as checked: the monitored column (``None``: the learner's monitor) and the
#: mode (``None``: inferred from the column).
BestSpec = tuple[str | None, "Mode | None"]

_KEYS = ("monitor", "mode")


def check_save_best(value: object, argument: str = "save_best") -> BestSpec | None:
    """Check ``save_best``: ``None``/``False`` (off), ``True``, a column name or a mapping.

    Parameters
    ----------
    value
        ``True`` keeps the best epoch by the learner's ``monitor``; a string names the
        history column; ``{"monitor": ..., "mode": "min" | "max"}`` gives both.
    argument
        The argument's name, for messages.

    Raises
    ------
    ConfigError
        For any other value, an unknown key or a mode other than ``"min"``/``"max"``.
    """
    if value is None or value is False:
        return None
    if value is True:
        return None, None
    if isinstance(value, str):
        return value, None
    if isinstance(value, Mapping):
        unknown = [str(key) for key in value if key not in _KEYS]
        if unknown:
            raise ConfigError(
                f"{argument} has no key {unknown[0]!r}{did_you_mean(unknown[0], _KEYS)}; "
                f"valid: {', '.join(_KEYS)}"
            )
        monitor = value.get("monitor")
        if monitor is not None and not isinstance(monitor, str):
            raise ConfigError(f"{argument}.monitor must be a history column name, got {monitor!r}")
        mode = choice(value.get("mode"), ("min", "max"), f"{argument}.mode", allow_none=True)
        return monitor, mode
    raise ConfigError(
        f"{argument} must be true, a history column name or {{monitor, mode}}, got {value!r}"
    )


class BestWeights:
    """The best epoch so far by one history column, and the model's weights after it.

    Parameters
    ----------
    monitor
        The history column that decides (checked against the run's columns).
    mode
        ``"min"`` or ``"max"``.

    Attributes
    ----------
    value
        The best value so far (``None`` before the first finite one).
    epoch
        The 0-based epoch it was seen at.
    weights
        A host copy of the model's ``state_dict`` after that epoch.
    """

    def __init__(self, monitor: str, mode: Mode) -> None:
        self.monitor = monitor
        self.mode: Mode = mode
        self.value: float | None = None
        self.epoch: int | None = None
        self.weights: dict[str, Tensor] | None = None

    def __repr__(self) -> str:
        return f"BestWeights(monitor={self.monitor!r}, mode={self.mode!r}, epoch={self.epoch})"

    def observe(self, context: TrainContext) -> bool:
        """Take the epoch just finished; keep the model's weights if it is the best so far."""
        row = context.history[-1]
        value = float(row[self.monitor])
        if math.isnan(value):
            return False
        if self.value is not None and not (
            value < self.value if self.mode == "min" else value > self.value
        ):
            return False
        self.value, self.epoch = value, int(row["epoch"])
        self.weights = host_copy(context.model.state_dict())
        return True

    def state(self) -> dict[str, Any]:
        """What a checkpoint holds of it: plain values and the weights' tensors."""
        return {
            "monitor": self.monitor,
            "mode": self.mode,
            "value": self.value,
            "epoch": self.epoch,
            "weights": self.weights,
        }

    def load(self, state: Mapping[str, Any], where: str) -> None:
        """Restore the best-so-far of a checkpoint written by a run with the same monitor.

        Raises
        ------
        ConfigError
            If the checkpoint kept its best by another column or mode.
        """
        if state.get("monitor") != self.monitor or state.get("mode") != self.mode:
            raise ConfigError(
                f"{where}: the checkpoint kept its best epoch by {state.get('monitor')!r} "
                f"({state.get('mode')}), this run by {self.monitor!r} ({self.mode}); resume "
                "with the run's own save_best"
            )
        value, epoch, weights = state.get("value"), state.get("epoch"), state.get("weights")
        self.value = None if value is None else float(value)
        self.epoch = None if epoch is None else int(epoch)
        self.weights = None if weights is None else host_copy(dict(weights))

    def record(self, *, restored: bool, test: Mapping[str, float]) -> BestRecord:
        """The record's ``best`` entry (see :class:`~rpnkit.learner.record.BestRecord`)."""
        return BestRecord(
            epoch=-1 if self.epoch is None else self.epoch,
            monitor=self.monitor,
            mode=self.mode,
            value=math.nan if self.value is None else self.value,
            restored=restored,
            test=dict(test),
        )


def best_keeper(
    save_best: BestSpec | None, restore: bool, context: TrainContext
) -> BestWeights | None:
    """The run's :class:`BestWeights` when it keeps (``save_best``) or restores its best.

    Raises
    ------
    ConfigError
        If the monitored column is not a history column of this run (with a suggestion).
    """
    if save_best is None and not restore:
        return None
    monitor, mode = save_best or (None, None)
    key = context.check_key(monitor or context.monitor, "save_best monitor")
    return BestWeights(key, mode or context.mode(key))


def finish_best(
    context: TrainContext, restore: bool, test: Callable[[], Evaluation | None]
) -> BestRecord:
    """The record's ``best`` entry at the end of training; with ``restore``, first load the
    best weights into the model and run ``test`` (the test pass) on them."""
    best = context.best
    assert best is not None
    if not restore or best.weights is None:
        return best.record(restored=False, test={})
    context.model.load_state_dict(best.weights)
    evaluation = test()
    numbers: dict[str, float] = {}
    if evaluation is not None:
        values = torch.stack([evaluation.mean_loss, *evaluation.scores])
        loss, *scores = values.to(host_dtype(context.device)).tolist()
        names = [metric.name for metric in context.metrics]
        numbers["test_loss"] = loss
        if names:
            numbers["test_score"] = scores[0]
        if len(names) > 1:
            numbers.update({f"test_{n}": v for n, v in zip(names, scores, strict=True)})
    return best.record(restored=True, test=numbers)


def run_state(context: TrainContext) -> dict[str, Any]:
    """The checkpoint of ``context`` (:func:`training_state`), with its best-so-far if any."""
    state = training_state(context)
    if context.best is not None:
        state["best"] = context.best.state()
    return state


def restore_best(context: TrainContext, state: Mapping[str, Any], where: str) -> None:
    """Restore the best-so-far from checkpoint ``state`` into ``context.best``.

    A checkpoint without one (written by a run that kept no best) replays the history: the
    best epoch is found again, but its weights are lost, so a later epoch must beat it to be
    saved.

    Raises
    ------
    ConfigError
        If the checkpoint's best was chosen by another column or mode.
    """
    best = context.best
    if best is None:
        return
    saved = state.get("best")
    if isinstance(saved, Mapping):
        best.load(saved, where)
        return
    for row in context.history:
        value = float(row.get(best.monitor, math.nan))
        if not math.isnan(value) and (
            best.value is None or (value < best.value if best.mode == "min" else value > best.value)
        ):
            best.value, best.epoch = value, int(row["epoch"])
