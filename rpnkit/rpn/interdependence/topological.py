"""The base class of the topological functions (chain and graph interdependence).

A topological interdependence mixes ``n`` positions (the instances of a batch, or its
attributes) along the links of a structure. Its matrix is built from the normalised adjacency
``Â ∈ R^{n×n}`` (:class:`~rpnkit.rpn.interdependence.adjacency.Adjacency`, an edge list with
CSR copies, memory ``O(nnz)``), applied by propagation, never forming an ``n × n`` matrix:
``Âᵀ·Z`` (instance type, ``Z`` of shape ``(n, k)``) or ``Z·Â`` (attribute type, ``(k, n)``).
:class:`TopologicalInterdependence` applies a function of ``Â`` through :meth:`propagate`
calls; its :meth:`~TopologicalInterdependence.calculate_A` gives the dense matrix on request.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from rpnkit.checks import choice
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.adjacency import (
    NORMALIZATION_MODES,
    Adjacency,
    CsrPattern,
    edges_from_links,
)
from rpnkit.rpn.interdependence.base import INSTANCE, Interdependence

__all__ = [
    "NORMALIZATION_MODES",
    "Adjacency",
    "CsrPattern",
    "TopologicalInterdependence",
    "edges_from_links",
]


class TopologicalInterdependence(Interdependence):
    """Base class of the chain and graph interdependence functions.

    A subclass sets :attr:`adjacency` (via :meth:`_set_structure`); :meth:`operate` (``ξ``
    applied along one axis, by propagation) and :meth:`dense_A` (the same matrix built
    densely, tinybig's way) are ``Â``'s unless a subclass overrides them (the multi-hop ones
    with :meth:`_hops` and :meth:`_dense_hops`). :meth:`apply_to` uses :meth:`operate`: rows of
    the data for instance type (``Aᵀ·X``), columns for attribute type (``X·A``).
    """

    default_require_data: ClassVar[bool] = False
    default_interdependence_type: ClassVar[str] = INSTANCE
    #: Name used in error messages.
    label: ClassVar[str] = "topological"

    adjacency: Adjacency

    def _set_structure(self, n: int, adjacency: Adjacency) -> None:
        """Keep ``adjacency``; check (or set) ``b``/``m`` against the node count ``n``."""
        field = "b" if self.is_instance else "m"
        given = self.side
        if given is not None and given != n:
            raise ConfigError(
                f"{self.label} {field}={given} is not valid; the structure has {n} nodes, so "
                f"{field} must be {n} for {self.interdependence_type} type"
            )
        if self.is_instance:
            self.b = n
        else:
            self.m = n
        self.adjacency = adjacency

    @staticmethod
    def check_mode(normalization_mode: object, label: str) -> str:
        """Return ``normalization_mode`` if valid, else raise naming the valid modes."""
        return str(choice(normalization_mode, NORMALIZATION_MODES, f"{label} normalization_mode"))

    @property
    def n(self) -> int:
        """Number of nodes."""
        return self.adjacency.n

    def propagate(self, z: Tensor, dim: int) -> Tensor:
        """One step: ``Âᵀ·z`` (``dim=0``) or ``z·Â`` (``dim=1``)."""
        return self.adjacency.propagate(z, dim)

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """Return ``Aᵀ·z`` (``dim=0``) or ``z·A`` (``dim=1``) without forming ``A``.

        Here ``A = Â``: one propagation; a subclass with another ``A`` overrides it.
        """
        return self.propagate(z, dim)

    def dense_A(self) -> Tensor:
        """Return ``A`` as a dense ``n × n`` matrix (tinybig's construction); here ``Â``."""
        return self.adjacency.dense()

    def _hops(self, z: Tensor, dim: int, h: int, *, accumulate: bool) -> Tensor:
        """``h`` propagations of ``z``: ``Â^h`` applied, or ``Σ_{k≤h} Â^k`` when ``accumulate``."""
        total = None
        for _ in range(h):
            z = self.propagate(z, dim)
            total = z if total is None else total + z
        return total if accumulate and total is not None else z

    def _dense_hops(self, h: int, accumulative: bool) -> Tensor:
        """``Â^h``, or ``Σ_{k≤h} Â^k`` when ``accumulative``, as a dense matrix."""
        adj = self.adjacency.dense()
        if not accumulative:
            return torch.linalg.matrix_power(adj, h)
        power, total = adj, adj.clone()
        for _ in range(h - 1):
            power = adj @ power
            total = total + power
        return total

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return the dense ``n × n`` matrix ``A`` (``x`` and ``w`` are not used).

        Applying the function (:meth:`forward`) never forms it.
        """
        return self.dense_A()

    def apply_to(
        self, x: Tensor | None, w: Tensor | None = None, kappa_x: Tensor | None = None
    ) -> Tensor:
        """Return ``Aᵀ·data`` (instance) or ``data·A`` (attribute) by propagation."""
        data = self.check_x(kappa_x if kappa_x is not None else x)
        dim = 0 if self.is_instance else 1
        if data.shape[dim] != self.n:
            axis = "rows" if dim == 0 else "columns"
            raise ConfigError(
                f"{self.label}: data of shape {tuple(data.shape)} is not valid; expected "
                f"{self.n} {axis} (one per node) for {self.interdependence_type} type"
            )
        return self.operate(data, dim)

    def extra_repr(self) -> str:
        """Type, nodes and stored entries."""
        return f"{self.interdependence_type}, n={self.n}, nnz={self.adjacency.nnz}"
