"""The ``csv`` logger: the run's history rows in a CSV file, rewritten after every epoch.

The file holds exactly the rows of ``history.csv`` (:func:`history_csv` writes both), one per
finished epoch with the history's own column names; it is replaced atomically, so a reader
never sees half a row. ``rpnkit train`` writes ``history.csv`` at the end of every run anyway;
the logger keeps it current while the run goes on, and gives Python users the same file.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rpnkit.atomic import atomic_open
from rpnkit.errors import ConfigError
from rpnkit.tracking.base import Logger

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["CSVLogger", "history_csv"]


def history_csv(history: Sequence[Mapping[str, Any]]) -> bytes:
    """The CSV text of history rows: a header of the first row's keys, one line per row."""
    buffer = io.StringIO()
    if history:
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    return buffer.getvalue().encode()


class CSVLogger(Logger):
    """Write the history rows to ``directory/filename`` after every epoch.

    Parameters
    ----------
    directory
        The folder of the file.
    filename
        The file's name (default ``history.csv``, the file ``rpnkit train`` writes).
    log_every_n_steps
        Also append ``step,epoch,train_step_loss,lr`` every this many training steps to
        ``steps.csv`` beside it (``None``: not).
    """

    name = "csv"

    def __init__(
        self,
        directory: str | os.PathLike[str] = ".",
        filename: str = "history.csv",
        log_every_n_steps: int | None = None,
    ) -> None:
        super().__init__(directory, log_every_n_steps)
        if (
            not isinstance(filename, str)
            or filename in ("", ".", "..")
            or os.sep in filename
            or (os.altsep is not None and os.altsep in filename)
        ):
            raise ConfigError(
                f"logger 'csv' filename={filename!r} is not valid; expected a file name such "
                "as 'history.csv' (the folder is the directory parameter)"
            )
        self.path = self.directory / filename
        self.steps_path = self.directory / "steps.csv"
        self._steps: list[str] = []

    def log(self, scalars: Mapping[str, float], epoch: int, context: TrainContext) -> None:
        """Rewrite the file with every history row so far (earlier runs' too after resume)."""
        with atomic_open(self.path) as file:
            file.write(history_csv(context.history))

    def open(self, context: TrainContext) -> None:
        """Start the step rows (a resumed run keeps none of the interrupted run's)."""
        self._steps = ["step,epoch,train_step_loss,lr\n"]

    def log_step(self, scalars: Mapping[str, float], step: int, context: TrainContext) -> None:
        """Rewrite ``steps.csv`` with one more row (atomically, so never half a row)."""
        self._steps.append(
            f"{step},{context.epoch},{scalars['train/step_loss']!r},{scalars['lr']!r}\n"
        )
        with atomic_open(self.steps_path) as file:
            file.write("".join(self._steps).encode())
