"""Targets read from a file: class names kept, class indices for training, or regression values.

A target column of strings or integers is a classification target: its distinct values,
sorted (numerically for numbers), become the class names, and each sample gets the index of
its value, so a prediction ``i`` reads back as ``classes[i]`` in the file's own labels. A
floating-point target is a regression target. ``task`` overrides the guess either way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["TASKS", "EncodedTargets", "check_task", "encode_targets", "short"]

#: Valid values of a file dataset's ``task`` parameter.
TASKS: tuple[str, ...] = ("auto", "classification", "regression")
EncodedTargets = tuple[Literal["classification", "regression"], Tensor, tuple[str, ...] | None]


def short(value: object, limit: int = 24) -> str:
    """``repr(value)``, cut to about ``limit`` characters so an error message stays one line."""
    text = repr(value) if not isinstance(value, str) else repr(value.replace("\n", " "))
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def check_task(dataset: str, task: object) -> str:
    """Return ``task`` if it is one of :data:`TASKS`, else raise :class:`ConfigError`."""
    if task in TASKS:
        return str(task)
    raise ConfigError(
        f"dataset {dataset!r}: task={task!r} is not valid{did_you_mean(str(task), TASKS)}; "
        f"expected {', '.join(map(repr, TASKS))}"
    )


def encode_targets(dataset: str, source: str, values: np.ndarray, task: str) -> EncodedTargets:
    """Turn the target values of a file into training targets.

    Parameters
    ----------
    dataset
        Dataset name, for error messages.
    source
        What the values are, for error messages (``"target column 'species'"``).
    values
        One value per sample: shape ``(n,)``, or ``(n, k)`` for a regression target.
    task
        ``"auto"``, ``"classification"`` or ``"regression"``.

    Returns
    -------
    tuple
        ``(task, targets, classes)``: ``int64`` class indices of shape ``(n,)`` and the class
        names, or ``float32`` values and ``None``.

    Raises
    ------
    ConfigError
        For text targets asked to be regressed, a classification target of fewer than two
        classes or of more than one column, or non-finite regression values.
    """
    kind = values.dtype.kind
    numeric = kind in "biuf"
    if task == "auto":
        task = "regression" if kind == "f" else "classification"
    if task == "regression":
        if not numeric:
            raise ConfigError(
                f"dataset {dataset!r}: {source} holds text, which cannot be a regression target; "
                "use task: classification (or auto)"
            )
        data = values.astype(np.float32)
        bad = np.flatnonzero(~np.isfinite(data).reshape(len(data), -1).all(axis=1))
        if len(bad):
            raise ConfigError(
                f"dataset {dataset!r}: {source} has a missing or non-finite value at row "
                f"{int(bad[0]) + 1}; fill or drop it"
            )
        return "regression", torch.from_numpy(data), None
    if values.ndim != 1:
        raise ConfigError(
            f"dataset {dataset!r}: a classification target must be one label per sample, "
            f"{source} has shape {values.shape}"
        )
    if kind == "f" and not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
        raise ConfigError(
            f"dataset {dataset!r}: {source} has a missing value at row {row}; fill or drop it"
        )
    names, indices = np.unique(values if numeric else values.astype(str), return_inverse=True)
    if len(names) < 2:
        label = short(str(names[0])) if len(names) else "none"
        raise ConfigError(
            f"dataset {dataset!r}: {source} has a single class ({label}); classification needs "
            "at least 2"
        )
    classes = tuple(str(name) for name in names.tolist())
    return "classification", torch.from_numpy(indices.reshape(-1).astype(np.int64)), classes
