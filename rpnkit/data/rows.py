"""Rows of a memory-mapped feature array, served batch by batch: :class:`MappedRows`.

A split of a file larger than memory is a list of row numbers into the mapped array. A
:class:`~rpnkit.data.loader.BatchLoader` asks :meth:`MappedRows.gather` for a whole batch:
only those rows are read from the file (in file order, for locality), converted to
``float32`` and standardised there. :func:`train_statistics` computes the standardisation
statistics in one pass over the training rows, a bounded chunk at a time.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from rpnkit.data.mapped import ArrayRef
from rpnkit.errors import ConfigError

__all__ = ["MappedRows", "train_statistics"]

_CHUNK_BYTES = 64 << 20  # float64 bytes of one chunk of the statistics pass


class MappedRows(Dataset[tuple[Tensor, Tensor]]):
    """Some rows of a mapped feature array, with their targets in memory.

    Parameters
    ----------
    array
        The feature array: one sample per row, any further dimensions flattened.
    targets
        The targets of the selected rows, in the order of ``rows``.
    rows
        The selected row numbers of ``array``.
    mean, std
        Standardisation statistics (``float64``, one per feature), or ``None``.

    Notes
    -----
    Pickling it (for DataLoader worker processes) pickles the file's location, not its data;
    each process maps the file itself.
    """

    def __init__(
        self,
        array: ArrayRef,
        targets: Tensor,
        rows: np.ndarray,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
    ) -> None:
        self.array = array
        self.targets = targets
        self.rows = rows
        self.mean = mean
        self.std = std
        self.in_features = int(np.prod(array.shape[1:], dtype=np.int64))
        self._data: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def _mapped(self) -> np.ndarray:
        if self._data is None:
            self._data = self.array.open()
        return self._data

    def gather(self, rows: Tensor) -> tuple[Tensor, Tensor]:
        """Features (``float32``, standardised if asked) and targets of the rows ``rows``."""
        positions = rows.cpu().numpy()
        ids = self.rows[positions]
        order = np.argsort(ids, kind="stable")
        block = self._mapped()[ids[order]].reshape(len(ids), self.in_features)
        values = block.astype(np.float64)
        if self.mean is not None and self.std is not None:
            values = (values - self.mean) / self.std
        features = np.empty((len(ids), self.in_features), dtype=np.float32)
        features[order] = values
        return torch.from_numpy(features), self.targets[torch.from_numpy(positions)]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        features, targets = self.gather(torch.tensor([index]))
        return features[0], targets[0]

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_data"] = None
        return state


def train_statistics(
    dataset: str, field: str, array: ArrayRef, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of the rows ``rows``, read a chunk at a time.

    The values are shifted by the first row before summing, so a constant feature gets a
    standard deviation of exactly 0 (replaced by 1, as for data in memory).

    Returns
    -------
    tuple of numpy.ndarray
        ``float64`` mean and standard deviation (population, ``ddof=0``).

    Raises
    ------
    ConfigError
        If a training row holds a non-finite value, naming the row.
    """
    data = array.open()
    width = int(np.prod(array.shape[1:], dtype=np.int64))
    chunk = max(1, _CHUNK_BYTES // (8 * width))
    ordered = np.sort(rows)
    shift = np.asarray(data[ordered[0]], dtype=np.float64).reshape(width)
    count, mean, m2 = 0, np.zeros(width), np.zeros(width)
    for start in range(0, len(ordered), chunk):
        ids = ordered[start : start + chunk]
        block = np.asarray(data[ids], dtype=np.float64).reshape(len(ids), width) - shift
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = int(ids[np.flatnonzero(~finite)[0]])
            raise ConfigError(
                f"dataset {dataset!r}: {field} has a missing or non-finite value in row "
                f"{row + 1}; features must be finite numbers"
            )
        size = len(block)
        block_mean = block.mean(axis=0)
        block_m2 = ((block - block_mean) ** 2).sum(axis=0)
        delta = block_mean - mean
        total = count + size
        mean = mean + delta * (size / total)
        m2 = m2 + block_m2 + delta**2 * (count * size / total)
        count = total
    std = np.sqrt(m2 / count)
    return mean + shift, np.where(std > 0, std, 1.0)
