"""Neural-network presets: tinybig's perceptron layers (``perceptron``, ``mlp``) and ``kan``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.stack import XAVIER_NORMAL, norm_softmax, reconciliation_config, stack

__all__ = ["kan", "mlp", "perceptron"]


def perceptron(
    dims: Sequence[int],
    channel_num: int = 1,
    width: int = 1,
    with_bspline: bool = False,
    with_taylor: bool = False,
    d: int = 2,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = True,
    with_residual: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_dropout: bool = True,
    p: float = 0.5,
    with_softmax: bool = True,
    parameters_init_method: str = XAVIER_NORMAL,
) -> RPN:
    """A stack of tinybig's perceptron layers, with ``perceptron_layer``'s defaults.

    Every head computes ``out(κ(x) ψ(w)ᵀ + b + π(x))``:

    * κ: ``taylor`` of order ``d`` if ``with_taylor``, else ``bspline`` of degree ``d`` if
      ``with_bspline``, else ``identity``;
    * ψ: ``dual_lphm`` of rank ``r`` if ``with_dual_lphm``, else ``low_rank`` of rank ``r``
      if ``with_lorr``, else ``identity``; ``enable_bias`` gives the bias ``b``;
    * π: ``linear`` if ``with_residual``, else ``zero``;
    * out, in this order: ``BatchNorm1d`` (``with_batch_norm``), relu (``with_relu``),
      ``Dropout(p)`` (``with_dropout``), softmax over the features (``with_softmax``).

    Parameters
    ----------
    dims
        Layer sizes ``[d_0, …, d_K]``, at least two.
    channel_num, width
        Channels per head and heads per layer.
    with_bspline, with_taylor, d, with_dual_lphm, with_lorr, r, enable_bias, with_residual
        Component choices, see above.
    with_batch_norm, with_relu, with_dropout, p, with_softmax
        Output processing, see above.
    parameters_init_method
        See :class:`~rpnkit.rpn.head.RPNHead`.

    Returns
    -------
    RPN
        The model.

    Raises
    ------
    ConfigError
        For fewer than two sizes or invalid options.
    """
    if with_taylor:
        expansion: Any = {"name": "taylor", "parameters": {"d": d}}
    elif with_bspline:
        expansion = {"name": "bspline", "parameters": {"d": d}}
    else:
        expansion = "identity"
    if with_dual_lphm:
        reconciliation = reconciliation_config("dual_lphm", enable_bias, r)
    else:
        reconciliation = reconciliation_config(
            "low_rank" if with_lorr else "identity", enable_bias, r
        )

    def output_process(n: int) -> list[Any]:
        steps: list[Any] = []
        if with_batch_norm:
            steps.append(nn.BatchNorm1d(n))
        if with_relu:
            steps.append("relu")
        if with_dropout:
            steps.append(nn.Dropout(p))
        if with_softmax:
            steps.append("softmax")
        return steps

    return stack(
        dims,
        lambda m, n: {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": "linear" if with_residual else "zero",
            "output_process": output_process(n),
        },
        channel_num,
        width,
        parameters_init_method,
    )


def mlp(
    dims: Sequence[int],
    enable_bias: bool = False,
    with_taylor: bool = False,
    d: int = 2,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    channel_num: int = 1,
    width: int = 1,
    with_bspline: bool = False,
    with_dual_lphm: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_dropout: bool = True,
    p: float = 0.5,
    with_softmax: bool = True,
    parameters_init_method: str = XAVIER_NORMAL,
) -> RPN:
    """tinybig's ``mlp``: :func:`perceptron` layers with tinybig's ``mlp`` defaults.

    They differ from :func:`perceptron`'s only in ``enable_bias=False``: every layer has
    relu, dropout 0.5 and softmax unless turned off.

    Parameters
    ----------
    dims, enable_bias, with_taylor, d, with_lorr, r, with_residual, channel_num, width
        See :func:`perceptron`.
    with_bspline, with_dual_lphm, with_batch_norm, with_relu, with_dropout, p, with_softmax
        See :func:`perceptron` (tinybig's ``mlp`` leaves them at these defaults).
    parameters_init_method
        See :class:`~rpnkit.rpn.head.RPNHead`.

    Returns
    -------
    RPN
        The model.
    """
    return perceptron(
        dims,
        channel_num=channel_num,
        width=width,
        with_bspline=with_bspline,
        with_taylor=with_taylor,
        d=d,
        with_dual_lphm=with_dual_lphm,
        with_lorr=with_lorr,
        r=r,
        enable_bias=enable_bias,
        with_residual=with_residual,
        with_batch_norm=with_batch_norm,
        with_relu=with_relu,
        with_dropout=with_dropout,
        p=p,
        with_softmax=with_softmax,
        parameters_init_method=parameters_init_method,
    )


def kan(
    dims: Sequence[int],
    grid_range: Sequence[float] = (-1, 1),
    t: int = 5,
    d: int = 3,
    enable_bias: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    channel_num: int = 1,
    width: int = 1,
    with_batch_norm: bool = False,
    with_softmax: bool = False,
    parameters_init_method: str = XAVIER_NORMAL,
) -> RPN:
    """tinybig's ``kan``: B-spline expansion, a SiLU linear remainder, tinybig's defaults.

    Every head computes ``out(bspline(x) ψ(w)ᵀ + b + silu(x W_rᵀ))`` with ψ ``low_rank`` of
    rank ``r`` if ``with_lorr``, else ``identity``; out is ``BatchNorm1d``
    (``with_batch_norm``) then softmax (``with_softmax``).

    Parameters
    ----------
    dims
        Layer sizes, at least two.
    grid_range, t, d
        B-spline grid range, number of intervals and degree.
    enable_bias, with_lorr, r, channel_num, width, with_batch_norm, with_softmax
        See above and :func:`perceptron`.
    parameters_init_method
        See :class:`~rpnkit.rpn.head.RPNHead`.

    Returns
    -------
    RPN
        The model.
    """
    expansion = {"name": "bspline", "parameters": {"grid_range": grid_range, "t": t, "d": d}}
    reconciliation = reconciliation_config("low_rank" if with_lorr else "identity", enable_bias, r)
    remainder = {"name": "linear", "parameters": {"activation": ["silu"]}}
    return stack(
        dims,
        lambda m, n: {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": remainder,
            "output_process": norm_softmax(n, with_batch_norm, with_softmax),
        },
        channel_num,
        width,
        parameters_init_method,
    )
