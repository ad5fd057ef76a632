"""Chain interdependence functions: mixing along a sequence ``0 → 1 → … → L−1``.

The chain's adjacency ``Â`` has the links ``i → i+1`` (both ways when bi-directional),
built and normalised by :class:`~rpnkit.rpn.interdependence.topological.Adjacency`. The four
functions are ``Â`` itself (with ``s·I`` for self-dependence), its powers, ``(I − Â)⁻¹`` and
``exp(Â)``; all are applied by propagation along the chain, ``O(L)`` per column for a step,
and never as an ``L × L`` matrix: a directed chain's ``(I − Â)⁻¹`` is a cumulative sum, its
``exp(Â)`` a short series of shifts.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor

from rpnkit.checks import finite_number, positive_int, short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence.topological import Adjacency, TopologicalInterdependence

__all__ = [
    "ChainInterdependence",
    "ExponentialApproxMultihopChainInterdependence",
    "InverseApproxMultihopChainInterdependence",
    "MultihopChainInterdependence",
]


def _chain_shape(
    chain: object, chain_length: object, bi_directional: object, label: str
) -> tuple[int, bool]:
    """Return ``(L, directed)`` from a chain object (tinybig's ``koala.topology.chain``) or a length."""
    if chain is not None:
        if isinstance(chain, int) and not isinstance(chain, bool):
            return positive_int(chain, f"{label} chain"), not bool(bi_directional)
        nodes = getattr(chain, "nodes", None)
        is_directed = getattr(chain, "is_directed", None)
        if nodes is None or not callable(is_directed):
            raise ConfigError(
                f"{label} chain={short_repr(chain)} is not valid; expected a chain structure "
                "(tinybig.koala.topology.chain) or an integer length"
            )
        return positive_int(len(nodes), f"{label} chain length"), bool(is_directed())
    if chain_length is None:
        raise ConfigError(
            f"{label}: chain=None and chain_length=None; give chain_length (an integer >= 1) "
            "or a chain structure"
        )
    return positive_int(chain_length, f"{label} chain_length"), not bool(bi_directional)


class ChainInterdependence(TopologicalInterdependence):
    r"""Chain interdependence: ``A = Â`` for the chain ``0 → 1 → … → L−1``.

    ``Â`` has ``Â[i, i+1] = 1`` (and ``Â[i+1, i] = 1`` when bi-directional), plus
    ``self_scaling`` on the diagonal when ``self_dependence``, then optionally degree
    normalised. Instance type (the default) mixes the ``b = L`` rows of a batch: row ``t`` of
    ``Aᵀ·X`` is ``s·x_t + x_{t−1}`` for a directed chain.

    Parameters
    ----------
    chain
        A chain structure (tinybig's ``koala.topology.chain``: its length and direction are
        used) or an integer length; ``None`` uses ``chain_length``.
    chain_length
        Number of positions ``L``, >= 1.
    bi_directional
        Whether links go both ways (ignored when ``chain`` is a structure).
    normalization, normalization_mode
        Degree normalisation, ``"row"`` (``D⁻¹Â``), ``"column"`` (``ÂD⁻¹``) or
        ``"row_column"``.
    self_dependence, self_scaling
        Whether to add ``self_scaling·I``.
    b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`; ``b`` (instance)
        or ``m`` (attribute) must be ``L`` when given.
    """

    label: ClassVar[str] = "chain"
    #: Whether the subclass passes ``self_dependence``/``self_scaling`` to the adjacency
    #: (tinybig's subclasses do not all do so).
    uses_self_scaling: ClassVar[bool] = True
    uses_self_dependence: ClassVar[bool] = True

    def __init__(
        self,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        name: str | None = None,
        chain: Any = None,
        chain_length: int | None = None,
        bi_directional: bool = False,
        normalization: bool = False,
        normalization_mode: str = "row",
        self_dependence: bool = True,
        self_scaling: float = 1.0,
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b, m=m, interdependence_type=interdependence_type, require_data=require_data,
            require_parameters=require_parameters, name=name, device=device,
        )  # fmt: skip
        length, directed = _chain_shape(chain, chain_length, bi_directional, self.label)
        mode = self.check_mode(normalization_mode, self.label)
        scaling = finite_number(self_scaling, f"{self.label} self_scaling")
        self.chain_length = length
        self.directed = directed
        self.normalization = bool(normalization)
        self.normalization_mode = mode
        self.self_dependence = bool(self_dependence)
        self.self_scaling = scaling
        loop = 0.0
        if self.uses_self_dependence and self.self_dependence:
            loop = scaling if self.uses_self_scaling else 1.0
        positions = torch.arange(length - 1, dtype=torch.long)
        adjacency = Adjacency(
            length, positions, positions + 1, directed=directed, self_scaling=loop,
            normalization=self.normalization, normalization_mode=mode,
        )  # fmt: skip
        self._set_structure(length, adjacency)

    def is_bi_directional(self) -> bool:
        """Whether the chain's links go both ways."""
        return not self.directed


class MultihopChainInterdependence(ChainInterdependence):
    r"""Multi-hop chain interdependence: ``A = Â^h``, or ``Σ_{k=1}^{h} Â^k`` when accumulative.

    ``Â`` is :class:`ChainInterdependence`'s with ``self_dependence`` adding ``I``: like
    tinybig, this function does not apply ``self_scaling``. An accumulative sum over a
    bi-directional chain is column normalised (``A D⁻¹``, ``D`` its column sums), as
    tinybig's. Applied as ``h`` propagations.

    Parameters
    ----------
    h
        Number of hops, >= 1.
    accumulative
        Whether to sum the powers 1..h.
    chain, chain_length, bi_directional, normalization, normalization_mode, self_dependence, self_scaling, b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`ChainInterdependence`.
    """

    label: ClassVar[str] = "multihop_chain"
    uses_self_scaling: ClassVar[bool] = False

    column_sums: Tensor | None

    def __init__(self, h: int = 1, accumulative: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.h = positive_int(h, f"{self.label} h")
        self.accumulative = bool(accumulative)
        self._set_column_sums(self.accumulative and not self.directed)

    def _set_column_sums(self, needed: bool) -> None:
        """Keep the column sums of ``Σ_{k≤h} Â^k`` (zero sums as 1) when they normalise it."""
        if not needed:
            self.register_buffer("column_sums", None, persistent=False)
            return
        ones = torch.ones(self.n, 1, dtype=self.adjacency.weight.dtype)
        sums = self._hops(ones, 0, self.h, accumulate=True).squeeze(1)
        sums = torch.where(sums == 0, torch.ones_like(sums), sums)
        self.register_buffer("column_sums", sums, persistent=False)

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """``h`` propagations (summed when accumulative), then the column normalisation."""
        out = self._hops(z, dim, self.h, accumulate=self.accumulative)
        if self.column_sums is not None:
            scale = self.column_sums.to(out.dtype)
            out = out / (scale.unsqueeze(1) if dim == 0 else scale.unsqueeze(0))
        return out

    def dense_A(self) -> Tensor:
        """``Â^h`` or the (column-normalised) ``Σ_{k≤h} Â^k`` as a dense matrix."""
        total = self._dense_hops(self.h, self.accumulative)
        if self.column_sums is not None:
            sums = total.sum(0)
            total = total / torch.where(sums == 0, torch.ones_like(sums), sums).unsqueeze(0)
        return total


class InverseApproxMultihopChainInterdependence(MultihopChainInterdependence):
    r"""All hops at once: ``A = (I − Â)⁻¹`` for a directed chain, the column-normalised
    ``Σ_{k=1}^{L−1} Â^k`` for a bi-directional one (tinybig's approximation).

    ``Â`` has no self-loops here whatever ``self_dependence`` says (tinybig's
    ``to_matrix`` is called without it). A directed chain's ``Â`` is a shift, unchanged by
    any normalisation, so ``(I − Â)⁻¹`` is the all-ones upper triangle: ``Aᵀ·X`` is the
    cumulative sum over the chain (``X·A`` likewise over the columns), ``O(L)`` per column.

    Parameters
    ----------
    chain, chain_length, bi_directional, normalization, normalization_mode, self_dependence, self_scaling, b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`ChainInterdependence`.
    """

    label: ClassVar[str] = "inverse_approx_multihop_chain"
    uses_self_dependence: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("h", None)
        kwargs.pop("accumulative", None)
        super().__init__(h=1, accumulative=True, **kwargs)
        self.h = max(self.chain_length - 1, 1)
        self._set_column_sums(not self.directed)

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """A cumulative sum (directed) or ``L − 1`` propagations, column normalised."""
        if self.directed:
            return torch.cumsum(z, dim)
        return super().operate(z, dim)

    def dense_A(self) -> Tensor:
        """``(I − Â)⁻¹`` (directed) or the column-normalised power sum, densely."""
        if self.directed:
            adj = self.adjacency.dense()
            return torch.linalg.inv(torch.eye(self.n, dtype=adj.dtype) - adj)
        return super().dense_A()


class ExponentialApproxMultihopChainInterdependence(ChainInterdependence):
    r"""All hops weighted by ``1/k!``: ``A = exp(Â) = Σ_k Â^k / k!``.

    ``Â`` has no self-loops here whatever ``self_dependence`` says (as tinybig's). Applied as
    the series of propagations ``Σ_k (Âᵀ)^k X / k!``: for a directed chain ``Â`` is a shift
    and the series ends after ``L − 1`` terms (exact); otherwise it stops once the remaining
    terms are below float64 resolution (bounded by ``q^k / k!``, ``q`` the largest row or
    column sum of ``Â``).

    Parameters
    ----------
    chain, chain_length, bi_directional, normalization, normalization_mode, self_dependence, self_scaling, b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`ChainInterdependence`.
    """

    label: ClassVar[str] = "exponential_approx_multihop_chain"
    uses_self_dependence: ClassVar[bool] = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        bound, terms, term = self.adjacency.norm_bound(), 0, 1.0
        while term > 1e-17 and terms < 500:
            terms += 1
            term *= bound / terms
        self.terms = min(terms, self.chain_length - 1) if self.directed else terms

    def operate(self, z: Tensor, dim: int) -> Tensor:
        """``Σ_{k=0}^{K} P^k(z) / k!`` with ``P`` one propagation."""
        out, term = z, z
        for k in range(1, self.terms + 1):
            term = self.propagate(term, dim) / k
            out = out + term
        return out

    def dense_A(self) -> Tensor:
        """``torch.matrix_exp(Â)``."""
        return torch.matrix_exp(self.adjacency.dense())
