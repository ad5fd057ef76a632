"""The RPN head: ``y = out(mean_c <κ(x), ψ(w_c)> + b + π(x))``.

A head maps ``m`` input features to ``n`` outputs. Its expansion κ, reconciliation ψ and
remainder π are given by registry name, config dict or instance, so third-party components
work by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component, positive_int
from rpnkit.rpn.expansion import Expansion
from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec
from rpnkit.rpn.reconciliation import Reconciliation
from rpnkit.rpn.remainder import Remainder

__all__ = ["RPNHead"]


class RPNHead(nn.Module):
    """One RPN head ``R^m -> R^n`` with ``C`` channels.

    For every channel ``c`` the weight is ``W_c = ψ(w_c) ∈ R^{n×D}`` (``w`` has shape
    ``(C, l)``); the output is

    ``y = output_process(mean_c κ(x) W_cᵀ + b + π(x))``,

    where the bias ``b ∈ R^n`` exists when the reconciliation has ``enable_bias`` and is shared
    by all channels, as in tinybig.

    The product is computed from the factors the reconciliation offers
    (:meth:`Reconciliation.factorize`, ``W = A B``) and the projection the expansion offers
    (:meth:`Expansion.project`, ``κ(x) Bᵀ``): the channel mean is folded into one matrix
    product, a low-rank weight is never formed, and a Taylor expansion of order 2 is never
    materialised.

    Parameters are initialised by :meth:`reset_parameters` and are deterministic under
    :func:`torch.manual_seed`.

    Parameters
    ----------
    m
        Input size.
    n
        Output size.
    expansion
        κ: name, config dict or :class:`Expansion` instance (group ``expansion``).
    reconciliation
        ψ: name, config dict or :class:`Reconciliation` instance (group ``reconciliation``);
        built with ``n`` and ``D = κ.calculate_D(m)``.
    remainder
        π: name, config dict or :class:`Remainder` instance (group ``remainder``); built with
        ``m`` and ``n``.
    channels
        Number of channels ``C``, >= 1.
    postprocess
        Processing steps for the expansion's output (e.g. ``["layer_norm"]``), passed to the
        expansion's constructor; not allowed with an expansion instance.
    output_process
        Processing steps for the head's output (e.g. ``["relu"]``).

    Raises
    ------
    ConfigError
        For invalid sizes, components or processing steps, or an instance whose sizes do not
        match the head.
    """

    def __init__(
        self,
        m: int,
        n: int,
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        remainder: Any = "zero",
        channels: int = 1,
        postprocess: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        output_process: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
    ) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        self.channels = positive_int(channels, "channels")
        if postprocess is not None and isinstance(expansion, nn.Module):
            raise ConfigError(
                f"postprocess={postprocess!r} cannot be added to the already built expansion "
                f"{type(expansion).__name__}; pass postprocess to its constructor instead"
            )
        extra = {} if postprocess is None else {"postprocess": postprocess}
        self.expansion: Expansion = build_component(
            "expansion", expansion, Expansion, "expansion", **extra
        )
        self.D = self.expansion.calculate_D(self.m)
        self.reconciliation: Reconciliation = build_component(
            "reconciliation", reconciliation, Reconciliation, "reconciliation", n=self.n, D=self.D
        )
        _check_sizes(self.reconciliation, "reconciliation", n=self.n, D=self.D)
        self.remainder: Remainder = build_component(
            "remainder", remainder, Remainder, "remainder", m=self.m, n=self.n
        )
        _check_sizes(self.remainder, "remainder", m=self.m, n=self.n)
        self.w = nn.Parameter(torch.empty(self.channels, self.reconciliation.l))
        self.bias = nn.Parameter(torch.empty(self.n)) if self.reconciliation.enable_bias else None
        self.output_process = ProcessingChain(output_process, field="output_process")
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Xavier-uniform initialisation of every tensor with its own fans (tinybig's rule).

        ``w`` of shape ``(C, l)`` draws from U(±√(6/(l+C))), the bias (as a ``(1, n)``
        matrix) from U(±√(6/(1+n))), and the remainder re-initialises its own parameters.
        """
        nn.init.xavier_uniform_(self.w)
        if self.bias is not None:
            nn.init.xavier_uniform_(self.bias.unsqueeze(0))
        self.remainder.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Return the head output of shape ``(..., n)`` for ``x`` of shape ``(..., m)``."""
        if x.shape[-1] != self.m:
            raise ConfigError(
                f"head input has {x.shape[-1]} features (shape {tuple(x.shape)}); "
                f"expected m={self.m}"
            )
        flat = x.reshape(-1, self.m)
        left, right = self.reconciliation.factorize(self.w)
        if left is None:
            weight = right.squeeze(0) if self.channels == 1 else right.mean(0)
            out = self.expansion.project(flat, weight)
        else:
            projected = self.expansion.project(flat, right)
            out = torch.einsum("cbr,cnr->bn", projected, left)
            if self.channels > 1:
                out = out / self.channels
        if self.bias is not None:
            out = out + self.bias
        out = out + self.remainder(flat)
        return self.output_process(out.reshape(*x.shape[:-1], self.n))

    def extra_repr(self) -> str:
        """Sizes and channel count."""
        return f"m={self.m}, n={self.n}, D={self.D}, channels={self.channels}"


def _check_sizes(component: nn.Module, field: str, **sizes: int) -> None:
    """Raise if a component instance was built for other sizes than the head's."""
    for name, expected in sizes.items():
        actual = getattr(component, name)
        if actual != expected:
            raise ConfigError(
                f"{field} {type(component).__name__} was built with {name}={actual}, but the head "
                f"needs {name}={expected}; give a name or config dict so the head builds it"
            )
