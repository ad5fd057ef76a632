"""The plugin module named by the ``rpnkit`` entry point ``torchmetrics``.

It registers every entry of :data:`~rpnkit_torchmetrics.catalog.CATALOG` in the ``metric``
group under its ``tm.`` name. Targets are ``"module:attr"`` strings into
:mod:`rpnkit_torchmetrics.metrics`, so neither torchmetrics nor torch is imported until a
metric is built or shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit import hookimpl
from rpnkit_torchmetrics.catalog import CATALOG

if TYPE_CHECKING:
    from rpnkit import Registry


@hookimpl
def rpnkit_add_components(registry: Registry) -> None:
    """Register the torchmetrics metrics as ``tm.<name>`` in the ``metric`` group."""
    for entry in CATALOG:
        registry.register(
            "metric",
            entry.name,
            f"rpnkit_torchmetrics.metrics:{entry.class_name}",
            summary=entry.summary,
            aliases=entry.aliases,
        )
