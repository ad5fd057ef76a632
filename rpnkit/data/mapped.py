"""NumPy arrays mapped from ``.npy`` files and ``.npz`` archives without loading them.

``np.load(path, mmap_mode="r")`` maps a ``.npy`` file but loads every member of an ``.npz``
archive. A member stored uncompressed (``np.savez``) is a ``.npy`` file lying whole inside the
zip file, so it can be mapped too: :func:`open_array` finds where its bytes start and maps
them. A compressed member (``np.savez_compressed``) cannot be mapped; it is only described
here, and :meth:`ArrayRef.load` decompresses it into memory.

Pickle is never allowed: arrays of Python objects are refused.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["ArrayRef", "open_array"]

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, ..., file name length, extra length


@dataclass(frozen=True)
class ArrayRef:
    """Where an array lies in a file, and its layout.

    Attributes
    ----------
    path
        The ``.npy`` file or ``.npz`` archive.
    member
        The archive member (``"x.npy"``), or ``None`` for a ``.npy`` file.
    offset
        Byte offset of the array's data in ``path``; ``None`` for a compressed member, which
        cannot be mapped.
    dtype, shape, fortran
        The array's dtype, shape and memory order.
    """

    path: Path
    member: str | None
    offset: int | None
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran: bool

    @property
    def mappable(self) -> bool:
        """Whether the array can be memory-mapped (a ``.npy`` file or a stored member)."""
        return self.offset is not None

    @property
    def nbytes(self) -> int:
        """Size of the array's data in bytes."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def open(self) -> np.ndarray:
        """A read-only memory map of the array (no data is read until it is indexed)."""
        if self.offset is None:
            raise ConfigError(
                f"array {self.member!r} of {str(self.path)!r} is compressed and cannot be "
                "memory-mapped; save it with np.savez (not savez_compressed) or as .npy files"
            )
        return np.memmap(
            self.path,
            dtype=self.dtype,
            mode="r",
            offset=self.offset,
            shape=self.shape,
            order="F" if self.fortran else "C",
        )

    def load(self) -> np.ndarray:
        """The whole array in memory (decompressing a compressed member)."""
        if self.offset is not None:
            return np.array(self.open())
        with zipfile.ZipFile(self.path) as archive, archive.open(str(self.member)) as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)


def _header(stream: IO[bytes], where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Read a ``.npy`` header from ``stream``: ``(shape, fortran order, dtype)``."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        else:
            raise ValueError(f"format version {version} is not supported")
    except ValueError as exc:
        raise ConfigError(f"{where} is not a NumPy array file ({exc})") from None
    if dtype.hasobject or dtype.names is not None:
        raise ConfigError(
            f"{where} holds {'Python objects' if dtype.hasobject else 'records'} ({dtype}); "
            "only plain numeric or text arrays can be read"
        )
    return tuple(int(s) for s in shape), bool(fortran), np.dtype(dtype)


def open_array(dataset: str, field: str, path: Path, name: object) -> ArrayRef:
    """Locate the array ``name`` in the archive or folder ``path``.

    Parameters
    ----------
    dataset
        Dataset name, for messages.
    field
        The parameter naming the array (``"features"``), for messages.
    path
        An ``.npz`` archive, or a folder of ``.npy`` files.
    name
        The array's name: an archive member (``"x"`` or ``"x.npy"``) or a file of the folder
        (``"x"`` for ``x.npy``).

    Raises
    ------
    ConfigError
        For an unknown name (with close matches and the names there are), a file that is not
        an archive or not an array, or an array of Python objects.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"dataset {dataset!r}: {field} must be an array name, got {name!r}")
    file_name = name if name.endswith(".npy") else f"{name}.npy"
    if path.is_dir():
        names = sorted(p.stem for p in path.glob("*.npy"))
        if not (path / file_name).is_file():
            raise _unknown(dataset, field, name, names, str(path))
        with open(path / file_name, "rb") as stream:
            shape, fortran, dtype = _header(stream, f"{str(path / file_name)!r}")
            offset = stream.tell()
        return ArrayRef(path / file_name, None, offset, dtype, shape, fortran)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ConfigError(
            f"dataset {dataset!r}: {str(path)!r} is not an .npz archive; give an .npz file or "
            "a folder of .npy files"
        ) from None
    with archive:
        members = archive.namelist()
        if file_name not in members:
            names = [m.removesuffix(".npy") for m in members]
            raise _unknown(dataset, field, name, names, str(path))
        info = archive.getinfo(file_name)
        where = f"member {file_name!r} of {str(path)!r}"
        if info.compress_type != zipfile.ZIP_STORED:
            with archive.open(info) as stream:
                shape, fortran, dtype = _header(stream, where)
            return ArrayRef(path, file_name, None, dtype, shape, fortran)
    with open(path, "rb") as stream:
        stream.seek(info.header_offset)
        signature, name_length, extra_length = _LOCAL_HEADER.unpack(stream.read(_LOCAL_HEADER.size))
        if signature != b"PK\x03\x04":
            raise ConfigError(f"dataset {dataset!r}: {where} has a damaged zip header")
        stream.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        shape, fortran, dtype = _header(stream, where)
        offset = stream.tell()
    return ArrayRef(path, file_name, offset, dtype, shape, fortran)


def _unknown(dataset: str, field: str, name: str, names: list[str], where: str) -> ConfigError:
    key = name.removesuffix(".npy")
    shown = ", ".join(map(repr, names[:8])) + (", ..." if len(names) > 8 else "")
    return ConfigError(
        f"dataset {dataset!r}: {field}={name!r} is not an array of {where!r}"
        f"{did_you_mean(key, names)}; arrays: {shown or 'none'}"
    )
