"""Classic machine-learning presets: tinybig's ``svm``, ``naive_bayes`` and ``pgm``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.stack import (
    XAVIER_NORMAL,
    choice,
    norm_softmax,
    reconciliation_config,
    stack,
)

__all__ = ["KERNELS", "NAIVE_DISTRIBUTIONS", "naive_bayes", "pgm", "svm"]

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
    parameters_init_method: str = XAVIER_NORMAL,
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
    name = choice(kernel, KERNELS, "svm kernel")
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
        lambda n: norm_softmax(n, with_batch_norm, with_softmax),
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
    parameters_init_method: str = XAVIER_NORMAL,
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
    expansion = choice(distribution, NAIVE_DISTRIBUTIONS, "naive_bayes distribution")
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
    parameters_init_method: str = XAVIER_NORMAL,
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
    choice(distribution, {"normal": "combinatorial_normal"}, "pgm distribution")
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
    reconciliation = reconciliation_config("low_rank" if with_lorr else "identity", enable_bias, r)
    return stack(
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
