"""The :class:`StatefulCompression` base: compressions fitted on training batches only."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.errors import TrainingError
from rpnkit.rpn.compression.base import Compression, check_D
from rpnkit.rpn.expansion.base import Processing

__all__ = ["StatefulCompression"]


class StatefulCompression(Compression):
    """A compression with a state fitted on the data: in training mode (``self.training``)
    every batch updates the state (without gradient) before it is compressed; in evaluation
    mode the state is only read, so a test batch never changes the model.

    The state lives in buffers (it follows ``.to()`` and the ``state_dict``). Buffers whose
    shape depends on ``m`` are created at the first fit; a checkpoint restores them into a
    fresh instance. Subclasses list them in ``_lazy_buffers`` and implement :meth:`fit` and
    :meth:`transform`.

    Parameters
    ----------
    D
        Output size, ``1 <= D <= m``.
    preprocess, postprocess
        See :class:`~rpnkit.rpn.expansion.Expansion`.

    Raises
    ------
    TrainingError
        When a batch is compressed in evaluation mode before any training batch was seen.
    """

    _lazy_buffers: ClassVar[tuple[str, ...]] = ()
    fits: Tensor

    def __init__(
        self, D: int, *, preprocess: Processing = None, postprocess: Processing = None
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.D = positive_int(D, f"{type(self).__name__} D")
        for name in self._lazy_buffers:
            self.register_buffer(name, None)
        self.register_buffer("fits", torch.zeros((), dtype=torch.long))

    @property
    def fitted(self) -> bool:
        """Whether a training batch has been seen."""
        return bool(self.fits.item() > 0)

    def calculate_D(self, m: int) -> int:
        """Return ``D``; it must be at most ``m``."""
        return check_D(self.D, m, type(self).__name__)

    @abstractmethod
    def fit(self, x: Tensor) -> None:
        """Update the state with one training batch ``x`` of shape ``(b, m)`` (no gradient)."""

    @abstractmethod
    def transform(self, x: Tensor) -> Tensor:
        """Compress ``x`` of shape ``(b, m)`` with the current state."""

    def expand(self, x: Tensor) -> Tensor:
        """Fit on ``x`` in training mode, then compress it."""
        self.calculate_D(x.shape[-1])
        rows = x.reshape(-1, x.shape[-1])
        if self.training:
            with torch.no_grad():
                self.fit(rows.detach())
            self.fits.add_(1)
        elif not self.fitted:
            raise TrainingError(
                f"{type(self).__name__} has not been fitted: it fits on training batches only "
                "(model.train()); compress a training batch before evaluating"
            )
        return self.transform(rows).reshape(*x.shape[:-1], self.D)

    def _load_from_state_dict(
        self, state_dict: dict[str, Any], prefix: str, *args: Any, **kwargs: Any
    ) -> None:
        for name in self._lazy_buffers:
            saved = state_dict.get(prefix + name)
            if isinstance(saved, Tensor) and getattr(self, name) is None:
                self.register_buffer(name, torch.empty_like(saved))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
