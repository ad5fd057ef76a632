"""The attention model preset: tinybig's ``transformer``, computed by its definition.

tinybig 0.2.1's ``transformer`` raises at its first forward (its attention head passes
``mask_zero=`` to a function whose parameter is ``mask_zeros``), so no result rests on its
numbers; this is the model its code defines. Attention is across the **instances of a batch**
(each row of ``(b, m)`` attends to every row of its batch), not across the tokens of a sequence,
so a sample's output depends on the rest of its batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from rpnkit.rpn.attention.layers import bilinear_interdependence_layer
from rpnkit.rpn.head_flags import head_options
from rpnkit.rpn.layer import RPNLayer
from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.dims import check_dims, layer_outputs

__all__ = ["transformer"]


def transformer(
    dims: Sequence[int],
    fc_dims: Sequence[int],
    batch_num: int | None = None,
    name: str = "rpn_transformer",
    channel_num: int = 1,
    width: int = 1,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = True,
    r_interdependence: int = 3,
    with_taylor: bool = False,
    d: int = 2,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = True,
    with_residual: bool = True,
    with_batch_norm: bool = True,
    with_relu: bool = True,
    with_softmax: bool = True,
    with_dropout: bool = True,
    p: float = 0.25,
    device: object = None,
) -> RPN:
    """tinybig's ``transformer``: attention and perceptron layers, then fully connected ones.

    For every pair ``m → n`` of ``dims``: a bilinear (attention) layer ``m → n`` and a
    perceptron layer ``n → n``, both with every flagged output step (softmax included, as
    tinybig passes ``with_softmax`` to them all); then perceptron layers over
    ``[dims[-1], *fc_dims]``, the hidden ones with batch norm, relu and dropout, the last with
    the softmax only.

    Parameters
    ----------
    dims
        Sizes of the attention blocks, at least two.
    fc_dims
        Sizes of the fully connected layers after them, at least one (the last is the output).
    batch_num
        Batch size (optional).
    with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence
        The attention's ``W``: low rank of rank 3 by default.
    with_taylor, d, with_dual_lphm, with_lorr, r, enable_bias, with_residual
        κ, ψ, bias (on by default) and linear remainder (on by default) of every layer.
    with_batch_norm, with_relu, with_softmax, with_dropout, p
        Output steps.
    channel_num, width
        Channels per head, heads per layer.
    name, device
        Accepted for tinybig configs.

    Returns
    -------
    RPN
        The model.

    Differences from tinybig
    ------------------------
    tinybig's crashes at the first forward (``mask_zero`` vs ``mask_zeros``); its
    BatchNorm / Dropout are unregistered there, registered modules here.
    """
    sizes = check_dims(dims)
    fc = check_dims(fc_dims, "fc_dims", at_least=1)
    flags: dict[str, Any] = {
        "with_taylor": with_taylor,
        "d": d,
        "with_dual_lphm": with_dual_lphm,
        "with_lorr": with_lorr,
        "r": r,
        "enable_bias": enable_bias,
        "with_residual": with_residual,
        "channel_num": channel_num,
    }
    outputs: dict[str, Any] = {
        "with_batch_norm": with_batch_norm,
        "with_relu": with_relu,
        "with_dropout": with_dropout,
        "with_softmax": with_softmax,
    }
    layers: list[RPNLayer] = []
    for m, n in itertools.pairwise(sizes):
        layers.append(
            bilinear_interdependence_layer(
                m,
                n,
                batch_num=batch_num,
                width=width,
                with_dual_lphm_interdependence=with_dual_lphm_interdependence,
                with_lorr_interdependence=with_lorr_interdependence,
                r_interdependence=r_interdependence,
                p=p,
                **outputs,
                **flags,
            )
        )
        layers.append(_perceptron(n, n, width, flags, p, outputs))
    chain = [sizes[-1], *fc]
    for m, n in itertools.pairwise(chain):
        layers.append(_perceptron(m, n, width, flags, p, layer_outputs(outputs, m, n, chain)))
    return RPN(layers)


def _perceptron(
    m: int, n: int, width: int, flags: dict[str, Any], p: float, outputs: dict[str, Any]
) -> RPNLayer:
    """tinybig's ``perceptron_layer`` with the transformer's flags and output steps."""
    options = head_options(
        n,
        with_batch_norm=outputs["with_batch_norm"],
        with_relu=outputs["with_relu"],
        with_dropout=outputs["with_dropout"],
        p=p,
        softmax="softmax" if outputs["with_softmax"] else None,
        **flags,
    )
    return RPNLayer(m, n, width=width, **options)
