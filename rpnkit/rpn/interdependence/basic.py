"""Basic interdependence functions: a fixed matrix ``A`` that depends on neither data nor ``w``.

:class:`ConstantInterdependence` holds any given ``A``; :class:`ConstantCInterdependence`
(``c·1``), :class:`ZeroInterdependence`, :class:`OneInterdependence` and
:class:`IdentityInterdependence` (``eye(d, d')``) build it from sizes. ``A`` is a buffer, so
it is saved with the model and follows ``.to()``.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, positive_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.base import Interdependence, canonical_type

__all__ = [
    "ConstantCInterdependence",
    "ConstantInterdependence",
    "IdentityInterdependence",
    "OneInterdependence",
    "ZeroInterdependence",
]


class ConstantInterdependence(Interdependence):
    """A given matrix: ``ξ(X) = A`` whatever the batch.

    Parameters
    ----------
    A
        The matrix, shape ``(m, m')`` for attribute type or ``(b, b')`` for instance type
        (anything ``torch.as_tensor`` takes).
    b, m, interdependence_type, name, device
        As for :class:`Interdependence`; when ``m`` (attribute) or ``b`` (instance) is given it
        must equal ``A``'s number of rows.
    """

    default_require_data: ClassVar[bool] = False

    A: Tensor

    def __init__(
        self,
        A: object = None,
        *,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b,
            m=m,
            interdependence_type=interdependence_type,
            require_data=False,
            require_parameters=False,
            name=name,
            device=device,
        )
        self.register_buffer("A", self._check_A(A), persistent=True)

    def _check_A(self, A: object) -> Tensor:
        try:
            matrix = torch.as_tensor(A, dtype=torch.get_default_dtype()) if A is not None else None
        except (TypeError, ValueError, RuntimeError):
            matrix = None
        if matrix is None or matrix.ndim != 2 or 0 in matrix.shape:
            raise ConfigError(
                f"A={short_repr(A)} is not valid; expected a non-empty 2-D matrix "
                "(m × m' for attribute type, b × b' for instance type)"
            )
        field = "b" if self.is_instance else "m"
        if self.side is not None and matrix.shape[0] != self.side:
            raise ConfigError(
                f"A of shape {tuple(matrix.shape)} does not fit {field}={self.side}; expected "
                f"{self.side} rows for {self.interdependence_type} type"
            )
        if self.is_instance:
            self.b = matrix.shape[0]
        else:
            self.m = matrix.shape[0]
        return matrix

    def update_A(self, A: object) -> None:
        """Replace ``A`` by a new matrix with the same number of rows."""
        self.A = self._check_A(A).to(self.A.device)

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """``b' = A.shape[1]`` for instance type, else ``b`` unchanged."""
        return int(self.A.shape[1]) if self.is_instance else super().calculate_b_prime(b)

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """``m' = A.shape[1]`` for attribute type, else ``m`` unchanged."""
        return int(self.A.shape[1]) if self.is_attribute else super().calculate_m_prime(m)

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return the fixed matrix (``x`` and ``w`` are ignored)."""
        return self.A


def _sides(
    owner: str,
    kind_is_instance: bool,
    b: int | None,
    m: int | None,
    b_prime: int | None,
    m_prime: int | None,
) -> tuple[int, int]:
    """``(d, d')`` for a matrix built from sizes; ``d'`` defaults to ``d``."""  # fmt: skip
    field, size, prime_field, prime = (
        ("b", b, "b_prime", b_prime) if kind_is_instance else ("m", m, "m_prime", m_prime)
    )
    if size is None:
        raise ConfigError(f"{field}=None is not valid for {owner}; expected an integer >= 1")
    return positive_int(size, field), positive_int(size if prime is None else prime, prime_field)


class ConstantCInterdependence(ConstantInterdependence):
    """Every entry ``c``: ``A = c·1_{d×d'}`` (``d = m`` attribute, ``d = b`` instance).

    Parameters
    ----------
    b, m
        Sizes; the one the type mixes is required.
    b_prime, m_prime
        ``d'`` (default ``d``; tinybig requires it).
    c
        The constant (default 1).
    """

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        b_prime: int | None = None,
        m_prime: int | None = None,
        c: float = 1.0,
        interdependence_type: str | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        kind = canonical_type(interdependence_type or self.default_interdependence_type)
        d, d_prime = _sides(type(self).__name__, kind == "instance", b, m, b_prime, m_prime)
        value = finite_number(c, "c")
        super().__init__(
            torch.full((d, d_prime), value),
            b=b,
            m=m,
            interdependence_type=kind,
            name=name,
            device=device,
        )
        self.c = value


class _FixedCInterdependence(ConstantCInterdependence):
    """:class:`ConstantCInterdependence` with ``c`` fixed by the class (:attr:`fixed_c`)."""

    #: The constant every entry of ``A`` has.
    fixed_c: ClassVar[float]

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        b_prime: int | None = None,
        m_prime: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b, m=m, b_prime=b_prime, m_prime=m_prime, c=self.fixed_c,
            interdependence_type=interdependence_type, name=name, device=device,
        )  # fmt: skip


class ZeroInterdependence(_FixedCInterdependence):
    """All zeros: ``A = 0_{d×d'}``; same parameters as :class:`ConstantCInterdependence`
    without ``c``."""

    fixed_c: ClassVar[float] = 0.0


class OneInterdependence(_FixedCInterdependence):
    """All ones: ``A = 1_{d×d'}`` (each output is the sum over the mixed side); same
    parameters as :class:`ConstantCInterdependence` without ``c``."""

    fixed_c: ClassVar[float] = 1.0


class IdentityInterdependence(ConstantInterdependence):
    """``A = eye(d, d')``: ``ξ(X) = X`` when ``d' = d``.

    With ``d' ≠ d`` it keeps the first ``min(d, d')`` attributes or instances and pads with
    zeros, which is no longer an identity; construction then warns once (one line), as tinybig
    does.

    Parameters
    ----------
    b, m
        Sizes; the one the type mixes is required.
    b_prime, m_prime
        ``d'`` (default ``d``).
    """

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        b_prime: int | None = None,
        m_prime: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        kind = canonical_type(interdependence_type or self.default_interdependence_type)
        d, d_prime = _sides(type(self).__name__, kind == "instance", b, m, b_prime, m_prime)
        if d != d_prime:
            side = "b" if kind == "instance" else "m"
            warnings.warn(
                f"identity interdependence with {side}={d} and {side}_prime={d_prime} is "
                f"eye({d}, {d_prime}): it truncates or zero-pads, not an identity",
                UserWarning,
                stacklevel=2,
            )
        super().__init__(
            torch.eye(d, d_prime), b=b, m=m, interdependence_type=kind, name=name, device=device
        )
