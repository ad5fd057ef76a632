"""What a training run shows: a tqdm bar per epoch, a table row per epoch, a final summary.

The learner pushes numbers to the display at fixed points and the display never reads
training state itself. The bar advances and shows the running loss only every
``progress_every`` steps (and at the epoch's last step, see :func:`should_update`), because
reading the loss waits for the device. A table row is printed every ``display_step``
epochs and after the last one: with rich in a terminal or a notebook, as plain aligned text
when stdout is redirected (logs, CI, pipes).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from tqdm.auto import tqdm

from rpnkit.learner.record import HistoryRow

__all__ = ["Column", "TrainDisplay", "should_update"]


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


class TrainDisplay:
    """Progress bars, the epoch table and the summary of one training run.

    Parameters
    ----------
    n_epochs
        The run's number of epochs; bars are titled ``epoch 3/10`` as in tinybig (epochs
        count from 0).
    scores
        Show the score columns (the run has a metric).
    test
        Show the test columns (the run has a test pass).
    display_step
        Print a table row every this many epochs (and after the last epoch).
    progress
        Show a tqdm bar per epoch.
    table
        Print the table and the summary.
    progress_every
        Refresh the bar every this many steps.
    """

    def __init__(
        self,
        *,
        n_epochs: int,
        scores: bool,
        test: bool,
        display_step: int,
        progress: bool,
        table: bool,
        progress_every: int,
    ) -> None:
        self.n_epochs = n_epochs
        self.columns = [
            column
            for key, column in _COLUMNS.items()
            if (scores or not key.endswith("_score")) and (test or not key.startswith("test_"))
        ]
        self.display_step = display_step
        self.progress = progress
        self.table = table
        self.progress_every = progress_every
        self._bar: tqdm | None = None
        self._total: int | None = None
        self._console: Console | None = None
        self._header_shown = False

    # -- progress bar -------------------------------------------------------------------------
    def start_epoch(self, epoch: int, total: int | None) -> None:
        """Open the bar of ``epoch``, which has ``total`` steps (``None`` if unknown)."""
        self._total = total
        if self.progress:
            self._bar = tqdm(
                total=total,
                desc=f"epoch {epoch}/{self.n_epochs}",
                unit="batch",
                leave=False,
                dynamic_ncols=True,
            )

    def wants_refresh(self, step: int) -> bool:
        """Whether the learner should read the running loss after ``step`` steps."""
        return self._bar is not None and should_update(step, self._total, self.progress_every)

    def refresh(self, step: int, loss: float, lr: float) -> None:
        """Move the bar to ``step`` and show the running ``loss`` and learning rate ``lr``."""
        if self._bar is None:
            return
        self._bar.set_postfix(loss=f"{loss:.4f}", lr=f"{lr:.2e}", refresh=False)
        self._bar.update(step - self._bar.n)

    def close(self) -> None:
        """Close the open bar, if any (also called when training fails)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    # -- table --------------------------------------------------------------------------------
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

    def end_epoch(self, row: HistoryRow, last: bool) -> None:
        """Close the epoch's bar and print its table row if it is due.

        Parameters
        ----------
        row
            The epoch's history row.
        last
            Whether this is the run's final epoch (always printed).
        """
        self.close()
        epoch = int(row["epoch"])
        if self.table and (epoch % self.display_step == 0 or last):
            self._print_row(row)

    def _print_row(self, row: HistoryRow) -> None:
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
        """
        if not self.table or not history:
            return
        last = history[-1]
        final = ", ".join(
            f"{column.header} {column.format(last[column.key])}"
            for column in self.columns
            if column.key not in ("epoch", "lr", "seconds")
        )
        lines = [f"Trained {int(last['epoch']) + 1} epochs in {seconds:.2f} s.", f"Final: {final}."]
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
