"""Expansions built from other expansions: extended (concatenation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.expansion.base import Expansion, Processing


class ExtendedExpansion(Expansion):
    """Concatenation ``[κ_1(x), ..., κ_k(x)]`` of several expansions (``D = Σ D_i(m)``).

    :meth:`project` splits the weight by block and sums the blocks' own projections, so a
    Taylor block keeps its fast path (unless this expansion has its own postprocessing).

    Parameters
    ----------
    expansions
        The expansions: instances, or names or config dicts built through the registry
        group ``expansion``.
    preprocess, postprocess
        See :class:`Expansion`; applied around the whole concatenation.
    """

    def __init__(
        self,
        expansions: Sequence[Any],
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        if (
            isinstance(expansions, (str, bytes))
            or not isinstance(expansions, Sequence)
            or not (expansions)
        ):
            raise ConfigError(
                f"extended expansion expansions={expansions!r} is invalid; expected a non-empty "
                "list of expansions (names, config dicts or Expansion instances)"
            )
        self.expansions = nn.ModuleList(
            build_component("expansion", spec, Expansion, f"extended expansion expansions[{i}]")
            for i, spec in enumerate(expansions)
        )

    def parts(self) -> list[Expansion]:
        """The concatenated expansions, in order."""
        return [cast(Expansion, expansion) for expansion in self.expansions]

    def calculate_D(self, m: int) -> int:
        """Return the sum of the parts' output sizes."""
        return sum(expansion.calculate_D(m) for expansion in self.parts())

    def expand(self, x: Tensor) -> Tensor:
        """Return the concatenated expansions."""
        return torch.cat([expansion(x) for expansion in self.parts()], dim=-1)

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` as the sum of every part's projection."""
        if len(self.postprocess):
            return super().project(x, weight)
        x = self.preprocess(x)
        parts = self.parts()
        weights = weight.split([part.calculate_D(x.shape[-1]) for part in parts], dim=-1)
        out = parts[0].project(x, weights[0])
        for part, part_weight in zip(parts[1:], weights[1:], strict=True):
            out = out + part.project(x, part_weight)
        return out
