"""Reused gradient storage of the fused Taylor kernel: same numbers, never a gradient in use."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from rpnkit.learner import BackwardLearner
from rpnkit.rpn import RPNHead, gradient_buffer
from rpnkit.rpn.gradient_buffer import held_bytes, release_gradient_buffers

M, N = 12, 5


@pytest.fixture
def reuse_every_size(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Reuse the storage of gradients of any size (the default starts at 32 MiB)."""
    release_gradient_buffers()
    monkeypatch.setattr(gradient_buffer, "REUSE_BYTES", 0)
    monkeypatch.delenv(gradient_buffer.HUGE_PAGES, raising=False)  # reuse is for 4 KiB pages
    yield
    release_gradient_buffers()


def _head(layer_norm: bool, seed: int = 0) -> RPNHead:
    torch.manual_seed(seed)
    return RPNHead(
        M,
        N,
        expansion="taylor",
        reconciliation="identity",
        postprocess=["layer_norm"] if layer_norm else None,
    )


def _backward(head: nn.Module, x: torch.Tensor) -> None:
    head(x).square().mean().backward()


@pytest.mark.parametrize("layer_norm", [False, True])
def test_a_free_gradient_storage_is_reused_with_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch, layer_norm: bool
) -> None:
    xs = torch.randn(4, 8, M).unbind(0)
    reference = _head(layer_norm)
    expected = [torch.autograd.grad(reference(x).square().mean(), reference.w)[0] for x in xs]
    release_gradient_buffers()
    monkeypatch.setattr(gradient_buffer, "REUSE_BYTES", 0)
    monkeypatch.delenv(gradient_buffer.HUGE_PAGES, raising=False)
    head = _head(layer_norm)
    storages = set()
    for x, grad in zip(xs, expected, strict=True):
        head.zero_grad(set_to_none=True)
        _backward(head, x)
        storages.add(head.w.grad.data_ptr())
        assert torch.equal(head.w.grad, grad)
    assert len(storages) == 1
    assert held_bytes() == head.w.numel() * head.w.element_size()
    release_gradient_buffers()


def test_a_gradient_someone_keeps_is_never_overwritten(reuse_every_size: None) -> None:
    head = _head(True)
    x1, x2 = torch.randn(2, 8, M).unbind(0)
    _backward(head, x1)
    kept, row = head.w.grad, head.w.grad[0]  # the gradient and a view of it
    values = kept.clone()
    head.zero_grad(set_to_none=True)
    _backward(head, x2)
    assert torch.equal(kept, values) and torch.equal(row, values[0])
    assert head.w.grad.data_ptr() != kept.data_ptr()
    (returned,) = torch.autograd.grad(head(x1).square().mean(), head.w)  # held by the caller
    assert torch.equal(returned, values)
    head.zero_grad(set_to_none=True)
    _backward(head, x2)
    assert torch.equal(returned, values)


def test_gradients_kept_between_backward_passes_accumulate(reuse_every_size: None) -> None:
    head, reference = _head(False), _head(False)
    x = torch.randn(8, M)
    for module in (head, reference):
        _backward(module, x)
        _backward(module, x)
    assert torch.equal(head.w.grad, reference.w.grad)
    (once,) = torch.autograd.grad(head(x).square().mean(), head.w)
    assert torch.allclose(head.w.grad, 2 * once)


def test_storage_is_dropped_with_its_weight(reuse_every_size: None) -> None:
    head = _head(True)
    _backward(head, torch.randn(8, M))
    assert held_bytes() > 0
    del head
    gc.collect()
    assert held_bytes() == 0


def test_small_gradients_are_allocated_as_usual() -> None:
    release_gradient_buffers()
    head = _head(True)  # 5 × 156 numbers: far below REUSE_BYTES
    _backward(head, torch.randn(8, M))
    assert held_bytes() == 0


def test_training_with_reused_storage_ends_with_the_same_weights(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rpnkit import build

    def train() -> dict[str, torch.Tensor]:
        release_gradient_buffers()
        torch.manual_seed(0)
        data = build("dataset", "iris", batch_size=16)
        model = build(
            "model",
            "rpn",
            layers=[
                {"m": 4, "n": 6, "expansion": "taylor", "postprocess": ["layer_norm"]},
                {"m": 6, "n": 3, "expansion": "taylor"},
            ],
        )
        learner = BackwardLearner(n_epochs=3, seed=0, verbose=False)
        learner.train(model, data)
        kept.append(held_bytes())
        return {k: v.clone() for k, v in model.state_dict().items()}

    kept: list[int] = []
    monkeypatch.delenv(gradient_buffer.HUGE_PAGES, raising=False)
    plain = train()
    monkeypatch.setattr(gradient_buffer, "REUSE_BYTES", 0)
    reused = train()
    monkeypatch.setenv(gradient_buffer.HUGE_PAGES, "1")  # what the rpnkit command sets
    huge_pages = train()
    release_gradient_buffers()
    assert kept == [0, kept[1], 0] and kept[1] > 0
    for weights in (reused, huge_pages):
        assert plain.keys() == weights.keys()
        assert all(torch.equal(plain[k], weights[k]) for k in plain)


def test_with_huge_pages_every_gradient_is_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under ``THP_MEM_ALLOC_ENABLE=1`` (the rpnkit command's default) nothing is kept, and the
    gradients are the ones the reused storage gives."""
    release_gradient_buffers()
    monkeypatch.setattr(gradient_buffer, "REUSE_BYTES", 0)
    xs = torch.randn(3, 8, M).unbind(0)
    grads: dict[str, list[torch.Tensor]] = {}
    for setting in ("0", "1"):
        monkeypatch.setenv(gradient_buffer.HUGE_PAGES, setting)
        head = _head(True)
        grads[setting] = []
        for x in xs:
            head.zero_grad(set_to_none=True)
            _backward(head, x)
            grads[setting].append(head.w.grad)
        assert (held_bytes() > 0) is (setting == "0")
        del head
        gc.collect()
    release_gradient_buffers()
    assert all(torch.equal(a, b) for a, b in zip(grads["0"], grads["1"], strict=True))
