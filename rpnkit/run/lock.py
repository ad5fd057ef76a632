"""One ``rpnkit train`` at a time per run directory: an advisory lock beside it.

Two trainings into one ``--output`` would overwrite each other's files. :func:`run_lock` takes
an exclusive :func:`fcntl.flock` on a hidden lock file beside the run directory
(``.NAME.rpnkit-lock`` in its parent) for as long as the training runs, and refuses in one line
when another process holds it. The operating system releases a ``flock`` when its process
dies, so a run killed with SIGKILL never blocks its own resume; the file it leaves is reused.
On a system without ``fcntl`` (Windows) nothing is locked.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from rpnkit.errors import ConfigError

__all__ = ["LOCK_SUFFIX", "lock_file", "lock_holder", "run_lock"]

#: Suffix of the lock file beside a run directory.
LOCK_SUFFIX = ".rpnkit-lock"


def lock_file(run_dir: str | os.PathLike[str]) -> Path:
    """The lock file of ``run_dir``: ``.NAME.rpnkit-lock`` in its parent."""
    path = Path(os.path.abspath(run_dir))
    return path.parent / f".{path.name}{LOCK_SUFFIX}"


def lock_holder(run_dir: str | os.PathLike[str]) -> str | None:
    """The process id of the ``rpnkit train`` holding ``run_dir``'s lock; ``None`` if none does.

    Asks for a shared lock without waiting (released at once), so a lock left by a killed
    process counts as free, and so does this process's own (``rpnkit train`` checks its
    output directory while it holds the lock).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return None
    try:
        fd = os.open(lock_file(run_dir), os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
        return None if holder == str(os.getpid()) else holder  # this process's own lock
    finally:
        os.close(fd)  # closing releases a shared lock taken above
    return None


@contextlib.contextmanager
def run_lock(run_dir: str | os.PathLike[str] | None) -> Iterator[None]:
    """Hold the run directory's lock in the block; refuse if another process holds it.

    Parameters
    ----------
    run_dir
        The run's ``output.dir`` (``None``: nothing to lock). Inside a launched process
        (``RANK`` set) nothing is locked: the launching command holds the lock.

    Raises
    ------
    ConfigError
        If another process holds the lock (naming the directory and its process id).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None  # type: ignore[assignment]
    if run_dir is None or fcntl is None or "RANK" in os.environ:
        yield
        return
    path = lock_file(run_dir)
    if not path.parent.is_dir():  # the output's own checks say why it cannot be created
        yield
        return
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # a read-only parent: the output checks refuse it in one line
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ConfigError(
                f"output.dir {str(run_dir)!r} is in use by another rpnkit train (process "
                f"{owner}); wait for it to end, or give another --output"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino  # not unlinked meanwhile
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held, so a waiting process re-checks the inode
        os.close(fd)
