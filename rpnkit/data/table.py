"""A table's feature matrix and target column, made into a :class:`DataBundle`.

The ``csv`` and ``parquet`` datasets read their files differently but end the same way: a
``float64`` feature matrix and the raw target values go through :func:`table_bundle`, which
encodes the target (class names kept, see :mod:`rpnkit.data.labels`) and splits the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from rpnkit.data.bundle import DataBundle
from rpnkit.data.labels import encode_targets
from rpnkit.data.options import SplitOptions

__all__ = ["table_bundle"]


def table_bundle(
    name: str,
    features: np.ndarray,
    target: np.ndarray,
    target_name: str,
    task: str,
    options: SplitOptions,
    feature_names: Sequence[str] | None = None,
) -> DataBundle:
    """Encode ``target``, split the rows and wrap them in a bundle.

    Parameters
    ----------
    name
        Dataset name (the file's name).
    features
        ``float64`` matrix of shape ``(n, in_features)``, every value finite.
    target
        The target column's values, shape ``(n,)``: numbers or strings.
    target_name
        The target column's name, for error messages.
    task
        ``"auto"``, ``"classification"`` or ``"regression"``.
    options
        The split and loader options.
    feature_names
        The feature columns' names, kept on the bundle (``feature_names``).

    Returns
    -------
    DataBundle
        With the class names of the target column for classification.
    """
    kind, targets, classes = encode_targets(name, f"target column {target_name!r}", target, task)
    bundle = DataBundle.from_tensors(
        torch.from_numpy(features),
        targets,
        name=name,
        task=kind,
        classes=classes,
        **options.kwargs(),
    )
    if feature_names is None:
        return bundle
    return dataclasses.replace(bundle, feature_names=tuple(feature_names))
