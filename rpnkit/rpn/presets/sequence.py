"""Sequence model presets: tinybig's ``rnn`` and ``regression_rnn``.

Inputs are sequences ``(b, L·m)``, time-major (tinybig's layout; ``(b, L, m)`` is accepted
too). For every hidden size the model applies a perceptron layer to each time step (shared
weights) and then a chain layer (a per-step map mixed over time by a fixed chain matrix);
``rnn`` classifies from the time mean of the last hidden states, ``regression_rnn`` maps the
flattened ``(b, L·n)`` states to its outputs.

Neither has a recurrent state: this is tinybig's definition, kept. The mixing over time is
linear and fixed (directed chain with self-loop: ``h_t + h_{t−1}``; ``with_inverse_approx``: the
cumulative sum over time; ``with_exponential_approx``: ``Σ_k shift^k/k!``), applied by
propagation along the chain, never as an ``L × L`` product.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, cast

from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.chain.layers import _mixing, _options
from rpnkit.rpn.head_flags import head_options
from rpnkit.rpn.layer import RPNLayer
from rpnkit.rpn.presets.dims import check_dims

__all__ = ["SequenceRPN", "regression_rnn", "rnn"]


class SequenceRPN(nn.Module):
    """Per-step layers over ``b·L`` rows, then an output layer on the pooled sequence.

    Parameters
    ----------
    steps
        Layers applied to every time step (``(b·L, ·)`` rows; chain layers mix over time).
    output
        The output layer, on ``(b, n)`` (``pooling="mean"``) or ``(b, L·n)`` (``"flatten"``).
    chain_length
        ``L``.
    pooling
        ``"mean"`` (the time mean, tinybig's ``rnn``) or ``"flatten"`` (``regression_rnn``).

    Attributes
    ----------
    in_features, out_features
        ``L·m`` and the output size.
    """

    def __init__(
        self, steps: Sequence[nn.Module], output: RPNLayer, chain_length: int, pooling: str
    ) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)
        self.output = output
        self.chain_length = positive_int(chain_length, "chain_length")
        self.pooling = pooling
        if steps:
            self.step_features = int(cast(Any, steps[0]).m)
        else:
            self.step_features = output.m // (self.chain_length if pooling == "flatten" else 1)
        self.in_features = self.chain_length * self.step_features
        self.out_features = output.out_features

    def forward(self, x: Tensor) -> Tensor:
        """``(b, L·m)`` or ``(b, L, m)`` sequences to ``(b, out_features)``."""
        b = x.shape[0]
        if x.numel() != b * self.in_features:
            raise ConfigError(
                f"sequence input of shape {tuple(x.shape)} is not valid; expected (b, "
                f"{self.in_features}) = (b, L·m) with L={self.chain_length}, "
                f"m={self.step_features}"
            )
        h = x.reshape(b * self.chain_length, self.step_features)
        for step in self.steps:
            h = step(h)
        if self.pooling == "mean":
            return self.output(h.reshape(b, self.chain_length, -1).mean(dim=1))
        return self.output(h.reshape(b, -1))

    def extra_repr(self) -> str:
        """Length and pooling."""
        return f"chain_length={self.chain_length}, pooling={self.pooling!r}"


def _build(
    pooling: str, chain_length: int, dims: Sequence[int], flags: dict[str, Any]
) -> SequenceRPN:
    length = positive_int(chain_length, "chain_length")
    sizes = check_dims(dims)
    for key in ("with_dual_lphm_interdependence", "with_lorr_interdependence"):
        if flags[key]:
            raise ConfigError(
                f"{key}=True is not valid for {(pooling == 'mean' and 'rnn') or 'regression_rnn'}: "
                "tinybig's chain layers take it and never use it (the chain has no learnable "
                "values); expected False"
            )
    perceptron = {
        "with_dual_lphm": flags["with_dual_lphm"],
        "with_lorr": flags["with_lorr"],
        "r": flags["r"],
        "enable_bias": flags["enable_bias"],
        "with_residual": flags["with_residual"],
        "with_taylor": flags["with_taylor"],
        "with_bspline": flags["with_bspline"],
        "d": flags["d"],
        "channel_num": flags["channel_num"],
        "parameters_init_method": flags["parameters_init_method"],
    }
    # tinybig passes with_hybrid_expansion to its perceptron heads, which have no hybrid
    # branch: it changes nothing, here as there. Its chain layers take no expansion flags
    # (identity κ), whatever with_taylor / with_bspline say.
    chain_flags = {**flags, "chain_length": length, "with_taylor": False}
    steps: list[nn.Module] = []
    for m, n in itertools.pairwise(sizes[:-1]):
        steps.append(
            RPNLayer(m, n, width=flags["width"], **head_options(n, **perceptron, with_relu=True))
        )
        steps.append(
            RPNLayer(
                n,
                n,
                width=flags["width"],
                instance_interdependence=_mixing(chain_flags),
                **_options(n, chain_flags, softmax=False),
            )
        )
    m_out = sizes[-2] * (length if pooling == "flatten" else 1)
    output = RPNLayer(
        m_out,
        sizes[-1],
        width=flags["width"],
        **head_options(
            sizes[-1],
            **perceptron,
            with_relu=False,
            softmax="softmax" if flags["with_softmax"] else None,
        ),
    )
    return SequenceRPN(steps, output, length, pooling)


def rnn(
    chain_length: int,
    dims: Sequence[int],
    name: str = "rpn_rnn",
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
    with_bspline: bool = False,
    with_taylor: bool = False,
    d: int = 2,
    with_hybrid_expansion: bool = False,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = False,
    r_interdependence: int = 3,
    enable_bias: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    parameters_init_method: str = "xavier_normal",
    device: object = None,
) -> SequenceRPN:
    """tinybig's ``rnn``: sequence classification from ``(b, L·m)``, ``m = dims[0]``.

    For every hidden size ``dims[i] → dims[i+1]`` (``i < len(dims) − 2``): a perceptron layer
    on every step (relu), then a chain layer ``n → n`` (relu, dropout, batch norm as flagged;
    no softmax); the output perceptron ``dims[-2] → dims[-1]`` on the time mean (softmax when
    ``with_softmax``). Parameter count with the defaults: ``Σ_i (d_i d_{i+1} + d_{i+1}²)
    + d_{-2} d_{-1}`` (tinybig's).

    Parameters
    ----------
    chain_length
        ``L``, the time steps of a sequence.
    dims
        Per-step sizes ``[m, hidden…, outputs]``, at least two (with two, no chain layer).
    bi_directional, with_multihop, h, accumulative, with_inverse_approx, with_exponential_approx, self_dependence, self_scaling
        The chain matrix of the chain layers.
    with_taylor, with_bspline, d, with_dual_lphm, with_lorr, r, with_residual, enable_bias
        κ of the perceptron layers (Taylor of order ``d``, else a B-spline of degree ``d``
        on 5 intervals of ``(-1, 1)``, tinybig's ``bspline_expansion(d=d)``; the chain layers
        keep the identity, as tinybig's), ψ, a linear remainder, the bias.
    with_batch_norm, with_relu, with_dropout, p
        The chain layers' output steps (batch norm over each step's ``n`` values).
    with_softmax
        Softmax on the output.
    channel_num, width, parameters_init_method
        Channels, heads per layer, initialisation.
    with_hybrid_expansion
        Accepted and, as in tinybig 0.2.1, without effect: tinybig hands it to its perceptron
        heads, which have no hybrid expansion.
    with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence
        tinybig's signature; must stay off (tinybig's chain layer ignores them).
    name, device
        Accepted for tinybig configs.

    Returns
    -------
    SequenceRPN
        The model.

    Differences from tinybig
    ------------------------
    No recurrent state, as in tinybig (a per-step map plus a fixed mixing over time). The
    chain layers' BatchNorm normalises each step's ``n`` values (tinybig's ``BatchNorm1d(n)``
    on ``(b, L·n)`` raises for ``L > 1``); output steps are registered modules.
    """
    return _build("mean", chain_length, dims, dict(locals()))


def regression_rnn(
    chain_length: int,
    dims: Sequence[int],
    name: str = "rpn_rnn",
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
    with_bspline: bool = False,
    with_taylor: bool = False,
    d: int = 2,
    with_hybrid_expansion: bool = False,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = False,
    r_interdependence: int = 3,
    enable_bias: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = False,
    p: float = 0.25,
    parameters_init_method: str = "xavier_normal",
    device: object = None,
) -> SequenceRPN:
    """tinybig's ``regression_rnn``: windows ``(b, L·m)`` to ``dims[-1]`` values.

    As :func:`rnn`, but the output perceptron ``L·dims[-2] → dims[-1]`` reads the flattened
    hidden states. tinybig's default ``with_softmax=True`` is kept (it makes every output
    row sum to 1: with one output, the constant 1); a forecasting config sets it false.

    Parameters
    ----------
    chain_length, dims, name, channel_num, width, bi_directional, with_multihop, h, accumulative, with_inverse_approx, with_exponential_approx, self_dependence, self_scaling, with_bspline, with_taylor, d, with_hybrid_expansion, with_dual_lphm, with_lorr, r, with_residual, with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence, enable_bias, with_batch_norm, with_relu, with_softmax, with_dropout, p, parameters_init_method, device
        As for :func:`rnn`.

    Returns
    -------
    SequenceRPN
        The model.
    """
    return _build("flatten", chain_length, dims, dict(locals()))
