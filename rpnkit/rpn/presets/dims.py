"""The ``dims`` of the structured presets (graph, sequence, attention models).

Their check, and the output steps tinybig's conditions give a layer by its place in them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rpnkit.errors import ConfigError
from rpnkit.rpn.model import check_size

__all__ = ["check_dims", "layer_outputs"]


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


def layer_outputs(flags: Mapping[str, Any], m: int, n: int, sizes: Sequence[int]) -> dict[str, Any]:
    """The output flags of the layer ``m → n`` of a stack over ``sizes`` (tinybig's conditions).

    BatchNorm, relu and Dropout (each as ``flags`` ask) only where ``n`` is not
    ``sizes[-1]``; the softmax only on the layer ``sizes[-2] → sizes[-1]``.
    """
    hidden = n != sizes[-1]
    return {
        "with_batch_norm": flags["with_batch_norm"] and hidden,
        "with_relu": flags["with_relu"] and hidden,
        "with_dropout": flags["with_dropout"] and hidden,
        "with_softmax": flags["with_softmax"] and m == sizes[-2] and n == sizes[-1],
    }
