"""The split and loader options every dataset factory takes, checked in one place.

Every factory of :mod:`rpnkit.data` (the bundled sets, the synthetic functions, CSV, Parquet,
NumPy, torchvision and torch datasets) accepts the same keyword arguments with the same
meaning; :meth:`SplitOptions.of` picks them out of a factory's arguments, checked,
:meth:`SplitOptions.split` draws the seeded train/validation/test indices, and
:meth:`SplitOptions.loaders` / :meth:`SplitOptions.val_loader` turn the splits into loaders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from rpnkit.data.loader import BatchLoader, Loader
from rpnkit.data.split import split_indices
from rpnkit.errors import ConfigError

__all__ = ["SplitIndices", "SplitOptions"]


@dataclass(frozen=True)
class SplitIndices:
    """The seeded index sets of one dataset's splits.

    Attributes
    ----------
    train, test
        ``int64`` indices of the training and test samples.
    val
        ``int64`` indices of the validation samples, taken from the training part; ``None``
        when ``val_size`` is 0 (then ``train`` and ``test`` are exactly the two-way split).
    """

    train: Tensor
    test: Tensor
    val: Tensor | None = None


@dataclass(frozen=True)
class SplitOptions:
    """Validated split and loader options of one dataset.

    Attributes
    ----------
    dataset
        Dataset name, used in error messages.
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1.
    val_size
        Validation samples taken from the training part after the test split: a fraction of
        the training part in ``[0, 1)`` or a whole number of samples; stratified by class
        for classification. ``0`` (the default) makes no validation split, leaving the
        train/test split exactly as without the option.
    seed
        Seeds the split and the training shuffle order (a non-negative integer).
    standardize
        Rescale the features with statistics of the training split only.
    shuffle
        Reshuffle the training split every epoch, with a generator seeded by ``seed``.
    num_workers
        ``0`` (the default) serves batches with a :class:`~rpnkit.data.loader.BatchLoader`,
        sliced in the main process; more gives a :class:`~torch.utils.data.DataLoader` with
        that many worker processes reading sample by sample.
    drop_last
        Drop the last incomplete training batch.
    pin_memory
        Return batches in page-locked memory on a machine with CUDA, so that copying them to
        the GPU with ``non_blocking=True`` (as the learner does) overlaps with computing.
    standardize_target
        For regression, rescale the targets with the training split's mean and standard
        deviation (the bundle keeps them to undo it); ignored for classification.
    """

    dataset: str
    batch_size: int = 64
    test_batch_size: int | None = None
    test_size: float = 0.2
    val_size: float | int = 0
    seed: int = 0
    standardize: bool = True
    shuffle: bool = True
    num_workers: int = 0
    drop_last: bool = False
    pin_memory: bool = False
    standardize_target: bool = False

    def __post_init__(self) -> None:
        name = self.dataset
        _check_positive_int(name, "batch_size", self.batch_size)
        if self.test_batch_size is not None:
            _check_positive_int(name, "test_batch_size", self.test_batch_size)
        _check_fraction(name, "test_size", self.test_size)
        _check_val_size(name, self.val_size)
        _check_non_negative_int(name, "seed", self.seed)
        _check_non_negative_int(name, "num_workers", self.num_workers)
        for flag in ("standardize", "shuffle", "drop_last", "pin_memory", "standardize_target"):
            value = getattr(self, flag)
            if not isinstance(value, bool):
                raise ConfigError(f"dataset {name!r}: {flag} must be true or false, got {value!r}")

    @classmethod
    def of(cls, dataset: str, arguments: Mapping[str, Any]) -> SplitOptions:
        """The options among a dataset factory's ``arguments``, checked.

        Every factory takes the options as keyword arguments of its own signature (so the
        registry can check and list them) and passes its ``locals()`` here: the options are
        picked by name, and any left out keep their defaults.

        Parameters
        ----------
        dataset
            Dataset name, used in error messages.
        arguments
            The factory's arguments by name; other names are ignored.
        """
        names = [f.name for f in fields(cls) if f.name != "dataset"]
        return cls(dataset, **{key: arguments[key] for key in names if key in arguments})

    def kwargs(self) -> dict[str, Any]:
        """The options as keyword arguments of :meth:`DataBundle.from_tensors`."""
        values = asdict(self)
        del values["dataset"]
        return values

    def split(
        self, n: int, stratify: Tensor | None, generator: torch.Generator | None = None
    ) -> SplitIndices:
        """The seeded train/validation/test indices of ``n`` samples.

        The test split is drawn first, exactly as without validation (so ``val_size: 0``
        changes nothing); the validation samples are then drawn from the training part with
        the same generator, stratified by ``stratify`` when given (see :meth:`take_val`).

        Parameters
        ----------
        n
            Number of samples.
        stratify
            Class index of every sample (shape ``(n,)``), or ``None`` for a plain split.
        generator
            The generator to draw with; ``None`` seeds a new one with ``seed``.

        Raises
        ------
        ConfigError
            For a split that leaves a class (or the whole training part) without training
            samples, in one line naming ``val_size``.
        """
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed)
        train, test = split_indices(self.dataset, n, self.test_size, stratify, generator)
        keep, val = self.take_val(train, stratify, generator)
        return SplitIndices(keep, test, val)

    def take_val(
        self, train: Tensor, stratify: Tensor | None, generator: torch.Generator | None = None
    ) -> tuple[Tensor, Tensor | None]:
        """Split the training indices ``train`` into the kept ones and the validation ones.

        Parameters
        ----------
        train
            ``int64`` indices of the training part.
        stratify
            Class index of every sample (indexed by ``train``), or ``None``.
        generator
            The generator to draw with; ``None`` seeds a new one with ``seed``.

        Returns
        -------
        tuple
            ``(kept, val)``: ``train`` itself and ``None`` when ``val_size`` is 0.

        Raises
        ------
        ConfigError
            For a ``val_size`` that leaves a class (or the whole training part) without
            training samples, in one line naming ``val_size``.
        """
        if self.val_size == 0:
            self.check_train_size(len(train))
            return train, None
        if generator is None:
            generator = torch.Generator().manual_seed(self.seed)
        n_val = self.val_count(len(train))
        if n_val >= len(train):
            raise ConfigError(
                f"dataset {self.dataset!r}: val_size={self.val_size!r} takes {n_val} of the "
                f"{len(train)} training samples and leaves none to train on; lower val_size"
            )
        part = None if stratify is None else stratify[train]
        if part is not None:
            classes, counts = torch.unique(part, return_counts=True)
            if bool((counts < 2).any()):
                at = int(torch.nonzero(counts < 2)[0, 0])
                raise ConfigError(
                    f"dataset {self.dataset!r}: val_size={self.val_size!r} would leave class "
                    f"{int(classes[at])} ({int(counts[at])} training sample) without training "
                    "samples; every class needs 2 in the training part, so lower test_size or "
                    "set val_size: 0"
                )
        keep, val = split_indices(self.dataset, len(train), n_val / len(train), part, generator)
        self.check_train_size(len(keep))
        return train[keep], train[val]

    def val_count(self, n_train: int) -> int:
        """Number of validation samples taken from ``n_train`` training samples (at least 1)."""
        if isinstance(self.val_size, int):
            return self.val_size
        return max(1, math.ceil(round(self.val_size * n_train, 9)))

    def val_loader(self, val: Dataset[tuple[Tensor, ...]]) -> Loader:
        """A loader over the validation split: never shuffled, ``test_batch_size`` batches."""
        batch = self.batch_size if self.test_batch_size is None else self.test_batch_size
        if self.num_workers == 0:
            return BatchLoader(val, batch, pin_memory=self.pin_memory)
        pin = self.pin_memory and torch.cuda.is_available()
        loader: Loader = DataLoader(
            val, batch_size=batch, num_workers=self.num_workers, pin_memory=pin
        )
        return loader

    def check_train_size(self, n_train: int) -> None:
        """Raise :class:`ConfigError` if ``drop_last`` leaves no training batch."""
        if self.drop_last and n_train < self.batch_size:
            raise ConfigError(
                f"dataset {self.dataset!r}: drop_last=True with batch_size={self.batch_size} "
                f"leaves no training batch ({n_train} training samples); lower batch_size"
            )

    def loaders(
        self, train: Dataset[tuple[Tensor, ...]], test: Dataset[tuple[Tensor, ...]]
    ) -> tuple[Loader, Loader]:
        """The training and test loaders over the two splits.

        ``train`` and ``test`` are :class:`~torch.utils.data.TensorDataset` objects or row
        sources that a :class:`~rpnkit.data.loader.BatchLoader` can gather from.
        """
        test_batch = self.batch_size if self.test_batch_size is None else self.test_batch_size
        if self.num_workers == 0:
            return (
                BatchLoader(
                    train,
                    self.batch_size,
                    shuffle=self.shuffle,
                    drop_last=self.drop_last,
                    seed=self.seed,
                    pin_memory=self.pin_memory,
                ),
                BatchLoader(test, test_batch, pin_memory=self.pin_memory),
            )
        pin = self.pin_memory and torch.cuda.is_available()
        train_loader: Loader = DataLoader(
            train,
            batch_size=self.batch_size,
            shuffle=self.shuffle,
            generator=torch.Generator().manual_seed(self.seed) if self.shuffle else None,
            num_workers=self.num_workers,
            drop_last=self.drop_last,
            pin_memory=pin,
        )
        test_loader: Loader = DataLoader(
            test, batch_size=test_batch, num_workers=self.num_workers, pin_memory=pin
        )
        return train_loader, test_loader


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


def _check_val_size(dataset: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        valid = False
    elif isinstance(value, int):
        valid = value >= 0
    else:
        valid = 0.0 <= value < 1.0
    if not valid:
        raise ConfigError(
            f"dataset {dataset!r}: val_size must be a fraction of the training part in [0, 1) "
            f"or a whole number of samples, got {value!r}"
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
