"""Classification datasets bundled with scikit-learn: digits, iris, wine and breast cancer.

They are read from files shipped inside the scikit-learn package (``sklearn.datasets.load_*``),
so building them never touches the network. Each factory returns a :class:`DataBundle` split
and standardised as described in :meth:`DataBundle.from_tensors`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from sklearn import datasets

from rpnkit.data.bundle import DataBundle

__all__ = ["breast_cancer", "digits", "iris", "wine"]


def digits(
    *,
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataBundle:
    """Handwritten digits: 1797 8x8 images as 64 pixel intensities, 10 classes.

    Parameters
    ----------
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1; the split
        is stratified by class.
    seed
        Seeds the split and the training shuffle order (a non-negative integer).
    standardize
        Standardise every feature with the training split's mean and standard deviation.
    shuffle
        Reshuffle the training split every epoch (seeded); the test split is never shuffled.
    num_workers
        Worker processes per loader; ``0`` loads in the main process.
    drop_last
        Drop the last incomplete training batch.

    Returns
    -------
    DataBundle
        ``in_features=64``, ``out_features=10``, ``task="classification"``.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    return _sklearn_bundle(
        "digits",
        datasets.load_digits,
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
    )


def iris(
    *,
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataBundle:
    """Iris flowers: 150 samples of 4 measurements, 3 species.

    Parameters
    ----------
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1; the split
        is stratified by class.
    seed
        Seeds the split and the training shuffle order (a non-negative integer).
    standardize
        Standardise every feature with the training split's mean and standard deviation.
    shuffle
        Reshuffle the training split every epoch (seeded); the test split is never shuffled.
    num_workers
        Worker processes per loader; ``0`` loads in the main process.
    drop_last
        Drop the last incomplete training batch.

    Returns
    -------
    DataBundle
        ``in_features=4``, ``out_features=3``, ``task="classification"``.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    return _sklearn_bundle(
        "iris",
        datasets.load_iris,
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
    )


def wine(
    *,
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataBundle:
    """Wine recognition: 178 samples of 13 chemical measurements, 3 cultivars.

    Parameters
    ----------
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1; the split
        is stratified by class.
    seed
        Seeds the split and the training shuffle order (a non-negative integer).
    standardize
        Standardise every feature with the training split's mean and standard deviation.
    shuffle
        Reshuffle the training split every epoch (seeded); the test split is never shuffled.
    num_workers
        Worker processes per loader; ``0`` loads in the main process.
    drop_last
        Drop the last incomplete training batch.

    Returns
    -------
    DataBundle
        ``in_features=13``, ``out_features=3``, ``task="classification"``.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    return _sklearn_bundle(
        "wine",
        datasets.load_wine,
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
    )


def breast_cancer(
    *,
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    seed: int = 0,
    standardize: bool = True,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
) -> DataBundle:
    """Breast cancer Wisconsin (diagnostic): 569 samples of 30 features, 2 classes.

    Parameters
    ----------
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1; the split
        is stratified by class.
    seed
        Seeds the split and the training shuffle order (a non-negative integer).
    standardize
        Standardise every feature with the training split's mean and standard deviation.
    shuffle
        Reshuffle the training split every epoch (seeded); the test split is never shuffled.
    num_workers
        Worker processes per loader; ``0`` loads in the main process.
    drop_last
        Drop the last incomplete training batch.

    Returns
    -------
    DataBundle
        ``in_features=30``, ``out_features=2``, ``task="classification"``.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    """
    return _sklearn_bundle(
        "breast_cancer",
        datasets.load_breast_cancer,
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
    )


def _sklearn_bundle(
    name: str,
    load: Callable[..., Any],
    *,
    batch_size: int,
    test_batch_size: int | None,
    test_size: float,
    seed: int,
    standardize: bool,
    shuffle: bool,
    num_workers: int,
    drop_last: bool,
) -> DataBundle:
    """Read a scikit-learn bundled set with ``load`` and split it into a bundle."""
    features, labels = load(return_X_y=True)
    return DataBundle.from_tensors(
        torch.from_numpy(features),
        torch.from_numpy(labels),
        name=name,
        task="classification",
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
    )
