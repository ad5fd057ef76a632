"""How much memory a dataset will take, checked before anything is allocated.

A config asking for ``n_samples: 1e12`` or a file too large to load must fail at once with a
one-line :class:`~rpnkit.errors.ConfigError`, not after minutes of swapping or a kill by the
operating system. :func:`check_fits` compares an estimate with the machine's physical memory.
"""

from __future__ import annotations

import os

from rpnkit.errors import ConfigError

__all__ = ["check_fits", "format_bytes", "physical_memory"]


def physical_memory() -> int | None:
    """The machine's physical memory in bytes, or ``None`` where the system does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    if pages <= 0 or page_size <= 0:
        return None
    return int(pages) * int(page_size)


def format_bytes(size: float) -> str:
    """``size`` bytes in a short human form: ``"1.5 GB"``, ``"8.0 TB"``."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1000 or unit == "PB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def check_fits(dataset: str, what: str, nbytes: float, hint: str, fraction: float = 1.0) -> None:
    """Raise :class:`ConfigError` if ``nbytes`` exceed ``fraction`` of the physical memory.

    Parameters
    ----------
    dataset
        Dataset name, for the message.
    what
        The field and value that asked for the memory (``"n_samples=1000000000000"``).
    nbytes
        Estimated bytes needed.
    hint
        What to do instead, ending the message (``"lower n_samples"``).
    fraction
        Share of the physical memory allowed.

    Raises
    ------
    ConfigError
        One line naming ``what``, the estimate and the machine's memory.
    """
    total = physical_memory()
    if total is None or nbytes <= fraction * total:
        return
    share = "" if fraction == 1.0 else f"{fraction:g} of "
    raise ConfigError(
        f"dataset {dataset!r}: {what} needs about {format_bytes(nbytes)} of memory, more than "
        f"{share}this machine's {format_bytes(total)}; {hint}"
    )
