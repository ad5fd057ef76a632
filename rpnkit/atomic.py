"""Atomic file writes: a file is either complete at its final name or not there at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = ["TEMPORARY_SUFFIX", "atomic_open", "remove_stale_temporaries"]

#: Suffix of the temporary files :func:`atomic_open` writes before the rename.
TEMPORARY_SUFFIX = ".rpnkit-tmp"


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str]) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for binary writing; move it to ``path`` on success.

    The data is flushed to disk before the rename, and the temporary file is removed if the
    block raises, so readers never see a half-written ``path``. The file gets the usual
    permissions (``0666`` less the umask). The parent folder is created if needed. A process
    killed mid-write leaves a hidden ``.NAME.*.rpnkit-tmp`` file, which
    :func:`remove_stale_temporaries` clears.

    Parameters
    ----------
    path
        The final file name.

    Yields
    ------
    IO[bytes]
        The temporary file, open for writing.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent
    )
    try:
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 -> the usual permissions
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files a killed :func:`atomic_open` left in ``directory``.

    Returns
    -------
    list of Path
        The files removed.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.glob(f".*{TEMPORARY_SUFFIX}") if p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
