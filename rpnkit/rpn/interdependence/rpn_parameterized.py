"""The parameterized RPN interdependence function: ``A = κ(xᵀ) ψ(w)ᵀ``, an RPN head's
expansion and reconciliation turned on the batch itself."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.expansion import Expansion
from rpnkit.rpn.interdependence.base import Interdependence
from rpnkit.rpn.reconciliation import Reconciliation

__all__ = ["ParameterizedRPNInterdependence"]


class ParameterizedRPNInterdependence(Interdependence):
    """``A = κ(xᵀ) ψ(w)ᵀ``: each row of ``xᵀ`` expanded by ``κ``, then mixed by ``ψ(w)``.

    For attribute type ``x = X`` and every attribute's ``b``-vector is expanded
    (``D = κ.calculate_D(b)``), giving ``A ∈ R^{m×m'}``; for instance type ``x = Xᵀ`` and every
    instance's ``m``-vector is, giving ``A ∈ R^{b×b'}``. ``ψ`` is built for ``n = d'`` (``m'`` or
    ``b'``) and that ``D``, so ``l = ψ.l``.

    Parameters
    ----------
    data_transformation
        κ: an :class:`~rpnkit.rpn.expansion.Expansion`, or a spec for the ``expansion`` group
        (a name such as ``"taylor"`` or a config dict).
    parameter_fabrication
        ψ: a :class:`~rpnkit.rpn.reconciliation.Reconciliation` built for ``n = d'`` and that
        ``D``, or a spec for the ``reconciliation`` group (built here with those sizes).
    b, m
        Sizes; both are needed (one is expanded, the other mixed).
    b_prime, m_prime
        ``d'`` (default ``d``).
    interdependence_type, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`.
    """

    default_require_parameters: ClassVar[bool] = True

    def __init__(
        self,
        data_transformation: Any = None,
        parameter_fabrication: Any = None,
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
        for field, value in (("data_transformation", data_transformation),
                             ("parameter_fabrication", parameter_fabrication)):  # fmt: skip
            if value is None:
                raise ConfigError(
                    f"{field}=None is not valid; expected an instance or a spec of the "
                    f"{'expansion' if field == 'data_transformation' else 'reconciliation'} group"
                )
        if self.b is None or self.m is None:
            raise ConfigError(
                f"b={self.b}, m={self.m} is not valid for {type(self).__name__}; expected both "
                "as integers >= 1"
            )
        self.b_prime = positive_int(self.b if b_prime is None else b_prime, "b_prime")
        self.m_prime = positive_int(self.m if m_prime is None else m_prime, "m_prime")
        self.data_transformation: Expansion = build_component(
            "expansion", data_transformation, Expansion, "data_transformation"
        )
        expanded = self.m if self.is_instance else self.b
        n = self.b_prime if self.is_instance else self.m_prime
        self.D = self.data_transformation.calculate_D(expanded)
        self.parameter_fabrication: Reconciliation = build_component(
            "reconciliation", parameter_fabrication, Reconciliation, "parameter_fabrication",
            n=n, D=self.D,
        )  # fmt: skip
        fab = self.parameter_fabrication
        if (fab.n, fab.D) != (n, self.D):
            raise ConfigError(
                f"parameter_fabrication {type(fab).__name__} was built for n={fab.n}, D={fab.D}; "
                f"this function needs n={n}, D={self.D}; give a name or config dict instead"
            )

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """``b'`` for instance type, else ``b`` unchanged."""
        return self.b_prime if self.is_instance else super().calculate_b_prime(b)

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """``m'`` for attribute type, else ``m`` unchanged."""
        return self.m_prime if self.is_attribute else super().calculate_m_prime(m)

    def calculate_l(self) -> int:
        """``ψ.l`` for ``n = d'`` and ``D = κ.calculate_D(b or m)``."""
        return self.parameter_fabrication.l

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return ``κ(xᵀ) ψ(w)ᵀ`` of shape ``(m, m')`` or ``(b, b')``."""
        x = self.check_x(x)
        expected = self.b if self.is_attribute else self.m
        if x.shape[0] != expected:
            raise ConfigError(
                f"x of shape {tuple(x.shape)} does not fit {type(self).__name__}; expected "
                f"{expected} rows ({'b' if self.is_attribute else 'm'}={expected})"
            )
        return self.data_transformation.project(
            x.transpose(0, 1), self.parameter_fabrication(self.check_w(w))
        )
