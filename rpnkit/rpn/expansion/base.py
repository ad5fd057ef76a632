"""The :class:`Expansion` base class and the processing type shared by every expansion."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec

__all__ = ["Expansion", "Processing"]

#: Processing steps accepted by ``preprocess`` / ``postprocess``.
Processing = ProcessingSpec | Sequence[ProcessingSpec] | None

_LAYER_NORM_EPS = 1e-5


class Expansion(nn.Module, ABC):
    """Base class of data expansion functions κ.

    Subclasses implement :meth:`calculate_D` and :meth:`expand`; they may override
    :meth:`project` with a cheaper way to compute ``κ(x) Wᵀ``.

    Parameters
    ----------
    preprocess
        Processing steps applied to ``x`` before the expansion.
    postprocess
        Processing steps applied to ``κ(x)``, e.g. ``["layer_norm"]``. They must keep the
        last dimension ``D``.
    """

    def __init__(self, *, preprocess: Processing = None, postprocess: Processing = None) -> None:
        super().__init__()
        self.preprocess = ProcessingChain(preprocess, field="preprocess")
        self.postprocess = ProcessingChain(postprocess, field="postprocess")

    @abstractmethod
    def calculate_D(self, m: int) -> int:
        """Return the output size ``D`` for ``m`` input features."""

    @abstractmethod
    def expand(self, x: Tensor) -> Tensor:
        """Return the raw expansion of an already preprocessed ``x`` (no postprocessing)."""

    def forward(self, x: Tensor) -> Tensor:
        """Return ``κ(x)`` of shape ``(..., D)`` for ``x`` of shape ``(..., m)``."""
        return self.postprocess(self.expand(self.preprocess(x)))

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` for every leading index of ``weight``.

        Parameters
        ----------
        x
            Input batch, shape ``(b, m)``.
        weight
            Shape ``(..., r, D)``.

        Returns
        -------
        Tensor
            Shape ``(..., b, r)``.
        """
        return torch.matmul(self(x), weight.transpose(-1, -2))
