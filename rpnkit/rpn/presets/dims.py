"""The ``dims`` check shared by the structured presets (graph, sequence, attention models)."""

from __future__ import annotations

from collections.abc import Sequence

from rpnkit.errors import ConfigError
from rpnkit.rpn.model import check_size

__all__ = ["check_dims"]


def check_dims(dims: object, field: str = "dims", *, at_least: int = 2) -> list[int]:
    """Return ``dims`` as a list of sizes >= 1, at least ``at_least`` of them.

    Raises
    ------
    ConfigError
        One line naming ``field`` and its value.
    """
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) < at_least:
        shown = list(dims) if isinstance(dims, Sequence) and not isinstance(dims, str) else dims
        raise ConfigError(
            f"{field}={shown!r} is not valid; expected a list of at least {at_least} layer sizes"
        )
    for i, size in enumerate(dims):
        check_size(size, f"{field}[{i}]", None)
    return [int(size) for size in dims]
