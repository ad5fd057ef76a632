"""What the registry stores: groups, component entries, and how a lazy target is imported.

A :class:`ComponentInfo` names one component; its target is a ``"module:attr"`` string that
is imported only when the component is built or shown (:meth:`ComponentInfo.load`), so
listing never imports torch.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Any

from rpnkit.errors import ComponentNotFoundError

__all__ = [
    "IMPORT_PATH",
    "NAME_RE",
    "PROGRAMMATIC",
    "ComponentInfo",
    "GroupInfo",
    "import_target",
    "normalize_name",
]

#: Plugin name recorded for components registered outside any plugin hook.
PROGRAMMATIC = "<programmatic>"
#: Plugin name recorded for components resolved from an unregistered dotted path.
IMPORT_PATH = "<import path>"

NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


def normalize_name(name: str) -> str:
    """Return the lookup key of a component or group name.

    Lookup is case-insensitive and treats ``-`` and spaces like ``_``.
    """
    return re.sub(r"[\s\-]+", "_", name.strip()).lower()


@dataclass(frozen=True)
class GroupInfo:
    """A registry group.

    Attributes
    ----------
    name
        Group name, lower snake case (``"optimizer"``).
    summary
        One-line description shown by ``rpnkit list``.
    plugin
        Name of the plugin that declared the group.
    kinds
        ``"module:attr"`` paths of the base classes a dotted path in this group may name
        (``("torch.optim:Optimizer",)``); empty: only registered components.
    path_adapter
        ``"module:attr"`` of a function called with the object an unregistered dotted path
        names and that path; it returns the factory to build with (the ``dataset`` group
        wraps a ``torch.utils.data.Dataset`` class into a bundle factory). ``None``: the
        object itself is the factory.
    """

    name: str
    summary: str = ""
    plugin: str = PROGRAMMATIC
    kinds: tuple[str, ...] = ()
    path_adapter: str | None = None


@dataclass(frozen=True)
class ComponentInfo:
    """One named component.

    Attributes
    ----------
    group
        The group it belongs to.
    name
        Canonical name, lower snake case.
    target
        A lazy ``"module:attr"`` string, or the object itself.
    summary
        One-line description.
    aliases
        Other names it answers to (looked up case-insensitively).
    plugin
        Name of the plugin that registered it.
    replaces
        Name of the plugin whose entry of the same name this one replaced
        (``register(..., override=True)``), or ``None``.
    """

    group: str
    name: str
    target: Any
    summary: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str = PROGRAMMATIC
    replaces: str | None = None

    @property
    def target_path(self) -> str:
        """The target as a ``"module:attr"`` string (for display)."""
        if isinstance(self.target, str):
            return self.target
        module = getattr(self.target, "__module__", None) or "?"
        qualname = getattr(self.target, "__qualname__", None) or type(self.target).__qualname__
        return f"{module}:{qualname}"

    def load(self) -> Any:
        """Import (once; Python caches modules) and return the target object.

        Raises
        ------
        ComponentNotFoundError
            If the target cannot be imported (e.g. an optional dependency is missing or the
            installed torch is too old to have it).
        """
        if not isinstance(self.target, str):
            return self.target
        try:
            return import_target(self.target)
        except (ImportError, AttributeError) as exc:
            raise ComponentNotFoundError(
                f"{self.group} {self.name!r} (plugin {self.plugin!r}) points to "
                f"{self.target!r}, which cannot be imported: {exc}"
            ) from exc


def import_target(path: str) -> Any:
    """Import ``"module:attr"`` or ``"package.module.attr"`` and return the attribute.

    Raises
    ------
    ImportError, AttributeError
        If neither the module nor the attribute exists.
    """
    if ":" in path:
        module_name, _, attr = path.partition(":")
    else:
        module_name, _, attr = path.rpartition(".")
        if not module_name:
            raise ImportError(f"{path!r} is not a dotted path")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
