"""Shared by the presets: a stack of layers from per-layer head options, and option checks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from torch import nn

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.model import RPN, build_model, check_size

__all__ = ["XAVIER_NORMAL", "choice", "norm_softmax", "reconciliation_config", "stack"]

#: The initialisation method of tinybig's preset heads.
XAVIER_NORMAL = "xavier_normal"


def stack(
    dims: Sequence[int],
    head: Any,
    channel_num: int,
    width: int,
    parameters_init_method: str,
) -> RPN:
    """Build one layer per pair of neighbouring sizes, ``head(m, n)`` giving its options."""
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) < 2:
        shown = list(dims) if isinstance(dims, Sequence) and len(dims) < 2 else type(dims).__name__
        raise ConfigError(f"dims={shown!r} is not valid; expected at least two layer sizes")
    for i, size in enumerate(dims):
        end = {0: "features", len(dims) - 1: "outputs"}.get(i)
        check_size(size, f"dims[{i}]", end and f"the dataset's number of {end}", data=True)
    sizes = [int(size) for size in dims]
    layers = [
        {
            "m": m,
            "n": n,
            **head(m, n),
            "channels": channel_num,
            "width": width,
            "parameters_init_method": parameters_init_method,
        }
        for m, n in itertools.pairwise(sizes)
    ]
    return build_model(layers)


def reconciliation_config(name: str, enable_bias: bool, r: int) -> dict[str, Any]:
    """The config of reconciliation ``name`` (``r`` only for the low-rank ones)."""
    parameters: dict[str, Any] = {"enable_bias": enable_bias}
    if name != "identity":
        parameters["r"] = r
    return {"name": name, "parameters": parameters}


def norm_softmax(n: int, with_batch_norm: bool, with_softmax: bool) -> list[Any]:
    """``BatchNorm1d(n)`` and softmax, each if asked for."""
    steps: list[Any] = [nn.BatchNorm1d(n)] if with_batch_norm else []
    return [*steps, "softmax"] if with_softmax else steps


def choice(value: object, choices: dict[str, str], field: str) -> str:
    """Return ``choices[value]``, or raise naming ``field`` and the valid values."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise ConfigError(f"{field}={shown} is unknown{hint}; valid: {', '.join(choices)}")
    return choices[value]
