"""The process state: the one plugin manager and the one registry it fills.

Everything else in rpnkit takes a :class:`~rpnkit.components.registry.Registry` or a
:class:`~rpnkit.plugins.manager.PluginManager` as an object; only this module keeps them for the
process. Both load on first use: :func:`get_registry` loads the plugins (builtins, then entry
points) and calls their registration hooks. :func:`reset_registry` forgets both, so the next
use loads everything again (tests use it after installing a plugin).
"""

from __future__ import annotations

import warnings
from typing import Any

from rpnkit.components.registry import Registry
from rpnkit.errors import PluginError
from rpnkit.plugins.manager import PluginManager, PluginRecord, PluginWarning

__all__ = [
    "get_plugin_manager",
    "get_registry",
    "loaded_registry",
    "register_plugin",
    "reset_registry",
]

_manager: PluginManager | None = None
_registry: Registry | None = None


def get_plugin_manager() -> PluginManager:
    """Return the process-wide plugin manager, loading plugins on first use."""
    global _manager
    if _manager is None:
        manager = PluginManager()
        manager.load_all()
        _manager = manager
    return _manager


def get_registry() -> Registry:
    """Return the process-wide registry, filled by every plugin on first use."""
    global _registry
    if _registry is None:
        registry = Registry()
        get_plugin_manager().populate(registry)
        _registry = registry
    return _registry


def loaded_registry() -> Registry | None:
    """Return the process-wide registry if it has been loaded, else ``None`` (loads nothing)."""
    return _registry


def reset_registry() -> None:
    """Forget the registry and the plugin manager, so the next use reloads every plugin."""
    global _manager, _registry
    _manager = None
    _registry = None


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object or module programmatically.

    Its registration hooks run at once if the process-wide registry is already loaded.

    Parameters
    ----------
    plugin
        A module, class or object with ``@rpnkit.hookimpl`` functions.
    name
        Registration name; defaults to the module/object name.

    Returns
    -------
    str
        The name it was registered under.

    Raises
    ------
    PluginError
        If the name is taken or pluggy rejects the plugin's hooks.
    """
    manager = get_plugin_manager()
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    if manager.has_plugin(name) or manager.is_blocked(name):
        raise PluginError(f"plugin name {name!r} is already registered or blocked")
    record = PluginRecord(name, "programmatic", getattr(plugin, "__name__", repr(plugin)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginWarning)
        added = manager.add_plugin(plugin, record)
    if not added:
        raise PluginError(f"plugin {name!r} was rejected: {manager.records[name].error}")
    if _registry is not None:
        manager.populate(_registry, only={name})
    return name
