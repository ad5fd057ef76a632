"""Feature-selection compressions: incremental variance threshold and feature clustering.

Both keep a running statistic over training batches as tinybig's ``feature_selection``
objects do: the ``t``-th batch's statistic ``s_t`` updates the running one to
``((t - 1) S + s_t) / t``, until ``t`` reaches ``t_threshold`` or an update moves it by less
than ``incremental_stop_threshold`` (Euclidean norm); from then on each training batch's own
statistic replaces it. Evaluation batches never change it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, non_negative_int, positive_int
from rpnkit.rpn.compression.base import chosen_function
from rpnkit.rpn.compression.stateful import StatefulCompression
from rpnkit.rpn.expansion.base import Processing

__all__ = [
    "FeatureClusteringCompression",
    "VarianceThresholdCompression",
    "feature_selection_compression",
]


class _RunningStatistic(StatefulCompression):
    """A :class:`StatefulCompression` with tinybig's running average of a batch statistic."""

    _lazy_buffers: ClassVar[tuple[str, ...]] = ("statistic",)
    statistic: Tensor | None
    incremental: Tensor
    t: Tensor

    def __init__(
        self,
        D: int,
        incremental_stop_threshold: float = 0.01,
        t_threshold: int = 100,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(D, preprocess=preprocess, postprocess=postprocess)
        label = type(self).__name__
        self.incremental_stop_threshold = finite_number(
            incremental_stop_threshold, f"{label} incremental_stop_threshold", at_least=0.0
        )
        self.t_threshold = positive_int(t_threshold, f"{label} t_threshold")
        self.register_buffer("incremental", torch.ones((), dtype=torch.bool))
        self.register_buffer("t", torch.zeros((), dtype=torch.long))

    def update(self, new: Tensor) -> None:
        """Fold one training batch's statistic into the running one."""
        if self.statistic is None:
            self.register_buffer("statistic", torch.zeros_like(new))
        assert self.statistic is not None
        if not bool(self.incremental):
            self.statistic.copy_(new)
            return
        self.t.add_(1)
        t = int(self.t)
        old = self.statistic.clone()
        self.statistic.copy_(((t - 1) * old + new) / t)
        moved = float(torch.linalg.vector_norm((old - self.statistic).reshape(-1)))
        if t >= self.t_threshold or moved < self.incremental_stop_threshold:
            self.incremental.fill_(False)


class VarianceThresholdCompression(_RunningStatistic):
    """The ``D`` features of largest running variance, in ascending order of variance,
    tinybig's ``incremental_variance_threshold_based_compression``.

    The statistic is each training batch's unbiased per-feature variance (see the module
    documentation for the running average).

    Parameters
    ----------
    D
        Number of features kept, ``1 <= D <= m``.
    incremental_stop_threshold, t_threshold
        When the running average stops (tinybig's defaults 0.01 and 100).
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Differences from tinybig
    ------------------------
    tinybig updates the variances on every batch, test batches included; here only training
    batches do. Ties between variances are ordered by feature index (a stable sort).
    """

    tinybig_divergence = "variances updated on training batches only (tinybig: on test batches too)"

    def fit(self, x: Tensor) -> None:
        """Fold the batch's per-feature variance into the running one."""
        self.update(torch.var(x, dim=0))

    def transform(self, x: Tensor) -> Tensor:
        """Return the ``D`` highest-variance features, lowest variance first."""
        assert self.statistic is not None
        keep = torch.argsort(self.statistic, stable=True)[-self.D :]
        return x[:, keep.to(x.device)]


class FeatureClusteringCompression(_RunningStatistic):
    """Per-sample means of ``D`` clusters of features, tinybig's
    ``incremental_feature_clustering_based_compression``.

    The statistic is the ``m × m`` Euclidean distance between the features (columns) of each
    training batch; after every update the features are clustered by scikit-learn's
    ``SpectralClustering(D, affinity="precomputed", random_state)`` on the similarity
    ``exp(-d² / 2)``. The output is the mean of each cluster's features (0 for an empty
    cluster), ``x M`` with a fixed averaging matrix ``M``.

    Parameters
    ----------
    D
        Number of clusters, ``1 <= D <= m``.
    random_state
        Seed of the spectral clustering (tinybig's 42).
    incremental_stop_threshold, t_threshold, preprocess, postprocess
        See :class:`VarianceThresholdCompression`.

    Differences from tinybig
    ------------------------
    tinybig re-clusters on every batch, test batches included; here only training batches
    update the distances and the clusters. The output has the input's dtype (tinybig:
    float64) and a gradient.
    """

    tinybig_divergence = "clusters fitted on training batches only (tinybig: on test batches too)"
    _lazy_buffers = ("statistic", "labels")
    labels: Tensor | None

    def __init__(
        self,
        D: int,
        random_state: int = 42,
        incremental_stop_threshold: float = 0.01,
        t_threshold: int = 100,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(
            D, incremental_stop_threshold, t_threshold, preprocess=preprocess,
            postprocess=postprocess,
        )  # fmt: skip
        self.random_state = non_negative_int(
            random_state, "FeatureClusteringCompression random_state"
        )

    def fit(self, x: Tensor) -> None:
        """Update the feature distances and re-cluster the features."""
        from sklearn.cluster import SpectralClustering

        columns = x.T.unsqueeze(0)
        distance = torch.cdist(columns, columns, compute_mode="donot_use_mm_for_euclid_dist")[0]
        self.update(distance)
        assert self.statistic is not None
        similarity = torch.exp(-(self.statistic**2) / 2.0)
        model = SpectralClustering(
            n_clusters=self.D, affinity="precomputed", random_state=self.random_state
        )
        labels = torch.as_tensor(model.fit(similarity.cpu().numpy()).labels_, dtype=torch.long)
        if self.labels is None:
            self.register_buffer("labels", labels.to(x.device))
        else:
            self.labels.copy_(labels)

    def transform(self, x: Tensor) -> Tensor:
        """Return the mean of every cluster's features."""
        assert self.labels is not None
        members = torch.nn.functional.one_hot(self.labels, self.D).to(x.dtype)
        counts = members.sum(dim=0).clamp(min=1)
        return x @ (members / counts)


_SELECTORS = {
    "incremental_variance_threshold": "incremental_variance_threshold",
    "incremental_feature_clustering": "incremental_feature_clustering",
}


def feature_selection_compression(
    D: int,
    fs_function: Any = None,
    fs_function_configs: dict[str, Any] | None = None,
    *,
    preprocess: Processing = None,
    postprocess: Processing = None,
) -> StatefulCompression:
    """tinybig's ``feature_selection_compression``: the compression of the selector named by
    ``fs_function`` (``"incremental_variance_threshold"``, ``"incremental_feature_clustering"``
    or tinybig's object of that class) or by ``fs_function_configs``.

    Raises
    ------
    ConfigError
        If no selector, two, or an unknown one is given.
    """
    name = chosen_function(fs_function, fs_function_configs, _SELECTORS, "fs_function")
    if name == "incremental_variance_threshold":
        return VarianceThresholdCompression(D, preprocess=preprocess, postprocess=postprocess)
    return FeatureClusteringCompression(D, preprocess=preprocess, postprocess=postprocess)
