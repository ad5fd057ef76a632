"""The ``label_regression`` dataset: a classification set's labels as one float target.

tinybig's tabular loaders give the class labels as float values of shape ``(n, 1)``, and
tinybig's configs for them fit one output to those values with ``MSELoss`` (its "binary"
setups, and iris with the codes 0, 1, 2). ``label_regression`` builds any rpnkit dataset and
serves the same split and batches with its labels as such targets, so those configs train
with tinybig's meaning. A regression dataset is returned as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, RandomSampler

from rpnkit.checks import short_repr
from rpnkit.data.bundle import DataBundle
from rpnkit.errors import ConfigError

__all__ = ["label_regression"]


class _FloatLabels(Dataset[tuple[Tensor, Tensor]]):
    """The samples of ``dataset`` with their label as a float tensor of shape ``(1,)``."""

    def __init__(self, dataset: Dataset[Any]) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        features, label = self.dataset[index]
        return features, torch.as_tensor(label, dtype=torch.float32).reshape(1)


def _relabelled(loader: DataLoader[Any]) -> DataLoader[tuple[Tensor, Tensor]]:
    """A loader like ``loader`` (batch size, order, generator) over float labels."""
    shuffle = isinstance(loader.sampler, RandomSampler)
    return DataLoader(
        _FloatLabels(loader.dataset),
        batch_size=loader.batch_size,
        shuffle=shuffle,
        generator=loader.generator if shuffle else None,
        num_workers=loader.num_workers,
        drop_last=loader.drop_last,
    )


def label_regression(*, dataset: str | Mapping[str, Any] = "iris", **parameters: Any) -> DataBundle:
    """Build ``dataset`` and give its class labels as float targets of shape ``(n, 1)``.

    Parameters
    ----------
    dataset
        The rpnkit dataset: a registry name or a ``{"name", "parameters"}`` mapping.
    **parameters
        Passed to the dataset (``batch_size``, ``seed``, ...).

    Returns
    -------
    DataBundle
        ``task="regression"`` with ``out_features=1``, the same split and batch order as the
        dataset's; a regression dataset unchanged.

    Raises
    ------
    ConfigError
        If ``dataset`` does not build a :class:`DataBundle`, or for its own errors.
    """
    from rpnkit.plugins.state import get_registry

    bundle = get_registry().build("dataset", dataset, **parameters)
    if not isinstance(bundle, DataBundle):
        raise ConfigError(
            f"label_regression: dataset={short_repr(dataset)} built a {type(bundle).__name__}; "
            "expected an rpnkit dataset (a DataBundle)"
        )
    if bundle.task != "classification":
        return bundle
    return DataBundle(
        name=bundle.name,
        task="regression",
        in_features=bundle.in_features,
        out_features=1,
        train_loader=_relabelled(bundle.train_loader),
        test_loader=_relabelled(bundle.test_loader),
        feature_mean=bundle.feature_mean,
        feature_std=bundle.feature_std,
    )
