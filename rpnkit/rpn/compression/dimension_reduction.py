"""Dimension-reduction compressions: incremental PCA and sparse random projection, in torch.

Both are :class:`~rpnkit.rpn.compression.stateful.StatefulCompression`\\ s: fitted on training
batches only, and differentiable in ``x`` (``(x - μ) Cᵀ`` and ``x Rᵀ``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.rpn.compression.base import chosen_function
from rpnkit.rpn.compression.stateful import StatefulCompression
from rpnkit.rpn.expansion.base import Processing

__all__ = [
    "IncrementalPCACompression",
    "RandomProjectionCompression",
    "dimension_reduction_compression",
]


class IncrementalPCACompression(StatefulCompression):
    """Projection on the ``D`` leading principal components, updated batch by batch,
    tinybig's ``incremental_PCA_based_compression``.

    Each training batch updates the running mean ``μ`` and the components ``C`` as
    scikit-learn's ``IncrementalPCA.partial_fit`` does (an SVD of the previous components
    scaled by their singular values, the centred batch and a mean correction, signs fixed by
    each component's largest entry), in float64; the output is ``(x - μ) Cᵀ``.

    Parameters
    ----------
    D
        Number of components, ``1 <= D <= m``; the first training batch needs ``>= D`` rows.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Differences from tinybig
    ------------------------
    tinybig calls ``partial_fit`` on every batch, test batches included, so evaluating
    changes the model; here only training batches fit. tinybig's output is float64 and it
    fails on inputs that require a gradient; here the output has the input's dtype and a
    gradient.
    """

    tinybig_divergence = "fitted on training batches only (tinybig also fits on every test batch)"
    _lazy_buffers = ("mean", "components", "singular_values", "samples_seen")
    mean: Tensor | None
    components: Tensor | None
    singular_values: Tensor | None
    samples_seen: Tensor | None

    def fit(self, x: Tensor) -> None:
        """One ``partial_fit`` step on the training batch ``x``."""
        x = x.to(torch.float64)
        n = x.shape[0]
        batch_mean = x.mean(dim=0)
        if self.mean is None or self.components is None or self.singular_values is None:
            if n < self.D:
                raise ConfigError(
                    f"IncrementalPCACompression D={self.D} needs a first training batch of at "
                    f"least {self.D} rows, got {n}; expected batch_size >= D"
                )
            stacked, mean, total = x - batch_mean, batch_mean, float(n)
        else:
            assert self.samples_seen is not None
            seen = float(self.samples_seen.item())
            total = seen + n
            old_mean = self.mean.to(torch.float64)
            mean = (old_mean * seen + batch_mean * n) / total
            correction = math.sqrt(seen / total * n) * (old_mean - batch_mean)
            previous = self.singular_values.to(torch.float64).unsqueeze(1) * self.components.to(
                torch.float64
            )
            stacked = torch.cat([previous, x - batch_mean, correction.unsqueeze(0)])
        _, S, Vt = torch.linalg.svd(stacked, full_matrices=False)
        largest = Vt.abs().argmax(dim=1)
        Vt = Vt * torch.sign(Vt.gather(1, largest.unsqueeze(1)))
        self._store("mean", mean)
        self._store("components", Vt[: self.D])
        self._store("singular_values", S[: self.D])
        self._store("samples_seen", torch.tensor(total, dtype=torch.float64))

    def _store(self, name: str, value: Tensor) -> None:
        current = getattr(self, name)
        if current is None:
            self.register_buffer(name, value.clone())
        else:
            current.copy_(value)

    def transform(self, x: Tensor) -> Tensor:
        """Return ``(x - μ) Cᵀ``."""
        assert self.mean is not None and self.components is not None
        return (x - self.mean.to(x.dtype)) @ self.components.to(x.dtype).T


class RandomProjectionCompression(StatefulCompression):
    """Sparse random projection ``x Rᵀ`` (``R`` of shape ``D × m``), tinybig's
    ``incremental_random_projection_based_compression``.

    ``R`` is scikit-learn's ``SparseRandomProjection`` matrix with its default density
    ``s = 1/√m``: each entry is ``±1/√(s D)`` with probability ``s/2`` each and 0 otherwise.
    It is drawn once, from torch's global generator, at the first training batch, and kept
    as a buffer (so a checkpoint keeps it).

    Parameters
    ----------
    D
        Output size, ``1 <= D <= m``.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Differences from tinybig
    ------------------------
    tinybig fits a new ``SparseRandomProjection`` (no ``random_state``) on every batch, so
    every batch, test batches included, is projected by a different random matrix, which no
    weight can be trained against; here one matrix is drawn and kept.
    """

    tinybig_divergence = (
        "one projection matrix drawn at the first training batch and kept (tinybig draws a new one "
        "every batch)"
    )
    _lazy_buffers = ("projection",)
    projection: Tensor | None

    def fit(self, x: Tensor) -> None:
        """Draw the projection at the first training batch; later batches change nothing."""
        if self.projection is not None:
            return
        m = x.shape[-1]
        density = 1 / math.sqrt(m)
        u = torch.rand(self.D, m, dtype=torch.float64)
        scale = math.sqrt(1 / density) / math.sqrt(self.D)
        signs = torch.where(u < density / 2, 1.0, -1.0).to(torch.float64)
        matrix = torch.where(u < density, signs * scale, torch.zeros((), dtype=torch.float64))
        self.register_buffer("projection", matrix.to(x.dtype).to(x.device))

    def transform(self, x: Tensor) -> Tensor:
        """Return ``x Rᵀ``."""
        assert self.projection is not None
        return x @ self.projection.to(x.dtype).T


_REDUCERS = {
    "incremental_PCA": "incremental_PCA",
    "incremental_random_projection": "incremental_random_projection",
}


def dimension_reduction_compression(
    D: int,
    dr_function: Any = None,
    dr_function_configs: dict[str, Any] | None = None,
    *,
    preprocess: Processing = None,
    postprocess: Processing = None,
) -> StatefulCompression:
    """tinybig's ``dimension_reduction_compression``: the compression of the reducer named by
    ``dr_function`` (``"incremental_PCA"``, ``"incremental_random_projection"``, or tinybig's
    object of that class) or by ``dr_function_configs`` (tinybig's config of it).

    Raises
    ------
    ConfigError
        If no reducer, two, or an unknown one is given.
    """
    name = chosen_function(dr_function, dr_function_configs, _REDUCERS, "dr_function")
    cls = IncrementalPCACompression if name == "incremental_PCA" else RandomProjectionCompression
    return cls(D, preprocess=preprocess, postprocess=postprocess)
