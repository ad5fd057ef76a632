"""A chain interdependence applied to every sequence of a batch (tinybig's chain head's reshape).

tinybig's ``chain_interdependence_head`` takes a batch of ``b`` sequences laid out as
``(b, L·m)``, time-major, and mixes every sequence over time with one chain matrix
``A ∈ R^{L×L}`` (``b = L`` for the chain function): it reshapes the data to ``(L, b·m)``,
applies ``Aᵀ`` and reshapes back. :class:`SequenceChainInterdependence` does the same for data
given as ``b·L`` rows (sequence-major, time inside), by propagation along the chain: a
directed chain's ``(I − A)⁻¹`` is a cumulative sum and ``exp(A)`` a short series of shifts,
never an ``L × L`` product.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import choice, positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.base import INSTANCE, Interdependence
from rpnkit.rpn.interdependence.chain import (
    ChainInterdependence,
    ExponentialApproxMultihopChainInterdependence,
    InverseApproxMultihopChainInterdependence,
    MultihopChainInterdependence,
)

__all__ = ["CHAIN_KINDS", "SequenceChainInterdependence"]

#: Up to this chain length the prefix sums over time are one product with the lower-triangular
#: ones matrix (a BLAS call, and its transpose in the backward); beyond it, ``cumsum`` (whose
#: CPU kernel is scalar, and whose backward flips the tensor twice). Measured on one CPU thread
#: at ``(64, L, 32)``: forward + backward at L=10 0.10 vs 0.22 ms, at L=50 0.40 vs 0.60 ms;
#: even near L=100; cumsum 2x faster at L=200.
PREFIX_SUM_MATMUL_MAX = 64

#: The chain functions tinybig's chain head chooses between.
CHAIN_KINDS: dict[str, type[ChainInterdependence]] = {
    "chain": ChainInterdependence,
    "multihop": MultihopChainInterdependence,
    "inverse_approx": InverseApproxMultihopChainInterdependence,
    "exponential_approx": ExponentialApproxMultihopChainInterdependence,
}


def _prefix_sums(z: Tensor) -> Tensor:
    """``out[:, t] = Σ_{s<=t} z[:, s]`` for ``z`` of shape ``(b, L, n)``: the directed chain's
    ``(I − A)⁻¹ᵀ`` applied over time (see :data:`PREFIX_SUM_MATMUL_MAX` for the two paths)."""
    length = z.shape[1]
    if length > PREFIX_SUM_MATMUL_MAX:
        return z.cumsum(1)
    lower = torch.ones(length, length, dtype=z.dtype, device=z.device).tril_()
    return torch.matmul(lower, z)


class SequenceChainInterdependence(Interdependence):
    r"""Mix every length-``L`` sequence of a batch over time with a chain matrix ``A``.

    The data has ``b·L`` rows, sequence by sequence (row ``i·L + t`` is step ``t`` of
    sequence ``i``); step ``t`` of the result is ``Σ_s A_{st} z_s`` within the same sequence
    (``Aᵀ`` over time), which is tinybig's chain head's ``(b, L·m) → (L, b·m)`` reshape,
    ``Aᵀ·``, and reshape back. For a directed chain with self-dependence that is
    ``s·z_t + z_{t−1}``; ``inverse_approx`` gives the cumulative sum over time.

    Parameters
    ----------
    chain_length
        ``L``, >= 1.
    kind
        ``"chain"``, ``"multihop"``, ``"inverse_approx"`` or ``"exponential_approx"``.
    bi_directional, normalization, normalization_mode, self_dependence, self_scaling, h, accumulative
        The chain function's options (see :mod:`rpnkit.rpn.interdependence.chain`); ``h``
        and ``accumulative`` for ``multihop`` only.
    b, m, interdependence_type, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`; only instance type.
    """

    default_interdependence_type: ClassVar[str] = INSTANCE
    default_require_data: ClassVar[bool] = False

    def __init__(
        self,
        *,
        chain_length: int,
        kind: str = "chain",
        bi_directional: bool = False,
        normalization: bool = False,
        normalization_mode: str = "row",
        self_dependence: bool = True,
        self_scaling: float = 1.0,
        h: int = 1,
        accumulative: bool = False,
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
        if not self.is_instance:
            raise ConfigError(
                "sequence_chain interdependence_type='attribute' is not valid; expected "
                "'instance' (it mixes the time steps of every sequence)"
            )
        self.chain_length = positive_int(chain_length, "chain_length")
        self.kind = str(choice(kind, tuple(CHAIN_KINDS), "sequence_chain kind"))
        options: dict[str, Any] = {
            "chain_length": self.chain_length,
            "bi_directional": bi_directional,
            "normalization": normalization,
            "normalization_mode": normalization_mode,
            "self_dependence": self_dependence,
            "self_scaling": self_scaling,
            "interdependence_type": INSTANCE,
        }
        if self.kind == "multihop":
            options.update(h=h, accumulative=accumulative)
        self.chain = CHAIN_KINDS[self.kind](**options)

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """The number of rows is kept."""
        return b if b is not None else self.b

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """The chain's dense ``L × L`` matrix (the same for every sequence)."""
        return self.chain.dense_A()

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """Mix the ``b·L`` rows of the data over time, sequence by sequence."""
        data = self.check_x(kappa_x if kappa_x is not None else x)
        rows, width = data.shape
        length = self.chain_length
        if rows % length:
            raise ConfigError(
                f"sequence_chain: {rows} rows are not valid; expected whole sequences, a "
                f"multiple of chain_length={length} (b·L rows)"
            )
        if self.kind == "inverse_approx" and self.chain.directed:  # (I − A)⁻¹: a cumsum
            return _prefix_sums(data.reshape(rows // length, length, width)).reshape(rows, width)
        if self.kind == "chain" and not self.chain.normalization:  # s·z_t + z_{t−1} (+ z_{t+1})
            return self._shift_add(data.reshape(rows // length, length, width)).reshape(rows, width)
        # (b·L, n) -> (L, b·n): time steps as the rows the chain mixes
        steps = data.reshape(rows // length, length, width).transpose(0, 1)
        mixed = self.chain.operate(steps.reshape(length, -1), 0)
        return mixed.reshape(length, rows // length, width).transpose(0, 1).reshape(rows, width)

    def _shift_add(self, z: Tensor) -> Tensor:
        """Â's ``Aᵀ`` on ``(b, L, n)`` without normalisation: the loop weight times each step,
        plus the step before (and the step after, both ways), without leaving that layout."""
        chain = self.chain
        loop = 0.0
        if chain.uses_self_dependence and chain.self_dependence:
            loop = chain.self_scaling if chain.uses_self_scaling else 1.0
        out = z.clone() if loop == 1.0 else z * loop
        out[:, 1:] += z[:, :-1]
        if not chain.directed:
            out[:, :-1] += z[:, 1:]
        return out

    def extra_repr(self) -> str:
        """Kind and length."""
        return f"instance, kind={self.kind}, chain_length={self.chain_length}"
