"""The adapter class of every catalog entry, named after its torchmetrics class.

``rpnkit_torchmetrics.metrics.Accuracy`` adapts ``torchmetrics.Accuracy``, and so on for each
entry of :data:`~rpnkit_torchmetrics.catalog.CATALOG`; the registry's targets point here. A
class is made on first access (a module ``__getattr__``, PEP 562) and cached, so each name
always gives the same class and instances pickle. Its signature is the torchmetrics class's,
keyword-only, with ``task`` optional for classification metrics (inferred from the data).
"""

from __future__ import annotations

import functools
import inspect
from typing import Optional

import torchmetrics

from rpnkit_torchmetrics.adapter import ClassificationAdapter, RegressionAdapter, TorchmetricsMetric
from rpnkit_torchmetrics.catalog import CATALOG, CatalogEntry

_ENTRIES = {entry.class_name: entry for entry in CATALOG}

__all__ = ["adapter_class", *sorted(_ENTRIES)]


def __getattr__(name: str) -> type[TorchmetricsMetric]:
    """Return the adapter class of the catalog entry whose torchmetrics class is ``name``."""
    if name not in _ENTRIES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return adapter_class(_ENTRIES[name])


def __dir__() -> list[str]:
    """The module's names, the adapter classes included."""
    return sorted({*globals(), *_ENTRIES})


@functools.cache
def adapter_class(entry: CatalogEntry) -> type[TorchmetricsMetric]:
    """Return the rpnkit metric class that adapts the torchmetrics class of ``entry``.

    Parameters
    ----------
    entry
        A catalog entry.

    Returns
    -------
    type
        A :class:`~rpnkit_torchmetrics.adapter.ClassificationAdapter` or
        :class:`~rpnkit_torchmetrics.adapter.RegressionAdapter` subclass named
        ``entry.class_name``, with the registry ``name`` and ``higher_is_better`` of ``entry``.
    """
    base = ClassificationAdapter if entry.kind == "classification" else RegressionAdapter
    target = getattr(torchmetrics, entry.class_name)
    doc = (
        f"{entry.summary}: ``torchmetrics.{entry.class_name}`` as an rpnkit streaming metric.\n\n"
        f"The parameters are those of ``torchmetrics.{entry.class_name}``, keyword-only. See\n"
        f":class:`~{base.__module__}.{base.__qualname__}` for the inputs it takes."
    )
    namespace = {
        "__module__": __name__,
        "__qualname__": entry.class_name,
        "__doc__": doc,
        "__signature__": _keyword_signature(target, entry.kind == "classification"),
        "name": entry.name,
        "higher_is_better": entry.higher_is_better,
        "entry": entry,
        "torchmetrics_class": target,
    }
    return type(entry.class_name, (base,), namespace)


def _keyword_signature(target: type, optional_task: bool) -> inspect.Signature:
    """The signature of ``target`` with keyword-only parameters (and ``task=None``)."""
    parameters = []
    for parameter in inspect.signature(target).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            parameters.append(parameter)
            continue
        if optional_task and parameter.name == "task":
            parameter = parameter.replace(default=None, annotation=Optional[parameter.annotation])  # noqa: UP045
        parameters.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
    return inspect.Signature(parameters)
