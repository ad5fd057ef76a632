"""Offline datasets: bundled and synthetic sets, your own files and torch datasets.

Every factory returns a :class:`DataBundle` (a seeded train/test split as two loaders) and is
registered in the ``dataset`` registry group, so ``rpnkit.build("dataset", "digits")``
and ``rpnkit.data.digits()`` are equivalent. Nothing here downloads data unless asked to
(``torchvision_dataset(download=True)``).

* scikit-learn's bundled sets: :func:`digits`, :func:`iris`, :func:`wine`,
  :func:`breast_cancer`; synthetic function fits: :func:`synthetic_function`;
* files: :func:`csv_dataset`, :func:`parquet_dataset` (extra ``parquet``),
  :func:`npz_dataset` (memory-mapped, streamed when large);
* torch datasets: :func:`torchvision_dataset` (extra ``torchvision``) and
  :func:`torch_dataset` for a ``torch.utils.data.Dataset`` class of your own;
* :class:`BatchLoader`, the loader bundles serve their batches with.

The file and torch dataset factories import their readers only when called.
"""

from typing import TYPE_CHECKING, Any

from rpnkit.data.bundle import DataBundle, Loader, Task
from rpnkit.data.loader import BatchLoader
from rpnkit.data.synthetic import (
    FUNCTIONS,
    SyntheticFunction,
    function_names,
    get_function,
    synthetic_function,
)
from rpnkit.data.tabular import breast_cancer, digits, iris, wine

if TYPE_CHECKING:
    from rpnkit.data.arrays import npz_dataset
    from rpnkit.data.csv_file import csv_dataset
    from rpnkit.data.parquet_file import parquet_dataset
    from rpnkit.data.torch_datasets import torch_dataset
    from rpnkit.data.vision import torchvision_dataset

_LAZY = {
    "csv_dataset": "rpnkit.data.csv_file",
    "npz_dataset": "rpnkit.data.arrays",
    "parquet_dataset": "rpnkit.data.parquet_file",
    "torch_dataset": "rpnkit.data.torch_datasets",
    "torchvision_dataset": "rpnkit.data.vision",
}

__all__ = [
    "FUNCTIONS",
    "BatchLoader",
    "DataBundle",
    "Loader",
    "SyntheticFunction",
    "Task",
    "breast_cancer",
    "csv_dataset",
    "digits",
    "function_names",
    "get_function",
    "iris",
    "npz_dataset",
    "parquet_dataset",
    "synthetic_function",
    "torch_dataset",
    "torchvision_dataset",
    "wine",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rpnkit.data' has no attribute {name!r}")
