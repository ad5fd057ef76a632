"""Train/val/test node index sets of a transductive graph: seeded and stratified, or given.

Every graph dataset takes the same split parameters: ``train_size``, ``val_size`` and
``test_size`` (fractions of the nodes or node counts) drawn with ``seed``, or the sets
themselves as ``train_idx``, ``val_idx`` and ``test_idx``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from rpnkit.data.split import split_indices
from rpnkit.errors import ConfigError

__all__ = ["choose_splits", "node_splits"]


def node_splits(
    name: str,
    labels: Tensor,
    *,
    train_size: float | int | None,
    val_size: float | int,
    test_size: float | int,
    seed: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Seeded, class-stratified ``(train_idx, val_idx, test_idx)`` node sets.

    A size is a fraction of all nodes (a float strictly between 0 and 1) or a node count
    (a positive integer; ``val_size`` may be 0). ``test_size`` nodes are drawn first, then
    ``val_size``, then ``train_size`` from what is left (``None``: all of it; nodes left over
    are in no set, as in the Planetoid splits).

    Raises
    ------
    ConfigError
        For a size out of range, sizes adding up to more than the nodes, or a class too small
        to be in every set.
    """
    n = len(labels)

    def count(field_name: str, value: object, allow_zero: bool = False) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(
                f"dataset {name!r}: {field_name} must be a fraction or a node count, got {value!r}"
            )
        if isinstance(value, float) and 0.0 < value < 1.0:
            return max(1, round(value * n))
        if isinstance(value, int) and (value >= 1 or (allow_zero and value == 0)):
            return value
        raise ConfigError(
            f"dataset {name!r}: {field_name} must be a fraction strictly between 0 and 1 or a "
            f"node count (>= {0 if allow_zero else 1}), got {value!r}"
        )

    n_test = count("test_size", test_size)
    n_val = count("val_size", val_size, allow_zero=True)
    n_train = n - n_test - n_val if train_size is None else count("train_size", train_size)
    if n_train < 1 or n_train + n_val + n_test > n:
        raise ConfigError(
            f"dataset {name!r}: train_size, val_size and test_size ask for "
            f"{max(n_train, 0)} + {n_val} + {n_test} nodes; the graph has {n}"
        )
    generator = torch.Generator().manual_seed(seed)
    rest = torch.arange(n)
    picked: list[Tensor] = []
    for wanted in (n_test, n_val):
        if wanted == 0:
            picked.append(torch.empty(0, dtype=torch.long))
            continue
        keep, take = split_indices(name, len(rest), wanted / len(rest), labels[rest], generator)
        picked.append(rest[take])
        rest = rest[keep]
    if n_train < len(rest):
        _, take = split_indices(name, len(rest), n_train / len(rest), labels[rest], generator)
        rest = rest[take]
    return rest, picked[1], picked[0]


def choose_splits(
    name: str,
    labels: Tensor,
    *,
    train_size: float | int | None,
    val_size: float | int,
    test_size: float | int,
    seed: int,
    train_idx: object = None,
    val_idx: object = None,
    test_idx: object = None,
) -> tuple[Any, Any, Any]:
    """The node sets given (``train_idx`` and ``test_idx``, ``val_idx`` optional), else drawn.

    Given sets are returned as they are (:class:`~rpnkit.data.graphs.GraphData` checks them);
    without them :func:`node_splits` draws the sets from the sizes.

    Raises
    ------
    ConfigError
        For only one of ``train_idx`` and ``test_idx``, or a bad seed or size.
    """
    if train_idx is not None or test_idx is not None or val_idx is not None:
        if train_idx is None or test_idx is None:
            raise ConfigError(
                f"dataset {name!r}: give both train_idx and test_idx (val_idx is optional), "
                "or neither to draw them with train_size/val_size/test_size"
            )
        return train_idx, val_idx, test_idx
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"dataset {name!r}: seed must be a non-negative integer, got {seed!r}")
    return node_splits(
        name, labels, train_size=train_size, val_size=val_size, test_size=test_size, seed=seed
    )
