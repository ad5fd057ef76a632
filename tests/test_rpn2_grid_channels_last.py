"""RPN 2 grid heads in channels-last memory: the same numbers as the channel-major definition.

A 2-D convolution head computes in channels-last memory and runs its bias, ``BatchNorm1d(n)``
(per position) and ReLU on the ``(b, h·w·C)`` rows; the values, the gradients and the
BatchNorm's running statistics must be those of the channel-major computation
(``F.conv2d``, bias, ``nn.BatchNorm1d``, ReLU on ``(b, n)``). Grid layers that hand the next
one a grid (``grid_output``) give the model the same function, dropout draws included.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
import torch.nn.functional as F

import rpnkit
from rpnkit.rpn.grid import GridCompressionHead, GridInterdependenceHead
from rpnkit.rpn.grid.channels_last import is_channels_last, to_channels_last


def _reference(head: GridInterdependenceHead, bn: torch.nn.BatchNorm1d, x: torch.Tensor) -> Any:
    """The channel-major computation: conv2d, bias, remainder, BatchNorm1d(n), ReLU."""
    kernel = head.geometry.kernel(head.weight_matrix())
    grid = x.view(x.shape[0], head.in_channel, *head.geometry.grid[:2])
    out = F.conv2d(grid, kernel, stride=head.geometry.stride[:2], padding=head.geometry.before)
    out = out.reshape(x.shape[0], -1)
    if head.bias is not None:
        out = out + head.bias
    if head.remainder is not None:
        out = out + head.remainder(x)
    return F.relu(bn(out))


@pytest.mark.parametrize(
    "options",
    [
        {"enable_bias": True},
        {"enable_bias": False},
        {"enable_bias": True, "with_residual": True},
        {"enable_bias": True, "patch_shape": "cylinder", "p_r": 1},
    ],
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_relu_on_channels_last_rows_equals_batchnorm1d(
    options: dict[str, Any], momentum: float | None
) -> None:
    torch.manual_seed(0)
    patch = {} if "patch_shape" in options else {"p_h": 1}
    head = GridInterdependenceHead(6, 5, in_channel=3, out_channel=4, **patch, **options).double()
    bn = head.output_process[0]
    bn.momentum = momentum
    with torch.no_grad():  # a non-trivial scale and shift
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    reference_bn = copy.deepcopy(bn)
    for _ in range(3):  # training steps: batch statistics, running ones updated
        x = torch.randn(7, 90, dtype=torch.float64, requires_grad=True)
        out = head(x)
        expected = _reference(head, reference_bn, x)
        torch.testing.assert_close(out, expected)
        grad = torch.randn_like(out)
        mine = torch.autograd.grad(out, [x, *head.parameters()], grad)
        theirs = torch.autograd.grad(
            expected, [x, *head.parameters(), *reference_bn.parameters()], grad, allow_unused=True
        )
        for a, b in zip(mine[:1], theirs[:1], strict=True):
            torch.testing.assert_close(a, b)
        names = [name for name, _ in head.named_parameters()]
        for name, a in zip(names, mine[1:], strict=True):
            if name.startswith("output_process"):  # the BatchNorm's scale and shift
                b = theirs[1 + len(names) + ["output_process.0.weight",
                                             "output_process.0.bias"].index(name)]  # fmt: skip
            else:
                b = theirs[1 + names.index(name)]
            torch.testing.assert_close(a, b, msg=name)
        torch.testing.assert_close(bn.running_mean, reference_bn.running_mean)
        torch.testing.assert_close(bn.running_var, reference_bn.running_var)
        assert int(bn.num_batches_tracked) == int(reference_bn.num_batches_tracked)
    head.eval()
    reference_bn.eval()
    x = torch.randn(3, 90, dtype=torch.float64)
    torch.testing.assert_close(head(x), _reference(head, reference_bn, x))
    head.grid_output = True  # the path tested above is the channels-last one
    assert is_channels_last(head(x))


def test_the_convolution_output_is_channels_last_and_the_grid_output_its_values() -> None:
    torch.manual_seed(1)
    head = GridInterdependenceHead(8, 8, in_channel=1, out_channel=4, p_h=1)
    x = torch.randn(5, 64)
    flat = head(x)
    head.grid_output = True
    torch.manual_seed(1)
    head2 = GridInterdependenceHead(8, 8, in_channel=1, out_channel=4, p_h=1)
    head2.grid_output = True
    grid = head2(x)
    assert grid.shape == (5, 4, 8, 8) and is_channels_last(grid)
    torch.testing.assert_close(grid.reshape(5, -1), flat)
    # a one-channel image is given channels-last strides without a copy
    image = torch.randn(2, 1, 4, 4)
    assert to_channels_last(image).data_ptr() == image.data_ptr()


@pytest.mark.parametrize("metric", ["max", "min"])
def test_max_pooling_of_a_channels_last_grid_is_max_pool2d(metric: str) -> None:
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()
    head = GridCompressionHead(6, 6, 4, pooling_metric=metric, p_h=0, p_h_prime=1, p_w=0,
                               p_w_prime=1, cd_h=2, cd_w=2, cd_d=1, with_dropout=False).double()  # fmt: skip
    sign = 1.0 if metric == "max" else -1.0
    expected = sign * F.max_pool2d(sign * x.detach().contiguous(), 2)
    head.grid_output = True
    out = head(x)
    assert is_channels_last(out)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    head.grid_output = False
    flat = head(x)
    torch.testing.assert_close(flat, expected.reshape(3, -1), rtol=0, atol=0)
    grad = torch.randn_like(flat)
    (mine,) = torch.autograd.grad(flat, x, grad)
    reference = x.detach().contiguous().requires_grad_()
    pooled = sign * F.max_pool2d(sign * reference, 2)
    (theirs,) = torch.autograd.grad(pooled.reshape(3, -1), reference, grad)
    torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
    assert torch.autograd.gradcheck(lambda t: head(t), (x,))


_CLASSIC = {"p_h": 1, "pooling_p_h": 0, "pooling_p_h_prime": 1, "pooling_p_w": 0,
            "pooling_p_w_prime": 1, "pooling_cd_h": 2, "pooling_cd_w": 2, "pooling_cd_d": 1}  # fmt: skip


@pytest.mark.parametrize(
    "options",
    [
        {"channel_nums": [1, 4, 6], "fc_dims": [12, 3], **_CLASSIC},
        {"channel_nums": [2, 3, 4, 5, 3], "fc_dims": [3], **_CLASSIC},  # pooling then conv
        {"channel_nums": [1, 3, 4], "fc_dims": [3], "patch_shape": "cylinder", "p_r": 1},
    ],
)
def test_grid_passing_model_equals_the_flat_one(options: dict[str, Any]) -> None:
    torch.manual_seed(2)
    model = rpnkit.build("model", "cnn", h=8, w=8, **options)
    flat = copy.deepcopy(model)
    for layer in flat.layers:
        if hasattr(layer, "grid_output"):
            layer.grid_output = False
    assert any(getattr(layer, "grid_output", False) for layer in model.layers)
    x = torch.randn(6, options["channel_nums"][0] * 64)
    for _ in range(2):  # training: BatchNorm batch statistics and dropout draws
        torch.manual_seed(3)
        out = model(x)
        torch.manual_seed(3)
        expected = flat(x)
        torch.testing.assert_close(out, expected)
        mine = torch.autograd.grad(out.square().sum(), list(model.parameters()))
        theirs = torch.autograd.grad(expected.square().sum(), list(flat.parameters()))
        for a, b in zip(mine, theirs, strict=True):
            torch.testing.assert_close(a, b)
    for a, b in zip(model.buffers(), flat.buffers(), strict=True):
        torch.testing.assert_close(a, b)
    model.eval()
    flat.eval()
    torch.testing.assert_close(model(x), flat(x))
