"""Atomic file writes: a file is either complete at its final name or not there at all.

A full disk ends a write in one line (:class:`DiskFullError`, naming the file, the space it
needed and what was kept), and a symbolic link at the final name is written through, never
replaced.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from rpnkit.deferred_signals import signals_deferred
from rpnkit.errors import ConfigError, RpnkitError

__all__ = [
    "TEMPORARY_SUFFIX",
    "DiskFullError",
    "atomic_open",
    "check_writable",
    "remove_stale_temporaries",
]

#: Suffix of the temporary files :func:`atomic_open` writes before the rename.
TEMPORARY_SUFFIX = ".rpnkit-tmp"


class DiskFullError(RpnkitError, OSError):
    """The device ran out of space while a file was written (what was there is kept)."""


def _disk_full(exc: BaseException, parent: Path) -> bool:
    """Whether ``exc`` is a write that failed for lack of space.

    torch's zip writer hides the ``ENOSPC`` behind a ``RuntimeError`` (``unexpected pos``), so
    the exception's chain is searched, and a ``RuntimeError`` on a device with under 1 MiB left
    is taken as a full disk too.
    """
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            break
        if isinstance(seen, OSError) and seen.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, RuntimeError):
        with contextlib.suppress(OSError):
            return shutil.disk_usage(parent).free < 2**20
    return False


def check_writable(path: str | os.PathLike[str], what: str) -> Path:
    """Refuse, before any work, a file that :func:`atomic_open` could not write.

    Parameters
    ----------
    path
        The file to be written (a symbolic link is followed, as :func:`atomic_open` does).
    what
        How messages name it (``"-o"``).

    Returns
    -------
    Path
        ``path``, unchanged.

    Raises
    ------
    ConfigError
        One line naming ``what`` and the path: a directory at that name, a file where a
        folder above it would be created, or a folder that does not allow writing (a
        read-only file system included).
    """
    given = Path(path)
    target = Path(os.path.realpath(given)) if given.is_symlink() else given
    if target.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a directory; give a file name")
    folders = target.absolute().parents
    existing = next((p for p in folders if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(f"{what} {str(path)!r} cannot be created: {str(existing)!r} is a file")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{what} {str(path)!r} cannot be written: the folder {str(existing)!r} does not "
            "allow writing; choose another place"
        )
    return given


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike[str], *, defer_signals: bool = False
) -> Iterator[IO[bytes]]:
    """Open a temporary file beside ``path`` for binary writing; move it to ``path`` on success.

    The data is flushed to disk before the rename, and the temporary file is removed if the
    block raises, so readers never see a half-written ``path``. The file gets the usual
    permissions (``0666`` less the umask). The parent folder is created if needed. A process
    killed mid-write leaves a hidden ``.NAME.*.rpnkit-tmp`` file, which
    :func:`remove_stale_temporaries` clears.

    Parameters
    ----------
    path
        The final file name. If it is a symbolic link, the file it points to is written
        (the link stays).
    defer_signals
        Hold Ctrl-C and SIGTERM back until the file is complete
        (:func:`~rpnkit.deferred_signals.signals_deferred`), for a file an interruption
        must not lose, such as a checkpoint.

    Raises
    ------
    DiskFullError
        If the device fills up: one line naming the file, the bytes written and free, and
        whether an older file of that name is kept.

    Yields
    ------
    IO[bytes]
        The temporary file, open for writing.
    """
    target = Path(path)
    if target.is_symlink():  # write where the link points; replacing would drop the link
        target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    existed = target.exists()
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=TEMPORARY_SUFFIX, dir=target.parent
    )
    deferral = signals_deferred() if defer_signals else contextlib.nullcontext()
    try:
        with deferral, os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
            os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 -> the usual permissions
            os.replace(temporary, target)
    except BaseException as exc:
        written = Path(temporary).stat().st_size if Path(temporary).exists() else 0
        Path(temporary).unlink(missing_ok=True)
        if isinstance(exc, Exception) and _disk_full(exc, target.parent):
            free = shutil.disk_usage(target.parent).free
            kept = (
                f"the previous {target.name} is kept unchanged"
                if existed
                else f"nothing was written at {target.name}"
            )
            raise DiskFullError(
                f"no space left on the device for {str(target)!r}: it needs more than "
                f"{written:,} bytes and {free:,} are free; {kept}; free some space and run "
                "again"
            ) from None
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
