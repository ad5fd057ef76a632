"""What a training run shows: a tqdm bar per epoch, a table row per epoch, a final summary.

Both are listeners on the training hooks, like any third-party logger: :class:`ProgressBar`
opens a bar at ``rpnkit_epoch_start`` and moves it at ``rpnkit_progress``, which the learner
calls only every ``progress_every`` steps and at the epoch's last step (see
:func:`should_update`), because reading the loss waits for the device. :class:`EpochTable`
prints a row at ``rpnkit_epoch_end`` every ``display_step`` epochs, the last row and the
summary at ``rpnkit_train_end``: with rich in a terminal or a notebook, as plain aligned text
when stdout is redirected (logs, CI, pipes). Neither reads training state besides the
context the hooks hand them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tqdm.auto import tqdm

from rpnkit.hookspecs import hookimpl
from rpnkit.learner.record import HistoryRow

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["Column", "EpochTable", "ProgressBar", "should_update"]


def should_update(step: int, total: int | None, every: int) -> bool:
    """Whether the progress bar refreshes after ``step`` finished steps.

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


def _number(digits: int) -> Callable[[float], str]:
    return lambda value: "-" if math.isnan(value) else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Column:
    """A column of the epoch table.

    Attributes
    ----------
    key
        The history key it shows.
    header
        Its title.
    format
        Turns the value into the cell's text.
    style
        Rich style of the cells in a terminal.
    """

    key: str
    header: str
    format: Callable[[float], str]
    style: str = ""

    @property
    def width(self) -> int:
        """Cell width: the header, or ten characters if that is wider."""
        return max(len(self.header), 10)


_COLUMNS: dict[str, Column] = {
    "epoch": Column("epoch", "epoch", lambda v: str(int(v)), "bold"),
    "train_loss": Column("train_loss", "train loss", _number(4), "cyan"),
    "train_score": Column("train_score", "train score", _number(4), "green"),
    "test_loss": Column("test_loss", "test loss", _number(4), "cyan"),
    "test_score": Column("test_score", "test score", _number(4), "green"),
    "lr": Column("lr", "lr", lambda v: f"{v:.2e}", "magenta"),
    "seconds": Column("seconds", "seconds", _number(2), "dim"),
}


class ProgressBar:
    """A tqdm bar per epoch, moved at the progress refresh points.

    Parameters
    ----------
    n_epochs
        The run's number of epochs; bars are titled ``epoch 3/10`` as in tinybig (epochs
        count from 0).
    """

    def __init__(self, *, n_epochs: int) -> None:
        self.n_epochs = n_epochs
        self._bar: tqdm | None = None

    @hookimpl
    def rpnkit_epoch_start(self, context: TrainContext) -> None:
        """Open the bar of the epoch starting."""
        self.close()
        self._bar = tqdm(
            total=context.steps_per_epoch,
            desc=f"epoch {context.epoch}/{self.n_epochs}",
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


class EpochTable:
    """The epoch table and the end-of-training summary.

    Parameters
    ----------
    scores
        Show the score columns (the run has a metric).
    test
        Show the test columns (the run has a test pass).
    display_step
        Print a table row every this many epochs (and after the last epoch).
    """

    def __init__(self, *, scores: bool, test: bool, display_step: int) -> None:
        self.columns = [
            column
            for key, column in _COLUMNS.items()
            if (scores or not key.endswith("_score")) and (test or not key.startswith("test_"))
        ]
        self.display_step = display_step
        self._console: Console | None = None
        self._header_shown = False
        self._printed: int | None = None
        self._started = time.perf_counter()

    @property
    def console(self) -> Console:
        """The rich console printing to the current ``sys.stdout``."""
        if self._console is None:
            self._console = Console(highlight=False)
        return self._console

    @property
    def rich(self) -> bool:
        """Whether output is styled (a terminal or a notebook) rather than plain text."""
        return self.console.is_terminal or self.console.is_jupyter

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        """Start the clock of the summary."""
        self._started = time.perf_counter()

    @hookimpl(trylast=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Print the epoch's row when it is due (every ``display_step`` epochs)."""
        row = context.history[-1]
        if int(row["epoch"]) % self.display_step == 0:
            self._print_row(row)

    @hookimpl(trylast=True)
    def rpnkit_train_end(self, context: TrainContext) -> None:
        """Print the last epoch's row (if not yet shown) and the summary."""
        history = context.history
        if history and self._printed != int(history[-1]["epoch"]):
            self._print_row(history[-1])
        self.summary(
            history,
            time.perf_counter() - self._started,
            context.monitor,
            context.mode(context.monitor) == "max",
            context.stop_reason,
            compile_seconds=context.record["preparation"].get("compile_time_cost"),
        )

    def _print_row(self, row: HistoryRow) -> None:
        self._printed = int(row["epoch"])
        cells = [column.format(row[column.key]) for column in self.columns]
        if not self.rich:
            if not self._header_shown:
                print(self._plain([column.header for column in self.columns]), flush=True)
            print(self._plain(cells), flush=True)
        else:
            table = Table(
                box=box.SIMPLE_HEAD,
                show_header=not self._header_shown,
                show_edge=False,
                pad_edge=False,
            )
            for column in self.columns:
                table.add_column(
                    column.header,
                    justify="right",
                    width=column.width,
                    style=column.style,
                    no_wrap=True,
                )
            table.add_row(*cells)
            self.console.print(table)
        self._header_shown = True

    def _plain(self, cells: Sequence[str]) -> str:
        return "  ".join(
            cell.rjust(column.width) for cell, column in zip(cells, self.columns, strict=True)
        )

    def summary(
        self,
        history: Sequence[HistoryRow],
        seconds: float,
        monitor: str,
        higher_is_better: bool,
        stop_reason: str | None,
        *,
        compile_seconds: float | None = None,
    ) -> None:
        """Print the end-of-training summary.

        Parameters
        ----------
        history
            Every history row of the run.
        seconds
            Wall time of this call.
        monitor
            The monitored history key, whose best epoch is reported.
        higher_is_better
            Whether larger ``monitor`` values are better.
        stop_reason
            Why training stopped before ``n_epochs``, if it did.
        compile_seconds
            The estimated one-time compile cost of a compiled run (included in ``seconds``).
        """
        if not history:
            return
        last = history[-1]
        final = ", ".join(
            f"{column.header} {column.format(last[column.key])}"
            for column in self.columns
            if column.key not in ("epoch", "lr", "seconds")
        )
        took = f"Trained {int(last['epoch']) + 1} epochs in {seconds:.2f} s"
        if compile_seconds is not None:
            took += f" (about {compile_seconds:.2f} s of it compiling)"
        lines = [f"{took}.", f"Final: {final}."]
        finite = [row for row in history if not math.isnan(row[monitor])]
        if finite:
            pick = max if higher_is_better else min
            best = pick(finite, key=lambda row: row[monitor])
            lines.append(f"Best {monitor}: {best[monitor]:.4f} at epoch {int(best['epoch'])}.")
        if stop_reason:
            lines.append(f"Stopped by {stop_reason}.")
        if self.rich:
            self.console.print(Text("\n".join(lines), style="bold"))
        else:
            print("\n".join(lines), flush=True)
