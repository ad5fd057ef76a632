"""Model presets: tinybig 0.2.1's classic models as :class:`~rpnkit.rpn.model.RPN` stacks.

Each preset takes the layer sizes ``dims = [d_0, d_1, …, d_K]`` and builds one layer per
neighbouring pair ``d_i -> d_{i+1}``, with the parameter names and defaults of tinybig's model,
layer and head classes (``channel_num`` is a head's channel count):

* :func:`perceptron`: tinybig's ``perceptron_layer`` stack (bias on, relu, dropout 0.5 and
  softmax on every layer);
* :func:`mlp`: tinybig's ``mlp`` (the same layers with the bias off);
* :func:`kan`: B-spline expansion and a SiLU linear remainder;
* :func:`svm`: a linear, Gaussian RBF or inverse-quadratic RBF kernel expansion;
* :func:`naive_bayes`: the naive log-density expansion of one distribution;
* :func:`pgm`: the combinatorial normal log-density expansion.

Their heads default to ``parameters_init_method="xavier_normal"``, as tinybig's do. Output
processing modules (batch norm, dropout) are registered submodules and follow ``.eval()``.

One deliberate difference: tinybig's preset layers repeat *one* head object ``width`` times
(``[head] * width``), so their heads share parameters and ``width`` changes nothing but the
dropout draws. Here every head is independent, as the RPN definition intends; with
``width=1`` (the default) the parameter counts are tinybig's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from torch import nn

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn._validation import positive_int
from rpnkit.rpn.model import RPN, build_model

__all__ = [
    "KERNELS",
    "NAIVE_DISTRIBUTIONS",
    "kan",
    "mlp",
    "naive_bayes",
    "perceptron",
    "pgm",
    "svm",
]

#: svm kernels -> expansion names.
KERNELS = {
    "linear": "identity",
    "gaussian_rbf": "gaussian_rbf",
    "inverse_quadratic_rbf": "inverse_quadratic_rbf",
}
#: naive_bayes distributions -> expansion names.
NAIVE_DISTRIBUTIONS = {
    name: f"naive_{name}"
    for name in ("normal", "exponential", "cauchy", "gamma", "chi2", "laplace")
}

_XAVIER_NORMAL = "xavier_normal"


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
    parameters_init_method: str = _XAVIER_NORMAL,
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
        reconciliation = _reconciliation("dual_lphm", enable_bias, r)
    else:
        reconciliation = _reconciliation("low_rank" if with_lorr else "identity", enable_bias, r)

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

    return _stack(
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
    parameters_init_method: str = _XAVIER_NORMAL,
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
    parameters_init_method: str = _XAVIER_NORMAL,
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
    reconciliation = _reconciliation("low_rank" if with_lorr else "identity", enable_bias, r)
    remainder = {"name": "linear", "parameters": {"activation": ["silu"]}}
    return _stack(
        dims,
        lambda m, n: {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": remainder,
            "output_process": _norm_softmax(n, with_batch_norm, with_softmax),
        },
        channel_num,
        width,
        parameters_init_method,
    )


def svm(
    dims: Sequence[int],
    kernel: str = "linear",
    base_range: Sequence[float] = (-1, 1),
    num_interval: int = 10,
    epsilon: float = 1.0,
    enable_bias: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    channel_num: int = 1,
    width: int = 1,
    with_batch_norm: bool = False,
    with_softmax: bool = False,
    parameters_init_method: str = _XAVIER_NORMAL,
) -> RPN:
    """tinybig's ``svm``: a kernel expansion and a linear read-out.

    κ is ``identity`` for the ``"linear"`` kernel, else the ``gaussian_rbf`` or
    ``inverse_quadratic_rbf`` expansion with ``base_range``, ``num_interval`` and
    ``epsilon``; ψ is ``low_rank`` of rank ``r`` if ``with_lorr``, else ``identity``; π is
    ``linear`` if ``with_residual``, else ``zero``.

    Parameters
    ----------
    dims
        Layer sizes, at least two (tinybig's svm has one layer).
    kernel
        One of :data:`KERNELS`.
    base_range, num_interval, epsilon
        Radial basis centres and scale.
    enable_bias, with_lorr, r, with_residual, channel_num, width, with_batch_norm, with_softmax
        See :func:`perceptron` and :func:`kan`.
    parameters_init_method
        See :class:`~rpnkit.rpn.head.RPNHead`.

    Returns
    -------
    RPN
        The model.

    Raises
    ------
    ConfigError
        For an unknown kernel.
    """
    name = _choice(kernel, KERNELS, "svm kernel")
    expansion: Any = name
    if kernel != "linear":
        expansion = {
            "name": name,
            "parameters": {
                "base_range": base_range,
                "num_interval": num_interval,
                "epsilon": epsilon,
            },
        }
    return _classic(
        dims,
        expansion,
        enable_bias,
        with_lorr,
        r,
        with_residual,
        channel_num,
        width,
        parameters_init_method,
        lambda n: _norm_softmax(n, with_batch_norm, with_softmax),
    )


def naive_bayes(
    dims: Sequence[int],
    distribution: str = "normal",
    enable_bias: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    channel_num: int = 1,
    width: int = 1,
    parameters_init_method: str = _XAVIER_NORMAL,
) -> RPN:
    """tinybig's ``naive_bayes``: the naive log-density expansion of ``distribution``.

    κ is ``naive_<distribution>``; ψ, π and the other options are as in :func:`svm`.

    Parameters
    ----------
    dims
        Layer sizes, at least two.
    distribution
        One of :data:`NAIVE_DISTRIBUTIONS` (``normal``, ``exponential``, ``cauchy``,
        ``gamma``, ``chi2``, ``laplace``).
    enable_bias, with_lorr, r, with_residual, channel_num, width, parameters_init_method
        See :func:`svm`.

    Returns
    -------
    RPN
        The model.
    """
    expansion = _choice(distribution, NAIVE_DISTRIBUTIONS, "naive_bayes distribution")
    return _classic(
        dims,
        expansion,
        enable_bias,
        with_lorr,
        r,
        with_residual,
        channel_num,
        width,
        parameters_init_method,
    )


def pgm(
    dims: Sequence[int],
    distribution: str = "normal",
    d: int = 2,
    with_replacement: bool = False,
    enable_bias: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    with_residual: bool = False,
    channel_num: int = 1,
    width: int = 1,
    parameters_init_method: str = _XAVIER_NORMAL,
) -> RPN:
    """tinybig's ``pgm``: the ``combinatorial_normal`` expansion of order ``d``.

    ψ, π and the other options are as in :func:`svm`.

    Parameters
    ----------
    dims
        Layer sizes, at least two.
    distribution
        ``"normal"``, the only one tinybig has.
    d, with_replacement
        Order of the combinations and whether they repeat features.
    enable_bias, with_lorr, r, with_residual, channel_num, width, parameters_init_method
        See :func:`svm`.

    Returns
    -------
    RPN
        The model.
    """
    _choice(distribution, {"normal": "combinatorial_normal"}, "pgm distribution")
    expansion = {
        "name": "combinatorial_normal",
        "parameters": {"d": d, "with_replacement": with_replacement},
    }
    return _classic(
        dims,
        expansion,
        enable_bias,
        with_lorr,
        r,
        with_residual,
        channel_num,
        width,
        parameters_init_method,
    )


def _classic(
    dims: Sequence[int],
    expansion: Any,
    enable_bias: bool,
    with_lorr: bool,
    r: int,
    with_residual: bool,
    channel_num: int,
    width: int,
    parameters_init_method: str,
    output_process: Any = None,
) -> RPN:
    """The svm / naive Bayes / pgm stack: one expansion, identity or low-rank ψ."""
    reconciliation = _reconciliation("low_rank" if with_lorr else "identity", enable_bias, r)
    return _stack(
        dims,
        lambda m, n: {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": "linear" if with_residual else "zero",
            "output_process": None if output_process is None else output_process(n),
        },
        channel_num,
        width,
        parameters_init_method,
    )


def _stack(
    dims: Sequence[int],
    head: Any,
    channel_num: int,
    width: int,
    parameters_init_method: str,
) -> RPN:
    """Build one layer per pair of neighbouring sizes, ``head(m, n)`` giving its options."""
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence) or len(dims) < 2:
        shown = list(dims) if isinstance(dims, Sequence) and len(dims) < 2 else type(dims).__name__
        raise ConfigError(f"dims={shown!r} is invalid; expected at least two layer sizes")
    sizes = [positive_int(size, f"dims[{i}]") for i, size in enumerate(dims)]
    layers = [
        {
            "m": m,
            "n": n,
            **head(m, n),
            "channels": channel_num,
            "width": width,
            "parameters_init_method": parameters_init_method,
        }
        for m, n in itertools.pairwise(sizes)
    ]
    return build_model(layers)


def _reconciliation(name: str, enable_bias: bool, r: int) -> dict[str, Any]:
    """The config of reconciliation ``name`` (``r`` only for the low-rank ones)."""
    parameters: dict[str, Any] = {"enable_bias": enable_bias}
    if name != "identity":
        parameters["r"] = r
    return {"name": name, "parameters": parameters}


def _norm_softmax(n: int, with_batch_norm: bool, with_softmax: bool) -> list[Any]:
    """``BatchNorm1d(n)`` and softmax, each if asked for."""
    steps: list[Any] = [nn.BatchNorm1d(n)] if with_batch_norm else []
    return [*steps, "softmax"] if with_softmax else steps


def _choice(value: object, choices: dict[str, str], field: str) -> str:
    """Return ``choices[value]``, or raise naming ``field`` and the valid values."""
    if not isinstance(value, str) or value not in choices:
        hint = did_you_mean(value, choices) if isinstance(value, str) else ""
        shown = repr(value) if isinstance(value, str) else type(value).__name__
        raise ConfigError(f"{field}={shown} is unknown{hint}; valid: {', '.join(choices)}")
    return choices[value]
