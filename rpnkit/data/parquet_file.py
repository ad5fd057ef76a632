"""The ``parquet`` dataset: a Parquet file read with pyarrow (the ``parquet`` extra).

It takes the same columns and options as the ``csv`` dataset; the column types come from the
file instead of being guessed from text: integer, boolean and text targets make a
classification set (class names kept), floating-point targets a regression set. Only the
columns used are read. Install the reader with ``pip install 'rpnkit[parquet]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rpnkit.data.bundle import DataBundle
from rpnkit.data.files import check_path, select_columns
from rpnkit.data.labels import check_task
from rpnkit.data.memory import check_fits
from rpnkit.data.options import SplitOptions
from rpnkit.data.table import table_bundle
from rpnkit.errors import ConfigError

__all__ = ["parquet_dataset"]


def _pyarrow() -> tuple[Any, Any, Any]:
    """``(pyarrow, pyarrow.compute, pyarrow.parquet)``, or a one-line error naming the extra."""
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
    except ImportError as exc:
        raise ConfigError(
            "dataset 'parquet' needs pyarrow, which is not installed; "
            "install it with pip install 'rpnkit[parquet]'"
        ) from exc
    return pyarrow, pyarrow.compute, pyarrow.parquet


def parquet_dataset(
    *,
    path: str,
    target: str,
    features: Sequence[str] | None = None,
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
    """Read a Parquet file into a seeded train/test split.

    Parameters
    ----------
    path
        The file; relative paths start at the working directory.
    target
        Name of the target column.
    features
        Names of the feature columns, in the order the model sees them; ``None`` takes every
        column but the target, in file order.
    task
        ``"auto"`` (classification for integer, boolean or text targets, regression for
        floating-point ones), ``"classification"`` or ``"regression"``.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors`.
    standardize_target
        Standardise a regression target with the training split's statistics (on by
        default; ``predict``, ``evaluate`` and ``export`` give values in the target's own
        units, and metrics are reported in them). Ignored for classification.

    Returns
    -------
    DataBundle
        Named after the file, with the target's class names for classification.

    Raises
    ------
    ConfigError
        Without pyarrow (naming the extra to install), for a missing, empty or unreadable
        file, an unknown column (with close matches), a non-numeric feature column, a
        missing value (naming the column and the row), or a table too large for memory.
    """
    pa, pc, pq = _pyarrow()
    file = check_path("parquet", "path", path)
    name = file.name
    options = SplitOptions.of(name, locals())
    task = check_task(name, task)
    try:
        reader = pq.ParquetFile(file)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ConfigError(
            f"dataset {name!r}: {str(path)!r} is not a readable Parquet file "
            f"({str(exc).splitlines()[0][:120]})"
        ) from None
    schema = reader.schema_arrow
    columns = list(schema.names)
    target_at, chosen = select_columns(name, columns, target, features)
    for j in chosen:
        kind = schema.field(j).type
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)
        ):
            raise ConfigError(
                f"dataset {name!r}: column {columns[j]!r} is not numeric ({kind}); leave it out "
                "of features or encode it as numbers"
            )
    n_rows = reader.metadata.num_rows
    if n_rows == 0:
        raise ConfigError(f"dataset {name!r}: {str(path)!r} has no rows")
    check_fits(
        name,
        f"path={str(path)!r} ({n_rows} rows of {len(chosen)} features)",
        32.0 * n_rows * (len(chosen) + 1),
        "use fewer columns, or save the features as .npy arrays for the 'npz' dataset",
    )
    table = reader.read(columns=[columns[j] for j in (*chosen, target_at)])
    x = np.empty((n_rows, len(chosen)), dtype=np.float64)
    for k, j in enumerate(chosen):
        column = table.column(k)
        _check_no_nulls(name, columns[j], column, pc)
        x[:, k] = column.to_numpy().astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(x[:, k]))
        if len(bad):
            raise ConfigError(
                f"dataset {name!r}: column {columns[j]!r} has a missing or non-finite value at "
                f"row {int(bad[0]) + 1}; fill it or drop the row"
            )
    labels = table.column(len(chosen))
    _check_no_nulls(name, columns[target_at], labels, pc, "target column")
    kind = labels.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        values = labels.to_numpy()
    else:
        values = np.array([str(v) for v in labels.to_pylist()])
    names = [columns[j] for j in chosen]
    return table_bundle(name, x, values, columns[target_at], task, options, names)


def _check_no_nulls(name: str, column: str, values: Any, pc: Any, what: str = "column") -> None:
    """Raise :class:`ConfigError` naming the first null row of ``values``, if any."""
    if values.null_count:
        first = int(np.flatnonzero(pc.is_null(values).to_numpy(zero_copy_only=False))[0]) + 1
        raise ConfigError(
            f"dataset {name!r}: {what} {column!r} has a missing value at row {first}; fill it "
            "or drop the row"
        )
