"""The :class:`Logger` base class: a plugin on the training hooks that records epoch rows.

A logger is an ordinary plugin object: the learner registers it with the plugin manager for
the duration of one :meth:`~rpnkit.learner.BackwardLearner.train` call, on the main process
only (rank 0 under DDP), and closes it when the run ends, normally or not. Subclasses write
three methods — :meth:`Logger.open`, :meth:`Logger.log` and :meth:`Logger.finish` — and get
each finished epoch's numbers as a flat ``{name: value}`` mapping (:func:`epoch_scalars`).

Builtin loggers write under a ``directory``: the run's ``output.dir`` for ``rpnkit train``,
the current directory by default in Python.
"""

from __future__ import annotations

import importlib.util
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rpnkit.errors import ConfigError
from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["Logger", "epoch_scalars", "require_extra"]


def require_extra(module: str, logger: str, extra: str) -> None:
    """Raise a one-line :class:`ConfigError` naming the extra when ``module`` is missing.

    Parameters
    ----------
    module
        The top-level module the logger imports (``"tensorboard"``).
    logger
        The logger's registry name, for the message.
    extra
        The rpnkit extra that installs it (``"tensorboard"`` for ``rpnkit[tensorboard]``).
    """
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"logger {logger!r} needs the {module} package, which is not installed; install "
            f"it with: pip install 'rpnkit[{extra}]'"
        )


def epoch_scalars(row: Mapping[str, Any], metric_names: Sequence[str] = ()) -> dict[str, float]:
    """The finite numbers of a history row, named ``train/loss``, ``test/accuracy``, ``lr``.

    ``train_X``, ``val_X`` and ``test_X`` become ``train/X``, ``val/X`` and ``test/X``; the headline ``score``
    columns take the first metric's name (unless that name has columns of its own, with
    several metrics). ``epoch`` is the step, not a value, and NaN values (a run without a
    test pass or a metric) are left out.

    Parameters
    ----------
    row
        A history row (see :func:`rpnkit.learner.record.history_row`).
    metric_names
        The run's metric names, headline first.
    """
    headline = metric_names[0] if metric_names else None
    out: dict[str, float] = {}
    for key, value in row.items():
        if key == "epoch" or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if not math.isfinite(value):
            continue
        split, _, column = key.partition("_")
        if split not in ("train", "val", "test") or not column:
            out[key] = float(value)
            continue
        if column == "score":
            if headline is None or f"{split}_{headline}" in row:
                continue
            column = headline
        out[f"{split}/{column}"] = float(value)
    return out


class Logger:
    """Base class of rpnkit's loggers: open at train start, log every epoch, finish once.

    Parameters
    ----------
    directory
        The folder the logger writes under (created when training starts).
    log_every_n_steps
        Also log the training loss and learning rate every this many training steps
        (:meth:`log_step`, through :class:`~rpnkit.tracking.steps.StepLogging`); each such
        step reads one loss from the device. ``None``: per-epoch rows only, and the run has
        no per-batch listener.

    Notes
    -----
    The hooks do nothing on processes other than the main one, so a logger registered by
    hand for every process (:func:`rpnkit.register_plugin`) still writes once.
    """

    #: The registry name, for messages.
    name = "logger"

    def __init__(
        self, directory: str | os.PathLike[str] = ".", log_every_n_steps: int | None = None
    ) -> None:
        if not isinstance(directory, (str, os.PathLike)):
            raise ConfigError(
                f"logger {self.name!r} directory must be a path, got {type(directory).__name__}"
            )
        if log_every_n_steps is not None and (
            not isinstance(log_every_n_steps, int)
            or isinstance(log_every_n_steps, bool)
            or log_every_n_steps < 1
        ):
            raise ConfigError(
                f"logger {self.name!r} log_every_n_steps={log_every_n_steps!r} is not valid; "
                "expected a positive integer or null"
            )
        self.directory = Path(directory)
        self.check_folder(self.directory, "directory")
        self.log_every_n_steps = log_every_n_steps
        self._open = False

    def check_folder(self, folder: Path, field: str) -> None:
        """Refuse, before training starts, a folder the logger could not create or write.

        Raises
        ------
        ConfigError
            One line naming the logger, ``field`` and the path: a file where the folder (or
            one above it) would be, or a folder that does not allow writing.
        """
        existing = next((p for p in (folder, *folder.absolute().parents) if p.exists()), None)
        if existing is None:
            return
        if not existing.is_dir():
            blocker = (
                "is a file"
                if existing == folder
                else f"cannot be created: {str(existing)!r} is a file"
            )
            raise ConfigError(
                f"logger {self.name!r} {field}={str(folder)!r} {blocker}; give a folder"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ConfigError(
                f"logger {self.name!r} {field}={str(folder)!r} cannot be written "
                f"({str(existing)!r} does not allow writing); give another folder"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.directory)!r})"

    # -- what subclasses write ----------------------------------------------------------------
    def open(self, context: TrainContext) -> None:
        """Start writing (create files, start a tracking run)."""

    def log(self, scalars: Mapping[str, float], epoch: int, context: TrainContext) -> None:
        """Record one finished epoch's numbers (see :func:`epoch_scalars`)."""
        raise NotImplementedError

    def log_step(self, scalars: Mapping[str, float], step: int, context: TrainContext) -> None:
        """Record one training step's numbers (``train/step_loss``, ``lr``) at global
        ``step`` (1-based, counted over the run); called every ``log_every_n_steps`` steps."""
        raise NotImplementedError

    @property
    def is_open(self) -> bool:
        """Whether the logger is writing (between its run's start and end, main process)."""
        return self._open

    def finish(self, completed: bool) -> None:
        """Stop writing; ``completed`` is ``False`` when the run failed or was interrupted."""

    # -- the hooks -----------------------------------------------------------------------------
    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        """Open the logger (on the main process)."""
        if context.is_main_process:
            self.directory.mkdir(parents=True, exist_ok=True)
            self.open(context)
            self._open = True

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Log the epoch just finished."""
        if self._open:
            names = [metric.name for metric in context.metrics]
            self.log(epoch_scalars(context.history[-1], names), context.epoch, context)

    @hookimpl
    def rpnkit_train_end(self, context: TrainContext) -> None:
        """Finish a completed run."""
        self._finish(completed=True)

    def close(self) -> None:
        """Finish a run that ended without ``rpnkit_train_end`` (an error or an interruption).

        The learner calls it when every run ends; it does nothing after a completed run.
        """
        self._finish(completed=False)

    def _finish(self, completed: bool) -> None:
        if self._open:
            self._open = False
            self.finish(completed)
