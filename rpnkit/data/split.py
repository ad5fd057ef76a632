"""The seeded train/test split every dataset shares, stratified by class for classification."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rpnkit.errors import ConfigError

__all__ = ["split_indices"]


def split_indices(
    name: str,
    n: int,
    test_size: float,
    stratify: Tensor | None,
    generator: torch.Generator,
) -> tuple[Tensor, Tensor]:
    """Return seeded ``(train, test)`` index tensors, stratified by ``stratify`` if given.

    The test split gets ``ceil(test_size * n)`` samples. When stratifying, they are shared
    among the classes in proportion to class size (largest remainders first), and every class
    keeps at least one sample in each split.

    Parameters
    ----------
    name
        Dataset name, for error messages.
    n
        Number of samples.
    test_size
        Fraction held out for testing, strictly between 0 and 1.
    stratify
        Class index of every sample (shape ``(n,)``), or ``None`` for a plain split.
    generator
        Draws the permutations.

    Returns
    -------
    tuple of Tensor
        ``int64`` indices of the training and test samples, each in a shuffled order.

    Raises
    ------
    ConfigError
        If a class has fewer than 2 samples (it cannot be in both splits).
    """
    if stratify is None:
        groups = [torch.arange(n)]
    else:
        classes = torch.unique(stratify)
        groups = [torch.nonzero(stratify == c).flatten() for c in classes]
        for cls_index, group in zip(classes.tolist(), groups, strict=True):
            if len(group) < 2:
                raise ConfigError(
                    f"dataset {name!r}: a stratified split needs at least 2 samples per "
                    f"class, class {cls_index} has {len(group)}; if the target is a quantity "
                    "rather than a class, set task: regression "
                    "(--set data.parameters.task=regression)"
                )
    sizes = torch.tensor([len(g) for g in groups], dtype=torch.float64)
    # Rounding first keeps e.g. 0.1 * 30 = 3.0000000000000004 from becoming 4.
    n_test = math.ceil(round(test_size * n, 9))
    quotas = test_size * sizes
    counts = quotas.floor()
    leftover = n_test - int(counts.sum().item())
    by_remainder = torch.argsort(quotas - counts, descending=True, stable=True)
    counts[by_remainder[:leftover]] += 1
    counts = torch.minimum(counts.clamp(min=1), sizes - 1)

    train_parts, test_parts = [], []
    for group, count in zip(groups, counts.long().tolist(), strict=True):
        permuted = group[torch.randperm(len(group), generator=generator)]
        test_parts.append(permuted[:count])
        train_parts.append(permuted[count:])
    train = torch.cat(train_parts)
    test = torch.cat(test_parts)
    # Mix the classes so an unshuffled loader does not see them in blocks.
    train = train[torch.randperm(len(train), generator=generator)]
    test = test[torch.randperm(len(test), generator=generator)]
    return train, test
