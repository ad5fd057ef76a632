"""The batch bar of a training run and when it refreshes.

:class:`ProgressBar` listens on the training hooks like any third-party logger: it opens a
tqdm bar at ``rpnkit_epoch_start`` and moves it at ``rpnkit_progress``. The learner calls
that hook only at the refresh points a :class:`Refresh` picks (every ``progress_every``
steps, every :data:`REFRESH_SECONDS` of wall time, and at the epoch's last step), because
reading the loss waits for the device: a slow epoch still moves its bar, and a fast one
costs no per-batch sync. The bar is drawn only on a terminal or in a notebook
(:meth:`ProgressBar.visible`): a log gets no carriage-return frames, only the epoch table's
line per epoch (:mod:`rpnkit.learner.display`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tqdm.auto import tqdm

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["REFRESH_SECONDS", "ProgressBar", "Refresh", "should_update"]

#: Wall time after which the progress bar refreshes even between ``progress_every`` steps.
REFRESH_SECONDS = 0.5


def should_update(step: int, total: int | None, every: int) -> bool:
    """Whether the progress bar refreshes after ``step`` finished steps, by step count.

    Parameters
    ----------
    step
        Steps finished in this epoch (1-based).
    total
        Steps in the epoch, or ``None`` when the loader has no length.
    every
        Refresh every this many steps.

    Returns
    -------
    bool
        ``True`` on every ``every``-th step and on the last one.
    """
    return step % every == 0 or step == total


class Refresh:
    """The refresh points of one epoch: by step count (:func:`should_update`) or by time.

    A slow epoch whose ``progress_every`` steps take long still moves its bar every
    ``seconds``; checking the clock reads nothing from the device.

    Parameters
    ----------
    every
        Refresh every this many steps.
    total
        Steps in the epoch, or ``None`` when the loader has no length.
    seconds
        Refresh when this much wall time passed since the previous refresh (default
        :data:`REFRESH_SECONDS`).
    """

    def __init__(self, every: int, total: int | None, seconds: float | None = None) -> None:
        self.every = every
        self.total = total
        self.seconds = REFRESH_SECONDS if seconds is None else seconds
        self._last = time.perf_counter()

    def due(self, step: int) -> bool:
        """Whether to refresh after ``step`` finished steps (1-based); restarts the clock."""
        now = time.perf_counter()
        if should_update(step, self.total, self.every) or now - self._last >= self.seconds:
            self._last = now
            return True
        return False


class ProgressBar:
    """A tqdm bar per epoch, moved at the progress refresh points.

    Parameters
    ----------
    n_epochs
        The run's number of epochs; bars are titled ``epoch 3 (4/10)``: the epoch as the
        epoch table, the history and the summary number it (from 0), then how many of the
        run's epochs it makes.
    """

    def __init__(self, *, n_epochs: int) -> None:
        self.n_epochs = n_epochs
        self._bar: tqdm | None = None

    @staticmethod
    def visible() -> bool:
        """Whether a bar can be drawn: stderr is a terminal (or a notebook runs).

        Redirected output (a log file, CI, a pipe) gets no bar, so no carriage-return
        frames; rich's ``TTY_COMPATIBLE`` and ``FORCE_COLOR`` variables are honoured.
        """
        from rich.console import Console  # imported when training starts, not before

        console = Console(stderr=True)
        return console.is_terminal or console.is_jupyter

    @hookimpl
    def rpnkit_epoch_start(self, context: TrainContext) -> None:
        """Open the bar of the epoch starting."""
        self.close()
        self._bar = tqdm(
            total=context.steps_per_epoch,
            desc=f"epoch {context.epoch} ({context.epoch + 1}/{self.n_epochs})",
            unit="batch",
            leave=False,
            dynamic_ncols=True,
        )

    @hookimpl
    def rpnkit_progress(self, context: TrainContext, step: int, loss: float, lr: float) -> None:
        """Move the bar to ``step`` and show the running ``loss`` and learning rate ``lr``."""
        if self._bar is None:
            return
        self._bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", refresh=False)
        self._bar.update(step - self._bar.n)

    @hookimpl(tryfirst=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Close the epoch's bar before anything prints the epoch's results."""
        self.close()

    def close(self) -> None:
        """Close the open bar, if any (also called when training fails)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
