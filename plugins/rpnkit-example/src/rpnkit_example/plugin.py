"""The plugin module named by the ``rpnkit`` entry point.

It imports nothing heavy: targets are ``"module:attr"`` strings loaded when built.
"""

from __future__ import annotations

from typing import Any

from rpnkit import hookimpl


@hookimpl
def rpnkit_add_groups(registry: Any) -> None:
    """Declare a group of this plugin's own."""
    registry.add_group("initializer", "Weight initialisation functions (example plugin)")


@hookimpl
def rpnkit_add_components(registry: Any) -> None:
    """Register the example loss, metric and initializer."""
    registry.register(
        "loss",
        "charbonnier",
        "rpnkit_example.losses:CharbonnierLoss",
        summary="Charbonnier loss sqrt((y - t)^2 + eps^2), a smooth L1",
        aliases=("pseudo_huber_l1",),
    )
    registry.register(
        "metric",
        "max_error",
        "rpnkit_example.metrics:MaxError",
        summary="Largest absolute error over all samples seen",
    )
    registry.register(
        "initializer",
        "orthogonal",
        "torch.nn.init:orthogonal_",
        summary="Fills a tensor with a (semi-)orthogonal matrix",
    )
