"""``loggers=`` turned into plugin objects: instances as they are, names through the registry.

The learner's ``loggers`` argument and a config's ``output.loggers`` list go through
:func:`resolve_loggers`: a registry name (``"tensorboard"``), a ``{name, parameters}``
mapping, a class or an instance. A logger built here that takes a ``directory`` and was not
given one writes under the ``directory`` passed in (the run's ``output.dir``). Anything that
would listen to no training hook is refused, so no logger is dropped silently.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rpnkit.components.spec import ComponentSpec, accepted_parameters
from rpnkit.errors import ConfigError
from rpnkit.plugins.state import get_registry

__all__ = ["TRAINING_HOOKS", "resolve_loggers", "training_hooks"]

#: The hooks a logger may implement.
TRAINING_HOOKS: tuple[str, ...] = (
    "rpnkit_train_start",
    "rpnkit_epoch_start",
    "rpnkit_progress",
    "rpnkit_batch_end",
    "rpnkit_epoch_end",
    "rpnkit_train_end",
)


def training_hooks(plugin: object) -> list[str]:
    """The training hooks ``plugin`` implements with ``@rpnkit.hookimpl``."""
    return [
        name
        for name in TRAINING_HOOKS
        if getattr(getattr(plugin, name, None), "rpnkit_impl", None) is not None
    ]


def resolve_loggers(
    loggers: Sequence[Any],
    *,
    directory: str | os.PathLike[str] | None = None,
    where: str = "loggers",
) -> list[object]:
    """Build the loggers of ``loggers=`` (or ``output.loggers``).

    Parameters
    ----------
    loggers
        A list of logger names, ``{name, parameters}`` mappings, classes or instances.
    directory
        Where loggers built here write when their parameters do not say (``None``: their own
        default).
    where
        How messages name the list.

    Returns
    -------
    list
        The logger objects, in order.

    Raises
    ------
    ConfigError
        For a value that is not a list, an unknown name (with close matches), parameters the
        logger does not take, a logger whose optional dependency is missing, or an object that
        implements no training hook.
    """
    if isinstance(loggers, (str, bytes, Mapping)) or not isinstance(loggers, Sequence):
        raise ConfigError(
            f"{where} must be a list of logger names, configs or objects (e.g. ['tensorboard', "
            f"{{'name': 'csv', 'parameters': {{...}}}}]), got {type(loggers).__name__}"
        )
    built: list[object] = []
    for i, item in enumerate(loggers):
        label = f"{where}[{i}]"
        logger = item
        if isinstance(item, (str, Mapping)) or inspect.isclass(item):
            resolved = get_registry().resolve("logger", item, label)
            logger = (
                resolved.build(**_defaults(resolved, directory))
                if isinstance(resolved, ComponentSpec)
                else resolved
            )
        if not training_hooks(logger):
            raise ConfigError(
                f"{label}: {type(logger).__name__} implements no training hook; a logger needs "
                f"methods marked @rpnkit.hookimpl among {', '.join(TRAINING_HOOKS)}"
            )
        built.append(logger)
    return built


def _defaults(spec: ComponentSpec, directory: str | os.PathLike[str] | None) -> dict[str, Any]:
    if directory is None:
        return {}
    given = spec.parameters.get("directory")
    if isinstance(given, str) and not Path(given).is_absolute():
        return {"directory": str(Path(directory) / given)}  # a relative one: inside the run
    if "directory" in spec.parameters:
        return {}
    if "directory" not in (accepted_parameters(spec.target) or []):
        return {}
    return {"directory": directory}
