"""MNIST from its IDX files, read by rpnkit with NumPy (the ``mnist`` dataset; no torchvision).

An IDX file starts with a magic number: two zero bytes, a type code (``0x08`` unsigned
byte, ``0x09`` signed byte, ``0x0B`` int16, ``0x0C`` int32, ``0x0D`` float32, ``0x0E``
float64) and the number of dimensions; then every dimension as a big-endian 32-bit count,
then the values, big-endian, row-major. MNIST's images are ``0x00000803`` (``n × 28 × 28``
bytes) and its labels ``0x00000801`` (``n`` bytes). Files may be gzipped (``.gz``). A wrong
magic number, a truncated body or trailing bytes are one-line errors naming the file.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from rpnkit.data.downloads import download_hint
from rpnkit.data.images import ImageBundle, find_file, image_bundle
from rpnkit.data.options import SplitOptions
from rpnkit.errors import ConfigError

__all__ = ["MNIST_FILES", "mnist", "read_idx"]

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: The four MNIST files, by role (the ``.idx3-ubyte`` spelling with a dot is found too).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_WHERE = ("", "MNIST/raw", "raw")
_DOWNLOAD = download_hint("mnist")


def _read_bytes(name: str, path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        reason = (str(exc).splitlines() or [""])[0][:80]
        raise ConfigError(f"dataset {name!r}: {path.name!r} cannot be read ({reason})") from None


def read_idx(name: str, path: Path, ndim: int | None = None) -> np.ndarray:
    """The array stored in the IDX file ``path`` (gzipped when it ends in ``.gz``).

    Parameters
    ----------
    name
        Dataset name, for messages.
    path
        The file.
    ndim
        The number of dimensions the file must have (3 for images, 1 for labels).

    Returns
    -------
    numpy.ndarray
        In native byte order, of the file's shape.

    Raises
    ------
    ConfigError
        For a wrong magic number, another number of dimensions, a truncated body, or bytes
        after the last value.
    """
    data = _read_bytes(name, path)
    if len(data) < 4:
        raise ConfigError(f"dataset {name!r}: {path.name!r} is truncated ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    code, dims = data[2], data[3]
    if data[:2] != b"\0\0" or code not in _TYPES:
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} has magic number 0x{magic:08x}, not an IDX header "
            f"(0x000008{ndim or 1:02x}-style: two zero bytes, a type code 0x08-0x0e, dimensions)"
        )
    if ndim is not None and dims != ndim:
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} has magic number 0x{magic:08x}: {dims} "
            f"dimension(s), expected {ndim} (0x{code:02x}{ndim:02x} at the end)"
        )
    header = 4 + 4 * dims
    if len(data) < header:
        raise ConfigError(f"dataset {name!r}: {path.name!r} is truncated inside its header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_TYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    body = len(data) - header
    if body != expected:
        problem = "is truncated" if body < expected else "has trailing bytes"
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} {problem}: its header gives shape {shape} "
            f"({expected} bytes of values), the file holds {body}"
        )
    values = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return values.reshape(shape).astype(dtype.newbyteorder("="))


def _mnist_pair(
    name: str, root: Path, images: str, labels: str, limit: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    found = []
    for role in (images, labels):
        stem = MNIST_FILES[role]
        path = find_file(root, (stem, stem.replace("-idx", ".idx")), _WHERE)
        if path is None:
            raise ConfigError(
                f"dataset {name!r}: no {stem}[.gz] in root={str(root)!r} (nor in its MNIST/raw);"
                f" {_DOWNLOAD}"
            )
        found.append(path)
    x = read_idx(name, found[0], ndim=3)
    y = read_idx(name, found[1], ndim=1)
    if len(x) != len(y):
        raise ConfigError(
            f"dataset {name!r}: {found[0].name!r} holds {len(x)} images but {found[1].name!r} "
            f"holds {len(y)} labels"
        )
    if limit is not None:
        x, y = x[:limit], y[:limit]
    scale = 255.0 if x.dtype == np.uint8 else 1.0
    images_t = torch.from_numpy(x.astype(np.float32) / scale).unsqueeze(1)
    return images_t, torch.from_numpy(y.astype(np.int64))


def _limit(name: str, field: str, value: object) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"dataset {name!r}: {field} must be a positive integer, got {value!r}")
    return value


def mnist(
    *,
    root: str | None = None,
    layout: str = "flat",
    n_train: int | None = None,
    n_test: int | None = None,
    classes: Sequence[str] | None = None,
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
    """MNIST from the four IDX files in ``root``, with its own train/test split.

    Parameters
    ----------
    root
        A folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each possibly ``.gz``),
        directly or in ``MNIST/raw`` (torchvision's layout). Fashion-MNIST and other sets in
        the same files read too (give their ``classes``).
    layout
        ``"flat"``: ``(b, 784)`` (tinybig's); ``"image"``: ``(b, 1, 28, 28)``.
    n_train, n_test
        Keep only the first so many training / test images (``None``: all).
    classes
        Class names; ``None``: ``"0" .. "9"``.
    batch_size, test_batch_size, val_size, seed, standardize, shuffle, num_workers, drop_last, pin_memory
        Loader options as in :meth:`DataBundle.from_tensors`; ``standardize`` uses the
        training images' statistics (tinybig's fixed ``0.1307, 0.3081`` are these, rounded).
        ``val_size`` (a fraction in ``[0, 1)`` or a count; 0: none) takes a validation split
        from the training images, stratified by class; the official test set is untouched.

    Raises
    ------
    ConfigError
        Without ``root`` or a file (saying what to download), or for a malformed file.
    """
    options = SplitOptions.of("mnist", locals())
    if root is None or not Path(str(root)).expanduser().is_dir():
        raise ConfigError(f"dataset 'mnist': root={root!r} is not a folder; {_DOWNLOAD}")
    folder = Path(root).expanduser()
    train = _mnist_pair("mnist", folder, "train_images", "train_labels",
                        _limit("mnist", "n_train", n_train))  # fmt: skip
    test = _mnist_pair("mnist", folder, "test_images", "test_labels",
                       _limit("mnist", "n_test", n_test))  # fmt: skip
    n_classes = int(max(train[1].max(), test[1].max())) + 1
    names = tuple(str(c) for c in range(max(n_classes, 10))) if classes is None else tuple(classes)
    if len(names) < n_classes:
        raise ConfigError(
            f"dataset 'mnist': {len(names)} class names for labels up to {n_classes - 1}"
        )
    return image_bundle("mnist", *train, classes=names, layout=layout,
                        standardize=standardize, options=options, test=test)  # fmt: skip
