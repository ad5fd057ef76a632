"""Host copies of checkpoint states: every tensor cloned to the CPU, nothing shared."""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import Any

import torch

__all__ = ["host_copy"]


def host_copy(value: Any) -> Any:
    """A copy of a checkpoint state that shares nothing mutable with ``value``.

    Tensors are cloned to the CPU (detached, same dtype and values); dicts, lists and tuples
    are rebuilt around copies of their items, keeping their type and attributes (the
    ``_metadata`` of a ``state_dict``); numbers, strings and ``None`` are kept; anything else
    is deep-copied. Much cheaper than a round trip through :func:`torch.save`, which
    :class:`LastEpoch` used to make after every epoch.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if type(value) in (dict, OrderedDict):
        copied = type(value)((key, host_copy(item)) for key, item in value.items())
        extra = getattr(value, "__dict__", None)
        if extra:
            copied.__dict__.update(copy.deepcopy(extra))
        return copied
    if type(value) in (list, tuple):
        if {type(item) for item in value} <= _ATOMS:  # a random state: 625 ints
            return type(value)(value)
        return type(value)(host_copy(item) for item in value)
    if type(value) in _ATOMS:
        return value
    return copy.deepcopy(value)


#: Immutable values :func:`host_copy` keeps as they are.
_ATOMS = frozenset({type(None), bool, int, float, str, bytes})
