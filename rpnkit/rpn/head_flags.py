"""tinybig's head flags (``with_lorr``, ``with_residual``, ``with_relu``, ...) as RPN head options.

tinybig's RPN 2 heads choose their components with boolean flags; rpnkit's
:class:`~rpnkit.rpn.head.RPNHead` takes the components themselves. :func:`head_options`
translates one set of flags, and :func:`head_options_from` reads them from a constructor's
arguments, so every structured head and layer (graph, chain, attention) reads them the same
way; :func:`bilinear_kind` does the same for the interdependence's bilinear form. The output steps are registered modules here (tinybig keeps them in a
plain list, so its BatchNorm is never trained and ``eval()`` does not reach its Dropout).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

from rpnkit.checks import finite_number, positive_int

__all__ = [
    "bilinear_kind",
    "head_options",
    "head_options_from",
    "output_steps",
    "reconciliation_spec",
]


def reconciliation_spec(
    with_dual_lphm: bool, with_lorr: bool, r: int, enable_bias: bool
) -> dict[str, Any]:
    """ψ: ``dual_lphm`` of rank ``r``, else ``low_rank`` of rank ``r``, else the dense one."""
    parameters: dict[str, Any] = {"enable_bias": bool(enable_bias)}
    if with_dual_lphm or with_lorr:
        parameters["r"] = positive_int(r, "r")
        return {"name": "dual_lphm" if with_dual_lphm else "low_rank", "parameters": parameters}
    return {"name": "identity", "parameters": parameters}


def output_steps(
    n: int,
    *,
    with_batch_norm: bool,
    with_relu: bool,
    with_dropout: bool,
    p: float,
    softmax: str | None,
) -> list[Any]:
    """``BatchNorm1d(n)``, relu, ``Dropout(p)`` and ``softmax`` (a processing name), as asked."""
    steps: list[Any] = []
    if with_batch_norm:
        steps.append(nn.BatchNorm1d(n))
    if with_relu:
        steps.append("relu")
    if with_dropout:
        steps.append(nn.Dropout(finite_number(p, "p", at_least=0, at_most=1)))
    if softmax is not None:
        steps.append(softmax)
    return steps


def head_options(
    n: int,
    *,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = False,
    with_residual: bool = False,
    with_taylor: bool = False,
    d: int = 2,
    with_bspline: bool = False,
    with_batch_norm: bool = False,
    with_relu: bool = True,
    with_dropout: bool = False,
    p: float = 0.5,
    softmax: str | None = None,
    channel_num: int = 1,
    parameters_init_method: str = "xavier_normal",
) -> dict[str, Any]:
    """The :class:`~rpnkit.rpn.head.RPNHead` options for tinybig's flags.

    κ is ``taylor`` of order ``d`` when ``with_taylor``, else ``bspline`` of degree ``d``
    (tinybig's ``bspline_expansion(d=d)``: ``t=5`` intervals on ``(-1, 1)``) when
    ``with_bspline``, else the identity (tinybig's perceptron head's order); ψ see
    :func:`reconciliation_spec`; π is ``linear`` (no bias, tinybig's ``linear_remainder``)
    when ``with_residual``, else zero; the output steps see :func:`output_steps`.
    """
    expansion: Any = "identity"
    if with_taylor:
        expansion = {"name": "taylor", "parameters": {"d": d}}
    elif with_bspline:
        expansion = {"name": "bspline", "parameters": {"d": d}}
    return {
        "expansion": expansion,
        "reconciliation": reconciliation_spec(with_dual_lphm, with_lorr, r, enable_bias),
        "remainder": "linear" if with_residual else "zero",
        "channels": channel_num,
        "output_process": output_steps(
            n,
            with_batch_norm=with_batch_norm,
            with_relu=with_relu,
            with_dropout=with_dropout,
            p=p,
            softmax=softmax,
        ),
        "parameters_init_method": parameters_init_method,
    }


def head_options_from(
    n: int,
    flags: Mapping[str, Any],
    *,
    softmax: str | None,
    parameters_init_method: str | None = None,
) -> dict[str, Any]:
    """:func:`head_options` with tinybig's flags read from a head constructor's arguments.

    Parameters
    ----------
    n
        Outputs of the head.
    flags
        The constructor's arguments by name (``with_dual_lphm``, ``with_lorr``, ``r``,
        ``enable_bias``, ``with_residual``, ``with_batch_norm``, ``with_relu``,
        ``with_dropout``, ``p``, ``channel_num`` and ``parameters_init_method``; ``with_taylor``
        and ``d`` where the constructor has them).
    softmax
        The last output step (a processing name), or ``None``.
    parameters_init_method
        Used instead of ``flags["parameters_init_method"]`` when given.

    Returns
    -------
    dict
        The :class:`~rpnkit.rpn.head.RPNHead` options.
    """
    return head_options(
        n,
        with_dual_lphm=flags["with_dual_lphm"],
        with_lorr=flags["with_lorr"],
        r=flags["r"],
        enable_bias=flags["enable_bias"],
        with_residual=flags["with_residual"],
        with_taylor=flags.get("with_taylor", False),
        d=flags.get("d", 2),
        with_batch_norm=flags["with_batch_norm"],
        with_relu=flags["with_relu"],
        with_dropout=flags["with_dropout"],
        p=flags["p"],
        softmax=softmax,
        channel_num=flags["channel_num"],
        parameters_init_method=(
            flags["parameters_init_method"]
            if parameters_init_method is None
            else parameters_init_method
        ),
    )


def bilinear_kind(flags: Mapping[str, Any]) -> str:
    """The bilinear form tinybig's interdependence flags choose.

    ``low_rank`` when ``with_lorr_interdependence``, else ``dual_lphm`` when
    ``with_dual_lphm_interdependence``, else ``identity`` (a dense ``W``).
    """
    if flags["with_lorr_interdependence"]:
        return "low_rank"
    if flags["with_dual_lphm_interdependence"]:
        return "dual_lphm"
    return "identity"
