"""The learner's arguments turned into objects, checked once with one-line errors.

Components (``loss``, ``optimizer``, ``lr_scheduler``) arrive as an instance, a class, a
registry name or a config mapping (rpnkit or tinybig form) and go through one resolve path,
:func:`resolve_component` (tinybig's form translated, then
:meth:`rpnkit.components.registry.Registry.resolve`), which the runner uses too; metrics, loaders and row selections
are checked here too, so :meth:`~rpnkit.learner.BackwardLearner.train` and
:meth:`~rpnkit.learner.BackwardLearner.test` share every check.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias, cast

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.components.spec import ComponentSpec
from rpnkit.errors import ConfigError
from rpnkit.learner.context import LossFn
from rpnkit.metrics import Metric
from rpnkit.plugins.state import get_registry
from rpnkit.tinybig.reading import rpnkit_form

__all__ = [
    "MetricSpec",
    "check_callbacks",
    "check_flag",
    "check_loader",
    "check_monitor",
    "check_resume",
    "check_step_checkpoints",
    "loader_length",
    "one_of",
    "resolve_component",
    "resolve_loss",
    "resolve_metrics",
    "rows",
    "split_loaders",
]

#: What ``metric=`` accepts: a metric, a registry name, or a list of them (headline first).
MetricSpec: TypeAlias = Metric | str | Sequence[Metric | str] | None


def one_of(value: Any, configs: Any, argument: str) -> tuple[Any, str]:
    """The component given as ``argument`` or as ``argument_configs``, and where it was given.

    Raises
    ------
    ConfigError
        If both are given, or ``argument_configs`` is not a mapping.
    """
    if value is not None and configs is not None:
        raise ConfigError(
            f"{argument} and {argument}_configs are both given; give one of them "
            f"({argument}: an instance, class or name; {argument}_configs: a config dict)"
        )
    if configs is None:
        return value, argument
    if not isinstance(configs, Mapping):
        raise ConfigError(
            f"{argument}_configs must be a dict such as {{'name': ..., 'parameters': {{...}}}} "
            f"or {{'{argument}_class': ..., '{argument}_parameters': {{...}}}}, got "
            f"{type(configs).__name__}"
        )
    return configs, f"{argument}_configs"


def resolve_component(group: str, spec: Any, where: str) -> Any:
    """Turn a component into an instance, a :class:`ComponentSpec` or ``None``.

    This is the learner's one entry for its components: tinybig's ``*_class`` form is
    translated here (the learner keeps tinybig's API), then the registry resolves the name;
    a ComponentSpec is already resolved and kept as it is. Names are looked up now, so an
    unknown name fails at construction with suggestions.

    Parameters
    ----------
    group
        The registry group (``"optimizer"``).
    spec
        The component, in any form the learner takes.
    where
        The argument name or config path, for messages.
    """
    if spec is None or isinstance(spec, ComponentSpec):
        return spec
    resolved = get_registry().resolve(group, rpnkit_form(group, spec, where), where)
    function = isinstance(resolved, ComponentSpec) and not inspect.isclass(resolved.target)
    if function and not resolved.parameters:
        return resolved.target  # a function given by name: the component itself
    return resolved


def resolve_loss(loss: Any, where: str = "loss") -> LossFn | None:
    """The loss function of ``loss=``: built now, and callable."""
    resolved = resolve_component("loss", loss, where)
    if isinstance(resolved, ComponentSpec):
        resolved = resolved.build()
    if resolved is not None and not callable(resolved):
        raise ConfigError(
            f"{where} must be callable as loss(output, labels), got {type(resolved).__name__}"
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
        if not item.scalar:
            raise ConfigError(
                f"{where}={item.name!r} is a matrix, not a number a history column can hold; "
                "draw it with `rpnkit plot --confusion RUN` after training"
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
    data_loader: Any, test_check: bool, test_idx: object, val_idx: object = None
) -> tuple[Iterable[Any], Iterable[Any] | None, Iterable[Any] | None]:
    """Return the train, validation and test loaders (``None`` for a pass that does not run).

    A mapping may hold ``"val_loader"`` beside ``"train_loader"`` and ``"test_loader"``; with
    ``val_idx`` (or ``test_idx``) and no such loader, the training loader is also the
    validation (or test) loader: one full batch, rows picked by the index.
    """
    if isinstance(data_loader, Mapping):
        if "train_loader" not in data_loader:
            raise ConfigError(
                f"data_loader has no 'train_loader' (keys: {sorted(map(str, data_loader))}); "
                "give {'train_loader': ..., 'test_loader': ...} or a single loader"
            )
        train, test = data_loader["train_loader"], data_loader.get("test_loader")
        val = data_loader.get("val_loader")
    elif isinstance(data_loader, Iterable) and not isinstance(data_loader, (str, bytes)):
        train, test, val = data_loader, None, None
    else:
        raise ConfigError(
            "data_loader must be a dict with 'train_loader' (and 'test_loader') or a single "
            f"loader, got {type(data_loader).__name__}"
        )
    if test is None and test_idx is not None:
        test = train  # graph style: one full batch, test rows picked by test_idx
    if val is None and val_idx is not None:
        val = train
    for name, loader in (("train_loader", train), ("val_loader", val), ("test_loader", test)):
        if loader is not None:
            check_loader(loader, f"data_loader['{name}']")
    return train, val, test if test_check else None


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
    """``train_idx``/``val_idx``/``test_idx`` as a 1-D int64 tensor on ``device`` (masks become indices)."""
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


# -- the learner's other settings ------------------------------------------------------------
def check_step_checkpoints(every_n_steps: object, checkpoint_dir: object) -> int | None:
    """``checkpoint_every_n_steps``: ``None`` or a positive integer, with a ``checkpoint_dir``."""
    if every_n_steps is None:
        return None
    steps = positive_int(every_n_steps, "checkpoint_every_n_steps")
    if checkpoint_dir is None:
        raise ConfigError(
            f"checkpoint_every_n_steps={steps} needs checkpoint_dir, the folder to write the "
            "checkpoints into"
        )
    return steps


def check_resume(resume: object) -> str | os.PathLike[str] | None:
    """``resume``: ``None`` or a checkpoint path."""
    if resume is not None and not isinstance(resume, (str, os.PathLike)):
        raise ConfigError(
            f"resume must be a checkpoint path (str or os.PathLike), got {type(resume).__name__}"
        )
    return resume


def check_monitor(monitor: object) -> str:
    """``monitor``: a history column name or ``"auto"``."""
    if not isinstance(monitor, str):
        raise ConfigError(f"monitor must be a history column name or 'auto', got {monitor!r}")
    return monitor


def check_callbacks(callbacks: object) -> list[object]:
    """``callbacks``: a list of plugin objects, copied."""
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise ConfigError(
            "callbacks must be a list of plugin objects with @rpnkit.hookimpl methods, got "
            f"{type(callbacks).__name__}"
        )
    return list(callbacks)


def check_flag(value: object, argument: str) -> bool:
    """A setting that must be ``True`` or ``False`` (not merely truthy)."""
    if not isinstance(value, bool):
        raise ConfigError(f"{argument} must be true or false, got {value!r}")
    return value
