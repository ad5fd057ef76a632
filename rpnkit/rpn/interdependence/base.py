"""The :class:`Interdependence` base class: data interdependence functions ξ of RPN 2."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int, short_repr
from rpnkit.errors import ConfigError

__all__ = ["ATTRIBUTE", "INSTANCE", "INTERDEPENDENCE_TYPES", "Interdependence", "canonical_type"]

ATTRIBUTE = "attribute"
INSTANCE = "instance"

#: Every spelling tinybig accepts, mapped to rpnkit's two canonical names.
INTERDEPENDENCE_TYPES: dict[str, str] = {
    "attribute": ATTRIBUTE,
    "attribute_interdependence": ATTRIBUTE,
    "column": ATTRIBUTE,
    "right": ATTRIBUTE,
    "instance": INSTANCE,
    "instance_interdependence": INSTANCE,
    "row": INSTANCE,
    "left": INSTANCE,
}


def canonical_type(value: object, field: str = "interdependence_type") -> str:
    """Return the canonical type (``"attribute"`` or ``"instance"``) for any tinybig spelling.

    Raises
    ------
    ConfigError
        If ``value`` is none of the spellings in :data:`INTERDEPENDENCE_TYPES`.
    """
    if isinstance(value, str) and value in INTERDEPENDENCE_TYPES:
        return INTERDEPENDENCE_TYPES[value]
    listed = ", ".join(map(repr, INTERDEPENDENCE_TYPES))
    raise ConfigError(f"{field}={short_repr(value)} is not valid; expected one of {listed}")


def _optional_size(value: object, field: str) -> int | None:
    return None if value is None else positive_int(value, field)


class Interdependence(nn.Module, ABC):
    r"""Base class of data interdependence functions ξ (RPN 2).

    For a batch ``X ∈ R^{b×m}`` (``b`` instances, ``m`` attributes) there are two kinds:

    * attribute interdependence ``ξ_a: R^{b×m} → R^{m×m'}`` gives ``A`` mixing the attributes,
      applied as ``ξ(X) = X·A`` of shape ``(b, m')``;
    * instance interdependence ``ξ_i: R^{b×m} → R^{b×b'}`` gives ``A`` mixing the instances,
      applied as ``ξ(X) = Aᵀ·X`` of shape ``(b', m)``.

    Subclasses implement :meth:`calculate_A`; they may override :meth:`calculate_l` (the number
    of learnable values ``w`` they need, 0 by default), :meth:`calculate_m_prime` /
    :meth:`calculate_b_prime` (the output size, unchanged by default) and :meth:`apply_to`, a
    faster way to compute ``ξ(X)`` that never forms a dense ``A`` (graphs, chains).

    ``calculate_A(x, w)`` takes ``x`` oriented as tinybig's does: the batch ``X`` (``b×m``) for
    attribute type and its transpose ``Xᵀ`` (``m×b``) for instance type, so that a function of
    the columns of ``x`` gives ``m×m`` or ``b×b`` alike. :meth:`forward` does the transposing;
    call ``calculate_A`` directly only to inspect the matrix.

    The method that applies ξ is named :meth:`apply_to`, not ``apply``: :meth:`torch.nn.Module.apply`
    recursively applies a function to every submodule (weight initialisation uses it), and
    overriding it would break that for any model holding an interdependence function.

    Parameters
    ----------
    b
        Number of instances the function is built for (``None``: follows the data, for
        functions that do not need a fixed ``b``).
    m
        Number of attributes the function is built for (``None``: follows the data, likewise).
    interdependence_type
        ``"attribute"`` (also ``"attribute_interdependence"``, ``"column"``, ``"right"``) or
        ``"instance"`` (also ``"instance_interdependence"``, ``"row"``, ``"left"``); stored as
        the canonical ``"attribute"`` / ``"instance"``.
    require_data, require_parameters
        Whether ``A`` depends on the batch / on learnable ``w``; ``None`` keeps the class's
        own value. Heads use them to decide what to pass.
    name, device
        Accepted for tinybig configs; ``name`` is kept as :attr:`name`, and ``device`` is
        ignored (rpnkit modules follow ``.to()``).

    Attributes
    ----------
    tinybig_divergence
        One line saying where the numbers differ from tinybig 0.2.1 (``None`` when they do not).
    """

    #: Default of :attr:`require_data` for the class.
    default_require_data: ClassVar[bool] = True
    #: Default of :attr:`require_parameters` for the class.
    default_require_parameters: ClassVar[bool] = False
    #: Type used when the constructor is not told one (tinybig's class default).
    default_interdependence_type: ClassVar[str] = ATTRIBUTE
    #: One line on how rpnkit's numbers differ from tinybig 0.2.1, or ``None``.
    tinybig_divergence: ClassVar[str | None] = None

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
        super().__init__()
        self.b = _optional_size(b, "b")
        self.m = _optional_size(m, "m")
        kind = (
            self.default_interdependence_type
            if interdependence_type is None
            else interdependence_type
        )
        self.interdependence_type = canonical_type(kind)
        self.require_data = (
            self.default_require_data if require_data is None else bool(require_data)
        )
        self.require_parameters = (
            self.default_require_parameters
            if require_parameters is None
            else bool(require_parameters)
        )
        self.name = name if name is not None else type(self).__name__

    # -- what the function is -------------------------------------------------------------

    @property
    def is_instance(self) -> bool:
        """Whether this is an instance interdependence (``A ∈ R^{b×b'}``)."""
        return self.interdependence_type == INSTANCE

    @property
    def is_attribute(self) -> bool:
        """Whether this is an attribute interdependence (``A ∈ R^{m×m'}``)."""
        return self.interdependence_type == ATTRIBUTE

    def calculate_l(self) -> int:
        """Return the number of learnable values ``w`` the function needs (0 by default)."""
        return 0

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """Return ``b'`` for ``b`` instances (default: ``b`` unchanged, or :attr:`b`)."""
        return self.b if b is None else b

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """Return ``m'`` for ``m`` attributes (default: ``m`` unchanged, or :attr:`m`)."""
        return self.m if m is None else m

    @property
    def side(self) -> int | None:
        """``d``: the size ``A`` mixes (``m`` for attribute type, ``b`` for instance type)."""
        return self.b if self.is_instance else self.m

    def required_side(self) -> int:
        """``d`` when the function needs it fixed; raises naming ``b`` or ``m`` when unset."""
        field = "b" if self.is_instance else "m"
        value = self.side
        if value is None:
            raise ConfigError(
                f"{field}=None is not valid for {type(self).__name__} of "
                f"{self.interdependence_type} type; expected an integer >= 1"
            )
        return value

    # -- computing and applying A -----------------------------------------------------------

    @abstractmethod
    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return the interdependence matrix ``A``.

        Parameters
        ----------
        x
            The batch oriented as tinybig's ``calculate_A`` takes it: ``X`` of shape ``(b, m)``
            for attribute type, ``Xᵀ`` of shape ``(m, b)`` for instance type; ``None`` for
            functions that do not need data.
        w
            Learnable values, shape ``(l,)`` or ``(1, l)``; ``None`` when ``l = 0``.

        Returns
        -------
        Tensor
            ``A`` of shape ``(m, m')`` (attribute) or ``(b, b')`` (instance), dense or sparse.
        """

    def check_x(self, x: Tensor | None) -> Tensor:
        """Return ``x`` if it is a 2-D tensor, else raise a one-line :class:`ConfigError`."""
        if not isinstance(x, Tensor) or x.ndim != 2:
            shape = tuple(x.shape) if isinstance(x, Tensor) else short_repr(x)
            raise ConfigError(
                f"x={shape} is not valid for {type(self).__name__}; expected a 2-D tensor "
                "(the batch, or its transpose for instance type)"
            )
        return x

    def check_w(self, w: Tensor | None) -> Tensor:
        """Return ``w`` flattened to ``(l,)``; raise if it is missing or has the wrong size."""
        l = self.calculate_l()  # noqa: E741 - the RPN papers' name for the parameter count
        if not isinstance(w, Tensor) or w.numel() != l or (w.ndim == 2 and w.shape[0] != 1):
            shape = tuple(w.shape) if isinstance(w, Tensor) else short_repr(w)
            raise ConfigError(
                f"w={shape} is not valid for {type(self).__name__}; expected a tensor of "
                f"shape ({l},) or (1, {l})"
            )
        return w.reshape(l)

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """Return ``ξ(X)``: ``data·A`` (attribute) or ``Aᵀ·data`` (instance).

        ``A`` is computed from ``x`` and ``w``; ``data`` is ``kappa_x`` when given (an RPN 2
        head applies the instance interdependence of the raw batch to the expanded batch),
        else ``x``. Override it with a way that never forms a dense ``A``.

        Parameters
        ----------
        x
            The batch, shape ``(b, m)`` (``None`` only for data-free functions with
            ``kappa_x`` given).
        w
            Learnable values, shape ``(l,)`` or ``(1, l)``.
        kappa_x
            Data to apply ``A`` to instead of ``x``.
        """
        data = kappa_x if kappa_x is not None else x
        data = self.check_x(data)
        if self.is_instance:
            A = self.calculate_A(None if x is None else self.check_x(x).transpose(0, 1), w)
            if A.is_sparse or data.is_sparse:
                return torch.sparse.mm(A.transpose(0, 1), data)
            return A.transpose(0, 1) @ data
        A = self.calculate_A(None if x is None else self.check_x(x), w)
        if A.is_sparse or data.is_sparse:
            return torch.sparse.mm(data, A)
        return data @ A

    def forward(
        self, x: Tensor | None = None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """Return ``ξ(X)`` of shape ``(b, m')`` (attribute) or ``(b', m)`` (instance).

        Checks that the data and parameters the function needs are there, then calls
        :meth:`apply_to`.
        """
        if self.require_data:
            self.check_x(x)
        if self.require_parameters or self.calculate_l():
            self.check_w(w)
        return self.apply_to(x, w, kappa_x)

    def extra_repr(self) -> str:
        """Type, sizes and parameter count."""
        return f"{self.interdependence_type}, b={self.b}, m={self.m}, l={self.calculate_l()}"
