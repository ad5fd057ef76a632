"""CIFAR-10 from its *binary* distribution, read by rpnkit with NumPy (the ``cifar10`` dataset).

The binary version (``cifar-10-binary.tar.gz``, folder ``cifar-10-batches-bin``) holds
``data_batch_1.bin`` … ``data_batch_5.bin`` (10,000 images each) and ``test_batch.bin``:
records of 3,073 bytes, a label byte (0-9) then 3,072 pixel bytes: the 1,024 red values of
the 32×32 image row by row, then green, then blue — already channel-major. Class names come
from ``batches.meta.txt`` when it is there. The *python* version (pickled ``data_batch_1``
files) is refused: rpnkit never unpickles data, since unpickling a file runs code it holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rpnkit.data.downloads import download_hint
from rpnkit.data.images import ImageBundle, image_bundle
from rpnkit.data.options import SplitOptions
from rpnkit.errors import ConfigError

__all__ = ["CIFAR10_CLASSES", "cifar10", "read_cifar_binary"]

#: CIFAR-10's class names, in label order (also the lines of ``batches.meta.txt``).
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck")  # fmt: skip
_RECORD = 1 + 3 * 32 * 32
_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
_TEST = ("test_batch.bin",)
_DOWNLOAD = download_hint("cifar10")


def read_cifar_binary(name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The images ``(n, 3, 32, 32)`` (``uint8``) and labels ``(n,)`` of one binary batch file.

    Raises
    ------
    ConfigError
        For a file whose size is not a whole number of 3,073-byte records (truncated), or a
        label byte above 9.
    """
    data = np.fromfile(path, dtype=np.uint8)
    if data.size == 0 or data.size % _RECORD:
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} holds {data.size} bytes, not a whole number of "
            f"{_RECORD}-byte CIFAR-10 records (label + 3x32x32 pixels); the file is truncated "
            "or not a binary batch"
        )
    records = data.reshape(-1, _RECORD)
    labels = records[:, 0]
    if int(labels.max()) > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} record {bad} has label {int(labels[bad])}; "
            "CIFAR-10 labels are 0-9 (a CIFAR-100 file has two label bytes)"
        )
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _folder(root: object) -> Path:
    if root is None or not Path(str(root)).expanduser().is_dir():
        raise ConfigError(f"dataset 'cifar10': root={root!r} is not a folder; {_DOWNLOAD}")
    base = Path(str(root)).expanduser()
    for folder in (base, base / "cifar-10-batches-bin"):
        if (folder / "test_batch.bin").is_file() or (folder / "data_batch_1.bin").is_file():
            return folder
    for folder in (base, base / "cifar-10-batches-py"):
        if (folder / "data_batch_1").is_file():
            raise ConfigError(
                f"dataset 'cifar10': {str(folder)!r} holds the python (pickled) version, which "
                f"rpnkit does not read (unpickling runs code); {_DOWNLOAD}"
            )
    raise ConfigError(
        f"dataset 'cifar10': no data_batch_1.bin or test_batch.bin in root={str(root)!r} (nor "
        f"in its cifar-10-batches-bin); {_DOWNLOAD}"
    )


def _read(folder: Path, files: tuple[str, ...], limit: int | None) -> tuple[Tensor, Tensor]:
    images, labels, kept = [], [], 0
    for file in files:
        if limit is not None and kept >= limit:
            break
        if not (folder / file).is_file():
            raise ConfigError(f"dataset 'cifar10': {file!r} is missing from {str(folder)!r}")
        x, y = read_cifar_binary("cifar10", folder / file)
        images.append(x)
        labels.append(y)
        kept += len(y)
    x_all, y_all = np.concatenate(images)[:limit], np.concatenate(labels)[:limit]
    return (
        torch.from_numpy(x_all.astype(np.float32) / 255.0),
        torch.from_numpy(y_all.astype(np.int64)),
    )


def cifar10(
    *,
    root: str | None = None,
    layout: str = "flat",
    n_train: int | None = None,
    n_test: int | None = None,
    batch_size: int = 64,
    test_batch_size: int | None = None,
    val_size: float | int = 0,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> ImageBundle:
    """CIFAR-10 from the binary batch files in ``root``, with its own train/test split.

    Parameters
    ----------
    root
        The ``cifar-10-batches-bin`` folder, or the folder holding it.
    layout
        ``"flat"``: ``(b, 3072)``, channel-major (tinybig's); ``"image"``: ``(b, 3, 32, 32)``.
    n_train, n_test
        Keep only the first so many training / test images (``None``: all; only the batch
        files needed are read).
    batch_size, test_batch_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader options as in :meth:`DataBundle.from_tensors`; ``standardize`` is per channel
        with the training images' statistics (tinybig's fixed constants are these, rounded).
        ``val_size`` (a fraction in ``[0, 1)`` or a count; 0: none) takes a validation split
        from the training images, stratified by class; the official test set is untouched.

    Raises
    ------
    ConfigError
        Without ``root`` or its files (saying what to download), for the pickled python
        version, or for a malformed file.
    """
    options = SplitOptions.of("cifar10", locals())
    for field, value in (("n_train", n_train), ("n_test", n_test)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 1
        ):
            raise ConfigError(
                f"dataset 'cifar10': {field} must be a positive integer, got {value!r}"
            )
    folder = _folder(root)
    meta = folder / "batches.meta.txt"
    names: tuple[str, ...] = CIFAR10_CLASSES
    if meta.is_file():
        lines = tuple(line.strip() for line in meta.read_text(encoding="utf-8").splitlines())
        names = tuple(line for line in lines if line) or names
    if len(names) != 10:
        raise ConfigError(
            f"dataset 'cifar10': {meta.name!r} names {len(names)} classes, CIFAR-10 has 10"
        )
    train = _read(folder, _TRAIN, n_train)
    test = _read(folder, _TEST, n_test)
    return image_bundle("cifar10", *train, classes=names, layout=layout,
                        standardize=standardize, options=options, test=test)  # fmt: skip
