"""How an RPN head gets its RPN 2 data interdependence functions and their learnable values.

A head (:class:`~rpnkit.rpn.head.RPNHead`) has at most one attribute and one instance
interdependence function, each given by registry name, config dict or instance; a name or
dict is built for the head's sizes. A function that needs learnable values gets them from the
head, one row of ``l`` values per channel, as tinybig's head holds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.interdependence.base import Interdependence

__all__ = ["build_interdependence", "interdependence_weight"]


def build_interdependence(
    spec: Any, kind: str, m: int, batch_num: int | None
) -> Interdependence | None:
    """Build the ``kind`` interdependence function of a head from ``spec``.

    Parameters
    ----------
    spec
        A name, config dict or :class:`Interdependence` instance; ``None`` for none.
    kind
        ``"attribute"`` or ``"instance"``: the head's slot.
    m, batch_num
        The head's input size and batch size; a name or dict is built with them as ``m`` and
        ``b`` and with ``interdependence_type=kind``, unless its parameters give them.

    Returns
    -------
    Interdependence or None
        The function, or ``None`` when ``spec`` is.

    Raises
    ------
    ConfigError
        For a spec that does not build an interdependence function, or one of the other type.
    """
    if spec is None:
        return None
    field = f"{kind}_interdependence"
    sizes: dict[str, Any] = {}
    if not isinstance(spec, nn.Module):
        given = (spec.get("parameters") or {}) if isinstance(spec, Mapping) else {}
        sizes = {"m": m, "b": batch_num, "interdependence_type": kind}
        sizes = {key: value for key, value in sizes.items() if key not in given}
    built: Interdependence = build_component(
        "interdependence", spec, Interdependence, field, **sizes
    )
    if built.interdependence_type != kind:
        raise ConfigError(
            f"{field} {type(built).__name__} is of {built.interdependence_type} type; "
            f"expected interdependence_type={kind!r}"
        )
    return built


def interdependence_weight(function: Interdependence | None, channels: int) -> nn.Parameter | None:
    """The ``(channels, l)`` learnable values of ``function``, or ``None`` when it needs none.

    The values are left uninitialised: the head draws them (:meth:`RPNHead.reset_parameters`).
    """
    if function is None:
        return None
    l = function.calculate_l()  # noqa: E741 - the RPN papers' name for the parameter count
    if not (function.require_parameters or l):
        return None
    return nn.Parameter(torch.empty(channels, l))
