"""The grid layers: ``width`` grid heads on the same image, fused by their mean.

tinybig's ``grid_interdependence_layer`` and ``grid_compression_layer``. A layer exposes the
sizes a model chains by (``m``, ``out_features``) and the grid its output lies on
(:attr:`output_grid`), so the next grid layer can be built for it.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.rpn.grid.convolution import GridInterdependenceHead
from rpnkit.rpn.grid.pooling import GridCompressionHead

__all__ = ["GridCompressionLayer", "GridInterdependenceLayer"]


class _GridLayer(nn.Module):
    """Heads of equal sizes on the same input, fused by their mean (one head: itself)."""

    def __init__(self, heads: list[nn.Module]) -> None:
        super().__init__()
        self.heads = nn.ModuleList(heads)
        first = cast(Any, heads[0])
        self.m: int = first.m
        self.n: int = first.n
        self.output_grid: tuple[int, ...] = first.output_grid

    @property
    def width(self) -> int:
        """Number of heads."""
        return len(self.heads)

    @property
    def out_features(self) -> int:
        """Output size ``n`` (the mean keeps it)."""
        return self.n

    @property
    def grid_output(self) -> bool:
        """Whether the output is a grid ``(b, C, h', w'[, d'])`` rather than ``(b, n)``: the
        same values, for a next grid layer (the heads' ``grid_output``)."""
        return bool(cast(Any, self.heads[0]).grid_output)

    @grid_output.setter
    def grid_output(self, value: bool) -> None:
        for head in self.heads:
            cast(Any, head).grid_output = bool(value)

    def forward(self, x: Tensor) -> Tensor:
        """The mean of the heads' outputs, ``(b, n)``."""
        if len(self.heads) == 1:
            return cast(Tensor, self.heads[0](x))
        return torch.stack([head(x) for head in self.heads]).mean(0)

    def extra_repr(self) -> str:
        """Sizes and width."""
        return f"m={self.m}, n={self.n}, width={self.width}, output_grid={self.output_grid}"


class GridInterdependenceLayer(_GridLayer):
    """``width`` :class:`~rpnkit.rpn.grid.convolution.GridInterdependenceHead` (convolutions),
    fused by their mean: tinybig's ``grid_interdependence_layer``.

    Parameters
    ----------
    h, w, in_channel, out_channel, d
        Grid sizes and channel counts.
    width
        Number of heads, >= 1.
    patch_shape, p_h, p_h_prime, p_w, p_w_prime, p_d, p_d_prime, p_r, cd_h, cd_w, cd_d, \
packing_strategy, with_batch_norm, with_relu, with_residual, enable_bias, with_dual_lphm, \
with_lorr, r, parameters_init_method
        Head options, see :class:`~rpnkit.rpn.grid.convolution.GridInterdependenceHead`.

    Differences from tinybig
    ------------------------
    tinybig repeats *one* head object ``width`` times (``[head] * width``), so its heads share
    their parameters; here every head is independent, as the RPN definition intends. With
    ``width=1`` (the default) the two are the same.
    """

    tinybig_divergence: ClassVar[str | None] = (
        "width > 1 gives independent heads (tinybig repeats one head object); the output "
        "BatchNorm is a registered module"
    )

    def __init__(
        self,
        h: int,
        w: int,
        in_channel: int,
        out_channel: int,
        d: int = 1,
        width: int = 1,
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
        with_batch_norm: bool = True,
        with_relu: bool = True,
        with_residual: bool = False,
        enable_bias: bool = False,
        with_dual_lphm: bool = False,
        with_lorr: bool = False,
        r: int = 3,
        parameters_init_method: str = "xavier_normal",
    ) -> None:
        count = positive_int(width, "grid_interdependence_layer width")
        options: dict[str, Any] = {
            "d": d, "patch_shape": patch_shape, "p_h": p_h, "p_h_prime": p_h_prime, "p_w": p_w,
            "p_w_prime": p_w_prime, "p_d": p_d, "p_d_prime": p_d_prime, "p_r": p_r,
            "cd_h": cd_h, "cd_w": cd_w, "cd_d": cd_d, "packing_strategy": packing_strategy,
            "with_batch_norm": with_batch_norm, "with_relu": with_relu,
            "with_residual": with_residual, "with_dual_lphm": with_dual_lphm,
            "with_lorr": with_lorr, "r": r, "enable_bias": enable_bias,
            "parameters_init_method": parameters_init_method,
        }  # fmt: skip
        heads: list[nn.Module] = [
            GridInterdependenceHead(h, w, in_channel, out_channel, **options) for _ in range(count)
        ]
        super().__init__(heads)


class GridCompressionLayer(_GridLayer):
    """A :class:`~rpnkit.rpn.grid.pooling.GridCompressionHead` (pooling) as a layer: tinybig's
    ``grid_compression_layer`` (one head; dropout off by default, unlike the head).

    Parameters
    ----------
    h, w, channel_num, d, pooling_metric, patch_shape, p_h, p_h_prime, p_w, p_w_prime, p_d, \
p_d_prime, p_r, cd_h, cd_w, cd_d, packing_strategy, with_dropout, p
        See :class:`~rpnkit.rpn.grid.pooling.GridCompressionHead`.
    """

    tinybig_divergence: ClassVar[str | None] = GridCompressionHead.tinybig_divergence

    def __init__(
        self,
        h: int,
        w: int,
        channel_num: int,
        d: int = 1,
        pooling_metric: str = "batch_max",
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
        with_dropout: bool = False,
        p: float = 0.5,
    ) -> None:
        head = GridCompressionHead(
            h, w, channel_num, d=d, pooling_metric=pooling_metric, patch_shape=patch_shape,
            p_h=p_h, p_h_prime=p_h_prime, p_w=p_w, p_w_prime=p_w_prime, p_d=p_d,
            p_d_prime=p_d_prime, p_r=p_r, cd_h=cd_h, cd_w=cd_w, cd_d=cd_d,
            packing_strategy=packing_strategy, with_dropout=with_dropout, p=p,
        )  # fmt: skip
        super().__init__([head])
