"""Combinatorial expansions: the feature subsets of sizes ``1..d`` and their normal log-densities.

Both expansions enumerate, for ``r = 1..d``, the ``r``-subsets ``S`` of the ``m`` features in
lexicographic order (``torch.combinations`` order). The subsets depend only on ``m``; they are
built once per input width and device and kept, so a forward pass is a gather.

Both expansions are linear in a per-feature quantity (``x`` itself, or its standard normal
log-density), so :meth:`Expansion.project` scatters the weight's columns back onto the ``m``
features (``O(r D)``) and multiplies by that ``b × m`` quantity: the ``b × D`` expansion is
never formed.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion.base import Expansion, Processing

__all__ = ["CombinatorialExpansion", "CombinatorialNormalExpansion", "lexicographic_subsets"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def lexicographic_subsets(m: int, r: int, with_replacement: bool = False) -> Tensor:
    """Return the ``r``-subsets of ``range(m)`` in lexicographic order, shape ``(count, r)``.

    Parameters
    ----------
    m
        Number of elements.
    r
        Subset size, >= 1.
    with_replacement
        Enumerate multisets (``i1 <= i2 <= ...``) instead of sets (``i1 < i2 < ...``).

    Returns
    -------
    Tensor
        ``int64`` indices; ``count`` is ``C(m, r)``, or ``C(m + r - 1, r)`` with replacement.
    """
    combos = torch.arange(m).unsqueeze(-1)
    step = 0 if with_replacement else 1
    for _ in range(1, r):
        start = combos[:, -1] + step
        counts = (m - start).clamp(min=0)
        rows = torch.repeat_interleave(torch.arange(combos.shape[0]), counts)
        first = torch.repeat_interleave(counts.cumsum(0) - counts, counts)
        following = start[rows] + torch.arange(rows.numel()) - first
        combos = torch.cat((combos[rows], following.unsqueeze(-1)), dim=1)
    return combos


class CombinatorialExpansion(Expansion):
    """The values of every feature subset of size ``r = 1..d`` (``D = Σ_r r C(m, r)``).

    Block ``r`` lists the ``r``-subsets ``(i1 < ... < ir)`` lexicographically and gives each
    one's values ``x_{i1}, ..., x_{ir}``: for ``d = 2`` and ``m = 3`` that is
    ``[x1, x2, x3, x1, x2, x1, x3, x2, x3]``.

    tinybig's ``combinatorial_expansion`` returns these subsets as a nested list (one tensor
    per order and sample), which a head cannot use; this is the same values flattened in
    that order, with tinybig's ``calculate_D``. tinybig also ignores ``with_replacement``;
    here ``True`` enumerates multisets (``i1 <= ... <= ir``, ``C(m + r - 1, r)`` of each size).

    Parameters
    ----------
    d
        Largest subset size, >= 1.
    with_replacement
        Enumerate multisets instead of sets.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self,
        d: int = 2,
        with_replacement: bool = False,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        self.d = positive_int(d, f"{self._label} d")
        if not isinstance(with_replacement, bool):
            raise ConfigError(
                f"{self._label} with_replacement={with_replacement!r} is not valid; expected "
                "true or false"
            )
        self.with_replacement = with_replacement
        self._cache: dict[tuple[int, torch.device], tuple[list[Tensor], Tensor]] = {}

    @property
    def _label(self) -> str:
        return "combinatorial expansion"

    def count(self, m: int, r: int) -> int:
        """Return the number of ``r``-subsets (or multisets) of ``m`` features."""
        return math.comb(m + r - 1 if self.with_replacement else m, r)

    def calculate_D(self, m: int) -> int:
        """Return ``Σ_{r=1..d} r C(m, r)``."""
        positive_int(m, "m")
        return sum(r * self.count(m, r) for r in range(1, self.d + 1))

    def subsets(self, m: int, device: torch.device) -> list[Tensor]:
        """Return the subsets for ``r = 1..d`` on ``device``, each as ``(r, count)`` (cached).

        Column ``k`` of block ``r`` holds the features of the ``k``-th ``r``-subset.
        """
        return self._indices(m, device)[0]

    def _flat_index(self, m: int, device: torch.device) -> Tensor:
        """The feature index of every output column, shape ``(D,)`` (cached)."""
        return self._indices(m, device)[1]

    def _indices(self, m: int, device: torch.device) -> tuple[list[Tensor], Tensor]:
        key = (m, device)
        if key not in self._cache:
            blocks = [
                lexicographic_subsets(m, r, self.with_replacement) for r in range(1, self.d + 1)
            ]
            flat = torch.cat([block.flatten() for block in blocks]).to(device)
            self._cache[key] = ([block.T.contiguous().to(device) for block in blocks], flat)
        return self._cache[key]

    def expand(self, x: Tensor) -> Tensor:
        """Return the subsets' values, order by order."""
        return x[..., self._flat_index(x.shape[-1], x.device)]

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` as ``x @ Vᵀ`` with ``V`` the weight summed per feature."""
        if len(self.postprocess):
            return super().project(x, weight)
        x = self.preprocess(x)
        m = x.shape[-1]
        index = self._flat_index(m, x.device)
        folded = weight.new_zeros(*weight.shape[:-1], m).index_add(-1, index, weight)
        return torch.matmul(x, folded.transpose(-1, -2))


class CombinatorialNormalExpansion(CombinatorialExpansion):
    """The standard multivariate normal log-density of every feature subset of size ``1..d``.

    ``κ(x)_S = log N_r(x_S; 0, I_r) = Σ_{i∈S} (-x_i²/2 - log(2π)/2)`` for every ``r``-subset
    ``S``, ``r = 1..d``, in lexicographic order (``D = Σ_r C(m, r)``); the factor pairs of a
    probabilistic graphical model. With ``with_replacement`` the subsets are multisets (see
    :class:`CombinatorialExpansion`; tinybig ignores the flag).

    Parameters
    ----------
    d
        Largest subset size, >= 1.
    with_replacement
        Enumerate multisets instead of sets.
    preprocess, postprocess
        See :class:`Expansion`.
    """

    def __init__(
        self,
        d: int = 1,
        with_replacement: bool = False,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(d, with_replacement, preprocess=preprocess, postprocess=postprocess)

    @property
    def _label(self) -> str:
        return "combinatorial_normal expansion"

    def calculate_D(self, m: int) -> int:
        """Return ``Σ_{r=1..d} C(m, r)``."""
        positive_int(m, "m")
        return sum(self.count(m, r) for r in range(1, self.d + 1))

    def expand(self, x: Tensor) -> Tensor:
        """Return every subset's log-density, order by order."""
        log_density = -0.5 * x * x - _LOG_SQRT_2PI
        blocks = []
        for block in self.subsets(x.shape[-1], x.device):
            total = log_density[..., block[0]]
            for features in block[1:]:
                total = total + log_density[..., features]
            blocks.append(total)
        return torch.cat(blocks, dim=-1)

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` from the per-feature log-densities (see the module)."""
        if len(self.postprocess):
            return super().project(x, weight)
        x = self.preprocess(x)
        m = x.shape[-1]
        folded = weight.new_zeros(*weight.shape[:-1], m)
        offset = 0
        for block in self.subsets(m, x.device):
            part = weight[..., offset : offset + block.shape[1]]
            for features in block:
                folded = folded.index_add(-1, features, part)
            offset += block.shape[1]
        return torch.matmul(-0.5 * x * x - _LOG_SQRT_2PI, folded.transpose(-1, -2))
