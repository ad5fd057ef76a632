"""Per-run callbacks on the training hooks: early stopping, checkpointing, and the default set.

:class:`EarlyStopping` and :class:`Checkpointer` are hook implementations with per-run
settings, like any plugin's. The loop chooses the set a run gets from the learner's arguments
(its ``callbacks``, early stopping, on the main process the loggers, the progress display when
verbose) and calls them through the run's own dispatch
(:class:`~rpnkit.learner.hooks.TrainingHooks`), never through the process-wide plugin manager,
so they see only their own run; :func:`closing` closes each (``close()``) when the run ends,
normally or not. An instance can also be registered for every run with
:func:`rpnkit.register_plugin`; its state is reset when a run starts.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpnkit.checks import choice, positive_int
from rpnkit.errors import ConfigError
from rpnkit.learner.best import run_state
from rpnkit.learner.checkpoint import CHECKPOINT_NAME, save_checkpoint
from rpnkit.learner.host import host_copy
from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.learner.context import Mode, TrainContext
    from rpnkit.learner.record import HistoryRow

__all__ = [
    "Checkpointer",
    "EarlyStopping",
    "LastEpoch",
    "build_early_stopping",
    "closing",
    "host_copy",
]


class EarlyStopping:
    """Stop training when a history column has not improved for ``patience`` epochs.

    Parameters
    ----------
    patience
        Epochs without improvement after which training stops.
    monitor
        The history column to watch (``"test_loss"``, ``"test_score"``, ``"train_f1"``, ...);
        ``None`` watches the learner's ``monitor``.
    min_delta
        The least change that counts as an improvement.
    mode
        ``"min"`` or ``"max"``; ``None`` infers it: losses go down, scores follow their
        metric's ``higher_is_better``.

    Attributes
    ----------
    best
        The best value seen in this run (``None`` before the first epoch).
    best_epoch
        The epoch it was seen at.
    wait
        Epochs since the last improvement.

    Raises
    ------
    ConfigError
        If ``patience`` is not a positive integer, ``min_delta`` is negative, or ``mode`` is
        unknown; when a run starts, if ``monitor`` is not a history column of that run.
    """

    def __init__(
        self,
        patience: int = 10,
        monitor: str | None = None,
        min_delta: float = 0.0,
        mode: Mode | None = None,
    ) -> None:
        positive_int(patience, "early_stopping patience")
        if not isinstance(min_delta, (int, float)) or min_delta < 0:
            raise ConfigError(
                f"early_stopping min_delta={min_delta!r} is not valid; expected a number >= 0"
            )
        choice(mode, ("min", "max"), "early_stopping mode", allow_none=True)
        self.patience = patience
        self.monitor = monitor
        self.min_delta = float(min_delta)
        self.mode = mode
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self._key = ""
        self._direction: Mode = "min"

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, monitor={self.monitor!r}, "
            f"min_delta={self.min_delta}, mode={self.mode!r})"
        )

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        """Resolve the monitored column and replay the history of a resumed run."""
        self._key = context.check_key(self.monitor or context.monitor, "early_stopping monitor")
        self._direction = self.mode or context.mode(self._key)
        self.best, self.best_epoch, self.wait = None, None, 0
        for row in context.history:
            self._observe(row)

    @hookimpl(tryfirst=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Ask to stop once the column has not improved for ``patience`` epochs."""
        if self._observe(context.history[-1]):
            best = (
                "never finite"
                if self.best is None
                else f"best {self.best:.6g} at epoch {self.best_epoch}"
            )
            context.should_stop = True
            context.stop_reason = (
                f"early stopping: {self._key} did not improve for {self.wait} epochs ({best})"
            )

    def _observe(self, row: HistoryRow) -> bool:
        """Take one epoch's row; return whether patience has run out."""
        value = row[self._key]
        if not math.isnan(value) and (self.best is None or self._improves(value, self.best)):
            self.best, self.best_epoch, self.wait = value, int(row["epoch"]), 0
        else:
            self.wait += 1
        return self.wait >= self.patience

    def _improves(self, value: float, best: float) -> bool:
        if self._direction == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


class Checkpointer:
    """Save a checkpoint to ``directory/last.pt`` after every epoch, atomically.

    The checkpoint holds the model, optimizer, scheduler, epoch, history and random states
    (see :mod:`rpnkit.learner.checkpoint`); pass the folder as ``resume=`` to continue.

    Parameters
    ----------
    directory
        The folder to write into; created if needed.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        if not isinstance(directory, (str, os.PathLike)):
            raise ConfigError(
                f"checkpoint_dir must be a path (str or os.PathLike), got {type(directory).__name__}"
            )
        self.directory = Path(directory)

    def __repr__(self) -> str:
        return f"Checkpointer({str(self.directory)!r})"

    @property
    def path(self) -> Path:
        """The checkpoint file this plugin writes."""
        return self.directory / CHECKPOINT_NAME

    @hookimpl(trylast=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Save the run's state after the epoch, after other plugins had their say.

        Under DDP only the main process writes (every rank holds the same state).
        """
        if not context.is_main_process:
            return
        save_checkpoint(run_state(context), self.path)


class LastEpoch:
    """Keep an in-memory checkpoint of the last completed epoch (what an interruption saves).

    After every epoch (after the other plugins) the run's checkpoint state is copied to host
    memory, a copy that later steps cannot change (:func:`host_copy`: every tensor cloned to
    the CPU, the same values bit for bit); :meth:`state` hands out a copy of it. ``rpnkit
    train`` uses it to write the history, the model of the last completed epoch and a
    checkpoint when a run is interrupted.
    """

    def __init__(self) -> None:
        self._saved: dict[str, Any] | None = None

    @hookimpl(trylast=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Copy the state of the epoch just completed (on the main process)."""
        if context.is_main_process:
            self._saved = host_copy(run_state(context))

    def best(self) -> dict[str, Any] | None:
        """The best epoch's weights kept by the run (``save_best``), or ``None``."""
        best = None if self._saved is None else self._saved.get("best")
        weights = best.get("weights") if isinstance(best, Mapping) else None
        return None if weights is None else host_copy(weights)

    def state(self) -> dict[str, Any] | None:
        """The last completed epoch's checkpoint state, or ``None`` before the first."""
        if self._saved is None:
            return None
        return host_copy(self._saved)


def build_early_stopping(value: object) -> EarlyStopping | None:
    """The :class:`EarlyStopping` of ``early_stopping=``: a patience, an instance or a dict."""
    if value is None or isinstance(value, EarlyStopping):
        return value
    if isinstance(value, Mapping):
        return EarlyStopping(**value)
    if isinstance(value, int) and not isinstance(value, bool):
        return EarlyStopping(patience=value)
    raise ConfigError(
        "early_stopping must be a patience (int), an EarlyStopping or a dict of its "
        f"arguments, got {type(value).__name__}"
    )


@contextlib.contextmanager
def closing(callbacks: Sequence[Any]) -> Iterator[None]:
    """Close each of a run's ``callbacks`` that has a ``close()`` method when the block ends.

    Normally or by an exception alike: a progress bar must not linger after a failure.
    """
    try:
        yield
    finally:
        for callback in callbacks:
            close = getattr(callback, "close", None)
            if callable(close):
                close()
