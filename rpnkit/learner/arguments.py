"""The learner's arguments turned into objects, checked once with one-line errors.

Components (``loss``, ``optimizer``, ``lr_scheduler``) arrive as an instance, a class, a
registry name or a config mapping (rpnkit or tinybig form) and go through the registry's one
resolve path (:meth:`rpnkit.components.registry.Registry.resolve`); metrics, loaders and row selections
are checked here too, so :meth:`~rpnkit.learner.BackwardLearner.train` and
:meth:`~rpnkit.learner.BackwardLearner.test` share every check.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, cast

import torch
from torch import Tensor

from rpnkit.components.spec import ComponentSpec
from rpnkit.errors import ConfigError
from rpnkit.learner.context import LossFn
from rpnkit.metrics import Metric
from rpnkit.plugins.state import get_registry

__all__ = [
    "MetricSpec",
    "check_loader",
    "loader_length",
    "resolve_component",
    "resolve_loss",
    "resolve_metrics",
    "rows",
    "split_loaders",
]

#: What ``metric=`` accepts: a metric, a registry name, or a list of them (headline first).
MetricSpec: TypeAlias = Metric | str | Sequence[Metric | str] | None


def resolve_component(group: str, value: Any, configs: Any, argument: str) -> Any:
    """Turn ``argument`` or ``argument_configs`` into an instance, a ComponentSpec or ``None``.

    Names are looked up now, so an unknown name fails at construction with suggestions.
    """
    if value is not None and configs is not None:
        raise ConfigError(
            f"{argument} and {argument}_configs are both given; give one of them "
            f"({argument}: an instance, class or name; {argument}_configs: a config dict)"
        )
    if configs is not None and not isinstance(configs, Mapping):
        raise ConfigError(
            f"{argument}_configs must be a dict such as {{'name': ..., 'parameters': {{...}}}} "
            f"or {{'{group}_class': ..., '{group}_parameters': {{...}}}}, got "
            f"{type(configs).__name__}"
        )
    spec = value if value is not None else configs
    if spec is None:
        return None
    where = f"{argument}_configs" if configs is not None else argument
    resolved = get_registry().resolve(group, spec, where)
    function = isinstance(resolved, ComponentSpec) and not inspect.isclass(resolved.target)
    if function and not resolved.parameters:
        return resolved.target  # a function given by name: the component itself
    return resolved


def resolve_loss(loss: Any, configs: Any) -> LossFn | None:
    """The loss function of ``loss=`` / ``loss_configs=``: built now, and callable."""
    resolved = resolve_component("loss", loss, configs, "loss")
    if isinstance(resolved, ComponentSpec):
        resolved = resolved.build()
    if resolved is not None and not callable(resolved):
        raise ConfigError(
            f"loss must be callable as loss(output, labels), got {type(resolved).__name__}"
        )
    return cast("LossFn | None", resolved)


def resolve_metrics(metric: MetricSpec) -> list[Metric]:
    """Build the metrics of ``metric=``: instances as they are, names from the registry."""
    if metric is None:
        return []
    listed = isinstance(metric, (list, tuple))
    items = list(cast(Sequence[Any], metric)) if listed else [metric]
    if not items:
        raise ConfigError("metric=[] is empty; give None, a metric, a name or a non-empty list")
    metrics: list[Metric] = []
    for i, item in enumerate(items):
        where = f"metric[{i}]" if listed else "metric"
        if isinstance(item, (str, Mapping)) or (inspect.isclass(item) and issubclass(item, Metric)):
            item = get_registry().build("metric", item)
        if not isinstance(item, Metric):
            raise ConfigError(
                f"{where} must be an rpnkit.metrics.Metric, a registry name such as 'accuracy' "
                f"or a list of them; got {type(item).__name__}"
            )
        metrics.append(item)
    names = [m.name for m in metrics]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"metric names must be unique, {repeated} appear more than once; history columns "
            "are keyed by name"
        )
    return metrics


def split_loaders(
    data_loader: Any, test_check: bool, test_idx: object
) -> tuple[Iterable[Any], Iterable[Any] | None]:
    """Return the train loader and the test loader (``None`` when no test pass runs)."""
    if isinstance(data_loader, Mapping):
        if "train_loader" not in data_loader:
            raise ConfigError(
                f"data_loader has no 'train_loader' (keys: {sorted(map(str, data_loader))}); "
                "give {'train_loader': ..., 'test_loader': ...} or a single loader"
            )
        train, test = data_loader["train_loader"], data_loader.get("test_loader")
    elif isinstance(data_loader, Iterable) and not isinstance(data_loader, (str, bytes)):
        train, test = data_loader, None
    else:
        raise ConfigError(
            "data_loader must be a dict with 'train_loader' (and 'test_loader') or a single "
            f"loader, got {type(data_loader).__name__}"
        )
    if test is None and test_idx is not None:
        test = train  # graph style: one full batch, test rows picked by test_idx
    for name, loader in (("train_loader", train), ("test_loader", test)):
        if loader is not None:
            check_loader(loader, f"data_loader['{name}']")
    return train, test if test_check else None


def check_loader(loader: object, argument: str) -> None:
    """Raise unless ``loader`` is a non-empty iterable of batches."""
    if not isinstance(loader, Iterable) or isinstance(loader, (str, bytes, Mapping)):
        raise ConfigError(
            f"{argument} must be an iterable of (features, labels) batches such as a "
            f"DataLoader, got {type(loader).__name__}"
        )
    if hasattr(loader, "__len__") and len(cast(Any, loader)) == 0:
        raise ConfigError(f"{argument} is empty: it yields no batches; give it some data")


def loader_length(loader: Iterable[Any]) -> int | None:
    """The number of batches of ``loader``, or ``None`` when it has no length."""
    try:
        return len(cast(Any, loader))
    except TypeError:
        return None


def rows(index: object, device: torch.device, argument: str) -> Tensor | None:
    """``train_idx``/``test_idx`` as a 1-D int64 tensor on ``device`` (masks become indices)."""
    if index is None:
        return None
    try:
        selected = torch.as_tensor(index)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"{argument} must be a 1-D tensor, array or list of row indices or a boolean mask, "
            f"got {type(index).__name__}"
        ) from None
    if selected.ndim != 1 or not (selected.dtype == torch.bool or not selected.is_floating_point()):
        raise ConfigError(
            f"{argument} must be 1-D integer indices or a boolean mask, got a {selected.dtype} "
            f"tensor of shape {tuple(selected.shape)}"
        )
    if selected.dtype == torch.bool:
        selected = selected.nonzero().squeeze(1)
    return selected.to(device=device, dtype=torch.long)
