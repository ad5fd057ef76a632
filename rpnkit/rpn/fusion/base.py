"""The :class:`Fusion` base class: several tensors with the same leading shape into one."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec

__all__ = ["Fusion", "Processing", "equal_dims"]

#: Processing steps accepted by ``preprocess`` / ``postprocess``.
Processing = ProcessingSpec | Sequence[ProcessingSpec] | None


class Fusion(nn.Module, ABC):
    """Base class of fusion functions, built for inputs whose last sizes are ``dims``.

    A fusion maps ``k = len(dims)`` tensors ``x_1, …, x_k`` of shapes ``(..., dims[i])`` (the
    same leading shape) to one tensor of shape ``(..., n)``. A layer fuses its heads' outputs
    with one, a head its channels' outputs.

    Subclasses implement :meth:`calculate_n` and :meth:`fuse`; a fusion with learnable
    parameters also implements :attr:`l`. As with a reconciliation, the module that uses the
    fusion holds those parameters (``w`` of shape ``(1, l)``) and passes them to
    :meth:`forward`. A fusion that is a fixed linear combination ``Σ α_i x_i`` says so through
    :meth:`combination`, which lets a head fold the sum into its product.

    Parameters
    ----------
    dims
        Last size of every input, one entry per input (at least one).
    preprocess
        Processing steps applied to the inputs before they are fused: to all of them stacked
        along a new first dimension when their shapes are equal, else to each one.
    postprocess
        Processing steps applied to the fused output.

    Raises
    ------
    ConfigError
        If ``dims`` is not a non-empty list of integers >= 1.
    """

    def __init__(
        self,
        dims: Sequence[int],
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__()
        self.dims = _check_dims(dims)
        self.preprocess = ProcessingChain(preprocess, field="fusion preprocess")
        self.postprocess = ProcessingChain(postprocess, field="fusion postprocess")

    @abstractmethod
    def calculate_n(self, dims: Sequence[int]) -> int:
        """Return the output size for inputs of last sizes ``dims``.

        Raises
        ------
        ConfigError
            If the fusion cannot take inputs of these sizes.
        """

    @abstractmethod
    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return the fusion of the (already preprocessed) inputs, without postprocessing."""

    @property
    def n(self) -> int:
        """Output size, ``calculate_n(dims)``."""
        return self.calculate_n(self.dims)

    @property
    def l(self) -> int:  # noqa: E743 - the RPN papers' name for the parameter count
        """Number of learnable parameters (0: none)."""
        return 0

    def combination(self, w: Tensor | None) -> Tensor | None:
        """Return ``α`` of shape ``(k,)`` if the fusion is exactly ``Σ α_i x_i``, else ``None``.

        Parameters
        ----------
        w
            The fusion's parameters, shape ``(1, l)``, or ``None`` when ``l = 0``.
        """
        return None

    def forward(self, xs: Sequence[Tensor], w: Tensor | None = None) -> Tensor:
        """Return the fused output of shape ``(..., n)``.

        Parameters
        ----------
        xs
            One tensor per entry of :attr:`dims`, shapes ``(..., dims[i])``.
        w
            The fusion's parameters, shape ``(1, l)``; required when :attr:`l` > 0.

        Raises
        ------
        ConfigError
            If the number or the last sizes of the inputs differ from :attr:`dims`, or the
            parameters are missing.
        """
        sizes = tuple(x.shape[-1] for x in xs)
        if sizes != self.dims:
            raise ConfigError(
                f"{type(self).__name__} got inputs of last sizes {list(sizes)}; it was built "
                f"for dims={list(self.dims)}"
            )
        if w is None and self.l:
            raise ConfigError(
                f"{type(self).__name__} needs its parameters w of shape (1, {self.l}); "
                "the head or layer that uses it holds them"
            )
        out = self.fuse(self._preprocessed(list(xs)), w)
        return self.postprocess(out) if len(self.postprocess) else out

    def _preprocessed(self, xs: list[Tensor]) -> list[Tensor]:
        """Apply :attr:`preprocess`: to the stacked inputs when their shapes agree."""
        if not len(self.preprocess):
            return xs
        if all(x.shape == xs[0].shape for x in xs):
            return list(self.preprocess(torch.stack(xs)).unbind(0))
        return [self.preprocess(x) for x in xs]

    def _plain(self) -> bool:
        """Whether there are no pre- or postprocessing steps."""
        return not len(self.preprocess) and not len(self.postprocess)

    def extra_repr(self) -> str:
        """Input sizes, output size and parameter count."""
        return f"dims={list(self.dims)}, n={self.n}, l={self.l}"


def equal_dims(dims: Sequence[int], fusion: str) -> int:
    """Return the common size of ``dims``, or raise naming ``fusion`` if they differ."""
    if any(d != dims[0] for d in dims):
        raise ConfigError(
            f"{fusion} fusion needs inputs of equal size, got dims={list(dims)}; use "
            "'concatenation' for inputs of different sizes"
        )
    return dims[0]


def _check_dims(dims: object) -> tuple[int, ...]:
    """Return ``dims`` as a tuple if it is a non-empty sequence of integers >= 1."""
    if (
        isinstance(dims, (str, bytes))
        or not isinstance(dims, Sequence)
        or not dims
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in dims)
    ):
        shown = dims if isinstance(dims, Sequence) and len(dims) <= 8 else type(dims).__name__
        raise ConfigError(
            f"fusion dims={shown!r} is not valid; expected a non-empty list of integers >= 1"
        )
    return tuple(dims)
