"""Parameterized interdependence functions (6): a learnable matrix ``A = ψ(w)``, no data.

``ψ`` is one of rpnkit's reconciliation functions built for ``n = d``, ``D = d'`` (``d = m``,
``d' = m'`` for attribute type; ``d = b``, ``d' = b'`` for instance type): the dense reshape,
low-rank, hm, lphm, dual lphm or random matrix adaption, with tinybig's parameter layouts, so
``l`` is what tinybig computes. When ``ψ`` factors as ``L R`` (low-rank, random matrix
adaption) :meth:`ParameterizedInterdependence.apply_to` computes ``(X L) R`` and never forms
the ``d × d'`` matrix.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.rpn.interdependence.base import Interdependence
from rpnkit.rpn.reconciliation import (
    DualLPHMReconciliation,
    HMReconciliation,
    IdentityReconciliation,
    LowRankReconciliation,
    LPHMReconciliation,
    RandomMatrixAdaptionReconciliation,
    Reconciliation,
)
from rpnkit.rpn.reconciliation.base import divisor

__all__ = [
    "DualLPHMParameterizedInterdependence",
    "HMParameterizedInterdependence",
    "LPHMParameterizedInterdependence",
    "LowRankParameterizedInterdependence",
    "ParameterizedInterdependence",
    "RandomMatrixAdaptionParameterizedInterdependence",
    "fabrication",
]


def fabrication(
    kind: str, d: int, d_prime: int, sides: tuple[str, str], **params: Any
) -> Reconciliation:
    """Build the reconciliation ``ψ: R^l -> R^{d×d'}`` named ``kind``.

    Parameters
    ----------
    kind
        ``"identity"`` (dense reshape), ``"low_rank"``, ``"hm"``, ``"lphm"``, ``"dual_lphm"``
        or ``"random_matrix_adaption"``.
    d, d_prime
        Shape of the matrix.
    sides
        How the two sizes are called in error messages (``("m", "m_prime")``, ...).
    params
        ``r`` and/or ``p``, ``q`` (``q`` defaults to ``p``, as in tinybig).
    """
    if kind == "identity":
        return IdentityReconciliation(d, d_prime)
    if kind in ("low_rank", "random_matrix_adaption"):
        r = positive_int(params.get("r", 2), "r")
        cls = LowRankReconciliation if kind == "low_rank" else RandomMatrixAdaptionReconciliation
        return cls(d, d_prime, r)
    p_given, q_given = params.get("p"), params.get("q")
    p = divisor(p_given, d, "p", sides[0])
    q = divisor(p_given if q_given is None and p_given is not None else q_given, d_prime, "q",
                sides[1])  # fmt: skip
    if kind == "hm":
        return HMReconciliation(d, d_prime, p, q)
    r = positive_int(params.get("r", 2), "r")
    cls_hm = LPHMReconciliation if kind == "lphm" else DualLPHMReconciliation
    return cls_hm(d, d_prime, p, q, r)


class ParameterizedInterdependence(Interdependence):
    """A learnable matrix: ``A = w.view(d, d')`` (``l = d d'``).

    Parameters
    ----------
    b, m
        Sizes; the one the type mixes (``m`` attribute, ``b`` instance) is required.
    b_prime, m_prime
        ``d'`` (default ``d``).
    interdependence_type, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`.
    """

    default_require_data = False
    default_require_parameters = True

    #: The reconciliation kind, see :func:`fabrication`.
    kind = "identity"

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        b_prime: int | None = None,
        m_prime: int | None = None,
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
        self.b_prime = None if b_prime is None else positive_int(b_prime, "b_prime")
        self.m_prime = None if m_prime is None else positive_int(m_prime, "m_prime")
        d = self.required_side()
        prime = self.b_prime if self.is_instance else self.m_prime
        sides = ("b", "b_prime") if self.is_instance else ("m", "m_prime")
        params = self.fabrication_params()
        self.fabrication = fabrication(self.kind, d, d if prime is None else prime, sides, **params)
        for key in ("r", "p", "q"):
            if hasattr(self.fabrication, key):
                setattr(self, key, getattr(self.fabrication, key))

    def fabrication_params(self) -> dict[str, Any]:
        """Parameters of the reconciliation (``r``, ``p``, ``q``, set by the subclasses before
        this constructor runs); none for the dense one."""
        params: dict[str, Any] = getattr(self, "_params", {})
        return params

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """``b'`` for instance type (default ``b``), else ``b`` unchanged."""
        if self.is_instance and self.b_prime is not None:
            return self.b_prime
        return super().calculate_b_prime(b)

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """``m'`` for attribute type (default ``m``), else ``m`` unchanged."""
        if self.is_attribute and self.m_prime is not None:
            return self.m_prime
        return super().calculate_m_prime(m)

    def calculate_l(self) -> int:
        """The reconciliation's parameter count for a ``d × d'`` matrix."""
        return self.fabrication.l

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return ``ψ(w)`` of shape ``(d, d')`` (``x`` is ignored)."""
        return self.fabrication(self.check_w(w))

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """``X·ψ(w)`` or ``ψ(w)ᵀ·X``, through the factors ``L R`` when ``ψ`` has them."""
        data = self.check_x(kappa_x if kappa_x is not None else x)
        left, right = self.fabrication.factorize(self.check_w(w))
        if left is None:
            return data @ right if self.is_attribute else right.transpose(0, 1) @ data
        if self.is_attribute:
            return (data @ left) @ right
        return right.transpose(0, 1) @ (left.transpose(0, 1) @ data)

    def extra_repr(self) -> str:
        """Type, sizes, reconciliation and parameter count."""
        return f"{super().extra_repr()}, fabrication={self.kind}"


class LowRankParameterizedInterdependence(ParameterizedInterdependence):
    """``A = L R`` of rank ``r`` (tinybig's lorr), ``l = r (d + d')``; keyword ``r`` (default
    2), other keywords as for :class:`ParameterizedInterdependence`."""

    kind = "low_rank"

    def __init__(self, *, r: int = 2, **kwargs: Any) -> None:
        self._params = {"r": r}
        super().__init__(**kwargs)


class HMParameterizedInterdependence(ParameterizedInterdependence):
    """Hypercomplex ``A = hm(w)``, ``l = p q + (d/p)(d'/q)``; keywords ``p`` (a divisor of
    ``d``) and ``q`` (of ``d'``, default ``p``)."""

    kind = "hm"

    def __init__(self, *, p: int | None = None, q: int | None = None, **kwargs: Any) -> None:
        self._params = {"p": p, "q": q}
        super().__init__(**kwargs)


class LPHMParameterizedInterdependence(ParameterizedInterdependence):
    """Low-rank hypercomplex ``A = lphm(w)``, ``l = p q + r (d/p + d'/q)``; keywords ``r``,
    ``p``, ``q`` (default ``p``)."""

    kind = "lphm"

    def __init__(
        self, *, r: int = 2, p: int | None = None, q: int | None = None, **kwargs: Any
    ) -> None:
        self._params = {"r": r, "p": p, "q": q}
        super().__init__(**kwargs)


class DualLPHMParameterizedInterdependence(ParameterizedInterdependence):
    """Dual low-rank hypercomplex ``A = dual_lphm(w)``, ``l = r (p + q + d/p + d'/q)``;
    keywords ``r``, ``p``, ``q`` (default ``p``)."""

    kind = "dual_lphm"

    def __init__(
        self, *, r: int = 2, p: int | None = None, q: int | None = None, **kwargs: Any
    ) -> None:
        self._params = {"r": r, "p": p, "q": q}
        super().__init__(**kwargs)


class RandomMatrixAdaptionParameterizedInterdependence(ParameterizedInterdependence):
    """``A = diag(λ₁) P diag(λ₂) Qᵀ`` with fixed random ``P``, ``Q`` of rank ``r`` drawn at
    construction from torch's global generator (kept as buffers), ``l = d + r``; keyword ``r``
    (default 2)."""

    kind = "random_matrix_adaption"

    def __init__(self, *, r: int = 2, **kwargs: Any) -> None:
        self._params = {"r": r}
        super().__init__(**kwargs)
