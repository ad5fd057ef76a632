"""What a training run prints: a table row per epoch and a final summary.

:class:`EpochTable` listens on the training hooks like any third-party logger: it prints a
row at ``rpnkit_epoch_end`` every ``display_step`` epochs, the last row and the summary at
``rpnkit_train_end``: with rich in a terminal or a notebook, as plain aligned text when
stdout is redirected (logs, CI, pipes). Its columns are named after their metric
(:mod:`rpnkit.learner.columns`); in a terminal they keep to its width. It reads no training state
besides the context the hooks hand it. The batch bar is :mod:`rpnkit.learner.progress`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rpnkit.learner.columns import copies_loss, label, metric_columns
from rpnkit.learner.record import HistoryRow
from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rich.console import Console

    from rpnkit.learner.context import TrainContext

__all__ = ["Column", "EpochTable"]


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
    cells
        The width its values need.
    """

    key: str
    header: str
    format: Callable[[float], str]
    style: str = ""
    cells: int = 10

    @property
    def width(self) -> int:
        """Column width: the header's, or its values' if that is wider."""
        return max(len(self.header), self.cells)


def _column(key: str, names: Sequence[str]) -> Column:
    """The table column of history key ``key``, titled with its metric's name."""
    if key == "epoch":
        return Column(key, "epoch", lambda v: str(int(v)), "bold", cells=5)
    if key == "lr":
        return Column(key, "lr", lambda v: f"{v:.2e}", "magenta", cells=8)
    if key == "seconds":
        return Column(key, "seconds", _number(2), "dim", cells=7)
    style = "cyan" if key.endswith("_loss") else "green"
    return Column(key, label(key, names), _number(4), style)


def _fit(columns: list[Column], width: int, priority: Sequence[str]) -> list[Column]:
    """The columns that fit in ``width`` characters, taken in ``priority`` order and shown
    in their own order (two characters between columns)."""
    by_key = {column.key: column for column in columns}
    kept: set[str] = set()
    used = -2
    for key in priority:
        if key in by_key and used + 2 + by_key[key].width <= width:
            kept.add(key)
            used += 2 + by_key[key].width
    return [column for column in columns if column.key in kept]


class EpochTable:
    """The epoch table and the end-of-training summary.

    Every column is named after what it shows: ``train loss``, ``test accuracy``,
    ``test f1``, ... (one column per split and metric). In a terminal the table keeps to
    the terminal's width: the columns that do not fit are named in one line above the table
    and stay in the run's history. A metric equal to the loss (``mse`` with an MSE loss) is
    shown once, as the loss, and said so in the same line.

    Parameters
    ----------
    scores
        Show the metric columns (the run has metrics).
    test
        Show the test columns (the run has a test pass).
    val
        Show the validation columns (the run has a validation split).
    display_step
        Print a table row every this many epochs (and after the last epoch).
    console
        The rich console to print to; by default one on the current ``sys.stdout``.
    """

    def __init__(
        self,
        *,
        scores: bool,
        test: bool,
        display_step: int,
        val: bool = False,
        console: Console | None = None,
    ) -> None:
        self.scores = scores
        self.test = test
        self.val = val
        self.display_step = display_step
        self.names: list[str] = []
        #: Every column of the run, and those the table shows; chosen at the first row.
        self.all_columns: list[Column] = []
        self.columns: list[Column] = []
        self._console = console
        self._header_shown = False
        self._printed: int | None = None
        self._started = time.perf_counter()

    @property
    def console(self) -> Console:
        """The rich console printing to the current ``sys.stdout``."""
        if self._console is None:
            from rich.console import Console  # rich is imported by the first row, not before

            self._console = Console(highlight=False)
        return self._console

    @property
    def rich(self) -> bool:
        """Whether output is styled (a terminal or a notebook) rather than plain text."""
        return self.console.is_terminal or self.console.is_jupyter

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        """Start the clock of the summary and take the names of the run's metrics."""
        self._started = time.perf_counter()
        self.names = [metric.name for metric in context.metrics] if self.scores else []

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
            best=context.record.get("best"),
        )

    def choose_columns(self, row: HistoryRow) -> str | None:
        """Choose the columns from the first row; return the line saying what is left out.

        Returns
        -------
        str or None
            One line naming the metrics shown as the loss and the columns left out for the
            terminal's width, or ``None`` when every column is shown.
        """
        metrics = metric_columns(self.names)
        copies = [metric for metric in metrics if copies_loss([row], metric)]
        shown = [metric for metric in metrics if metric not in copies]
        keys = ["epoch", "train_loss", *(m.train for m in shown)]
        if self.val:
            keys += ["val_loss", *(m.val for m in shown)]
        if self.test:
            keys += ["test_loss", *(m.test for m in shown)]
        keys += ["lr", "seconds"]
        self.all_columns = [_column(key, self.names) for key in keys]
        self.columns = self.all_columns
        if self.rich:
            heads = [shown[0].test, "test_loss", "train_loss", shown[0].train] if shown else []
            if self.val:
                heads[0:0] = [shown[0].val, "val_loss"] if shown else ["val_loss"]
            priority = [
                "epoch",
                *heads,
                *(m.val for m in shown[1:] if self.val),
                *(m.test for m in shown[1:]),
                *(m.train for m in shown[1:]),
                "seconds",
                "lr",
            ]
            self.columns = _fit(self.all_columns, self.console.width, priority)
        notes = []
        if copies:
            named = ", ".join(metric.name for metric in copies)
            notes.append(f"{named} equal{'s' if len(copies) == 1 else ''} the loss: shown once")
        left = [column.header for column in self.all_columns if column not in self.columns]
        if left:
            notes.append(f"left out to fit the terminal, in the run's history: {', '.join(left)}")
        return "; ".join(notes) or None

    def _print_row(self, row: HistoryRow) -> None:
        self._printed = int(row["epoch"])
        note = self.choose_columns(row) if not self._header_shown else None
        cells = [column.format(row[column.key]) for column in self.columns]
        if not self.rich:
            if not self._header_shown:
                if note:
                    print(f"({note})", flush=True)
                print(self._plain([column.header for column in self.columns]), flush=True)
            print(self._plain(cells), flush=True)
        else:
            from rich import box
            from rich.table import Table
            from rich.text import Text

            if note:
                self.console.print(Text(f"({note})", style="dim"))
            table = Table(
                box=box.SIMPLE_HEAD,
                show_header=not self._header_shown,
                show_edge=False,
                pad_edge=False,
                padding=(0, 0, 0, 1),
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
        best: Mapping[str, Any] | None = None,
    ) -> None:
        """Print the end-of-training summary: every loss and metric of the reported epoch.

        The ``Final:`` line shows the last epoch's numbers, or with restored best weights the
        best epoch's, its test numbers measured again on those weights; a line names the
        epoch the test numbers come from. In a terminal the ``Final:`` line is broken
        between items, never inside one.

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
        best
            The record's ``best`` entry (:class:`~rpnkit.learner.record.BestRecord`), when
            the run kept its best weights.
        """
        if not history:
            return
        if not self.all_columns:
            self.choose_columns(history[0])
        last = history[-1]
        shown: Mapping[str, float] = last
        restored = best is not None and best["restored"]
        if best is not None and restored:
            at = next((row for row in history if int(row["epoch"]) == best["epoch"]), last)
            shown = {**at, **best["test"]}
        items = [
            f"{column.header} {column.format(shown[column.key])}"
            for column in self.all_columns
            if column.key not in ("epoch", "lr", "seconds")
        ]
        took = f"Trained {int(last['epoch']) + 1} epochs in {seconds:.2f} s"
        if compile_seconds is not None:
            took += f" (about {compile_seconds:.2f} s of it compiling)"
        lines = [f"{took}.", *self._items("Final: ", items)]
        finite = [row for row in history if not math.isnan(row[monitor])]
        if finite:
            pick = max if higher_is_better else min
            top = pick(finite, key=lambda row: row[monitor])
            lines.append(
                f"Best {label(monitor, self.names)}: {top[monitor]:.4f} "
                f"at epoch {int(top['epoch'])}."
            )
        if self.test:
            if best is not None and restored:
                lines.append(
                    f"Test numbers from epoch {best['epoch']}: the best by "
                    f"{label(str(best['monitor']), self.names)}, whose weights the model "
                    "ends with."
                )
            else:
                lines.append(f"Test numbers from epoch {int(last['epoch'])}, the last.")
        if best is not None and not restored and best["epoch"] >= 0:
            lines.append(
                f"Best weights kept from epoch {best['epoch']} "
                f"(by {label(str(best['monitor']), self.names)})."
            )
        if stop_reason:
            lines.append(f"Stopped by {stop_reason}.")
        if self.rich:
            from rich.text import Text

            self.console.print(Text("\n".join(lines), style="bold"))
        else:
            print("\n".join(lines), flush=True)

    def _items(self, head: str, items: Sequence[str]) -> list[str]:
        """``head`` and ``items`` joined by commas, ending in a full stop; in a terminal,
        broken between items to keep to its width (continuations indented under the first
        item). Plain text is one line."""
        if not items:
            return [f"{head.rstrip()}"]
        if not self.rich:
            return [f"{head}{', '.join(items)}."]
        width, indent = self.console.width, " " * len(head)
        pieces = [item + ("." if i == len(items) - 1 else ",") for i, item in enumerate(items)]
        lines: list[str] = []
        current = head + pieces[0]
        for piece in pieces[1:]:
            if len(current) + 1 + len(piece) > width:
                lines.append(current)
                current = indent + piece
            else:
                current += " " + piece
        lines.append(current)
        return lines
