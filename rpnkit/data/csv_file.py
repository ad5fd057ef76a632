"""The ``csv`` dataset: a delimited text file with a header line, read with the csv module.

One column is the target; the features are the columns listed in ``features``, or every
other column. Feature cells must be numbers: a missing value (an empty cell, ``NA``, ``NaN``,
``null``, ``?``) or text is an error naming the column and the row, not a silent ``NaN``.
String or integer targets make a classification set whose class names are the file's own
labels; a target with decimals makes a regression set.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rpnkit.data.bundle import DataBundle
from rpnkit.data.csv_rows import read_header, rows_as_wide
from rpnkit.data.files import check_path, select_columns
from rpnkit.data.labels import check_task, short
from rpnkit.data.memory import check_fits, format_bytes
from rpnkit.data.options import SplitOptions
from rpnkit.data.table import table_bundle
from rpnkit.errors import ConfigError

__all__ = [
    "FLOAT32_MAX",
    "MISSING",
    "csv_dataset",
    "csv_problem",
    "not_utf8",
    "out_of_float32",
    "target_values",
]

#: Cell texts read as a missing value (compared without case and surrounding spaces).
MISSING = frozenset({"", "na", "n/a", "nan", "null", "?"})
#: The largest magnitude a ``float32`` holds. Models compute in ``float32``, so a value beyond
#: it (``1e39``, finite in ``float64``) would become infinite and every loss NaN: it is refused.
FLOAT32_MAX = float(np.finfo(np.float32).max)
_CHUNK = 65536  # rows converted to numbers at a time


def csv_dataset(
    *,
    path: str,
    target: str,
    features: Sequence[str] | None = None,
    delimiter: str = ",",
    task: str = "auto",
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
    standardize_target: bool = True,
) -> DataBundle:
    """Read a CSV file with a header line into a seeded train/test split.

    Parameters
    ----------
    path
        The file; relative paths start at the working directory. UTF-8 (a byte-order mark
        is skipped).
    target
        Name of the target column.
    features
        Names of the feature columns, in the order the model sees them; ``None`` takes every
        column but the target, in file order.
    delimiter
        The one character between fields (``","``, ``";"``, ``"\\t"``).
    task
        ``"auto"``: classification for a target of integers or text, regression for a target
        with decimals; or ``"classification"`` / ``"regression"`` to say so (an integer
        target can be regressed, decimals can be class labels).
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors`.
    standardize_target
        Standardise a regression target with the training split's statistics (on by
        default; ``predict``, ``evaluate`` and ``export`` give values in the target's own
        units, and metrics are reported in them). Ignored for classification.

    Returns
    -------
    DataBundle
        Named after the file. For classification ``classes`` holds the target's distinct
        values, sorted (numerically for integers): class index ``i`` is ``classes[i]``.

    Raises
    ------
    ConfigError
        For a missing or empty file, an unknown column (with close matches), a row with
        another number of fields than the header, a missing or non-numeric feature value
        (naming the column and the row), or a file too large for memory.
    """
    file = check_path("csv", "path", path)
    name = file.name
    options = SplitOptions.of(name, locals())
    task = check_task(name, task)
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in '\r\n"':
        raise ConfigError(
            f"dataset {name!r}: delimiter must be one character such as ',', ';' or '\\t', "
            f"got {delimiter!r}"
        )
    size = file.stat().st_size
    # Every value takes two bytes of the file at least: the float64 matrix and the split's
    # copies stay within about eight times the file's size.
    check_fits(
        name,
        f"path={str(path)!r} ({format_bytes(size)})",
        8.0 * size,
        "convert it to .npy arrays, which the 'npz' dataset reads batch by batch",
    )
    where = f"dataset {name!r}: {str(path)!r}"
    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream, delimiter=delimiter)
            columns = read_header(reader, where)
            target_at, chosen = select_columns(name, columns, target, features)
            blocks: list[np.ndarray] = []
            labels: list[str] = []
            rows: list[list[str]] = []
            lines: list[int] = []
            for row in rows_as_wide(reader, where, len(columns)):
                rows.append(row)
                lines.append(reader.line_num)
                if len(rows) == _CHUNK:
                    blocks.append(_numbers(name, rows, lines, len(labels), columns, chosen))
                    labels.extend(r[target_at].strip() for r in rows)
                    rows, lines = [], []
            if rows:
                blocks.append(_numbers(name, rows, lines, len(labels), columns, chosen))
                labels.extend(r[target_at].strip() for r in rows)
    except UnicodeDecodeError:
        raise not_utf8(where, file) from None
    except csv.Error as exc:
        raise csv_problem(where, exc, reader.line_num) from None
    if not labels:
        raise ConfigError(f"{where} has a header line but no rows")
    values = target_values(f"dataset {name!r}", columns[target_at], labels)
    names = [columns[j] for j in chosen]
    return table_bundle(
        name, np.concatenate(blocks), values, columns[target_at], task, options, names
    )


def _numbers(
    name: str,
    rows: list[list[str]],
    lines: list[int],
    before: int,
    columns: list[str],
    chosen: list[int],
) -> np.ndarray:
    """The chosen columns of ``rows`` as a ``float64`` matrix; an error for any bad cell."""
    cells = [[row[j] for j in chosen] for row in rows]
    try:
        block = np.array(cells, dtype=np.float64)
    except ValueError:
        block = None
    if block is not None and np.isfinite(block).all() and _within_float32(block):
        return block
    for r, row in enumerate(cells):
        for k, cell in enumerate(row):
            where = f"row {before + r + 1} (line {lines[r]})"
            column = columns[chosen[k]]
            if cell.strip().lower() in MISSING:
                raise ConfigError(
                    f"dataset {name!r}: column {column!r} has a missing value at {where}; "
                    "fill it or drop the row"
                )
            try:
                number = float(cell)
            except ValueError:
                raise ConfigError(
                    f"dataset {name!r}: column {column!r} is not numeric: {where} holds "
                    f"{short(cell)}; leave it out of features or encode it as numbers"
                ) from None
            if not np.isfinite(number):
                raise ConfigError(
                    f"dataset {name!r}: column {column!r} holds the non-finite value "
                    f"{short(cell)} at {where}; features must be finite numbers"
                )
            if abs(number) > FLOAT32_MAX:
                raise out_of_float32(f"dataset {name!r}: column {column!r}", cell, where)
    raise AssertionError("a chunk failed to convert but no cell is bad")


def target_values(where: str, column: str | None, labels: list[str]) -> np.ndarray:
    """A target column's text as integers, else floats, else text.

    ``where`` starts the error message for a missing value (``"dataset 'x.csv'"``).
    """
    for i, label in enumerate(labels):
        if label.lower() in MISSING:
            raise ConfigError(
                f"{where}: target column {column!r} has a missing value at row {i + 1}; fill "
                "it or drop the row"
            )
    text = np.array(labels)
    for dtype in (np.int64, np.float64):
        try:
            values = text.astype(dtype)
        except (ValueError, OverflowError):
            continue
        if dtype is np.float64 and not _within_float32(values):
            i = int(np.flatnonzero(~(np.abs(values) <= FLOAT32_MAX))[0])
            raise out_of_float32(f"{where}: target column {column!r}", labels[i], f"row {i + 1}")
        return values
    return text


def _within_float32(values: np.ndarray) -> bool:
    """Whether every value of a ``float64`` array is finite as a ``float32`` too."""
    return values.size == 0 or bool(np.abs(values).max() <= FLOAT32_MAX)


def out_of_float32(what: str, cell: str, where: str) -> ConfigError:
    """The error for a value finite in ``float64`` but beyond ``float32``'s range.

    Parameters
    ----------
    what
        The start of the message, naming the file and column.
    cell
        The value as written in the file.
    where
        The row (and line) holding it.
    """
    return ConfigError(
        f"{what} holds {short(cell.strip())} at {where}, beyond float32's range "
        f"(±{FLOAT32_MAX:.4g}) in which the model computes; rescale the column"
    )


def not_utf8(where: str, file: Path) -> ConfigError:
    """The error for a text file that is not UTF-8, naming the first bad byte and its line.

    The file is read again in binary (only on this error path) to find the byte's offset.

    Parameters
    ----------
    where
        The start of the message, naming the file (``"dataset 'x.csv': 'data/x.csv'"``).
    file
        The file.
    """
    offset = line = 0
    carry = b""
    with file.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            data = carry + chunk
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.end < len(data) or exc.reason != "unexpected end of data":
                    byte = data[exc.start]
                    line += data.count(b"\n", 0, exc.start) + 1
                    return ConfigError(
                        f"{where} is not UTF-8 text: byte 0x{byte:02x} at line {line} (offset "
                        f"{offset + exc.start}); save the file as UTF-8"
                    )
                data, carry = data[: exc.start], data[exc.start :]  # a character cut by the chunk
            else:
                carry = b""
            offset += len(data)
            line += data.count(b"\n")
    return ConfigError(f"{where} is not UTF-8 text (it ends inside a character); save it as UTF-8")


def csv_problem(where: str, exc: csv.Error, line: int) -> ConfigError:
    """The error for a line the ``csv`` reader refuses (a field over its size limit above all).

    Parameters
    ----------
    where
        The start of the message, naming the file.
    exc
        The reader's error.
    line
        The line the reader stopped at.
    """
    if "field limit" in str(exc):
        return ConfigError(
            f"{where}: line {line} has a field over {csv.field_size_limit():,} characters "
            "(128 KiB), the CSV reader's limit; no number is that long: look for an unclosed "
            "quote or the wrong delimiter"
        )
    return ConfigError(f"{where}: line {line} is not valid CSV ({exc})")
