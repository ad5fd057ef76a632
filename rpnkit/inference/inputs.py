"""New inputs for a trained run, read from a CSV, NumPy or Parquet file and checked against it.

A table (CSV, Parquet) must hold the run's feature columns by name, in any order, and no
other column (the target, too, when the caller reads labels); a missing or extra column, a
missing value or a non-numeric cell is a one-line :class:`~rpnkit.errors.ConfigError` naming
it. A NumPy file gives one array of shape ``(n, ...)``, flattened per row. Either way the
number of features must be the model's.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rpnkit.data.csv_file import (
    FLOAT32_MAX,
    MISSING,
    csv_problem,
    not_utf8,
    out_of_float32,
    target_values,
)
from rpnkit.data.csv_rows import read_header, rows_as_wide
from rpnkit.data.files import list_names
from rpnkit.data.labels import short
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.inference.preprocessing import Preprocessing

__all__ = ["SUFFIXES", "InputTable", "read_input"]

#: File types :func:`read_input` reads, by suffix.
SUFFIXES: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".npz": "numpy",
    ".npy": "numpy",
    ".parquet": "parquet",
    ".pq": "parquet",
}


@dataclass(frozen=True)
class InputTable:
    """Raw features read from a file (``float64``, ``(n, in_features)``) and, if asked, targets."""

    features: np.ndarray
    targets: np.ndarray | None


def read_input(
    path: str | os.PathLike[str],
    preprocessing: Preprocessing,
    *,
    target: str | None = None,
    labels: bool = False,
    array: str | None = None,
    delimiter: str | None = None,
    what: str = "INPUT",
) -> InputTable:
    """Read the features (and with ``labels`` the targets) of a file for a trained run.

    Parameters
    ----------
    path
        A ``.csv`` / ``.tsv`` file with a header line, an ``.npz`` archive, an ``.npy``
        array or a ``.parquet`` file (the ``parquet`` extra).
    preprocessing
        The run's record: its feature names and width are checked.
    target
        The run's target column (or label array) name: read with ``labels``, and named in the
        error for an extra column otherwise.
    labels
        Read the targets too (``rpnkit evaluate --data``).
    array
        The feature array of an ``.npz`` archive (default: its only array, or ``x``).
    delimiter
        The CSV field separator (default: tab for ``.tsv``, else comma).
    what
        How messages name the file.

    Raises
    ------
    ConfigError
        For a missing file, an unknown file type, a missing or extra column, a non-numeric
        or missing value, or a number of features other than the model's.
    """
    file = Path(path)
    where = f"{what} {str(path)!r}"
    if not file.is_file():
        state = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise ConfigError(f"{where} {state}")
    kind = SUFFIXES.get(file.suffix.lower())
    if kind is None:
        raise ConfigError(
            f"{where}: unknown file type {file.suffix or '(none)'!r}; expected one of "
            f"{', '.join(SUFFIXES)}"
        )
    if labels and target is None:
        raise ConfigError(f"{where}: the run's target column is not known, so it cannot be read")
    if kind == "csv":
        sep = delimiter or ("\t" if file.suffix.lower() == ".tsv" else ",")
        table = _read_csv(file, where, preprocessing, target, labels, sep)
    elif kind == "numpy":
        table = _read_numpy(file, where, target if labels else None, array)
    else:
        table = _read_parquet(file, where, preprocessing, target, labels)
    _check_width(table.features, where, preprocessing)
    return table


def _check_width(x: np.ndarray, where: str, preprocessing: Preprocessing) -> None:
    width = preprocessing.in_features
    if width is not None and x.shape[1] != width:
        raise ConfigError(
            f"{where} has {x.shape[1]} feature(s) per row; the run's model takes {width}"
        )
    if len(x) == 0:
        raise ConfigError(f"{where} has no rows")


def _select(
    columns: Sequence[str],
    where: str,
    preprocessing: Preprocessing,
    target: str | None,
    labels: bool,
) -> tuple[list[int], int | None]:
    """Positions of the feature columns (in the run's order) and of the target column."""
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise ConfigError(f"{where}: column {name!r} appears twice in the header")
        seen.add(name)
    target_at = None
    if labels:
        if target not in seen:
            raise ConfigError(
                f"{where} lacks the target column {target!r}"
                f"{did_you_mean(str(target), columns)}; columns: {list_names(columns)}"
            )
        target_at = list(columns).index(str(target))
    names = preprocessing.feature_names
    if names is None:  # features without names: every other column, in file order
        return [i for i in range(len(columns)) if i != target_at], target_at
    others = [c for c in columns if c not in names and c != (target if labels else None)]
    for name in names:
        if name not in seen:
            raise ConfigError(
                f"{where} lacks the feature column {name!r}{did_you_mean(name, others)}; the "
                f"run's features: {list_names(names)}"
            )
    if others:
        hint = (
            " (the run's target; `rpnkit evaluate RUN_DIR --data FILE` scores a labelled file)"
            if others[0] == target
            else ""
        )
        raise ConfigError(
            f"{where} has the column {others[0]!r}, which is not a feature of the run{hint}; "
            f"remove it (the run's features: {list_names(names)})"
        )
    return [list(columns).index(name) for name in names], target_at


def _read_csv(
    file: Path,
    where: str,
    preprocessing: Preprocessing,
    target: str | None,
    labels: bool,
    delimiter: str,
) -> InputTable:
    try:
        with file.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream, delimiter=delimiter)
            columns = read_header(reader, where)
            chosen, target_at = _select(columns, where, preprocessing, target, labels)
            rows: list[list[float]] = []
            values: list[str] = []
            for row in rows_as_wide(reader, where, len(columns)):
                rows.append([_number(row[j], columns[j], len(rows) + 1, where) for j in chosen])
                if target_at is not None:
                    values.append(row[target_at].strip())
    except UnicodeDecodeError:
        raise not_utf8(where, file) from None
    except csv.Error as exc:
        raise csv_problem(where, exc, reader.line_num) from None
    x = np.array(rows, dtype=np.float64).reshape(len(rows), len(chosen))
    return InputTable(x, None if target_at is None else target_values(where, target, values))


def _number(cell: str, column: str, row: int, where: str) -> float:
    if cell.strip().lower() in MISSING:
        raise ConfigError(f"{where}: column {column!r} has a missing value at row {row}")
    try:
        value = float(cell)
    except ValueError:
        raise ConfigError(
            f"{where}: column {column!r} is not numeric: row {row} holds {short(cell)}"
        ) from None
    if not np.isfinite(value):
        raise ConfigError(f"{where}: column {column!r} holds {short(cell)} at row {row}")
    if abs(value) > FLOAT32_MAX:
        raise out_of_float32(f"{where}: column {column!r}", cell, f"row {row}")
    return value


#: The first bytes of a ``.npy`` array and of an ``.npz`` (zip) archive.
_MAGIC = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")


def _numpy_problem(where: str, exc: Exception) -> ConfigError:
    """One line for a NumPy file ``np.load`` refuses, without numpy's advice to unpickle it."""
    text = str(exc)
    if "pickle" in text or "Object arrays" in text:
        return ConfigError(
            f"{where} holds Python objects (pickled data), which rpnkit never loads; save the "
            "values as a numeric array (np.save / np.savez)"
        )
    return ConfigError(f"{where} is not a readable NumPy file ({text.split('. ')[0]})")


def _member(loaded: Any, name: str, where: str) -> np.ndarray:
    """Array ``name`` of an open ``.npz`` archive (object arrays refused, never unpickled)."""
    try:
        return np.asarray(loaded[name])
    except (OSError, ValueError) as exc:
        raise _numpy_problem(f"{where}: array {name!r}", exc) from None


def _read_numpy(file: Path, where: str, label_array: str | None, array: str | None) -> InputTable:
    with file.open("rb") as stream:
        start = stream.read(6)
    if not any(start.startswith(magic[: len(start)]) for magic in _MAGIC) or not start:
        raise ConfigError(
            f"{where} is neither a .npy array nor an .npz archive (it starts with {start!r})"
        )
    try:
        loaded: Any = np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise _numpy_problem(where, exc) from None
    if isinstance(loaded, np.ndarray):
        if label_array is not None:
            raise ConfigError(f"{where} is one .npy array; labels need an .npz with both arrays")
        return InputTable(_numeric(loaded, where, "the array"), None)
    with loaded:
        names = list(loaded.files)
        wanted = [n for n in names if n != label_array]
        name = array or (wanted[0] if len(wanted) == 1 else "x")
        if name not in names:
            raise ConfigError(
                f"{where} has no array {name!r}{did_you_mean(name, names)}; arrays: "
                f"{list_names(names)}"
            )
        features = _numeric(_member(loaded, name, where), where, f"array {name!r}")
        targets = None
        if label_array is not None:
            if label_array not in names:
                raise ConfigError(
                    f"{where} has no label array {label_array!r}; arrays: {list_names(names)}"
                )
            targets = _member(loaded, label_array, where)
            if len(targets) != len(features):
                raise ConfigError(
                    f"{where}: {len(targets)} labels for {len(features)} rows of features"
                )
    return InputTable(features, targets)


def _numeric(values: np.ndarray, where: str, what: str) -> np.ndarray:
    if values.dtype.kind not in "biuf":
        raise ConfigError(f"{where}: {what} is not numeric ({values.dtype})")
    if values.ndim == 0:
        raise ConfigError(f"{where}: {what} is a single number, not one row per sample")
    x = values.reshape(len(values), -1).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        raise ConfigError(f"{where}: {what} has a missing or non-finite value in row {bad[0] + 1}")
    if x.size and np.abs(x).max() > FLOAT32_MAX:
        row = int(np.flatnonzero((np.abs(x) > FLOAT32_MAX).any(axis=1))[0])
        largest = f"{float(np.abs(x[row]).max()):.4g}"
        raise out_of_float32(f"{where}: {what}", largest, f"row {row + 1}")
    return x


def _read_parquet(
    file: Path, where: str, preprocessing: Preprocessing, target: str | None, labels: bool
) -> InputTable:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError(
            f"{where}: reading Parquet needs pyarrow; install it with pip install 'rpnkit[parquet]'"
        ) from None
    try:
        table = pyarrow.parquet.read_table(file)
    except (pyarrow.ArrowInvalid, OSError) as exc:
        raise ConfigError(f"{where} is not a readable Parquet file ({exc})") from None
    columns = list(table.schema.names)
    chosen, target_at = _select(columns, where, preprocessing, target, labels)
    x = np.empty((table.num_rows, len(chosen)), dtype=np.float64)
    for k, j in enumerate(chosen):
        column = table.column(j)
        kind = column.type
        if not (pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind)):
            raise ConfigError(f"{where}: column {columns[j]!r} is not numeric ({kind})")
        if column.null_count:
            raise ConfigError(f"{where}: column {columns[j]!r} has a missing value")
        x[:, k] = column.to_numpy()
    targets = None
    if target_at is not None:
        column = table.column(target_at)
        if column.null_count:
            raise ConfigError(f"{where}: target column {target!r} has a missing value")
        values = column.to_pylist()
        targets = (
            np.array([str(v) for v in values]) if isinstance(values[0], str) else np.array(values)
        )
    return InputTable(_numeric(x, where, "the features"), targets)
