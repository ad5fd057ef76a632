"""Parameterized bilinear interdependence functions (6): ``A = xᵀ W x`` with ``W = ψ(w)``.

For instance type (the default, as in tinybig) ``x = Xᵀ`` and ``A = X W Xᵀ ∈ R^{b×b}`` with
``W ∈ R^{m×m}``; for attribute type ``A = Xᵀ W X ∈ R^{m×m}`` with ``W ∈ R^{b×b}`` (so ``b`` is
fixed). ``ψ`` is one of rpnkit's reconciliations (dense, low-rank, hm, lphm, dual lphm, random
matrix adaption) with tinybig's layouts. When ``ψ`` factors as ``W = L R`` (low-rank, random
matrix adaption), ``A = (xᵀ L)(R x)`` is computed without forming ``W``: ``O(d k r + k² r)``
instead of ``O(d² k + d k²)`` for ``x`` of shape ``(d, k)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.base import INSTANCE, Interdependence
from rpnkit.rpn.interdependence.parameterized import fabrication

__all__ = [
    "DualLPHMParameterizedBilinearInterdependence",
    "HMParameterizedBilinearInterdependence",
    "LPHMParameterizedBilinearInterdependence",
    "LowRankParameterizedBilinearInterdependence",
    "ParameterizedBilinearInterdependence",
    "RandomMatrixAdaptionParameterizedBilinearInterdependence",
]


class ParameterizedBilinearInterdependence(Interdependence):
    """Bilinear ``A = xᵀ W x`` with a dense learnable ``W = w.view(d, d)`` (``l = d²``).

    ``d = m`` for instance type, ``d = b`` for attribute type; that size is required.

    Parameters
    ----------
    b, m, interdependence_type, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence` (default type
        ``"instance"``).
    """

    default_interdependence_type: ClassVar[str] = INSTANCE
    default_require_data: ClassVar[bool] = True
    default_require_parameters: ClassVar[bool] = True
    #: The reconciliation kind, see :func:`~rpnkit.rpn.interdependence.parameterized.fabrication`.
    kind: ClassVar[str] = "identity"

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b,
            m=m,
            interdependence_type=interdependence_type,
            require_data=require_data,
            require_parameters=require_parameters,
            name=name,
            device=device,
        )
        self.d = d = self.w_side()
        field = "b" if self.is_attribute else "m"
        params: dict[str, Any] = getattr(self, "_params", {})
        self.fabrication = fabrication(self.kind, d, d, (field, field), **params)
        for key in ("r", "p", "q"):
            if hasattr(self.fabrication, key):
                setattr(self, key, getattr(self.fabrication, key))

    def w_side(self) -> int:
        """``d``, the size of ``W``: ``m`` for instance type, ``b`` for attribute type."""
        value, field = (self.b, "b") if self.is_attribute else (self.m, "m")
        if value is None:
            raise ConfigError(
                f"{field}=None is not valid for {type(self).__name__} of "
                f"{self.interdependence_type} type; expected an integer >= 1 (the size of W)"
            )
        return value

    def calculate_l(self) -> int:
        """The reconciliation's parameter count for a ``d × d`` matrix ``W``."""
        return self.fabrication.l

    def calculate_W(self, w: Tensor | None) -> Tensor:
        """Return ``W = ψ(w)`` of shape ``(d, d)`` (formed; :meth:`calculate_A` avoids it)."""
        return self.fabrication(self.check_w(w))

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return ``xᵀ W x`` for ``x`` of shape ``(d, k)`` (``Xᵀ`` instance, ``X`` attribute)."""
        x = self.check_x(x)
        if x.shape[0] != self.d:
            raise ConfigError(
                f"x of shape {tuple(x.shape)} does not fit W of size {self.d}; expected "
                f"{self.d} rows ({'b' if self.is_attribute else 'm'}={self.d})"
            )
        left, right = self.fabrication.factorize(self.check_w(w))
        if left is None:
            return x.transpose(0, 1) @ (right @ x)
        return (x.transpose(0, 1) @ left) @ (right @ x)


class _WithParams(ParameterizedBilinearInterdependence):
    """Stores the reconciliation's parameters before the base constructor builds it."""

    def __init__(self, params: dict[str, Any], kwargs: dict[str, Any]) -> None:
        self._params = params
        super().__init__(**kwargs)


class LowRankParameterizedBilinearInterdependence(_WithParams):
    """``W = L R`` of rank ``r`` (default 2), never formed; ``l = 2 r d``."""

    kind: ClassVar[str] = "low_rank"

    def __init__(self, *, r: int = 2, **kwargs: Any) -> None:
        super().__init__({"r": r}, kwargs)


class HMParameterizedBilinearInterdependence(_WithParams):
    """Hypercomplex ``W = hm(w)``; ``p`` divides ``d``, ``q`` defaults to ``p``."""

    kind: ClassVar[str] = "hm"

    def __init__(self, *, p: int | None = None, q: int | None = None, **kwargs: Any) -> None:
        super().__init__({"p": p, "q": q}, kwargs)


class LPHMParameterizedBilinearInterdependence(_WithParams):
    """Low-rank hypercomplex ``W = lphm(w)``; keywords ``r``, ``p``, ``q`` (default ``p``)."""

    kind: ClassVar[str] = "lphm"

    def __init__(
        self, *, r: int = 2, p: int | None = None, q: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__({"r": r, "p": p, "q": q}, kwargs)


class DualLPHMParameterizedBilinearInterdependence(_WithParams):
    """Dual low-rank hypercomplex ``W = dual_lphm(w)``; keywords ``r``, ``p``, ``q``."""

    kind: ClassVar[str] = "dual_lphm"

    def __init__(
        self, *, r: int = 2, p: int | None = None, q: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__({"r": r, "p": p, "q": q}, kwargs)


class RandomMatrixAdaptionParameterizedBilinearInterdependence(_WithParams):
    """``W = diag(λ₁) P diag(λ₂) Qᵀ`` with fixed random ``P``, ``Q`` (buffers drawn at
    construction from torch's global generator), never formed; ``l = d + r``."""

    kind: ClassVar[str] = "random_matrix_adaption"

    def __init__(self, *, r: int = 2, **kwargs: Any) -> None:
        super().__init__({"r": r}, kwargs)
