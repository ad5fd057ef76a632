"""Manifold compressions: scikit-learn's Isomap, LLE, MDS, spectral embedding and t-SNE,
fitted on each batch.

Decision (the rule "tinybig's code wherever it runs and is a valid operator"): tinybig
computes ``fit_transform`` on every batch and keeps nothing, and so does this module. Such a
compression holds no state, so no test batch leaks into the model; but a sample's output
depends on the whole batch it comes in, the coordinates of two batches are not comparable
(each embedding is defined up to rotation, reflection and scale), and the output has no
gradient. MDS, spectral embedding and t-SNE have no out-of-sample transform, so "fit on
training batches, apply to test batches" is not available for them either. Use these with a
full-batch (transductive) setup, or prefer the dimension-reduction compressions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, positive_int
from rpnkit.rpn.compression.base import Compression, check_D, chosen_function
from rpnkit.rpn.expansion.base import Processing

__all__ = [
    "IsomapCompression",
    "LLECompression",
    "MDSCompression",
    "ManifoldCompression",
    "SpectralEmbeddingCompression",
    "TSNECompression",
    "manifold_compression",
]

_SEEDED = "random initialisation seeded from torch's global generator (tinybig: numpy's)"


class ManifoldCompression(Compression):
    """Base class: embed every batch in ``D`` dimensions with a scikit-learn manifold model
    (see the module documentation).

    Parameters
    ----------
    D
        Output size, ``1 <= D <= m``.
    n_neighbors
        Neighbours of the neighbourhood-graph methods (tinybig's default 1).
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Differences from tinybig
    ------------------------
    The output has the input's dtype and device (tinybig: float64 for LLE, MDS and spectral
    embedding) and is computed from the detached input (tinybig fails on an input that
    requires a gradient). The random initialisation of MDS, spectral embedding, t-SNE and
    LLE's solver is seeded from torch's global generator, so a seeded run is reproducible.
    """

    #: Whether the model takes a ``random_state``.
    _random: ClassVar[bool] = True

    def __init__(
        self,
        D: int,
        n_neighbors: int = 1,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        label = type(self).__name__
        self.D = positive_int(D, f"{label} D")
        self.n_neighbors = positive_int(n_neighbors, f"{label} n_neighbors")

    def calculate_D(self, m: int) -> int:
        """Return ``D``; it must be at most ``m``."""
        return check_D(self.D, m, type(self).__name__)

    def model(self, random_state: int | None) -> Any:
        """The scikit-learn model for one batch."""
        raise NotImplementedError(f"{type(self).__name__} names no manifold model")

    def expand(self, x: Tensor) -> Tensor:
        """Return the batch's ``D``-dimensional embedding (no gradient)."""
        self.calculate_D(x.shape[-1])
        rows = x.detach().reshape(-1, x.shape[-1])
        seed = int(torch.randint(0, 2**31 - 1, ()).item()) if self._random else None
        embedded = self.model(seed).fit_transform(rows.cpu().numpy())
        out = torch.as_tensor(embedded).to(dtype=x.dtype, device=x.device)
        return out.reshape(*x.shape[:-1], self.D)


class IsomapCompression(ManifoldCompression):
    """Isomap embedding of each batch, tinybig's ``isomap_manifold_compression``; see
    :class:`ManifoldCompression`."""

    _random = False

    def model(self, random_state: int | None) -> Any:
        """``Isomap(n_neighbors, D)``."""
        from sklearn.manifold import Isomap

        return Isomap(n_neighbors=self.n_neighbors, n_components=self.D)


class LLECompression(ManifoldCompression):
    """Locally linear embedding of each batch, tinybig's ``lle_manifold_compression``; see
    :class:`ManifoldCompression`."""

    tinybig_divergence = _SEEDED

    def model(self, random_state: int | None) -> Any:
        """``LocallyLinearEmbedding(n_neighbors, D)``."""
        from sklearn.manifold import LocallyLinearEmbedding

        return LocallyLinearEmbedding(
            n_neighbors=self.n_neighbors, n_components=self.D, random_state=random_state
        )


class MDSCompression(ManifoldCompression):
    """Metric multidimensional scaling of each batch, tinybig's ``mds_manifold_compression``;
    see :class:`ManifoldCompression` (``n_neighbors`` is unused)."""

    tinybig_divergence = _SEEDED

    def model(self, random_state: int | None) -> Any:
        """``MDS(D)``."""
        from sklearn.manifold import MDS

        return MDS(n_components=self.D, random_state=random_state)


class SpectralEmbeddingCompression(ManifoldCompression):
    """Spectral embedding of each batch, tinybig's
    ``spectral_embedding_manifold_compression``; see :class:`ManifoldCompression`
    (``n_neighbors`` is unused: scikit-learn's default applies, as in tinybig)."""

    tinybig_divergence = _SEEDED

    def model(self, random_state: int | None) -> Any:
        """``SpectralEmbedding(D)``."""
        from sklearn.manifold import SpectralEmbedding

        return SpectralEmbedding(n_components=self.D, random_state=random_state)


class TSNECompression(ManifoldCompression):
    """t-SNE embedding of each batch, tinybig's ``tsne_manifold_compression``; see
    :class:`ManifoldCompression`.

    Parameters
    ----------
    D
        Output size.
    perplexity
        t-SNE perplexity, > 0; scikit-learn needs it below the batch size.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.
    """

    tinybig_divergence = _SEEDED

    def __init__(
        self,
        D: int,
        perplexity: float,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(D, preprocess=preprocess, postprocess=postprocess)
        self.perplexity = finite_number(perplexity, "TSNECompression perplexity", above=0.0)

    def model(self, random_state: int | None) -> Any:
        """``TSNE(D, perplexity)``."""
        from sklearn.manifold import TSNE

        return TSNE(n_components=self.D, perplexity=self.perplexity, random_state=random_state)


_MANIFOLDS: dict[str, type[ManifoldCompression]] = {
    "isomap_manifold": IsomapCompression,
    "lle_manifold": LLECompression,
    "mds_manifold": MDSCompression,
    "spectral_embedding_manifold": SpectralEmbeddingCompression,
}


def manifold_compression(
    D: int,
    n_neighbors: int = 1,
    manifold_function: Any = None,
    manifold_function_configs: dict[str, Any] | None = None,
    *,
    preprocess: Processing = None,
    postprocess: Processing = None,
) -> ManifoldCompression:
    """tinybig's ``manifold_compression``: the compression of the manifold named by
    ``manifold_function`` (``"isomap_manifold"``, ``"lle_manifold"``, ``"mds_manifold"``,
    ``"spectral_embedding_manifold"`` or tinybig's object of that class) or by
    ``manifold_function_configs``; for t-SNE use :class:`TSNECompression`.

    Raises
    ------
    ConfigError
        If no manifold, two, or an unknown one is given.
    """
    choices = {name: name for name in _MANIFOLDS}
    name = chosen_function(
        manifold_function, manifold_function_configs, choices, "manifold_function"
    )
    cls = _MANIFOLDS[name]
    return cls(D, n_neighbors, preprocess=preprocess, postprocess=postprocess)
