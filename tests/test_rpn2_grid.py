"""RPN 2 grid heads: convolution and pooling as geometric patch interdependence.

The convolution head equals ``F.conv2d`` on the same weights; cylinder and sphere patches
(masked kernels) equal the gather definition (rpnkit's geometric interdependence, itself
tested against tinybig); the heads equal tinybig 0.2.1's ``grid_interdependence_head`` and
``grid_compression_head`` with the same weights.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from rpnkit.errors import ConfigError
from rpnkit.rpn.grid import (
    GridCompressionHead,
    GridCompressionLayer,
    GridInterdependenceHead,
    GridInterdependenceLayer,
)


def _gather_definition(head: GridInterdependenceHead, x: torch.Tensor) -> torch.Tensor:
    """tinybig's head by its definition: gathered patches ``(b, P, C·S)`` times ``ψ(w)ᵀ``."""
    patches = head.geometry.gather(x)
    out = (patches @ head.weight_matrix().T).permute(0, 2, 1).reshape(x.shape[0], -1)
    if head.bias is not None:
        out = out + head.bias
    return out


def test_cuboid_head_is_conv2d_on_the_same_weights() -> None:
    torch.manual_seed(0)
    head = GridInterdependenceHead(
        6, 5, in_channel=2, out_channel=3, p_h=1, cd_h=2, cd_w=2, cd_d=1,
        with_batch_norm=False, with_relu=False,
    )  # fmt: skip
    x = torch.randn(4, 2, 6, 5)
    kernel = head.weight_matrix().view(3, 2, 3, 3)
    expected = F.conv2d(x, kernel, stride=2, padding=1).reshape(4, -1)
    assert head.output_grid == (3, 3, 1)
    torch.testing.assert_close(head(x), expected, rtol=0, atol=1e-6)
    # tinybig's flat channel-major layout is the same data
    torch.testing.assert_close(head(x.reshape(4, -1)), expected, rtol=0, atol=1e-6)


def test_asymmetric_cuboid_is_conv2d_of_the_padded_image() -> None:
    torch.manual_seed(1)
    head = GridInterdependenceHead(
        5, 7, in_channel=1, out_channel=2, p_h=0, p_h_prime=1, p_w=2, p_w_prime=0,
        with_batch_norm=False, with_relu=False,
    )  # fmt: skip
    x = torch.randn(3, 1, 5, 7)
    kernel = head.weight_matrix().view(2, 1, 2, 3)
    expected = F.conv2d(F.pad(x, (2, 0, 0, 1)), kernel).reshape(3, -1)
    torch.testing.assert_close(head(x), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    "patch",
    [
        {"patch_shape": "cylinder", "p_r": 2},
        {"patch_shape": "cylinder", "p_r": 1, "p_d": 1, "packing_strategy": "complete_square"},
        {"patch_shape": "sphere", "p_r": 1},
        {"patch_shape": "sphere", "p_r": 2, "cd_h": 2, "cd_w": 3, "cd_d": 1},
        {"patch_shape": "cuboid", "p_h": 1, "p_d": 1},
    ],
)
@pytest.mark.parametrize("d", [1, 3])
def test_masked_kernel_equals_the_gather_definition(patch: dict[str, Any], d: int) -> None:
    torch.manual_seed(2)
    head = GridInterdependenceHead(
        6, 5, in_channel=2, out_channel=3, d=d, enable_bias=True,
        with_batch_norm=False, with_relu=False, **patch,
    )  # fmt: skip
    x = torch.randn(4, 2 * 6 * 5 * d)
    torch.testing.assert_close(head(x), _gather_definition(head, x), rtol=0, atol=2e-6)


def test_conv_head_backward_matches_the_gather_definition() -> None:
    torch.manual_seed(3)
    head = GridInterdependenceHead(
        5, 5, in_channel=2, out_channel=2, patch_shape="sphere", p_r=1, with_lorr=True, r=2,
        with_batch_norm=False, with_relu=False,
    )  # fmt: skip
    x = torch.randn(3, 50)
    (grad,) = torch.autograd.grad(head(x).square().sum(), head.w)
    (expected,) = torch.autograd.grad(_gather_definition(head, x).square().sum(), head.w)
    torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-5)


_HEAD_CASES = [
    {"patch_shape": "cuboid", "p_h": 1},
    {"patch_shape": "cuboid", "p_h": 1, "p_h_prime": 0, "p_w": 0, "p_w_prime": 2,
     "cd_h": 2, "cd_w": 3, "cd_d": 1, "with_residual": True, "enable_bias": True},
    {"patch_shape": "cylinder", "p_r": 2, "with_lorr": True, "r": 2},
    {"patch_shape": "sphere", "p_r": 1, "with_dual_lphm": True, "r": 1, "enable_bias": True},
]  # fmt: skip


@pytest.mark.parametrize("options", _HEAD_CASES)
def test_conv_head_equals_tinybigs(tinybig: Any, options: dict[str, Any]) -> None:
    from tinybig.head.grid_based_heads import grid_interdependence_head

    args = {"h": 6, "w": 5, "in_channel": 2, "out_channel": 3, "with_batch_norm": False, **options}
    reference = grid_interdependence_head(**args)
    head = GridInterdependenceHead(**args)
    assert [tuple(p.shape) for p in head.parameters()] == [
        tuple(p.shape) for p in reference.parameters()
    ]
    with torch.no_grad():
        for mine, theirs in zip(head.parameters(), reference.parameters(), strict=True):
            mine.copy_(theirs)
    x = torch.randn(4, 60)
    assert head.output_grid == tuple(reference.get_output_grid_shape())
    torch.testing.assert_close(head(x), reference(x), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize(
    "patch",
    [
        {"patch_shape": "cuboid", "p_h": 1},
        {"patch_shape": "cuboid", "p_h": 0, "p_h_prime": 1, "p_w": 0, "p_w_prime": 1,
         "cd_h": 2, "cd_w": 2, "cd_d": 1},
        {"patch_shape": "cuboid", "p_h": 1, "p_d": 1},
        {"patch_shape": "cylinder", "p_r": 1, "packing_strategy": "complete_square"},
        {"patch_shape": "sphere", "p_r": 1},
    ],
)  # fmt: skip
@pytest.mark.parametrize("metric", ["batch_max", "batch_min", "batch_sum", "batch_l2_norm"])
def test_pooling_head_equals_tinybigs(tinybig: Any, patch: dict[str, Any], metric: str) -> None:
    from tinybig.head.grid_based_heads import grid_compression_head

    args = {"h": 7, "w": 6, "channel_num": 2, "pooling_metric": metric, "with_dropout": False}
    reference = grid_compression_head(**args, **patch)
    head = GridCompressionHead(**args, **patch)
    x = torch.randn(3, 84)
    assert head.out_features == reference.get_n()
    assert head.output_grid == tuple(reference.get_output_grid_shape())
    torch.testing.assert_close(head(x), reference(x), rtol=1e-6, atol=2e-6)


@pytest.mark.parametrize(
    "patch",
    [
        {"patch_shape": "cuboid", "p_h": 1, "p_w_prime": 0, "cd_h": 2, "cd_w": 2, "cd_d": 1},
        {"patch_shape": "cuboid", "p_h": 1, "p_d": 1},
        {"patch_shape": "cylinder", "p_r": 2},
        {"patch_shape": "sphere", "p_r": 1},
    ],
)
@pytest.mark.parametrize("metric", ["max", "min", "mean", "sum"])
def test_pooling_fast_paths_equal_the_reduced_patches(patch: dict[str, Any], metric: str) -> None:
    head = GridCompressionHead(6, 5, 2, pooling_metric=metric, with_dropout=False, **patch)
    x = torch.randn(3, 2, 6, 5)
    cells = head.geometry.gather(x.reshape(3, -1)).view(3, -1, 2, head.geometry.patch_size)
    reduce = {"max": torch.amax, "min": torch.amin, "mean": torch.mean, "sum": torch.sum}[metric]
    expected = reduce(cells, dim=-1).transpose(1, 2).reshape(3, -1)
    torch.testing.assert_close(head(x), expected, rtol=1e-6, atol=2e-6)


def test_max_pooling_is_max_pool2d_of_the_zero_padded_image() -> None:
    head = GridCompressionHead(8, 8, 3, p_h=0, p_h_prime=1, p_w=0, p_w_prime=1,
                               cd_h=2, cd_w=2, cd_d=1, with_dropout=False)  # fmt: skip
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(head(x), F.max_pool2d(x, 2).reshape(2, -1), rtol=0, atol=0)


def test_output_steps_are_registered_and_follow_eval() -> None:
    torch.manual_seed(4)
    head = GridInterdependenceHead(4, 4, in_channel=1, out_channel=2, p_h=1)
    names = [name for name, _ in head.named_parameters()]
    assert "output_process.0.weight" in names and "output_process.0.bias" in names
    head(torch.randn(8, 16))  # batch statistics update the running ones
    head.eval()
    x = torch.randn(3, 16)
    torch.testing.assert_close(head(x[:1]), head(x)[:1])  # running statistics: row-wise
    pool = GridCompressionHead(4, 4, 2, p_h=1, p=0.5)
    pool.eval()
    y = torch.randn(5, 32)
    torch.testing.assert_close(pool(y), pool(y))


def test_layer_heads_are_independent_and_mean_fused() -> None:
    torch.manual_seed(5)
    layer = GridInterdependenceLayer(5, 5, 1, 2, width=3, p_h=1, with_batch_norm=False)
    heads = list(layer.heads)
    assert len({id(head.w) for head in heads}) == 3
    assert not torch.equal(heads[0].w, heads[1].w)
    x = torch.randn(4, 25)
    expected = torch.stack([head(x) for head in heads]).mean(0)
    torch.testing.assert_close(layer(x), expected)
    assert (layer.m, layer.out_features, layer.output_grid) == (25, 50, (5, 5, 1))
    pool = GridCompressionLayer(5, 5, 2, p_h=1, cd_h=2, cd_w=2, cd_d=1)
    assert (pool.m, pool.out_features, pool.output_grid) == (50, 18, (3, 3, 1))
    assert not any(isinstance(m, torch.nn.Dropout) for m in pool.modules())  # layer default


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: GridInterdependenceHead(4, 4, 1, 2), "p_h=None is not valid"),
        (lambda: GridInterdependenceHead(4, 4, 1, 2, patch_shape="cone", p_h=1),
         "patch_shape='cone'"),
        (lambda: GridInterdependenceHead(4, 4, 0, 2, p_h=1), "in_channel=0"),
        (lambda: GridInterdependenceHead(4, 4, 1, 2, p_h=1, packing_strategy="tight"),
         "packing_strategy"),
        (lambda: GridCompressionHead(4, 4, 1, p_h=1, pooling_metric="batch_avg"),
         "pooling_metric='batch_avg'"),
        (lambda: GridCompressionHead(4, 4, 1, p_h=1, p=1.5), "p=1.5"),
        (lambda: GridInterdependenceHead(4, 4, 1, 2, p_h=1)(torch.randn(2, 15)),
         "input of shape (2, 15) is not valid"),
    ],
)  # fmt: skip
def test_bad_options_are_one_line_errors(build: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("metric", ["max", "min"])
def test_max_pooling_gradient_is_torchs(metric: str) -> None:
    # several channels take the channels-last pooling path; its gradient is max_pool2d's
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64, requires_grad=True)
    head = GridCompressionHead(6, 6, 4, pooling_metric=metric, p_h=1, cd_h=2, cd_w=2, cd_d=1,
                               with_dropout=False).double()  # fmt: skip
    sign = 1.0 if metric == "max" else -1.0
    expected = sign * F.max_pool2d(F.pad(sign * x, (1, 0, 1, 0)), 3, 2)
    out = head(x)
    torch.testing.assert_close(out, expected.reshape(3, -1), rtol=0, atol=0)
    grad = torch.randn_like(out)
    (mine,) = torch.autograd.grad(out, x, grad)
    (theirs,) = torch.autograd.grad(expected.reshape(3, -1), x, grad)
    torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
    assert torch.autograd.gradcheck(lambda t: head(t), (x,))
