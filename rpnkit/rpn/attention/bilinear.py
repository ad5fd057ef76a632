"""Bilinear attention over the instances of a batch (tinybig's ``bilinear_interdependence_head``).

``A = colsoftmax_{≠0}(s · X W Xᵀ) ∈ R^{b×b}``, applied as ``Aᵀ·Z``: every instance attends to
every instance of its batch (not tokens of a sequence), with scale ``s = √n`` (tinybig
multiplies by ``√n``; scaled dot-product attention divides by ``√d``). Entries that are exactly
0 are left out of their column's softmax and get weight 0 (tinybig's ``mask_zeros``). A low-rank
``W = L R`` is never formed: the scores are ``(X L)(X Rᵀ)ᵀ``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import choice, finite_number
from rpnkit.errors import ConfigError
from rpnkit.rpn.graph.attention import close_factor
from rpnkit.rpn.interdependence.base import INSTANCE, Interdependence
from rpnkit.rpn.interdependence.bilinear import (
    DualLPHMParameterizedBilinearInterdependence,
    LowRankParameterizedBilinearInterdependence,
    ParameterizedBilinearInterdependence,
)

__all__ = ["BilinearAttentionInterdependence", "masked_column_softmax"]


def masked_column_softmax(scores: Tensor) -> Tensor:
    """Softmax of every column over its non-zero entries; zero entries get weight 0."""
    keep = scores != 0
    logits = scores.masked_fill(~keep, float("-inf"))
    top = logits.amax(0, keepdim=True)
    top = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    exp = torch.exp(logits - top) * keep
    total = exp.sum(0, keepdim=True)
    return exp / torch.where(total > 0, total, torch.ones_like(total))


class BilinearAttentionInterdependence(Interdependence):
    r"""``A = colsoftmax_{≠0}(scale · X W Xᵀ)`` over the ``b`` instances of a batch.

    Parameters
    ----------
    m
        Features per instance (``W`` is ``m × m``); required.
    bilinear
        ``"identity"`` (dense ``W``, ``l = m²``), ``"low_rank"`` (``l = 2rm``) or
        ``"dual_lphm"`` (``p`` tinybig's close factor of ``m``).
    r
        Rank for ``low_rank`` / ``dual_lphm``.
    scale
        Multiplies the scores before the softmax (tinybig's head: ``√n``); default 1.
    b, interdependence_type, name, device, require_data, require_parameters
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`; only instance type.

    Differences from tinybig
    ------------------------
    tinybig 0.2.1's attention head crashes at its first forward (it passes ``mask_zero=`` to a
    function whose parameter is ``mask_zeros``); this is its definition, computed.
    """

    default_interdependence_type: ClassVar[str] = INSTANCE
    default_require_data: ClassVar[bool] = True
    default_require_parameters: ClassVar[bool] = True
    tinybig_divergence: ClassVar[str | None] = (
        "bilinear attention: tinybig 0.2.1's head raises TypeError (mask_zero vs mask_zeros) at "
        "its first forward; rpnkit computes its definition"
    )

    def __init__(
        self,
        *,
        m: int | None = None,
        b: int | None = None,
        bilinear: str = "low_rank",
        r: int = 3,
        scale: float = 1.0,
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
        if not self.is_instance or self.m is None:
            raise ConfigError(
                f"bilinear_attention interdependence_type={self.interdependence_type!r}, "
                f"m={self.m} is not valid; expected instance type and m (an integer >= 1)"
            )
        self.bilinear_kind = str(choice(bilinear, ("identity", "low_rank", "dual_lphm"),
                                        "bilinear_attention bilinear"))  # fmt: skip
        self.scale = finite_number(scale, "bilinear_attention scale")
        sizes: dict[str, Any] = {"m": self.m, "interdependence_type": INSTANCE}
        scores: ParameterizedBilinearInterdependence
        if self.bilinear_kind == "low_rank":
            scores = LowRankParameterizedBilinearInterdependence(r=r, **sizes)
        elif self.bilinear_kind == "dual_lphm":
            scores = DualLPHMParameterizedBilinearInterdependence(
                r=r, p=close_factor(self.m), **sizes
            )
        else:
            scores = ParameterizedBilinearInterdependence(**sizes)
        self.scores = scores

    def calculate_l(self) -> int:
        """The bilinear form's parameter count."""
        return self.scores.calculate_l()

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """``colsoftmax_{≠0}(scale · X W Xᵀ)`` for ``x = Xᵀ`` of shape ``(m, b)``."""
        return masked_column_softmax(self.scale * self.scores.calculate_A(x, w))

    def extra_repr(self) -> str:
        """Form and scale."""
        return f"instance, m={self.m}, bilinear={self.bilinear_kind}, scale={self.scale:g}"
