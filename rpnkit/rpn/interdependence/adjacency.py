"""A structure's adjacency ``Â`` as an edge list, its CSR copies, and links mapped to indices.

``Â ∈ R^{n×n}`` has ``Â[i, j] ≠ 0`` for a link ``i → j`` (both ways for an undirected
structure), plus ``s·I`` for self-dependence, then optionally divided by degrees.
:class:`Adjacency` keeps it as an edge list (``src``, ``dst``, ``weight``; memory ``O(nnz)``),
built by one vectorised sort of the links, and applies it by propagation through CSR copies
of ``Âᵀ`` and ``Â`` (int32 indices, built once per dtype and device), never forming an
``n × n`` matrix. :func:`edges_from_links` maps links between node ids to index tensors.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError

__all__ = [
    "NORMALIZATION_MODES",
    "Adjacency",
    "CsrPattern",
    "edges_from_links",
]

#: Degree normalisations: ``D⁻¹Â`` (row), ``ÂD⁻¹`` (column), or rows then columns by square
#: roots of their sums (row_column, tinybig's order).
NORMALIZATION_MODES: tuple[str, ...] = ("row", "column", "row_column")


def _pairs(links: object, label: str) -> list[tuple[Any, Any]]:
    """``links`` as a list of pairs: a sequence of pairs, or a ``2 × E`` tensor / array."""
    if isinstance(links, Tensor) or hasattr(links, "__array__"):
        table = torch.as_tensor(links)
        if table.ndim != 2 or table.shape[0] != 2:
            raise ConfigError(
                f"{label} links of shape {tuple(table.shape)} is not valid; expected a 2 × E "
                "tensor or a list of (source, target) pairs"
            )
        return list(zip(table[0].tolist(), table[1].tolist(), strict=True))
    if not isinstance(links, Sequence) or isinstance(links, str):
        raise ConfigError(
            f"{label} links={short_repr(links)} is not valid; expected a list of "
            "(source, target) pairs or a 2 × E tensor"
        )
    pairs: list[tuple[Any, Any]] = []
    for link in links:
        if not isinstance(link, Sequence) or isinstance(link, str) or len(link) != 2:
            raise ConfigError(
                f"{label} link {short_repr(link)} is not valid; expected a (source, target) pair"
            )
        pairs.append((link[0], link[1]))
    return pairs


def edges_from_links(nodes: Sequence[Hashable], links: object, label: str) -> tuple[Tensor, Tensor]:
    """Map links between node ids to ``(src, dst)`` index tensors.

    Integer links in a tensor or array between the ids ``0 … n−1`` (a node count, or nodes
    listed in order) are checked and mapped by tensor operations, ``O(E)`` without a Python
    loop; other ids go through a dictionary.

    Parameters
    ----------
    nodes
        The node ids; a node's index is its position.
    links
        ``(source, target)`` pairs of node ids, or a ``2 × E`` tensor of them.
    label
        Name of the function, for error messages.

    Raises
    ------
    ConfigError
        If a link is malformed or names a node that is not in ``nodes``.
    """
    table = _integer_table(links, label)
    if table is not None and _is_range(nodes):
        outside = (table < 0) | (table >= len(nodes))
        if bool(outside.any()):
            column = int(outside.any(0).nonzero()[0, 0])
            a, b = (int(v) for v in table[:, column].tolist())
            end = a if bool(outside[0, column]) else b
            raise ConfigError(
                f"{label} link ({a!r}, {b!r}) names node {end!r}, which is not in nodes; "
                f"expected links between the {len(nodes)} given node ids"
            )
        return table[0].contiguous(), table[1].contiguous()
    index = {node: i for i, node in enumerate(nodes)}
    src: list[int] = []
    dst: list[int] = []
    for a, b in _pairs(links, label):
        for end in (a, b):
            if end not in index:
                raise ConfigError(
                    f"{label} link ({a!r}, {b!r}) names node {end!r}, which is not in nodes; "
                    f"expected links between the {len(index)} given node ids"
                )
        src.append(index[a])
        dst.append(index[b])
    return torch.tensor(src, dtype=torch.long), torch.tensor(dst, dtype=torch.long)


def _integer_table(links: object, label: str) -> Tensor | None:
    """``links`` as a ``2 × E`` int64 CPU tensor when it is an integer tensor or array, else
    ``None`` (pairs, or ids of another type)."""
    if not (isinstance(links, Tensor) or hasattr(links, "__array__")):
        return None
    table = torch.as_tensor(links)
    if table.ndim != 2 or table.shape[0] != 2:
        raise ConfigError(
            f"{label} links of shape {tuple(table.shape)} is not valid; expected a 2 × E "
            "tensor or a list of (source, target) pairs"
        )
    if table.dtype.is_floating_point or table.dtype.is_complex or table.dtype == torch.bool:
        return None
    return table.detach().to(device="cpu", dtype=torch.long)


def _is_range(nodes: Sequence[Hashable]) -> bool:
    """Whether the node ids equal ``0, 1, …, n−1`` in order (then a link's ids are its
    indices, as a dictionary lookup of them would give)."""
    if isinstance(nodes, range):
        return nodes.start == 0 and nodes.step == 1
    return list(nodes) == list(range(len(nodes)))


class CsrPattern(NamedTuple):
    """The CSR index arrays of ``Â`` (rows ``src``) and of ``Âᵀ`` (rows ``dst``), and the
    order that takes ``Â``'s entries (edge-list order) to ``Âᵀ``'s."""

    crow: Tensor
    col: Tensor
    crow_t: Tensor
    col_t: Tensor
    order: Tensor


class Adjacency(nn.Module):
    """A normalised adjacency matrix ``Â ∈ R^{n×n}`` kept as an edge list.

    Duplicate links count once (as tinybig's neighbour dictionaries do); an undirected
    structure has every link both ways; ``self_scaling`` is added to the diagonal (on top of
    a self-loop link). Degrees of zero are taken as 1.

    Parameters
    ----------
    n
        Number of nodes.
    src, dst
        Link ends (node indices), same length.
    directed
        Whether a link ``i → j`` is only that way.
    self_scaling
        Added to every diagonal entry; ``0`` for none.
    normalization
        Whether to divide by degrees.
    normalization_mode
        One of :data:`NORMALIZATION_MODES`.
    """

    src: Tensor
    dst: Tensor
    weight: Tensor

    def __init__(
        self,
        n: int,
        src: Tensor,
        dst: Tensor,
        *,
        directed: bool,
        self_scaling: float = 0.0,
        normalization: bool = False,
        normalization_mode: str = "row",
    ) -> None:
        super().__init__()
        self.n = n
        src, dst, weight = _entries(n, src, dst, directed, float(self_scaling))
        if normalization:
            weight = self._normalise(src, dst, weight, normalization_mode)
        self.register_buffer("src", src, persistent=False)
        self.register_buffer("dst", dst, persistent=False)
        self.register_buffer("weight", weight.to(torch.get_default_dtype()), persistent=False)
        self._products: dict[tuple[torch.dtype, torch.device], tuple[Tensor, Tensor]] = {}
        self._patterns: dict[torch.device, CsrPattern] = {}

    def _normalise(self, src: Tensor, dst: Tensor, weight: Tensor, mode: str) -> Tensor:
        def sums(at: Tensor, values: Tensor) -> Tensor:
            total = torch.zeros(self.n, dtype=values.dtype).index_add(0, at, values)
            return torch.where(total == 0, torch.ones_like(total), total)

        if mode == "row":
            return weight / sums(src, weight)[src]
        if mode == "column":
            return weight / sums(dst, weight)[dst]
        weight = weight / sums(src, weight)[src].sqrt()
        return weight / sums(dst, weight)[dst].sqrt()

    @property
    def nnz(self) -> int:
        """Number of stored entries of ``Â``."""
        return int(self.weight.numel())

    def propagate(self, z: Tensor, dim: int) -> Tensor:
        """Return ``Âᵀ·z`` (``dim=0``, ``z`` of shape ``(n, k)``) or ``z·Â`` (``dim=1``, ``(k, n)``).

        For float32/float64 data ``Âᵀ`` and ``Â`` are kept as CSR matrices (built on first
        use for each dtype and device, ``O(nnz)`` memory) and applied by one sparse × dense
        product each way (forward and gradient); otherwise by gather, scale and scatter-add.
        """
        if z.dtype in (torch.float32, torch.float64) and z.ndim == 2 and z.layout == torch.strided:
            forward, backward = self._csr(z.dtype, z.device)
            if dim == 0:
                return _FixedSparseProduct.apply(z, forward, backward)
            return _FixedSparseProduct.apply(z.t(), forward, backward).t()
        weight = self.weight.to(z.dtype)
        weight = weight.unsqueeze(1) if dim == 0 else weight.unsqueeze(0)
        return torch.zeros_like(z).index_add(dim, self.dst, z.index_select(dim, self.src) * weight)

    def _csr(self, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
        """``(Âᵀ, Â)`` as CSR matrices of ``dtype`` on ``device``, built once and kept."""
        key = (dtype, device)
        products = self._products.get(key)
        if products is None:
            products = self.csr_matrices(self.weight.to(device=device, dtype=dtype))
            self._products[key] = products
        return products

    def csr_matrices(self, values: Tensor) -> tuple[Tensor, Tensor]:
        """``(Mᵀ, M)`` as CSR matrices for the matrix ``M`` with ``Â``'s pattern and ``values``
        (one per stored entry, in :attr:`src`/:attr:`dst` order) on ``values``' device."""
        pattern = self.csr_pattern(values.device)
        return (
            _csr_tensor(
                pattern.crow_t, pattern.col_t, values.index_select(0, pattern.order), self.n
            ),
            _csr_tensor(pattern.crow, pattern.col, values, self.n),
        )

    def csr_pattern(self, device: torch.device) -> CsrPattern:
        """``Â``'s CSR index arrays (rows ``src``) and ``Âᵀ``'s (rows ``dst``) on ``device``,
        built once per device."""
        pattern = self._patterns.get(device)
        if pattern is None:
            order = _transposed_order(self.n, self.src, self.dst).to(self.dst.device)
            crow, col = _csr_indices(self.src, self.dst, self.n, device)
            crow_t, col_t = _csr_indices(
                self.dst.index_select(0, order), self.src.index_select(0, order), self.n, device
            )
            pattern = CsrPattern(crow, col, crow_t, col_t, order.to(device))
            self._patterns[device] = pattern
        return pattern

    def __getstate__(self) -> dict[str, Any]:
        """The module's state without the CSR copies (rebuilt on use; they do not copy)."""
        return {**super().__getstate__(), "_products": {}, "_patterns": {}}

    def _apply(self, fn: Any, recurse: bool = True) -> Any:
        self._products = {}  # moved or cast: the CSR copies are rebuilt on next use
        self._patterns = {}
        return super()._apply(fn, recurse)

    def dense(self) -> Tensor:
        """Return ``Â`` as a dense ``n × n`` matrix."""
        matrix = torch.zeros(self.n, self.n, dtype=self.weight.dtype, device=self.weight.device)
        return matrix.index_put((self.src, self.dst), self.weight, accumulate=True)

    def norm_bound(self) -> float:
        """An upper bound on ``Â``'s spectral radius: its largest absolute row or column sum."""
        magnitude = self.weight.abs()
        rows = torch.zeros(self.n, dtype=magnitude.dtype, device=magnitude.device)
        rows = rows.index_add(0, self.src, magnitude)
        cols = torch.zeros_like(rows).index_add(0, self.dst, magnitude)
        return float(torch.maximum(rows.max(), cols.max())) if self.n else 0.0

    def radius_bound(self) -> float:
        """An upper bound on ``Â``'s spectral radius: the smaller of its largest absolute row
        sum and its largest absolute column sum."""
        magnitude = self.weight.abs()
        rows = torch.zeros(self.n, dtype=magnitude.dtype, device=magnitude.device)
        rows = rows.index_add(0, self.src, magnitude)
        cols = torch.zeros_like(rows).index_add(0, self.dst, magnitude)
        return float(torch.minimum(rows.max(), cols.max())) if self.n else 0.0

    def extra_repr(self) -> str:
        """Nodes and stored entries."""
        return f"n={self.n}, nnz={self.nnz}"


def _entries(
    n: int, src: Tensor, dst: Tensor, directed: bool, self_scaling: float
) -> tuple[Tensor, Tensor, Tensor]:
    """The stored entries of ``Â`` before normalisation: ``(src, dst, weight)`` sorted by
    ``(src, dst)``, weight in float64.

    A link counts once (duplicates, and a self-loop link, too); ``self_scaling`` is added on
    the diagonal. Deduplicated by one numpy sort of the ``src·n + dst`` keys (vectorised;
    several times faster than ``torch.unique`` on one thread).
    """
    starts = src.detach().cpu().long().numpy()
    ends = dst.detach().cpu().long().numpy()
    if not directed:
        starts, ends = np.concatenate([starts, ends]), np.concatenate([ends, starts])
    keys = starts * n + ends
    looped = np.zeros(n)
    if self_scaling:
        looped[starts[starts == ends]] = 1.0
        keys = np.concatenate([keys, np.arange(n, dtype=np.int64) * (n + 1)])
    keys = np.sort(keys)
    keep = np.ones(keys.size, dtype=bool)
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    rows, cols = np.divmod(keys[keep], n)
    weight = np.ones(rows.size)
    if self_scaling:
        diagonal = rows == cols
        weight[diagonal] = looped[rows[diagonal]] + self_scaling
    return torch.from_numpy(rows), torch.from_numpy(cols), torch.from_numpy(weight)


def _transposed_order(n: int, src: Tensor, dst: Tensor) -> Tensor:
    """The order of the entries (sorted by ``(src, dst)``) that sorts them by ``(dst, src)``:
    a stable sort by ``dst`` alone (numpy's radix sort when the ids fit in 16 bits)."""
    ends = dst.cpu().numpy()
    if n <= 2**16:
        return torch.from_numpy(np.argsort(ends.astype(np.uint16), kind="stable"))
    return torch.from_numpy(np.argsort(ends * n + src.cpu().numpy()))


def _csr_indices(rows: Tensor, cols: Tensor, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """``(crow, col)`` on ``device`` of ``n × n`` entries sorted by row.

    int32 when they fit: the index type of the sparse kernels (MKL on CPU, cuSPARSE), so no
    product converts them.
    """
    counts = torch.bincount(rows, minlength=n)
    crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    index = torch.int32 if max(n, cols.numel()) < 2**31 else torch.int64
    return crow.to(device, index), cols.to(device, index)


def _csr_tensor(crow: Tensor, col: Tensor, values: Tensor, n: int) -> Tensor:
    """The ``n × n`` CSR matrix (torch's beta-state notice silenced, invariants not checked:
    the indices come from :meth:`Adjacency.csr_pattern`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(crow, col, values, (n, n), check_invariants=False)


class _FixedSparseProduct(torch.autograd.Function):
    """``M @ z`` for a constant sparse ``M``: the gradient is ``Mᵀ @ grad`` (``Mᵀ`` given)."""

    @staticmethod
    def forward(ctx: Any, z: Tensor, matrix: Tensor, transposed: Tensor) -> Tensor:
        ctx.transposed = transposed
        return matrix @ z

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        return ctx.transposed @ grad, None, None
