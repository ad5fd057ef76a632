"""Taylor expansion heads: the fused order-2 projection against the materialised computation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import Tensor
from torch.profiler import ProfilerActivity, profile

from rpnkit.rpn import RPNHead, TaylorExpansion
from rpnkit.rpn.expansion.taylor_kernels import taylor2_project

Function = Callable[[Tensor, Tensor], Tensor]


def _value_and_grads(function: Function, x: Tensor, weight: Tensor) -> tuple[Tensor, ...]:
    """``function(x, weight)`` and the gradients of ``<function(x, weight), g>`` (fixed ``g``)."""
    x = x.detach().requires_grad_()
    weight = weight.detach().requires_grad_()
    out = function(x, weight)
    generator = torch.Generator().manual_seed(1)
    cotangent = torch.randn(out.shape, generator=generator, dtype=torch.float64)
    grad_x, grad_weight = torch.autograd.grad(out, (x, weight), cotangent.to(out.dtype))
    return out, grad_x, grad_weight


def _relative(value: Tensor, reference: Tensor) -> float:
    """``max |value - reference| / max |reference|`` in float64."""
    difference = value.double() - reference.double()
    return (difference.abs().max() / reference.double().abs().max()).item()


def _materialised(expansion: TaylorExpansion) -> Function:
    """``κ(x) Wᵀ`` with the expansion formed (the definition)."""
    return lambda x, weight: expansion(x) @ weight.transpose(-1, -2)


@pytest.mark.parametrize("shift", [0.0, 1.0])
@pytest.mark.parametrize("leading", [(4,), (3, 2)], ids=["rows", "channels"])
@pytest.mark.parametrize("postprocess", [None, ["layer_norm"]], ids=["plain", "layer_norm"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_projection_and_gradients_equal_materialised_in_float64(
    d: int, postprocess: list[str] | None, leading: tuple[int, ...], shift: float
) -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=d, postprocess=postprocess)
    x = shift + 0.5 * torch.randn(6, 5, dtype=torch.float64)
    weight = torch.randn(*leading, expansion.calculate_D(5), dtype=torch.float64)
    fast = _value_and_grads(expansion.project, x, weight)
    expected = _value_and_grads(_materialised(expansion), x, weight)
    for value, reference in zip(fast, expected, strict=True):
        torch.testing.assert_close(value, reference, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("postprocess", [None, ["layer_norm"]], ids=["plain", "layer_norm"])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_projection_and_gradients_equal_materialised_in_float32(
    d: int, postprocess: list[str] | None
) -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=d, postprocess=postprocess)
    x = torch.randn(16, 12)
    weight = torch.randn(2, 5, expansion.calculate_D(12)) / expansion.calculate_D(12) ** 0.5
    fast = _value_and_grads(expansion.project, x, weight)
    expected = _value_and_grads(_materialised(expansion), x, weight)
    for value, reference in zip(fast, expected, strict=True):
        assert value.dtype == torch.float32
        assert _relative(value, reference) < 1e-5


@pytest.mark.parametrize("shift", [0.0, 1.0])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_fused_projection_passes_gradcheck(layer_norm: bool, shift: float) -> None:
    torch.manual_seed(0)
    x = (shift + torch.randn(4, 3, dtype=torch.float64)).requires_grad_()
    weight = torch.randn(5, 3 + 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, w: taylor2_project(a, w, layer_norm=layer_norm), (x, weight)
    )


def test_layer_norm_projection_is_accurate_on_near_constant_input() -> None:
    # κ(x) ≈ 1 with deviations of 1e-3: forming κ(x) Wᵀ - μ Σ w would lose about three digits.
    torch.manual_seed(0)
    m = 64
    expansion = TaylorExpansion(d=2, postprocess=["layer_norm"])
    D = expansion.calculate_D(m)
    x = 1 + 1e-3 * torch.randn(32, m)
    weight = torch.randn(16, D) / D**0.5
    reference = _value_and_grads(_materialised(expansion), x.double(), weight.double())
    fast = _value_and_grads(expansion.project, x, weight)
    materialised = _value_and_grads(_materialised(expansion), x, weight)
    names = ("output", "x", "weight")
    for name, f, mat, ref in zip(names, fast, materialised, reference, strict=True):
        fast_error, materialised_error = _relative(f, ref), _relative(mat, ref)
        assert fast_error <= materialised_error, (name, fast_error, materialised_error)
        assert fast_error < 1e-5, (name, fast_error)


def test_projection_accepts_a_weight_that_is_not_row_contiguous() -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=2, postprocess=["layer_norm"])
    x = torch.randn(3, 4, dtype=torch.float64)
    weight = torch.randn(expansion.calculate_D(4), 2, dtype=torch.float64).T
    expected = expansion(x) @ weight.T
    torch.testing.assert_close(expansion.project(x, weight), expected, atol=1e-10, rtol=1e-10)


def _peak_bytes(step: Callable[[], None]) -> int:
    """Peak CPU bytes allocated during ``step`` above those allocated before it."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    running = peak = 0
    for _, nbytes in events:
        running += nbytes
        peak = max(peak, running)
    return peak


@pytest.mark.parametrize("postprocess", [None, ["layer_norm"]], ids=["plain", "layer_norm"])
def test_training_step_never_forms_the_expansion(postprocess: list[str] | None) -> None:
    torch.manual_seed(0)
    b, m = 128, 256
    expansion = TaylorExpansion(d=2, postprocess=postprocess)
    D = expansion.calculate_D(m)
    x = torch.randn(b, m, requires_grad=True)
    weight = torch.randn(2, D, requires_grad=True)

    def step() -> None:
        expansion.project(x, weight).square().mean().backward()

    expansion_bytes = b * D * x.element_size()
    assert _peak_bytes(step) < expansion_bytes / 8
    assert weight.grad is not None and torch.isfinite(weight.grad).all()


def _naive_head(head: RPNHead, x: Tensor) -> Tensor:
    """The head's function with ``κ(x)`` and every channel's weight materialised."""
    weights = head.reconciliation(head.w)
    out = torch.stack([head.expansion(x) @ weights[c].T for c in range(head.channels)]).mean(0)
    return out if head.bias is None else out + head.bias


@pytest.mark.parametrize(
    ("dtype", "tolerance"), [(torch.float64, 1e-10), (torch.float32, 1e-5)], ids=["f64", "f32"]
)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize(
    "reconciliation",
    ["identity", {"name": "low_rank", "parameters": {"r": 2}}],
    ids=["identity", "low_rank"],
)
@pytest.mark.parametrize("postprocess", [None, ["layer_norm"]], ids=["plain", "layer_norm"])
def test_head_output_and_gradients_equal_materialised(
    postprocess: list[str] | None,
    reconciliation: Any,
    channels: int,
    dtype: torch.dtype,
    tolerance: float,
) -> None:
    torch.manual_seed(0)
    head = RPNHead(10, 4, "taylor", reconciliation, channels=channels, postprocess=postprocess).to(
        dtype
    )
    x = (0.5 + torch.randn(8, 10, dtype=dtype)).requires_grad_()
    results = []
    for forward in (head, lambda inputs: _naive_head(head, inputs)):
        out = forward(x)
        grads = torch.autograd.grad(out.square().sum(), (head.w, x))
        results.append((out, *grads))
    for value, reference in zip(*results, strict=True):
        assert value.dtype == dtype
        assert _relative(value, reference) < tolerance


def test_identity_head_step_allocates_little_beyond_the_weight_gradient() -> None:
    # Neither the b × D expansion nor a second n × D copy of the weight (or its gradient).
    torch.manual_seed(0)
    head = RPNHead(256, 8, "taylor", "identity", postprocess=["layer_norm"])
    x = torch.randn(16, 256)

    def step() -> None:
        head(x).square().mean().backward()

    assert _peak_bytes(step) < 1.5 * head.w.numel() * head.w.element_size()
    assert head.w.grad is not None and torch.isfinite(head.w.grad).all()


def test_mnist_style_head_matches_tinybig(tinybig: Any) -> None:
    """tinybig's MNIST head in small: Taylor order 2, LayerNorm, identity reconciliation."""
    torch.manual_seed(0)
    m, n = 5, 3
    D = m + m * m
    head = RPNHead(m, n, "taylor", "identity", postprocess=["layer_norm"])
    reference = tinybig.module.rpn_head(
        m=m,
        n=n,
        channel_num=1,
        data_transformation_configs={
            "function_class": "tinybig.expansion.taylor_expansion",
            "function_parameters": {
                "name": "taylor_expansion",
                "d": 2,
                "postprocess_function_configs": [
                    {
                        "function_class": "torch.nn.LayerNorm",
                        "function_parameters": {"normalized_shape": D},
                    }
                ],
            },
        },
        parameter_fabrication_configs={
            "function_class": "tinybig.reconciliation.identity_reconciliation",
            "function_parameters": {"name": "identity_reconciliation"},
        },
        remainder_configs={
            "function_class": "tinybig.remainder.zero_remainder",
            "function_parameters": {"name": "zero_remainder"},
        },
    )
    with torch.no_grad():
        reference.w.copy_(head.w)
    x = torch.rand(7, m)
    out, expected = head(x), reference(x)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)
    (grad,) = torch.autograd.grad(out.square().sum(), head.w)
    (expected_grad,) = torch.autograd.grad(expected.square().sum(), reference.w)
    torch.testing.assert_close(grad, expected_grad, atol=1e-5, rtol=1e-5)
