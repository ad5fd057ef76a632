"""tinybig's RPN 2 grid models: ``cnn`` and ``resnet`` as :class:`~rpnkit.rpn.model.RPN` stacks.

A convolution layer (:class:`~rpnkit.rpn.grid.GridInterdependenceLayer`) per neighbouring
pair of ``channel_nums``, a pooling layer (:class:`~rpnkit.rpn.grid.GridCompressionLayer`)
after every ``pooling_layer_gaps`` of them, then perceptron layers over ``fc_dims``; every
layer is built for the grid the previous one leaves.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Sequence
from typing import Any

from torch import nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.grid import GridCompressionLayer, GridInterdependenceLayer
from rpnkit.rpn.model import RPN
from rpnkit.rpn.presets.neural import perceptron

__all__ = ["cnn", "resnet"]

_PATCH_KEYS = ("p_h", "p_h_prime", "p_w", "p_w_prime", "p_d", "p_d_prime", "p_r")


def _halved(values: dict[str, int | None]) -> dict[str, int | None]:
    """tinybig's ``parameter_scheduler('half')``: ``max(int(v / 2), 1)``, ``None`` kept."""
    return {k: None if v is None else max(int(v / 2), 1) for k, v in values.items()}


def _sizes(values: object, field: str, at_least: int) -> list[int]:
    """A list of positive integers with at least ``at_least`` entries, or a one-line error."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ConfigError(
            f"{field}={values!r} is not valid; expected a list of at least {at_least} integers"
        )
    if len(values) < at_least:
        raise ConfigError(
            f"{field}={list(values)!r} is not valid; expected at least {at_least} integers"
        )
    return [positive_int(v, f"{field}[{i}]") for i, v in enumerate(values)]


def cnn(
    h: int,
    w: int,
    channel_nums: Sequence[int],
    fc_dims: Sequence[int],
    d: int = 1,
    fc_channel_num: int = 1,
    width: int = 1,
    pooling_metric: str = "batch_max",
    pooling_layer_gaps: int = 2,
    patch_size_half_after_pooling: bool = False,
    patch_shape: str = "cuboid",
    p_h: int | None = None,
    p_h_prime: int | None = None,
    p_w: int | None = None,
    p_w_prime: int | None = None,
    p_d: int = 0,
    p_d_prime: int | None = None,
    p_r: int | None = None,
    cd_h: int | None = None,
    cd_w: int | None = None,
    cd_d: int | None = 1,
    packing_strategy: str = "densest_packing",
    pooling_patch_shape: str | None = None,
    pooling_p_h: int | None = None,
    pooling_p_h_prime: int | None = None,
    pooling_p_w: int | None = None,
    pooling_p_w_prime: int | None = None,
    pooling_p_d: int | None = None,
    pooling_p_d_prime: int | None = None,
    pooling_p_r: int | None = None,
    pooling_cd_h: int | None = None,
    pooling_cd_w: int | None = None,
    pooling_cd_d: int | None = None,
    pooling_packing_strategy: str | None = None,
    with_batch_norm: bool = True,
    with_relu: bool = True,
    with_softmax: bool = False,
    with_residual: bool = False,
    with_dropout: bool = True,
    p_pooling: float = 0.25,
    p_fc: float = 0.5,
    with_dual_lphm: bool = False,
    with_lorr: bool = False,
    r: int = 3,
    enable_bias: bool = True,
    with_perceptron_residual: bool | None = None,
    with_perceptron_dual_lphm: bool | None = None,
    with_perceptron_lorr: bool | None = None,
    perceptron_r: int | None = None,
    enable_perceptron_bias: bool | None = None,
) -> RPN:
    """tinybig's ``cnn`` (``tinybig.model.rpn_cnn.cnn``): convolutions, pooling, perceptrons.

    For every neighbouring pair ``(c_in, c_out)`` of ``channel_nums`` a
    :class:`~rpnkit.rpn.grid.GridInterdependenceLayer` (a convolution; BatchNorm and ReLU by
    default, tinybig's bias per output position with ``enable_bias``); after every
    ``pooling_layer_gaps`` convolutions a :class:`~rpnkit.rpn.grid.GridCompressionLayer`
    (``pooling_metric``, ``Dropout(p_pooling)`` with ``with_dropout``), and with
    ``patch_size_half_after_pooling`` every patch extent is halved after it (tinybig's rule:
    ``max(int(p / 2), 1)``); then :func:`~rpnkit.rpn.presets.perceptron` layers over
    ``[C·h'·w'·d', *fc_dims]`` with BatchNorm, ReLU and ``Dropout(p_fc)`` on all but the last
    and softmax on the last (``with_softmax``).

    The input is an image batch ``(b, C·h·w·d)`` channel-major (tinybig's layout) or
    ``(b, C, h, w)``; the output ``(b, fc_dims[-1])``.

    Parameters
    ----------
    h, w, d
        The input grid.
    channel_nums
        Channels ``[C_0, C_1, …]``: ``C_0`` the input's, at least two entries.
    fc_dims
        Sizes of the perceptron layers after the grid layers, at least one.
    fc_channel_num, width
        Channels of the perceptron heads; heads per layer (grid and perceptron).
    pooling_metric, pooling_layer_gaps, patch_size_half_after_pooling
        The pooling, see above.
    patch_shape, p_h, p_h_prime, p_w, p_w_prime, p_d, p_d_prime, p_r, cd_h, cd_w, cd_d, \
packing_strategy
        The convolutions' patch and packing
        (:class:`~rpnkit.rpn.grid.GridInterdependenceHead`).
    pooling_patch_shape, pooling_p_h, pooling_p_h_prime, pooling_p_w, pooling_p_w_prime, \
pooling_p_d, pooling_p_d_prime, pooling_p_r, pooling_cd_h, pooling_cd_w, pooling_cd_d, \
pooling_packing_strategy
        The pooling's; each ``None`` takes the convolutions' value.
    with_batch_norm, with_relu, with_softmax, with_dropout, p_pooling, p_fc
        Output steps, see above.
    with_residual
        A linear remainder in every head (what :func:`resnet` turns on): in a convolution
        head it is tinybig's dense ``n × m`` matrix, not a 1×1 shortcut.
    with_dual_lphm, with_lorr, r, enable_bias
        Reconciliation and bias of every head.
    with_perceptron_residual, with_perceptron_dual_lphm, with_perceptron_lorr, \
perceptron_r, enable_perceptron_bias
        The perceptron layers' own values; each ``None`` takes the grid layers'.

    Returns
    -------
    RPN
        The model; ``model.layers[i].output_grid`` gives each grid layer's output grid.

    Raises
    ------
    ConfigError
        For fewer than two channel counts, no fc size, or an invalid layer option.

    Differences from tinybig
    ------------------------
    BatchNorm and Dropout are registered submodules (trained, switched by ``.eval()``);
    tinybig keeps them in plain lists. ``width > 1`` gives independent heads (tinybig
    repeats one head object). Parameter counts equal tinybig's, less the BatchNorm
    parameters tinybig never registers.
    """
    channels = _sizes(channel_nums, "channel_nums", 2)
    fc = _sizes(fc_dims, "fc_dims", 1)
    gaps = positive_int(pooling_layer_gaps, "pooling_layer_gaps")
    conv_patch: dict[str, Any] = dict(zip(_PATCH_KEYS, (p_h, p_h_prime, p_w, p_w_prime, p_d,
                                                         p_d_prime, p_r), strict=True))  # fmt: skip
    pooling_given = (pooling_p_h, pooling_p_h_prime, pooling_p_w, pooling_p_w_prime,
                     pooling_p_d, pooling_p_d_prime, pooling_p_r)  # fmt: skip
    pool_patch: dict[str, Any] = {
        key: conv_patch[key] if value is None else value
        for key, value in zip(_PATCH_KEYS, pooling_given, strict=True)
    }
    pool_cd = tuple(
        own if pool is None else pool
        for own, pool in ((cd_h, pooling_cd_h), (cd_w, pooling_cd_w), (cd_d, pooling_cd_d))
    )
    fc_options: dict[str, Any] = {
        "with_residual": with_residual if with_perceptron_residual is None
        else with_perceptron_residual,
        "with_dual_lphm": with_dual_lphm if with_perceptron_dual_lphm is None
        else with_perceptron_dual_lphm,
        "with_lorr": with_lorr if with_perceptron_lorr is None else with_perceptron_lorr,
        "r": r if perceptron_r is None else perceptron_r,
        "enable_bias": enable_bias if enable_perceptron_bias is None
        else enable_perceptron_bias,
    }  # fmt: skip
    grid: tuple[int, ...] = (h, w, d)
    layers: list[GridInterdependenceLayer | GridCompressionLayer] = []
    convolutions = 0
    for in_channel, out_channel in itertools.pairwise(channels):
        conv = GridInterdependenceLayer(
            grid[0], grid[1], in_channel, out_channel, d=grid[2], width=width,
            patch_shape=patch_shape, **conv_patch, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            packing_strategy=packing_strategy, with_batch_norm=with_batch_norm,
            with_relu=with_relu, with_residual=with_residual, enable_bias=enable_bias,
            with_dual_lphm=with_dual_lphm, with_lorr=with_lorr, r=r,
        )  # fmt: skip
        layers.append(conv)
        grid = conv.output_grid
        convolutions += 1
        if convolutions % gaps:
            continue
        pool = GridCompressionLayer(
            grid[0], grid[1], out_channel, d=grid[2], pooling_metric=pooling_metric,
            patch_shape=pooling_patch_shape or patch_shape, **pool_patch, cd_h=pool_cd[0],
            cd_w=pool_cd[1], cd_d=pool_cd[2],
            packing_strategy=pooling_packing_strategy or packing_strategy,
            with_dropout=with_dropout, p=p_pooling,
        )  # fmt: skip
        layers.append(pool)
        grid = pool.output_grid
        if patch_size_half_after_pooling:
            conv_patch, pool_patch = _halved(conv_patch), _halved(pool_patch)
    for layer in layers[:-1]:  # a grid layer hands the next one its grid (no copy)
        layer.grid_output = True
    dims = [layers[-1].out_features, *fc]
    fc_layers: list[nn.Module] = []
    for i, (m, n) in enumerate(itertools.pairwise(dims)):
        last = i == len(dims) - 2
        block = perceptron(
            [m, n], channel_num=fc_channel_num, width=width, **fc_options,
            with_batch_norm=with_batch_norm and not last, with_relu=with_relu and not last,
            with_dropout=with_dropout and not last, p=p_fc, with_softmax=with_softmax and last,
        )  # fmt: skip
        fc_layers.append(block.layers[0])
    return RPN([*layers, *fc_layers])


def resnet(*args: Any, **options: Any) -> RPN:
    """tinybig's ``resnet`` (``tinybig.model.rpn_cnn.resnet``): :func:`cnn` with
    ``with_residual=True``.

    Every head gets a linear remainder: in a convolution head tinybig's dense ``n × m``
    matrix (``n = P·C_out`` outputs, ``m = C_in·h·w·d`` inputs), not a 1×1 shortcut, so it
    grows with the square of the image size; keep images small.

    Parameters
    ----------
    *args, **options
        The arguments of :func:`cnn` (its signature is this function's);
        ``with_residual`` is always on (tinybig ignores a value given for it).

    Returns
    -------
    RPN
        The model.
    """
    options["with_residual"] = True
    return cnn(*args, **options)


_CNN = inspect.signature(cnn)
resnet.__signature__ = _CNN.replace(  # type: ignore[attr-defined]
    parameters=[
        param.replace(default=True) if name == "with_residual" else param
        for name, param in _CNN.parameters.items()
    ]
)
