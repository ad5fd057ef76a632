"""Expansions built from other expansions: extended (concatenation) and nested (composition).

Both take their parts as ``expansions``, or under tinybig's names ``composition_functions``
and ``composition_function_configs`` (the same thing). A part is an instance, a registry name
or a config dict, which may be tinybig's ``{"function_class": ..., "function_parameters":
{...}}``: a tinybig class path (``tinybig.expansion.taylor_expansion``) resolves to the rpnkit
expansion registered under the class name, and tinybig's bookkeeping parameters (``name``,
``device``) are dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.expansion.base import Expansion, Processing

#: tinybig parameters of a function config that mean nothing to an rpnkit expansion.
_TINYBIG_BOOKKEEPING = frozenset({"name", "device", "require_parameters"})
_TINYBIG_PREFIX = "tinybig."


class _CompositeExpansion(Expansion):
    """Shared construction of the expansions made of parts."""

    def __init__(
        self,
        expansions: Sequence[Any] | None,
        composition_functions: Sequence[Any] | None,
        composition_function_configs: Sequence[Any] | None,
        *,
        preprocess: Processing,
        postprocess: Processing,
        label: str,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        given = {
            name: value
            for name, value in (
                ("expansions", expansions),
                ("composition_functions", composition_functions),
                ("composition_function_configs", composition_function_configs),
            )
            if value is not None
        }
        if len(given) > 1:
            raise ConfigError(
                f"{label} expansion got {' and '.join(given)}; give the parts once, as "
                "expansions (or tinybig's composition_functions or composition_function_configs)"
            )
        field, specs = next(iter(given.items())) if given else ("expansions", None)
        if specs is None:
            raise ConfigError(
                f"{label} expansion needs its parts; expected expansions: a non-empty list of "
                "expansions (names, config dicts or Expansion instances)"
            )
        if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence) or not specs:
            raise ConfigError(
                f"{label} expansion {field}={_describe(specs)} is not valid; expected a non-empty "
                "list of expansions (names, config dicts or Expansion instances)"
            )
        self.expansions = nn.ModuleList(
            build_component(
                "expansion", _from_tinybig(spec), Expansion, f"{label} expansion {field}[{i}]"
            )
            for i, spec in enumerate(specs)
        )

    def parts(self) -> list[Expansion]:
        """The part expansions, in order."""
        return [cast(Expansion, expansion) for expansion in self.expansions]


class ExtendedExpansion(_CompositeExpansion):
    """Concatenation ``[κ_1(x), ..., κ_k(x)]`` of several expansions (``D = Σ D_i(m)``).

    :meth:`project` splits the weight by block and sums the blocks' own projections, so a
    Taylor block keeps its fast path (unless this expansion has its own postprocessing).

    Parameters
    ----------
    expansions
        The expansions: instances, or names or config dicts built through the registry
        group ``expansion``.
    composition_functions, composition_function_configs
        tinybig's names for the parts (see the module documentation); give one of the three.
    preprocess, postprocess
        See :class:`Expansion`; applied around the whole concatenation.
    """

    def __init__(
        self,
        expansions: Sequence[Any] | None = None,
        *,
        composition_functions: Sequence[Any] | None = None,
        composition_function_configs: Sequence[Any] | None = None,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(
            expansions,
            composition_functions,
            composition_function_configs,
            preprocess=preprocess,
            postprocess=postprocess,
            label="extended",
        )

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


class NestedExpansion(_CompositeExpansion):
    """Composition ``κ_k(... κ_2(κ_1(x)))`` of several expansions (``D = D_k(... D_1(m))``).

    Each part expands the previous part's output; ``[taylor d=2]`` after ``[bspline]`` is the
    Taylor expansion of the B-spline features. :meth:`project` computes the inner parts and
    hands the last one's projection to that part, so a last Taylor part keeps its fast path
    (unless this expansion has its own postprocessing).

    Parameters
    ----------
    expansions
        The expansions, innermost first: instances, or names or config dicts built through
        the registry group ``expansion``.
    composition_functions, composition_function_configs
        tinybig's names for the parts (see the module documentation); give one of the three.
    preprocess, postprocess
        See :class:`Expansion`; applied before the first and after the last part.
    """

    def __init__(
        self,
        expansions: Sequence[Any] | None = None,
        *,
        composition_functions: Sequence[Any] | None = None,
        composition_function_configs: Sequence[Any] | None = None,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(
            expansions,
            composition_functions,
            composition_function_configs,
            preprocess=preprocess,
            postprocess=postprocess,
            label="nested",
        )

    def calculate_D(self, m: int) -> int:
        """Return the last part's output size, each part sized on the previous one's."""
        D = m
        for expansion in self.parts():
            D = expansion.calculate_D(D)
        return D

    def expand(self, x: Tensor) -> Tensor:
        """Return the composed expansions."""
        for expansion in self.parts():
            x = expansion(x)
        return x

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ`` through the last part's own projection."""
        if len(self.postprocess):
            return super().project(x, weight)
        *inner, last = self.parts()
        x = self.preprocess(x)
        for expansion in inner:
            x = expansion(x)
        return last.project(x, weight)


def _from_tinybig(spec: Any) -> Any:
    """Map one tinybig function config onto rpnkit's ``{"name", "parameters"}`` form."""
    if not isinstance(spec, Mapping) or "function_class" not in spec:
        return spec
    name = spec["function_class"]
    if isinstance(name, str) and name.startswith(_TINYBIG_PREFIX):
        name = name.rpartition(".")[2]
    parameters = spec.get("function_parameters") or {}
    if isinstance(parameters, Mapping):
        parameters = {k: v for k, v in parameters.items() if k not in _TINYBIG_BOOKKEEPING}
    rest = {k: v for k, v in spec.items() if k not in ("function_class", "function_parameters")}
    return {**rest, "name": name, "parameters": parameters}


def _describe(value: Any) -> str:
    """``repr(value)`` when short, else its type name (never an unbounded repr)."""
    shown = repr(value)
    return shown if len(shown) <= 40 else f"<{type(value).__name__}>"
