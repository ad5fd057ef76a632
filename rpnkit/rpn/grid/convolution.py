"""The grid interdependence head: convolution as RPN 2's geometric patch interdependence.

tinybig's ``grid_interdependence_head`` gathers every packed patch of every input channel with
a geometric interdependence matrix (padding mode), so ``ξ(x)`` is ``(b, P, C_in·S)``, and
multiplies it by one weight ``W = ψ(w) ∈ R^{C_out × C_in·S}`` shared by all positions. That
is a cross-correlation, and it is computed as one here: ``F.conv2d`` (``F.conv3d`` for a
grid with depth) with the kernel ``W`` laid out on the patch's bounding box
(:class:`~rpnkit.rpn.grid.geometry.GridGeometry`), stride = the centre distances. The
``(b, P, C_in·S)`` tensor is never formed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.grid.channels_last import (
    AddPositionBias,
    apply_positionwise,
    is_channels_last,
    nhwc_rows,
    to_channels_last,
    to_nhwc,
)
from rpnkit.rpn.grid.geometry import GridGeometry
from rpnkit.rpn.initialization import check_init_method, init_bias_, init_weight_
from rpnkit.rpn.processing import ProcessingChain
from rpnkit.rpn.reconciliation import Reconciliation
from rpnkit.rpn.remainder import LinearRemainder

__all__ = ["GridInterdependenceHead", "reconciliation_spec"]


def reconciliation_spec(with_dual_lphm: bool, with_lorr: bool, r: int) -> Any:
    """tinybig's choice of ψ: ``dual_lphm`` (rank ``r``), else ``low_rank``, else ``identity``."""
    if with_dual_lphm:
        return {"name": "dual_lphm", "parameters": {"r": r}}
    if with_lorr:
        return {"name": "low_rank", "parameters": {"r": r}}
    return "identity"


class GridInterdependenceHead(nn.Module):
    """A convolution written as an RPN 2 head (tinybig's ``grid_interdependence_head``).

    With ``x`` an image of ``in_channel`` channels on an ``h × w × d`` grid, ``P`` packed
    patch centres and ``S`` cells per patch, the head computes

    ``y = out( conv(x, ψ(w)) + b + π(x) )``  (``n = P · out_channel`` outputs),

    where ``ψ(w) ∈ R^{out_channel × in_channel·S}`` is the identity, low-rank (``with_lorr``)
    or dual-LPHM (``with_dual_lphm``) reconciliation of ``w ∈ R^{1 × l}``, ``conv`` is the
    cross-correlation at the packed centres (a cell off the grid reads 0), ``b ∈ R^n`` is a
    bias per output position (``enable_bias``, tinybig's), ``π`` is a dense linear remainder
    ``R^m → R^n`` (``with_residual``, tinybig's ``linear_remainder``) or zero, and ``out`` is
    ``BatchNorm1d(n)`` (``with_batch_norm``) then ReLU (``with_relu``). The output is
    ``(b, out_channel · P)``, channel-major: the next grid head's input layout.

    The input is ``(b, in_channel·h·w·d)`` channel-major (tinybig's), or ``(b, C, h, w)``
    (``d = 1``) or ``(b, C, h, w, d)``.

    Parameters
    ----------
    h, w, in_channel, out_channel, d
        Grid sizes and channel counts, >= 1.
    patch_shape
        ``"cuboid"`` (``p_h``, ``p_w`` default ``p_h``, ``p_d``; ``*_prime`` the extents after
        the centre, default the same as before), ``"cylinder"`` (``p_r``, ``p_d``,
        ``p_d_prime``) or ``"sphere"`` (``p_r``).
    p_h, p_h_prime, p_w, p_w_prime, p_d, p_d_prime, p_r
        Patch extents, integers >= 0.
    cd_h, cd_w, cd_d
        Centre distances (the stride); when all three are given they replace the packing
        strategy's.
    packing_strategy
        A packing strategy of the patch shape; ``"densest_packing"`` is a centre on every cell.
    with_batch_norm, with_relu, with_residual
        Output steps and the linear remainder, see above.
    with_dual_lphm, with_lorr, r
        The reconciliation and its rank.
    enable_bias
        Whether to add the bias ``b`` of size ``n``.
    parameters_init_method
        How ``w``, ``b`` and the remainder are drawn (see :mod:`rpnkit.rpn.initialization`);
        tinybig's grid head default ``"xavier_normal"``.

    Differences from tinybig
    ------------------------
    The same function, computed as a convolution instead of a sparse gather built with
    Python loops; equal to tinybig's head to rounding. The BatchNorm is a registered
    submodule (trained, switched by ``.eval()``); tinybig keeps it in a plain list, so its
    scale and shift are never trained and it always normalises with batch statistics.

    Raises
    ------
    ConfigError
        For a bad size, patch, packing, reconciliation or initialisation method.
    """

    tinybig_divergence: ClassVar[str | None] = (
        "the BatchNorm of the output is a registered module (trained, follows .eval()); "
        "tinybig keeps it in a plain list"
    )

    def __init__(
        self,
        h: int,
        w: int,
        in_channel: int,
        out_channel: int,
        d: int = 1,
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
        with_dual_lphm: bool = False,
        with_lorr: bool = False,
        r: int = 3,
        enable_bias: bool = False,
        parameters_init_method: str = "xavier_normal",
    ) -> None:
        super().__init__()
        label = "grid_interdependence_head"
        self.in_channel = positive_int(in_channel, f"{label} in_channel")
        self.out_channel = positive_int(out_channel, f"{label} out_channel")
        patch = {"p_h": p_h, "p_h_prime": p_h_prime, "p_w": p_w, "p_w_prime": p_w_prime,
                 "p_d": p_d, "p_d_prime": p_d_prime, "p_r": p_r}  # fmt: skip
        self.geometry = GridGeometry(
            h, w, d, self.in_channel, patch_shape, patch, packing_strategy, cd_h, cd_w, cd_d,
            label=label,
        )  # fmt: skip
        self.m = self.geometry.m
        self.n = self.geometry.patch_num * self.out_channel
        self.parameters_init_method = check_init_method(parameters_init_method)
        self.reconciliation: Reconciliation = build_component(
            "reconciliation", reconciliation_spec(with_dual_lphm, with_lorr, r), Reconciliation,
            "reconciliation", n=self.out_channel, D=self.in_channel * self.geometry.patch_size,
        )  # fmt: skip
        self.w = nn.Parameter(torch.empty(1, self.reconciliation.l))
        self.bias = nn.Parameter(torch.empty(self.n)) if enable_bias else None
        self.remainder = LinearRemainder(self.m, self.n) if with_residual else None
        steps: list[Any] = [nn.BatchNorm1d(self.n)] if with_batch_norm else []
        if with_relu:  # in place on the batch norm's output, which its backward does not keep
            steps.append(nn.ReLU(inplace=True) if with_batch_norm else "relu")
        self.output_process = ProcessingChain(steps, field="output_process", features=self.n)
        #: Return the output as a grid ``(b, out_channel, h', w'[, d'])`` (channels-last
        #: memory for a 2-D grid) instead of ``(b, n)``: the same values, for a next grid
        #: head, which then reads it without a copy. Off by default.
        self.grid_output = False
        self.reset_parameters()

    @property
    def out_features(self) -> int:
        """Output size ``n = P · out_channel``."""
        return self.n

    @property
    def output_grid(self) -> tuple[int, ...]:
        """``(h', w', d')``: the packed centres per axis, the next layer's grid."""
        return self.geometry.output_grid

    @property
    def attribute_interdependence(self) -> Any:
        """The geometric interdependence this head computes by convolution (the definition)."""
        return self.geometry.interdependence

    def reset_parameters(self) -> None:
        """Draw ``w``, the remainder's weight and the bias by :attr:`parameters_init_method`,
        in tinybig's order (a seeded draw gives tinybig's numbers)."""
        method = self.parameters_init_method
        init_weight_(self.w, method, self.n)
        bias_first = method == "fanout_std_uniform"
        if self.bias is not None and bias_first:
            init_bias_(self.bias, method, self.n, fan_in=self.reconciliation.l)
        if self.remainder is not None:
            init_weight_(self.remainder.weight, method, self.n)
        if self.bias is not None and not bias_first:
            init_bias_(self.bias, method, self.n, fan_in=self.reconciliation.l)

    def weight_matrix(self) -> Tensor:
        """``ψ(w) ∈ R^{out_channel × in_channel·S}``, columns in tinybig's ``c·S + s`` order."""
        return self.reconciliation(self.w)[0]

    def forward(self, x: Tensor) -> Tensor:
        """Return ``(b, out_channel · P)`` for an image batch (see the class documentation);
        ``(b, out_channel, h', w')`` with :attr:`grid_output`."""
        grid = self.geometry.as_grid(x)
        kernel = self.geometry.kernel(self.weight_matrix())
        if self.geometry.spatial_dims == 2:  # oneDNN's fast layout (same values)
            grid = to_channels_last(grid)
            kernel = kernel.contiguous(memory_format=torch.channels_last)
        out = self.geometry.convolve(grid, kernel)
        if is_channels_last(out):
            processed = self._positionwise(grid, out)
            if processed is not None:
                return processed if self.grid_output else processed.reshape(out.shape[0], self.n)
        # in place on the convolution's own output (its backward does not keep it)
        if self.bias is not None:
            out = out.add_(self.bias.view(out.shape[1:]))
        if self.remainder is not None:
            out = out.add_(self.remainder(grid.reshape(grid.shape[0], self.m)).view(out.shape))
        flat = self.output_process(out.reshape(grid.shape[0], self.n))
        return flat.view(out.shape) if self.grid_output else flat

    def _positionwise(self, grid: Tensor, out: Tensor) -> Tensor | None:
        """Bias, remainder and output steps on a channels-last ``out``, kept channels-last:
        ``(b, C, h', w')``, or ``None`` for output steps other than BatchNorm and ReLU."""
        b, channels, h, w = out.shape
        shape = (channels, h, w)
        if self.bias is not None:  # in place on the convolution's own output
            out = AddPositionBias.apply(out, to_nhwc(self.bias, shape))
        rows = nhwc_rows(out)  # a view
        fresh = False
        if self.remainder is not None:
            term = self.remainder(grid.reshape(b, self.m))
            rows, fresh = rows + term.view(b, *shape).permute(0, 2, 3, 1).reshape(b, -1), True
        processed = apply_positionwise(rows, self.output_process, shape, fresh)
        if processed is None:
            return None
        return processed.view(b, h, w, channels).permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        """Channels, geometry and sizes."""
        return (
            f"in_channel={self.in_channel}, out_channel={self.out_channel}, "
            f"{self.geometry.describe()}, m={self.m}, n={self.n}"
        )
