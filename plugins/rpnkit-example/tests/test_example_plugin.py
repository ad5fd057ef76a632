"""The example plugin works through rpnkit's registry once installed."""

from __future__ import annotations

import torch

from rpnkit import build, get_registry


def test_components_are_registered_by_the_entry_point() -> None:
    registry = get_registry()
    assert registry.get_info("loss", "charbonnier").plugin == "example"
    assert registry.get_info("metric", "max_error").plugin == "example"
    assert registry.has_group("initializer")


def test_charbonnier_loss_is_smooth_l1() -> None:
    loss = build("loss", {"name": "charbonnier", "parameters": {"eps": 1e-6}})
    pred, target = torch.tensor([1.0, -2.0]), torch.tensor([0.0, 0.0])
    assert torch.allclose(loss(pred, target), torch.tensor(1.5), atol=1e-5)


def test_max_error_streams() -> None:
    metric = build("metric", "max_error")
    metric.update(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.0]))
    metric.update(torch.tensor([0.0]), torch.tensor([-2.0]))
    assert float(metric.compute()) == 2.0
    metric.reset()
    assert float(metric.compute()) == 0.0
