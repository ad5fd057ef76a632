"""The ``npz`` dataset (also ``npy``): NumPy arrays of features and labels, memory-mapped.

The arrays come from an ``.npz`` archive (``np.savez(path, x=..., y=...)``) or a folder of
``.npy`` files (``x.npy``, ``y.npy``). Features of any shape are flattened to one vector per
sample. The feature array is memory-mapped: when it does not fit in memory (or with
``stream: true``) the bundle serves every batch straight from the file, reading only that
batch's rows, so a file larger than memory trains. Labels are always read into memory.
"""

from __future__ import annotations

import numpy as np
import torch

from rpnkit.data.bundle import DataBundle
from rpnkit.data.csv_file import FLOAT32_MAX, out_of_float32
from rpnkit.data.files import check_path
from rpnkit.data.labels import check_task, encode_targets
from rpnkit.data.mapped import ArrayRef, open_array
from rpnkit.data.memory import check_fits, physical_memory
from rpnkit.data.options import SplitOptions
from rpnkit.data.rows import MappedRows, train_statistics
from rpnkit.data.tensors import statistics
from rpnkit.errors import ConfigError

__all__ = ["npz_dataset"]

# Peak bytes per feature value of a split made in memory: the float64 copy and its splits.
_IN_MEMORY_BYTES = 32
# Bytes of the file read at a time when checking streamed features against float32's range.
_CHECK_CHUNK_BYTES = 64 << 20


def npz_dataset(
    *,
    path: str,
    features: str = "x",
    labels: str = "y",
    task: str = "auto",
    stream: bool | None = None,
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
    """Read a feature array and a label array into a seeded train/test split.

    Parameters
    ----------
    path
        An ``.npz`` archive or a folder of ``.npy`` files; relative paths start at the
        working directory.
    features
        Name of the feature array (``"x"``: member ``x.npy`` or file ``x.npy``). Shape
        ``(n, ...)``, numeric; every sample is flattened to ``prod(...)`` features.
    labels
        Name of the label array: shape ``(n,)`` of integers, booleans or text
        (classification, class names kept) or floats (regression), or ``(n, k)`` floats.
    task
        ``"auto"``, ``"classification"`` or ``"regression"``, as for the ``csv`` dataset.
    stream
        ``True``: keep the features in the file and read each batch from it (they must be
        a ``.npy`` file or an uncompressed archive member); ``False``: load them into
        memory; ``None`` (default): stream only when they would take more than a quarter of
        the machine's memory in memory. Both give the same batches.
    batch_size, test_batch_size, test_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader and split options, as in :meth:`DataBundle.from_tensors`.
    standardize_target
        Standardise a regression target with the training split's statistics (on by
        default; ``predict``, ``evaluate`` and ``export`` give values in the target's own
        units, and metrics are reported in them). Ignored for classification. Streamed, the
        statistics for ``standardize`` come from one pass over the training rows.

    Returns
    -------
    DataBundle
        Named after the file or folder. Streamed, its loaders' ``dataset`` is a
        :class:`~rpnkit.data.rows.MappedRows` rather than a ``TensorDataset``.

    Raises
    ------
    ConfigError
        For a missing path, an unknown array name (with close matches), arrays of unequal
        lengths or unreadable types, a compressed array asked to stream, a non-finite feature
        (naming the row), or arrays too large for memory.
    """
    folder_or_file = check_path("npz", "path", path, directory=True)
    name = folder_or_file.name
    options = SplitOptions.of(name, locals())
    task = check_task(name, task)
    if stream is not None and not isinstance(stream, bool):
        raise ConfigError(f"dataset {name!r}: stream must be true, false or null, got {stream!r}")
    x_ref = open_array(name, "features", folder_or_file, features)
    y_ref = open_array(name, "labels", folder_or_file, labels)
    if len(x_ref.shape) < 2 or x_ref.dtype.kind not in "biuf" or 0 in x_ref.shape[1:]:
        raise ConfigError(
            f"dataset {name!r}: features array {features!r} must be numeric of shape "
            f"(n_samples, ...), got {x_ref.dtype} of shape {x_ref.shape}"
        )
    n = x_ref.shape[0]
    if len(y_ref.shape) not in (1, 2) or y_ref.shape[0] != n:
        raise ConfigError(
            f"dataset {name!r}: labels array {labels!r} must have shape ({n},) (one label per "
            f"sample of {features!r}), got {y_ref.shape}"
        )
    if n < 2:
        raise ConfigError(f"dataset {name!r}: the arrays hold {n} sample(s); at least 2 are needed")
    check_fits(name, f"labels array {labels!r} of shape {y_ref.shape}", 4.0 * y_ref.nbytes + 40 * n,
               "use fewer samples")  # fmt: skip
    y = y_ref.load()
    if task != "classification":  # a float target is a regression one, computed in float32
        _check_float32(name, f"labels array {labels!r}", y.reshape(n, -1))
    kind, targets, classes = encode_targets(name, f"labels array {labels!r}", y, task)
    width = int(np.prod(x_ref.shape[1:], dtype=np.int64))
    in_memory = float(_IN_MEMORY_BYTES) * n * width
    if stream is None:
        total = physical_memory()
        stream = x_ref.mappable and total is not None and in_memory > total / 4
    if not stream:
        hint = (
            "set stream: true to read it from the file batch by batch"
            if x_ref.mappable
            else "save it uncompressed (np.savez or .npy) and set stream: true"
        )
        check_fits(name, f"features array {features!r} of shape {x_ref.shape}", in_memory, hint)
        x = x_ref.load().reshape(n, width).astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
        if len(bad):
            raise ConfigError(
                f"dataset {name!r}: features array {features!r} has a missing or non-finite value in row "
                f"{int(bad[0]) + 1}; features must be finite numbers"
            )
        _check_float32(name, f"features array {features!r}", x)
        return DataBundle.from_tensors(
            torch.from_numpy(x), targets, name=name, task=kind, classes=classes,
            **options.kwargs(),
        )  # fmt: skip
    if not x_ref.mappable:
        raise ConfigError(
            f"dataset {name!r}: features array {features!r} is compressed (np.savez_compressed) "
            "and cannot be streamed; save it with np.savez or as a .npy file"
        )
    _check_float32_rows(name, f"features array {features!r}", x_ref)
    return _streamed(name, features, x_ref, targets, kind, classes, options)


def _check_float32(name: str, field: str, values: np.ndarray, first_row: int = 0) -> None:
    """Refuse a value of ``values`` (one sample per row) finite but beyond ``float32``'s range.

    Only wide floats (``float64`` and up) can hold one: integers up to 2**63 and narrower
    floats are within it, and are not read.
    """
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4 or values.size == 0:
        return
    beyond = np.abs(values) > FLOAT32_MAX  # NaN is not beyond (it is refused as non-finite)
    if beyond.any():
        row = int(np.flatnonzero(beyond.reshape(len(values), -1).any(axis=1))[0])
        value = f"{float(values[row][beyond[row]].reshape(-1)[0]):.4g}"
        raise out_of_float32(f"dataset {name!r}: {field}", value, f"row {first_row + row + 1}")


def _check_float32_rows(name: str, field: str, array: ArrayRef) -> None:
    """:func:`_check_float32` over every row of a mapped array, a bounded chunk at a time."""
    if np.dtype(array.dtype).kind != "f" or np.dtype(array.dtype).itemsize <= 4:
        return
    data = array.open()
    n = array.shape[0]
    width = int(np.prod(array.shape[1:], dtype=np.int64))
    chunk = max(1, _CHECK_CHUNK_BYTES // (np.dtype(array.dtype).itemsize * width))
    for start in range(0, n, chunk):
        block = np.asarray(data[start : start + chunk]).reshape(-1, width)
        _check_float32(name, field, block, first_row=start)


def _streamed(
    name: str,
    field: str,
    x_ref: ArrayRef,
    targets: torch.Tensor,
    kind: str,
    classes: tuple[str, ...] | None,
    options: SplitOptions,
) -> DataBundle:
    """A bundle whose loaders read their batches from the mapped feature array."""
    n = x_ref.shape[0]
    split = options.split(n, targets if kind == "classification" else None)
    mean = std = None
    if options.standardize:
        mean, std = train_statistics(name, f"features array {field!r}", x_ref, split.train.numpy())
    y_mean = y_std = None
    if kind == "regression":
        targets = targets.float()
        if targets.ndim == 1:
            targets = targets.unsqueeze(1)
        if options.standardize_target:
            y_mean, y_std = statistics(targets[split.train].double())
            targets = ((targets.double() - y_mean) / y_std).float()

    def rows(index: torch.Tensor) -> MappedRows:
        return MappedRows(x_ref, targets[index], index.numpy(), mean, std)

    train = rows(split.train)
    train_loader, test_loader = options.loaders(train, rows(split.test))
    return DataBundle(
        name=name,
        task="classification" if kind == "classification" else "regression",
        in_features=train.in_features,
        out_features=len(classes) if classes is not None else int(targets.shape[1]),
        train_loader=train_loader,
        test_loader=test_loader,
        feature_mean=None if mean is None else torch.from_numpy(mean).float(),
        feature_std=None if std is None else torch.from_numpy(std).float(),
        classes=classes,
        val_loader=None if split.val is None else options.val_loader(rows(split.val)),
        target_mean=None if y_mean is None else y_mean.float(),
        target_std=None if y_std is None else y_std.float(),
    )
