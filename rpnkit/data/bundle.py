"""The :class:`DataBundle` every dataset factory returns, and how one is built from tensors.

A bundle holds a seeded train/test split as two :class:`~torch.utils.data.DataLoader` objects
plus what a model needs to know about the data (``in_features``, ``out_features``, ``task``).
It is a read-only mapping with the keys ``"train_loader"`` and ``"test_loader"``, so it can be
handed directly to a learner that expects a ``data_loader`` dict.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sized
from dataclasses import dataclass
from typing import Literal, cast, get_args

import torch
from torch import Tensor
from torch.utils.data import DataLoader, TensorDataset

from rpnkit.errors import ConfigError

__all__ = ["DataBundle", "Loader", "Task"]

#: The learning problem a bundle poses.
Task = Literal["classification", "regression"]
#: A loader over a :class:`~torch.utils.data.TensorDataset` of ``(features, targets)``.
Loader = DataLoader[tuple[Tensor, ...]]

_TASKS: tuple[str, ...] = get_args(Task)
_KEYS: tuple[str, str] = ("train_loader", "test_loader")


@dataclass(frozen=True, eq=False, repr=False)
class DataBundle(Mapping[str, Loader]):
    """A seeded train/test split of one dataset, ready for training.

    As a :class:`~collections.abc.Mapping` it has exactly two keys, ``"train_loader"`` and
    ``"test_loader"``, so ``learner.train(model, data_loader=bundle)`` works unchanged.

    Attributes
    ----------
    name
        Dataset name (``"digits"``, ``"sin(x1)+cos(x2)"``, ...).
    task
        ``"classification"`` (targets are ``int64`` class indices of shape ``(n,)``) or
        ``"regression"`` (targets are ``float32`` of shape ``(n, out_features)``).
    in_features
        Number of input features; inputs are ``float32`` of shape ``(n, in_features)``.
    out_features
        Number of classes for classification, number of outputs for regression.
    train_loader
        Loader over the training split.
    test_loader
        Loader over the test split, never shuffled.
    feature_mean, feature_std
        The per-feature statistics of the training split used to standardise both splits,
        shape ``(in_features,)``; ``None`` when the features were not standardised. Apply
        ``(x - feature_mean) / feature_std`` to new raw inputs before prediction.
    """

    name: str
    task: Task
    in_features: int
    out_features: int
    train_loader: Loader
    test_loader: Loader
    feature_mean: Tensor | None = None
    feature_std: Tensor | None = None

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise ConfigError(
                f"DataBundle task must be one of {', '.join(map(repr, _TASKS))}, got {self.task!r}"
            )
        for field_name in ("in_features", "out_features"):
            value = getattr(self, field_name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(
                    f"DataBundle {field_name} must be a positive integer, got {value!r}"
                )

    def __getitem__(self, key: str) -> Loader:
        if key == "train_loader":
            return self.train_loader
        if key == "test_loader":
            return self.test_loader
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_KEYS)

    def __len__(self) -> int:
        return len(_KEYS)

    @property
    def n_train(self) -> int:
        """Number of samples in the training split."""
        return len(cast(Sized, self.train_loader.dataset))

    @property
    def n_test(self) -> int:
        """Number of samples in the test split."""
        return len(cast(Sized, self.test_loader.dataset))

    def __repr__(self) -> str:
        return (
            f"DataBundle(name={self.name!r}, task={self.task!r}, "
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"n_train={self.n_train}, n_test={self.n_test})"
        )

    @classmethod
    def from_tensors(
        cls,
        features: Tensor,
        targets: Tensor,
        *,
        name: str,
        task: Task,
        batch_size: int = 64,
        test_batch_size: int | None = None,
        test_size: float = 0.2,
        seed: int = 0,
        standardize: bool = True,
        shuffle: bool = True,
        num_workers: int = 0,
        drop_last: bool = False,
    ) -> DataBundle:
        """Split ``features``/``targets`` with a seed and wrap both splits in loaders.

        Every dataset factory of rpnkit ends here, so the loader parameters below mean the
        same for all of them.

        Parameters
        ----------
        features
            Inputs of shape ``(n, in_features)``; stored as ``float32``.
        targets
            Class indices ``0 .. C-1`` of shape ``(n,)`` for classification (stored as
            ``int64``, ``out_features = C``), or values of shape ``(n,)`` or
            ``(n, out_features)`` for regression (stored as ``float32`` of shape
            ``(n, out_features)``).
        name
            Dataset name recorded on the bundle and used in error messages.
        task
            ``"classification"`` or ``"regression"``.
        batch_size
            Training batch size, a positive integer.
        test_batch_size
            Test batch size; ``None`` uses ``batch_size``.
        test_size
            Fraction of the samples held out for testing, strictly between 0 and 1. Each
            split keeps at least one sample (one per class for classification).
        seed
            Seeds the split and the training shuffle order, so equal seeds give equal
            splits and equal batch sequences. A non-negative integer.
        standardize
            Rescale every feature to zero mean and unit variance using statistics of the
            training split only (constant features are only centred). The statistics are
            kept as ``feature_mean`` / ``feature_std``.
        shuffle
            Reshuffle the training split every epoch (with a generator seeded by ``seed``).
            The test split is never shuffled.
        num_workers
            Worker processes per loader; ``0`` loads in the main process.
        drop_last
            Drop the last incomplete training batch.

        Returns
        -------
        DataBundle
            The split data.

        Raises
        ------
        ConfigError
            If a parameter is out of range or the tensors have the wrong shape, with a
            one-line message naming the parameter.
        """
        _check_positive_int(name, "batch_size", batch_size)
        if test_batch_size is not None:
            _check_positive_int(name, "test_batch_size", test_batch_size)
        _check_fraction(name, "test_size", test_size)
        _check_non_negative_int(name, "seed", seed)
        _check_non_negative_int(name, "num_workers", num_workers)
        for flag, value in (
            ("standardize", standardize),
            ("shuffle", shuffle),
            ("drop_last", drop_last),
        ):
            if not isinstance(value, bool):
                raise ConfigError(f"dataset {name!r}: {flag} must be true or false, got {value!r}")
        if task not in _TASKS:
            raise ConfigError(
                f"dataset {name!r}: task must be one of {', '.join(map(repr, _TASKS))}, "
                f"got {task!r}"
            )
        x, y = _check_tensors(name, task, features, targets)

        split_generator = torch.Generator().manual_seed(seed)
        stratify = y if task == "classification" else None
        train_idx, test_idx = _split_indices(name, len(x), test_size, stratify, split_generator)
        if drop_last and len(train_idx) < batch_size:
            raise ConfigError(
                f"dataset {name!r}: drop_last=True with batch_size={batch_size} leaves no "
                f"training batch ({len(train_idx)} training samples); lower batch_size"
            )

        x_train, x_test = x[train_idx], x[test_idx]
        mean: Tensor | None = None
        std: Tensor | None = None
        if standardize:
            mean = x_train.mean(dim=0)
            std = x_train.std(dim=0, correction=0)
            std = torch.where(std > 0, std, torch.ones_like(std))
            x_train = (x_train - mean) / std
            x_test = (x_test - mean) / std
            mean, std = mean.float(), std.float()

        out_features = int(y.max().item()) + 1 if task == "classification" else y.shape[1]
        train_loader: Loader = DataLoader(
            TensorDataset(x_train.float(), y[train_idx]),
            batch_size=batch_size,
            shuffle=shuffle,
            generator=torch.Generator().manual_seed(seed) if shuffle else None,
            num_workers=num_workers,
            drop_last=drop_last,
        )
        test_loader: Loader = DataLoader(
            TensorDataset(x_test.float(), y[test_idx]),
            batch_size=batch_size if test_batch_size is None else test_batch_size,
            shuffle=False,
            num_workers=num_workers,
        )
        return cls(
            name=name,
            task=task,
            in_features=x.shape[1],
            out_features=out_features,
            train_loader=train_loader,
            test_loader=test_loader,
            feature_mean=mean,
            feature_std=std,
        )


def _check_positive_int(dataset: str, field_name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(
            f"dataset {dataset!r}: {field_name} must be a positive integer, got {value!r}"
        )


def _check_non_negative_int(dataset: str, field_name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(
            f"dataset {dataset!r}: {field_name} must be a non-negative integer, got {value!r}"
        )


def _check_fraction(dataset: str, field_name: str, value: object) -> None:
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0.0 < float(value) < 1.0
    ):
        raise ConfigError(
            f"dataset {dataset!r}: {field_name} must be a fraction strictly between 0 and 1, "
            f"got {value!r}"
        )


def _check_tensors(
    name: str, task: str, features: Tensor, targets: Tensor
) -> tuple[Tensor, Tensor]:
    """Validate shapes and return ``(features as float64, targets in their final dtype)``."""
    if features.ndim != 2 or features.shape[0] < 2 or features.shape[1] < 1:
        raise ConfigError(
            f"dataset {name!r}: features must have shape (n_samples >= 2, in_features >= 1), "
            f"got {tuple(features.shape)}"
        )
    if targets.ndim == 0 or targets.shape[0] != features.shape[0]:
        raise ConfigError(
            f"dataset {name!r}: targets must have one row per sample ({features.shape[0]}), "
            f"got shape {tuple(targets.shape)}"
        )
    if task == "classification":
        if targets.ndim != 1 or targets.is_floating_point() or targets.is_complex():
            raise ConfigError(
                f"dataset {name!r}: classification targets must be integer class indices of "
                f"shape (n_samples,), got {targets.dtype} of shape {tuple(targets.shape)}"
            )
        if int(targets.min().item()) < 0:
            raise ConfigError(
                f"dataset {name!r}: class indices must be non-negative, "
                f"got {int(targets.min().item())}"
            )
        return features.double(), targets.long()
    if targets.ndim not in (1, 2):
        raise ConfigError(
            f"dataset {name!r}: regression targets must have shape (n_samples,) or "
            f"(n_samples, out_features), got {tuple(targets.shape)}"
        )
    y = targets.float()
    return features.double(), y.unsqueeze(1) if y.ndim == 1 else y


def _split_indices(
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
                    f"class, class {cls_index} has {len(group)}"
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
