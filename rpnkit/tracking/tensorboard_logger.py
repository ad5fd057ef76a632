"""The ``tensorboard`` logger: event files under the run directory, for TensorBoard.

Written through :class:`torch.utils.tensorboard.SummaryWriter`, which needs the
``tensorboard`` package (``pip install 'rpnkit[tensorboard]'``). Every finished epoch adds one
scalar per history number (``train/loss``, ``test/accuracy``, ``lr``, ...; see
:func:`~rpnkit.tracking.base.epoch_scalars`) at step ``epoch``, and the events are flushed,
so ``tensorboard --logdir RUN_DIR`` shows a run while it trains.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rpnkit.errors import ConfigError
from rpnkit.tracking.base import Logger, require_extra

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["TensorBoardLogger"]


class TensorBoardLogger(Logger):
    """Write TensorBoard event files to ``directory/subdirectory``.

    Parameters
    ----------
    directory
        The run's folder.
    subdirectory
        The folder of the event files inside it (default ``tensorboard``; ``""``: the run's
        folder itself).
    log_every_n_steps
        Also add ``train/step_loss`` and ``step/lr`` every this many training steps.

    Raises
    ------
    ConfigError
        If the ``tensorboard`` package is not installed (naming the extra to install).
    """

    name = "tensorboard"

    def __init__(
        self,
        directory: str | os.PathLike[str] = ".",
        subdirectory: str = "tensorboard",
        log_every_n_steps: int | None = None,
    ) -> None:
        super().__init__(directory, log_every_n_steps)
        if not isinstance(subdirectory, str):
            raise ConfigError(
                f"logger 'tensorboard' subdirectory must be a folder name, got {subdirectory!r}"
            )
        require_extra("tensorboard", self.name, "tensorboard")
        self.log_dir = self.directory / subdirectory
        self.check_folder(self.log_dir, "subdirectory")
        self._writer: Any = None

    def open(self, context: TrainContext) -> None:
        """Create the writer; a resumed run drops the events after its restart epoch."""
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(
            log_dir=str(self.log_dir), purge_step=context.start_epoch or None
        )

    def log(self, scalars: Mapping[str, float], epoch: int, context: TrainContext) -> None:
        """Add the epoch's scalars and flush them to disk."""
        for tag, value in scalars.items():
            self._writer.add_scalar(tag, value, global_step=epoch)
        self._writer.flush()

    def log_step(self, scalars: Mapping[str, float], step: int, context: TrainContext) -> None:
        """Add a training step's scalars at global step ``step`` (``train/step_loss``, ...)."""
        for tag, value in scalars.items():
            self._writer.add_scalar(tag if tag != "lr" else "step/lr", value, global_step=step)

    def finish(self, completed: bool) -> None:
        """Close the event file."""
        self._writer.close()
        self._writer = None
