"""tinybig's bilinear (attention) head and layer as RPN heads with an attention interdependence.

The head computes ``out(Aᵀ κ(X) ψ(w)ᵀ + b + π(X))`` with
``A = colsoftmax_{≠0}(√n · X W Xᵀ)`` over the instances of the batch
(:class:`~rpnkit.rpn.attention.bilinear.BilinearAttentionInterdependence`); the layer fuses its
heads with a learnable concatenation map (tinybig's ``parameterized_concatenation_fusion``,
an ``n × n·width`` map even for one head).
"""

from __future__ import annotations

import math
from typing import Any

from rpnkit.rpn.attention.bilinear import BilinearAttentionInterdependence
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.head_flags import bilinear_kind, head_options_from
from rpnkit.rpn.layer import RPNLayer

__all__ = ["bilinear_interdependence_head", "bilinear_interdependence_layer"]


def _attention(m: int, n: int, flags: dict[str, Any]) -> BilinearAttentionInterdependence:
    return BilinearAttentionInterdependence(
        m=m,
        b=flags["batch_num"],
        bilinear=bilinear_kind(flags),
        r=flags["r_interdependence"],
        scale=math.sqrt(n),
    )


def _options(n: int, flags: dict[str, Any]) -> dict[str, Any]:
    return head_options_from(n, flags, softmax="softmax" if flags["with_softmax"] else None)


def bilinear_interdependence_head(
    m: int,
    n: int,
    batch_num: int | None = None,
    channel_num: int = 1,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = False,
    r_interdependence: int = 3,
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
    """tinybig's ``bilinear_interdependence_head``: attention across the batch's instances.

    Parameters
    ----------
    m, n
        Features in and out.
    batch_num
        The batch size (optional: the attention works for any batch).
    with_dual_lphm_interdependence, with_lorr_interdependence, r_interdependence
        ``W``: dual lphm / low rank of rank ``r_interdependence`` / dense.
    with_taylor, d
        κ: Taylor of order ``d``, else the identity.
    with_dual_lphm, with_lorr, r, enable_bias, with_residual
        ψ, the bias and a linear remainder.
    with_batch_norm, with_relu, with_softmax, with_dropout, p
        Output steps.
    channel_num, parameters_init_method, name, device
        Channels, initialisation; ``name`` and ``device`` accepted for tinybig configs.
    """
    flags = dict(locals())
    return RPNHead(
        m,
        n,
        instance_interdependence=_attention(m, n, flags),
        batch_num=batch_num,
        **_options(n, flags),
    )


def bilinear_interdependence_layer(
    m: int,
    n: int,
    batch_num: int | None = None,
    channel_num: int = 1,
    width: int = 1,
    with_dual_lphm_interdependence: bool = False,
    with_lorr_interdependence: bool = False,
    r_interdependence: int = 3,
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
) -> RPNLayer:
    """tinybig's ``bilinear_interdependence_layer``: ``width`` attention heads, fused by a
    learnable concatenation map ``n × n·width``.

    Parameters are :func:`bilinear_interdependence_head`'s, and ``width``.
    """
    flags = dict(locals())
    return RPNLayer(
        m,
        n,
        width=width,
        fusion="parameterized_concatenation",
        instance_interdependence=_attention(m, n, flags),
        batch_num=batch_num,
        **_options(n, flags),
    )
