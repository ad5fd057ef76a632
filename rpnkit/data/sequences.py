"""Forecasting windows over a series: tinybig's ``x_len`` / ``y_len`` / ``xy_gap``, no leak.

A window starting at time ``s`` has the inputs ``series[s : s + x_len]`` and the targets
``series[s + x_len + xy_gap : s + x_len + xy_gap + y_len]`` (tinybig's ``partition_data``:
``xy_gap = 1`` skips one step between the last input and the first target), for every
``s`` from 0 to ``T - x_len - xy_gap - y_len``. Every column is its own univariate series
(tinybig's instances); samples are ordered window by window, the columns of one window
together. The windows are split chronologically: the first ``(1 - test_size)`` of them
train, the rest test, never shuffled across that line. With ``val_size`` (a fraction of the
training windows in ``[0, 1)`` or a number of windows), the last windows of the training
period validate, in time order: train, then validation, then test.

**Normalisation uses the training period only.** Each column is standardised with the mean
and standard deviation of the values the training windows cover (time 0 up to the last
training target; validation windows excluded). tinybig standardises over the *whole* series before splitting, so its
inputs carry the test period's mean and spread: a leak, which rpnkit does not reproduce.
The statistics are kept as ``series_mean`` / ``series_std``; targets are standardised too,
so ``prediction * series_std + series_mean`` is in the series' units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

from rpnkit.checks import positive_int
from rpnkit.data.bundle import DataBundle
from rpnkit.data.files import check_path, list_names
from rpnkit.data.graph_files import read_table
from rpnkit.data.options import SplitOptions
from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["SEQUENCE_LAYOUTS", "SequenceBundle", "series_bundle", "series_csv", "windows"]

#: The values of a sequence dataset's ``layout`` parameter.
SEQUENCE_LAYOUTS = ("flat", "sequence")


@dataclass(frozen=True, eq=False, repr=False)
class SequenceBundle(DataBundle):
    """A :class:`~rpnkit.data.DataBundle` of sequences (windows or generated sequences).

    Attributes
    ----------
    length
        Time steps ``L`` of an input sequence (``x_len`` for windows).
    channels
        Values ``m`` per time step; ``in_features`` is ``L·m``.
    layout
        ``"flat"``: inputs ``(b, L·m)``, time-major (tinybig's); ``"sequence"``:
        ``(b, L, m)``.
    series_mean, series_std
        For forecasting windows: each column's training-period statistics (shape
        ``(n_columns,)``) used to standardise inputs and targets; ``None`` otherwise.
    """

    length: int = 1
    channels: int = 1
    layout: str = "flat"
    series_mean: Tensor | None = None
    series_std: Tensor | None = None


def windows(
    values: np.ndarray, x_len: int, y_len: int, xy_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every window of a ``(T, n_columns)`` series: inputs ``(W, C, x_len)``, targets ``(W, C, y_len)``.

    Window ``s`` is ``values[s : s + x_len]`` → ``values[s + x_len + xy_gap : ... + y_len]``.
    """
    span = x_len + xy_gap + y_len
    count = values.shape[0] - span + 1
    steps = np.arange(count)[:, None]
    x = values[steps + np.arange(x_len)]
    y = values[steps + x_len + xy_gap + np.arange(y_len)]
    return x.transpose(0, 2, 1), y.transpose(0, 2, 1)


def series_bundle(
    name: str,
    values: np.ndarray,
    *,
    x_len: int,
    y_len: int,
    xy_gap: int,
    layout: str,
    options: SplitOptions,
) -> SequenceBundle:
    """Window a ``(T, n_columns)`` series, split it in time and standardise on the train period.

    The windows are split in time order into training, validation (the last
    ``options.val_size`` of the training period; none when it is 0) and test windows; the
    statistics come from the values the training windows (not the validation ones) cover.

    Raises
    ------
    ConfigError
        For a bad window size or layout, a series too short for a training and a test
        window, or a ``val_size`` that leaves no training window.
    """
    x_len = positive_int(x_len, f"dataset {name!r} x_len")
    y_len = positive_int(y_len, f"dataset {name!r} y_len")
    if not isinstance(xy_gap, int) or isinstance(xy_gap, bool) or xy_gap < 0:
        raise ConfigError(
            f"dataset {name!r}: xy_gap must be a non-negative integer, got {xy_gap!r}"
        )
    if layout not in SEQUENCE_LAYOUTS:
        raise ConfigError(
            f"dataset {name!r}: layout={layout!r} is not valid; expected 'flat' ((b, L·m), "
            "time-major: tinybig's) or 'sequence' ((b, L, m))"
        )
    count = values.shape[0] - (x_len + xy_gap + y_len) + 1
    n_train = int(round((1.0 - options.test_size) * count, 9)) if count > 0 else 0
    if n_train < 1 or n_train >= count:
        raise ConfigError(
            f"dataset {name!r}: a series of {values.shape[0]} steps gives {max(count, 0)} windows"
            f" of x_len={x_len} + xy_gap={xy_gap} + y_len={y_len}, too few to hold out "
            f"test_size={options.test_size} of them; use a longer series or shorter windows"
        )
    n_val = 0 if options.val_size == 0 else options.val_count(n_train)
    n_fit = n_train - n_val
    if n_fit < 1:
        raise ConfigError(
            f"dataset {name!r}: val_size={options.val_size!r} takes {n_val} of the {n_train} "
            "training windows and leaves none to train on; lower val_size"
        )
    data = values.astype(np.float64)
    mean: Tensor | None = None
    std: Tensor | None = None
    if options.standardize:
        period = data[: n_fit - 1 + x_len + xy_gap + y_len]  # every value a training window uses
        mu, sigma = period.mean(axis=0), period.std(axis=0)
        sigma = np.where(sigma > 0, sigma, 1.0)
        data = (data - mu) / sigma
        mean, std = torch.from_numpy(mu).float(), torch.from_numpy(sigma).float()
    x, y = windows(data, x_len, y_len, xy_gap)
    inputs = torch.from_numpy(np.ascontiguousarray(x.reshape(-1, x_len))).float()
    targets = torch.from_numpy(np.ascontiguousarray(y.reshape(-1, y_len))).float()
    if layout == "sequence":
        inputs = inputs.unsqueeze(-1)
    fit, cut = n_fit * values.shape[1], n_train * values.shape[1]
    options.check_train_size(fit)
    loaders = options.loaders(
        TensorDataset(inputs[:fit], targets[:fit]), TensorDataset(inputs[cut:], targets[cut:])
    )
    val_loader = (
        None if n_val == 0 else options.val_loader(TensorDataset(inputs[fit:cut], targets[fit:cut]))
    )
    return SequenceBundle(
        name=name,
        task="regression",
        in_features=x_len,
        out_features=y_len,
        train_loader=loaders[0],
        test_loader=loaders[1],
        val_loader=val_loader,
        length=x_len,
        channels=1,
        layout=layout,
        series_mean=mean,
        series_std=std,
    )


def read_series(name: str, path: str, columns: list[str] | str | None) -> np.ndarray:
    """The chosen numeric columns of a CSV file as a ``(T, n_columns)`` array.

    ``columns=None`` takes every column but the first (the timestamps, in tinybig's files).

    Raises
    ------
    ConfigError
        For a missing file or column, a ragged row, or a value that is not a number.
    """
    file = check_path(name, "path", path)
    header, rows = read_table(name, file)
    wanted = header[1:] if columns is None else [columns] if isinstance(columns, str) else columns
    if not isinstance(wanted, list) or not wanted:
        raise ConfigError(f"dataset {name!r}: columns must be a column name or a list of them")
    at = []
    for column in wanted:
        if column not in header:
            raise ConfigError(
                f"dataset {name!r}: columns names {column!r}, not a column of {file.name!r}"
                f"{did_you_mean(str(column), header)}; columns: {list_names(header)}"
            )
        at.append(header.index(column))
    out = np.empty((len(rows), len(at)))
    for r, (line, cells) in enumerate(rows):
        for c, position in enumerate(at):
            try:
                out[r, c] = float(cells[position])
            except ValueError:
                out[r, c] = np.nan
            if not np.isfinite(out[r, c]):
                raise ConfigError(
                    f"dataset {name!r}: {file.name!r} line {line}, column {header[position]!r}: "
                    f"{cells[position]!r} is not a finite number; fill or drop the row"
                )
    return out


def series_csv(
    *,
    path: str,
    columns: list[str] | str | None = None,
    x_len: int = 10,
    y_len: int = 1,
    xy_gap: int = 1,
    layout: str = "flat",
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    val_size: float | int = 0,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> SequenceBundle:
    """Forecasting windows over the columns of a CSV file (rows in time order).

    Parameters
    ----------
    path
        The CSV file, with a header.
    columns
        The series: a column name or a list (each its own univariate series); ``None``:
        every column but the first (the timestamps, as in tinybig's files).
    x_len, y_len, xy_gap
        Input length, target length, and the steps skipped between them (tinybig's
        defaults 10, 1, 1).
    layout
        ``"flat"``: inputs ``(b, x_len)``; ``"sequence"``: ``(b, x_len, 1)``.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader options as in :meth:`DataBundle.from_tensors`, except that the split is
        chronological (the last ``test_size`` of the windows test; the last ``val_size`` of
        the training windows, a fraction or a number of windows, validate) and
        ``standardize`` uses the training windows' statistics, per column, for inputs and
        targets.

    Raises
    ------
    ConfigError
        For a missing file or column, a ragged row, a value that is not a number, or a
        series too short for the windows.
    """
    name = check_path("series_csv", "path", path).stem
    options = SplitOptions.of(name, locals())
    values = read_series(name, path, columns)
    return series_bundle(name, values, x_len=x_len, y_len=y_len, xy_gap=xy_gap,
                         layout=layout, options=options)  # fmt: skip
