"""File paths and column names given in a dataset config, checked with helpful messages.

Every file dataset (``csv``, ``parquet``, ``npz``) checks its ``path`` here: a missing file
names close matches in its folder, an empty one says so. Table datasets pick their target and
feature columns with :func:`select_columns`, which suggests close names for a typo.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["check_path", "list_names", "select_columns"]


def list_names(names: Sequence[str], limit: int = 8) -> str:
    """``names`` quoted and comma-separated, the first ``limit`` of them, for an error message."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown if len(names) <= limit else f"{shown}, ... ({len(names)} in all)"


def check_path(dataset: str, field: str, path: object, *, directory: bool = False) -> Path:
    """Return ``path`` as a :class:`~pathlib.Path` if it names an existing, non-empty file.

    Parameters
    ----------
    dataset
        Dataset kind, for the message (``"csv"``).
    field
        The parameter holding the path (``"path"``).
    path
        The value given: a string or path-like object. Relative paths are relative to the
        current working directory.
    directory
        Accept a folder too.

    Raises
    ------
    ConfigError
        For a value that is not a path, a path that does not exist (with close matches in
        its folder), a folder where a file is needed, or an empty file.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ConfigError(f"dataset {dataset!r}: {field} must be a file path, got {path!r}")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        folder = resolved.parent
        if folder.is_dir():
            hint = did_you_mean(resolved.name, [p.name for p in folder.iterdir()])
        else:
            hint = f" (folder {str(folder)!r} does not exist)"
        if not resolved.is_absolute():
            hint += f"; looked for {str(resolved.absolute())!r}"
        raise ConfigError(f"dataset {dataset!r}: {field}={str(path)!r} does not exist{hint}")
    if resolved.is_dir():
        if directory:
            return resolved
        raise ConfigError(f"dataset {dataset!r}: {field}={str(path)!r} is a folder, not a file")
    if resolved.stat().st_size == 0:
        raise ConfigError(f"dataset {dataset!r}: {field}={str(path)!r} is an empty file")
    return resolved


def select_columns(
    dataset: str, columns: Sequence[str], target: object, features: object
) -> tuple[int, list[int]]:
    """Return the position of the target column and of the feature columns.

    Parameters
    ----------
    dataset
        Dataset name, for the message.
    columns
        The table's column names, in order.
    target
        The ``target`` parameter: one column name.
    features
        The ``features`` parameter: a list of column names, one name, or ``None`` for every
        column but the target.

    Raises
    ------
    ConfigError
        For a header naming a column twice, a name that is not a column (with close
        matches), a name used twice, a target also listed as a feature, or no feature column at all.
    """
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(columns):
        positions.setdefault(name, []).append(i)
        if len(positions[name]) == 2:  # predict reads columns by name: the header must be too
            first, second = positions[name]
            raise ConfigError(
                f"dataset {dataset!r}: column {name!r} appears twice in the header (columns "
                f"{first + 1} and {second + 1}); give the columns distinct names"
            )

    def find(field: str, name: object) -> int:
        if not isinstance(name, str):
            raise ConfigError(f"dataset {dataset!r}: {field} must be a column name, got {name!r}")
        if name not in positions:
            raise ConfigError(
                f"dataset {dataset!r}: {field}={name!r} is not a column"
                f"{did_you_mean(name, list(positions))}; columns: {list_names(columns)}"
            )
        return positions[name][0]

    target_at = find("target", target)
    if features is None:
        chosen = [i for i in range(len(columns)) if i != target_at]
    else:
        names = [features] if isinstance(features, str) else features
        if not isinstance(names, Sequence) or not names:
            raise ConfigError(
                f"dataset {dataset!r}: features must be a non-empty list of column names (or "
                f"left out for every column but the target), got {features!r}"
            )
        chosen = [find("features", name) for name in names]
        if len(set(chosen)) != len(chosen):
            raise ConfigError(f"dataset {dataset!r}: features lists a column twice")
        if target_at in chosen:
            raise ConfigError(
                f"dataset {dataset!r}: features include the target column {target!r}; "
                "a model must not see its own target"
            )
    if not chosen:
        raise ConfigError(
            f"dataset {dataset!r}: no feature column is left besides the target {target!r}"
        )
    return target_at, chosen
