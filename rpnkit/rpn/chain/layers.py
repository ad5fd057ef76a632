"""tinybig's chain head and layer (time mixing, its "rnn" layer) as RPN heads.

A chain head maps every time step of a sequence ``R^m -> R^n`` with shared weights and mixes
the steps over time with a chain matrix (:class:`~rpnkit.rpn.chain.mixing.SequenceChainInterdependence`):
``out_t = Σ_s A_{st} x_s ψ(w)ᵀ + b + π(x_t)``. It has no recurrent state: it is a per-step
map plus a fixed linear mixing over time (directed chain with self-loop: ``x_t + x_{t−1}``;
``inverse_approx``: the cumulative sum). :func:`chain_interdependence_head` works on ``b·L``
rows (one per time step); :class:`ChainLayer` takes tinybig's layout ``(b, L·m)``
(time-major) and gives ``(b, L·n)``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.chain.mixing import SequenceChainInterdependence
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.head_flags import head_options_from
from rpnkit.rpn.layer import RPNLayer

__all__ = ["ChainLayer", "chain_interdependence_head", "chain_interdependence_layer"]


def _mixing(flags: dict[str, Any]) -> SequenceChainInterdependence:
    """The chain function tinybig's flags choose (exponential, inverse, multi-hop, plain)."""
    if flags["with_exponential_approx"]:
        kind = "exponential_approx"
    elif flags["with_inverse_approx"]:
        kind = "inverse_approx"
    elif flags["with_multihop"]:
        kind = "multihop"
    else:
        kind = "chain"
    return SequenceChainInterdependence(
        chain_length=flags["chain_length"],
        kind=kind,
        bi_directional=flags["bi_directional"],
        self_dependence=flags["self_dependence"],
        self_scaling=flags["self_scaling"],
        h=flags["h"],
        accumulative=flags["accumulative"],
    )


def _options(n: int, flags: dict[str, Any], softmax: bool) -> dict[str, Any]:
    return head_options_from(n, flags, softmax="softmax" if softmax else None)


def chain_interdependence_head(
    m: int,
    n: int,
    chain_length: int,
    channel_num: int = 1,
    bi_directional: bool = False,
    with_multihop: bool = False,
    h: int = 1,
    accumulative: bool = False,
    with_inverse_approx: bool = False,
    with_exponential_approx: bool = False,
    self_dependence: bool = True,
    self_scaling: float = 1.0,
    with_taylor: bool = False,
    d: int = 2,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = False,
    with_residual: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> RPNHead:
    """tinybig's ``chain_interdependence_head`` on ``b·L`` rows (one per time step).

    Parameters
    ----------
    m, n
        Values per time step in and out.
    chain_length
        ``L``.
    channel_num
        Channels.
    bi_directional, with_multihop, h, accumulative, with_inverse_approx, with_exponential_approx, self_dependence, self_scaling
        The chain matrix: plain, ``Â^h``, ``(I − Â)⁻¹`` or ``exp(Â)``.
    with_taylor, d
        Accepted as tinybig's signature has them (tinybig's chain head never uses them).
    with_dual_lphm, with_lorr, r, enable_bias, with_residual
        ψ, bias and a linear remainder (applied to every step).
    with_batch_norm, with_relu, with_softmax, with_dropout, p
        Output steps, per time step here (see :class:`ChainLayer` for tinybig's softmax).
    parameters_init_method
        How the parameters are drawn (``xavier_normal``, tinybig's).
    name, device
        Accepted for tinybig configs.
    """
    flags = dict(locals())
    flags["with_taylor"] = False  # tinybig's chain head takes it and never uses it
    return RPNHead(
        m, n, instance_interdependence=_mixing(flags), **_options(n, flags, with_softmax)
    )


def chain_interdependence_layer(
    m: int,
    n: int,
    chain_length: int,
    channel_num: int = 1,
    width: int = 1,
    bi_directional: bool = False,
    with_multihop: bool = False,
    h: int = 1,
    accumulative: bool = False,
    with_inverse_approx: bool = False,
    with_exponential_approx: bool = False,
    self_dependence: bool = True,
    self_scaling: float = 1.0,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = False,
    with_residual: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    with_softmax: bool = True,
    parameters_init_method: str = "xavier_normal",
    name: str | None = None,
    device: object = None,
) -> ChainLayer:
    """tinybig's ``chain_interdependence_layer``: sequences ``(b, L·m) -> (b, L·n)``.

    Parameters are :func:`chain_interdependence_head`'s, and ``width`` (independent heads,
    mean-fused). The softmax, when on, is over the whole ``L·n`` output row, as tinybig
    applies it.
    """
    flags = dict(locals())
    layer = RPNLayer(
        m,
        n,
        width=width,
        instance_interdependence=_mixing(flags),
        **_options(n, flags, softmax=False),
    )
    return ChainLayer(layer, chain_length, softmax=with_softmax)


class ChainLayer(nn.Module):
    """A per-time-step :class:`~rpnkit.rpn.layer.RPNLayer` on sequences laid out ``(b, L·m)``.

    The rows of the layer are the ``b·L`` time steps (its interdependence mixes them per
    sequence); the output is ``(b, L·n)``, time-major, optionally softmaxed over each row.
    A ``(b, L, m)`` input is accepted too.

    Parameters
    ----------
    layer
        The per-step layer ``R^m -> R^n``.
    chain_length
        ``L``.
    softmax
        Whether to apply a softmax over each ``L·n`` output row (tinybig's chain layer's).

    Attributes
    ----------
    m, out_features
        ``L·m`` and ``L·n``: the sizes of the flattened layout.
    """

    def __init__(self, layer: RPNLayer, chain_length: int, softmax: bool = False) -> None:
        super().__init__()
        self.layer = layer
        self.chain_length = positive_int(chain_length, "chain_length")
        self.softmax = bool(softmax)
        self.m = self.chain_length * layer.m
        self.out_features = self.chain_length * layer.out_features

    def forward(self, x: Tensor) -> Tensor:
        """``(b, L·m)`` (or ``(b, L, m)``) to ``(b, L·n)``."""
        b = x.shape[0]
        if x.numel() != b * self.m:
            raise ConfigError(
                f"chain layer input of shape {tuple(x.shape)} is not valid; expected "
                f"(b, {self.m}) = (b, L·m) with L={self.chain_length}, m={self.layer.m}"
            )
        out = self.layer(x.reshape(b * self.chain_length, self.layer.m)).reshape(b, -1)
        return torch.softmax(out, dim=-1) if self.softmax else out

    def extra_repr(self) -> str:
        """Length and softmax."""
        return f"chain_length={self.chain_length}, softmax={self.softmax}"
