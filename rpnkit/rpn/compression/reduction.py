"""Named reductions of a compression's ``metric``, and the check of a metric argument."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["REDUCTIONS", "Metric", "reduction"]

#: A metric as given: a name from :data:`REDUCTIONS` or a callable.
Metric = str | Callable[..., Tensor]

#: Reductions over the last dimension, by name (``median`` is the lower middle value).
REDUCTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "max": lambda x: torch.amax(x, dim=-1),
    "min": lambda x: torch.amin(x, dim=-1),
    "sum": lambda x: torch.sum(x, dim=-1),
    "mean": lambda x: torch.mean(x, dim=-1),
    "prod": lambda x: torch.prod(x, dim=-1),
    "median": lambda x: torch.median(x, dim=-1).values,
    "l1_norm": lambda x: torch.linalg.vector_norm(x, ord=1, dim=-1),
    "l2_norm": lambda x: torch.linalg.vector_norm(x, ord=2, dim=-1),
}


def reduction(metric: object, field: str) -> str | None:
    """Check ``metric`` and return its name (``None`` for a callable).

    Parameters
    ----------
    metric
        A name from :data:`REDUCTIONS` or a callable.
    field
        Name of the argument, used in the error message.

    Raises
    ------
    ConfigError
        If ``metric`` is neither a known name nor a callable.
    """
    if isinstance(metric, str):
        if metric not in REDUCTIONS:
            raise ConfigError(
                f"{field}={metric!r} is unknown{did_you_mean(metric, REDUCTIONS)}; expected one "
                f"of {', '.join(REDUCTIONS)} or a callable"
            )
        return metric
    if callable(metric):
        return None
    raise ConfigError(
        f"{field}={short_repr(metric)} is not valid; expected one of {', '.join(REDUCTIONS)} "
        "or a callable"
    )
