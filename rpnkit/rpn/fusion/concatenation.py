"""Concatenation of the inputs, plain or followed by a learnable (reconciled) linear map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.fusion.base import Fusion, Processing
from rpnkit.rpn.reconciliation import Reconciliation

__all__ = [
    "ConcatenationFusion",
    "DualLPHMParameterizedConcatenationFusion",
    "HMParameterizedConcatenationFusion",
    "LPHMParameterizedConcatenationFusion",
    "LowRankParameterizedConcatenationFusion",
    "ParameterizedConcatenationFusion",
    "RandomMatrixAdaptionParameterizedConcatenationFusion",
]


class ConcatenationFusion(Fusion):
    """Concatenation ``[x_1, …, x_k]`` along the last dimension: ``n = Σ dims``."""

    def calculate_n(self, dims: Sequence[int]) -> int:
        """The sum of the input sizes."""
        return sum(dims)

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return the concatenation (the input itself when there is one)."""
        return xs[0] if len(xs) == 1 else torch.cat(xs, dim=-1)


class ParameterizedConcatenationFusion(Fusion):
    """Concatenation followed by a learnable linear map: ``[x_1, …, x_k] Wᵀ``.

    ``W`` has shape ``(n, D)`` with ``D = Σ dims``. In this class ``W = w.view(n, D)``
    (``l = n D``); the subclasses build ``W`` from fewer parameters with a reconciliation
    function, and when it factorises (``W = A B``) the product is computed as
    ``(x Bᵀ) Aᵀ`` without forming ``W``.

    Parameters
    ----------
    dims
        Size of every input.
    n
        Output size; default the common input size (then all sizes must be equal).
    preprocess, postprocess
        See :class:`~rpnkit.rpn.fusion.Fusion`.

    Raises
    ------
    ConfigError
        If ``n`` is invalid, or omitted while the input sizes differ.
    """

    _label = "parameterized_concatenation"

    def __init__(
        self,
        dims: Sequence[int],
        n: int | None = None,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, preprocess=preprocess, postprocess=postprocess)
        if n is None:
            if any(d != self.dims[0] for d in self.dims):
                raise ConfigError(
                    f"{self._label} fusion of inputs of sizes {list(self.dims)} needs n, the "
                    "output size (the default, the common input size, does not exist)"
                )
            self.size = self.dims[0]
        else:
            self.size = positive_int(n, f"{self._label} fusion n")
        self.reconciliation: Reconciliation | None = None

    def calculate_n(self, dims: Sequence[int]) -> int:
        """The output size ``n`` given at construction."""
        return self.size

    @property
    def l(self) -> int:  # noqa: E743
        """``n Σ dims``, or the reconciliation's ``l``."""
        if self.reconciliation is None:
            return self.size * sum(self.dims)
        return self.reconciliation.l

    def weight(self, w: Tensor) -> Tensor:
        """Return ``W`` of shape ``(n, Σ dims)`` from the parameters ``w`` of shape ``(1, l)``."""
        if self.reconciliation is None:
            return w.reshape(self.size, sum(self.dims))
        return self.reconciliation(w.reshape(-1))

    def fuse(self, xs: list[Tensor], w: Tensor | None) -> Tensor:
        """Return ``[x_1, …, x_k] Wᵀ``."""
        assert w is not None  # forward has checked
        x = xs[0] if len(xs) == 1 else torch.cat(xs, dim=-1)
        if self.reconciliation is None:
            return F.linear(x, w.reshape(self.size, sum(self.dims)))
        left, right = self.reconciliation.factorize(w.reshape(-1))
        out = F.linear(x, right)
        return out if left is None else F.linear(out, left)

    def _reconcile(self, name: str, **options: Any) -> None:
        """Build the reconciliation ``name`` for ``W`` of shape ``(n, Σ dims)``."""
        try:
            self.reconciliation = build_component(
                "reconciliation",
                name,
                Reconciliation,
                f"{self._label} fusion",
                n=self.size,
                D=sum(self.dims),
                **options,
            )
        except ConfigError as exc:
            raise ConfigError(f"{self._label} fusion: {exc}") from exc

    def extra_repr(self) -> str:
        """Sizes and the reconciliation, if any."""
        if self.reconciliation is None:
            return super().extra_repr()
        return f"{super().extra_repr()}, reconciliation={type(self.reconciliation).__name__}"


class LowRankParameterizedConcatenationFusion(ParameterizedConcatenationFusion):
    """Parameterised concatenation with a low-rank ``W = A B`` (``l = r (n + Σ dims)``).

    Parameters
    ----------
    dims, n, preprocess, postprocess
        See :class:`ParameterizedConcatenationFusion`.
    r
        Rank, >= 1.
    """

    _label = "lowrank_parameterized_concatenation"

    def __init__(
        self,
        dims: Sequence[int],
        n: int | None = None,
        r: int = 2,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, n, preprocess=preprocess, postprocess=postprocess)
        self.r = r
        self._reconcile("low_rank", r=r)


class HMParameterizedConcatenationFusion(ParameterizedConcatenationFusion):
    """Parameterised concatenation with a hypercomplex ``W`` (reconciliation ``hm``).

    Parameters
    ----------
    dims, n, preprocess, postprocess
        See :class:`ParameterizedConcatenationFusion`.
    p
        Divisor of ``n``.
    q
        Divisor of ``Σ dims``; default ``p``.
    """

    _label = "hm_parameterized_concatenation"

    def __init__(
        self,
        dims: Sequence[int],
        p: int,
        q: int | None = None,
        n: int | None = None,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, n, preprocess=preprocess, postprocess=postprocess)
        self.p = p
        self.q = p if q is None else q
        self._reconcile("hm", p=self.p, q=self.q)


class LPHMParameterizedConcatenationFusion(ParameterizedConcatenationFusion):
    """Parameterised concatenation with a low-rank hypercomplex ``W`` (reconciliation ``lphm``).

    Parameters
    ----------
    dims, n, preprocess, postprocess
        See :class:`ParameterizedConcatenationFusion`.
    r
        Rank, >= 1.
    p
        Divisor of ``n``.
    q
        Divisor of ``Σ dims``; default ``p``.
    """

    _label = "lphm_parameterized_concatenation"
    _reconciliation = "lphm"

    def __init__(
        self,
        dims: Sequence[int],
        r: int,
        p: int,
        q: int | None = None,
        n: int | None = None,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, n, preprocess=preprocess, postprocess=postprocess)
        self.r = r
        self.p = p
        self.q = p if q is None else q
        self._reconcile(self._reconciliation, p=self.p, q=self.q, r=r)


class DualLPHMParameterizedConcatenationFusion(LPHMParameterizedConcatenationFusion):
    """Parameterised concatenation with a dual low-rank hypercomplex ``W`` (``dual_lphm``).

    Parameters are those of :class:`LPHMParameterizedConcatenationFusion`.
    """

    _label = "dual_lphm_parameterized_concatenation"
    _reconciliation = "dual_lphm"


class RandomMatrixAdaptionParameterizedConcatenationFusion(ParameterizedConcatenationFusion):
    """Parameterised concatenation with a random-matrix-adaption ``W`` (``l = n + r``).

    ``W`` comes from the reconciliation ``random_matrix_adaption``, which must be registered.

    Parameters
    ----------
    dims, n, preprocess, postprocess
        See :class:`ParameterizedConcatenationFusion`.
    r
        Rank, >= 1.
    """

    _label = "random_matrix_adaption_parameterized_concatenation"

    def __init__(
        self,
        dims: Sequence[int],
        n: int | None = None,
        r: int = 2,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(dims, n, preprocess=preprocess, postprocess=postprocess)
        self.r = r
        self._reconcile("random_matrix_adaption", r=r)
