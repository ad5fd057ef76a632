"""The component registry: named groups of lazily imported components.

A :class:`Registry` holds *groups* (``loss``, ``optimizer``, ``expansion``, ...) of
:class:`ComponentInfo` entries. Plugins fill it through the ``rpnkit_add_groups`` and
``rpnkit_add_components`` hooks (see :mod:`rpnkit.hookspecs`); rpnkit's own builtins use the
same hooks. Targets are ``"module:attr"`` strings imported only when a component is built or
shown, so listing never imports torch.

There is one lookup path for every way a component can be given: :meth:`Registry.build`
accepts a name (canonical, alias, case-insensitive), an importable dotted path, a class, an
instance, or a config dict in rpnkit form (``{"name": ..., "parameters": {...}}``) or tinybig
form (``{"optimizer_class": ..., "optimizer_parameters": {...}}``).
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import inspect
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rpnkit.errors import (
    ComponentNotFoundError,
    ConfigError,
    DuplicateComponentError,
    GroupNotFoundError,
    did_you_mean,
)

__all__ = [
    "PROGRAMMATIC",
    "ComponentInfo",
    "GroupInfo",
    "Registry",
    "build",
    "get_registry",
    "normalize_name",
    "split_spec",
]

#: Plugin name recorded for components registered outside any plugin hook.
PROGRAMMATIC = "<programmatic>"
#: Plugin name recorded for components resolved from an unregistered dotted path.
IMPORT_PATH = "<import path>"

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")


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
    path_adapter
        ``"module:attr"`` of a function called with the object an unregistered dotted path
        names and that path; it returns the factory to build with, or raises for objects the
        group does not accept. ``None``: the object itself is the factory.
    """

    name: str
    summary: str = ""
    plugin: str = PROGRAMMATIC
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
    """

    group: str
    name: str
    target: Any
    summary: str = ""
    aliases: tuple[str, ...] = ()
    plugin: str = PROGRAMMATIC

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


def _path_key(path: str) -> str:
    """Normalise ``a.b:C`` and ``a.b.C`` to one comparable key."""
    return path.replace(":", ".").lower()


def _looks_like_path(name: str) -> bool:
    return ":" in name or ("." in name and not name.startswith("."))


@dataclass
class _Group:
    info: GroupInfo
    entries: dict[str, ComponentInfo] = field(default_factory=dict)
    lookup: dict[str, str] = field(default_factory=dict)  # name or alias key -> canonical


class Registry:
    """Named groups of components, filled by plugins.

    Examples
    --------
    >>> reg = Registry()
    >>> reg.add_group("activation", summary="Activation functions")
    >>> _ = reg.register("activation", "relu", "torch.nn:ReLU", aliases=("rectifier",))
    >>> reg.get_info("activation", "ReLU").target
    'torch.nn:ReLU'
    """

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self._current_plugin = PROGRAMMATIC

    # -- plugin bookkeeping ---------------------------------------------------------------
    @contextlib.contextmanager
    def registering_as(self, plugin: str) -> Iterator[None]:
        """Attribute registrations in the block to ``plugin``; undo them all if it raises.

        The plugin manager wraps every hook call in this, so a plugin that fails half-way
        leaves nothing behind.
        """
        previous = self._current_plugin
        snapshot = {
            key: _Group(g.info, dict(g.entries), dict(g.lookup)) for key, g in self._groups.items()
        }
        self._current_plugin = plugin
        try:
            yield
        except BaseException:
            self._groups = snapshot
            raise
        finally:
            self._current_plugin = previous

    # -- groups -----------------------------------------------------------------------------
    def add_group(
        self, name: str, summary: str = "", *, path_adapter: str | None = None
    ) -> GroupInfo:
        """Declare a group (idempotent; the first declaration's summary wins).

        Parameters
        ----------
        name
            Lower snake case group name.
        summary
            One-line description.
        path_adapter
            See :attr:`GroupInfo.path_adapter`.
        """
        key = normalize_name(name)
        if not _NAME_RE.match(key):
            raise ConfigError(f"group name {name!r} is not lower snake case (e.g. 'optimizer')")
        if key not in self._groups:
            info = GroupInfo(key, summary, self._current_plugin, path_adapter)
            self._groups[key] = _Group(info)
        return self._groups[key].info

    def groups(self) -> list[GroupInfo]:
        """All groups, in declaration order."""
        return [g.info for g in self._groups.values()]

    def group_info(self, name: str) -> GroupInfo:
        """Return the :class:`GroupInfo` of ``name`` (raises for unknown groups)."""
        return self._group(name).info

    def has_group(self, name: str) -> bool:
        """Whether ``name`` is a declared group."""
        return normalize_name(name) in self._groups

    def _group(self, name: str) -> _Group:
        key = normalize_name(name)
        try:
            return self._groups[key]
        except KeyError:
            raise GroupNotFoundError(
                f"unknown component group {name!r}{did_you_mean(key, self._groups)}; "
                f"valid groups: {', '.join(self._groups) or 'none'}"
            ) from None

    # -- registration -----------------------------------------------------------------------
    def register(
        self,
        group: str,
        name: str,
        target: Any,
        *,
        summary: str = "",
        aliases: Iterable[str] = (),
        override: bool = False,
    ) -> ComponentInfo:
        """Register a component.

        Parameters
        ----------
        group
            An existing group (declare new ones with :meth:`add_group`).
        name
            Canonical name, lower snake case.
        target
            ``"module:attr"`` string (imported lazily) or the object itself.
        summary
            One-line description; for objects it defaults to the first docstring line.
        aliases
            Other names (case-insensitive).
        override
            Replace an existing entry with the same name instead of raising.

        Returns
        -------
        ComponentInfo
            The new entry.

        Raises
        ------
        DuplicateComponentError
            If the name or an alias is taken in the group and ``override`` is false.
        """
        grp = self._group(group)
        key = normalize_name(name)
        if not _NAME_RE.match(key):
            raise ConfigError(
                f"component name {name!r} in group {grp.info.name!r} is not lower snake case"
            )
        if not isinstance(target, str) and not summary:
            summary = (inspect.getdoc(target) or "").strip().split("\n", 1)[0]
        alias_keys = tuple(dict.fromkeys(normalize_name(a) for a in aliases if a))
        alias_keys = tuple(a for a in alias_keys if a != key)
        info = ComponentInfo(
            grp.info.name, key, target, summary, alias_keys, plugin=self._current_plugin
        )
        taken = [k for k in (key, *alias_keys) if k in grp.lookup]
        if taken and not override:
            existing = grp.entries[grp.lookup[taken[0]]]
            raise DuplicateComponentError(
                f"{grp.info.name} {taken[0]!r} is registered by plugin {existing.plugin!r} and "
                f"again by plugin {info.plugin!r}; pass override=True to replace it"
            )
        if key in grp.entries:
            self._drop(grp, key)
        grp.entries[key] = info
        for lookup_key in (key, *alias_keys):
            grp.lookup[lookup_key] = key
        return info

    @staticmethod
    def _drop(grp: _Group, key: str) -> None:
        grp.entries.pop(key)
        for alias, owner in list(grp.lookup.items()):
            if owner == key:
                del grp.lookup[alias]

    # -- lookup -----------------------------------------------------------------------------
    def entries(
        self,
        group: str | None = None,
        *,
        pattern: str | None = None,
        plugin: str | None = None,
    ) -> list[ComponentInfo]:
        """List entries, optionally filtered.

        Parameters
        ----------
        group
            Restrict to one group.
        pattern
            Shell-style wildcard on the canonical name (``"adam*"``).
        plugin
            Restrict to entries registered by this plugin.
        """
        grps = [self._group(group)] if group is not None else list(self._groups.values())
        out = [e for g in grps for e in g.entries.values()]
        if pattern is not None:
            out = [e for e in out if fnmatch.fnmatchcase(e.name, normalize_name(pattern))]
        if plugin is not None:
            out = [e for e in out if e.plugin == plugin]
        return out

    def names(self, group: str) -> list[str]:
        """Canonical names in ``group``."""
        return list(self._group(group).entries)

    def find(self, name: str) -> list[ComponentInfo]:
        """Entries of any group answering to ``name`` (``"group/name"`` narrows the group)."""
        if "/" in name:
            group, _, name = name.partition("/")
            return [self.get_info(group, name)]
        key = normalize_name(name)
        return [g.entries[g.lookup[key]] for g in self._groups.values() if key in g.lookup]

    def get_info(self, group: str, name: str) -> ComponentInfo:
        """Return the entry for ``name`` (canonical, alias, or importable dotted path).

        Raises
        ------
        ComponentNotFoundError
            With up to three close matches when nothing answers to ``name``.
        """
        grp = self._group(group)
        key = normalize_name(name)
        if key in grp.lookup:
            return grp.entries[grp.lookup[key]]
        if _looks_like_path(name):
            path_key = _path_key(name.strip())
            for entry in grp.entries.values():
                if isinstance(entry.target, str) and _path_key(entry.target) == path_key:
                    return entry
            try:
                obj = import_target(name.strip())
            except (ImportError, AttributeError) as exc:
                raise ComponentNotFoundError(
                    f"{grp.info.name} {name!r} is neither registered nor importable ({exc})"
                ) from exc
            return ComponentInfo(grp.info.name, name.strip(), obj, plugin=IMPORT_PATH)
        raise ComponentNotFoundError(
            f"unknown {grp.info.name} {name!r}{did_you_mean(key, grp.lookup)}; "
            f"run `rpnkit list {grp.info.name}` to see all"
        )

    def get(self, group: str, name: str) -> Any:
        """Return the (imported) target of ``name`` in ``group``, not instantiated."""
        return self.get_info(group, name).load()

    # -- building ---------------------------------------------------------------------------
    def build(self, group: str, spec: Any, /, **overrides: Any) -> Any:
        """Build a component from a name, dotted path, class, instance or config dict.

        Parameters
        ----------
        group
            The component group (``"optimizer"``, ``"loss"``, ...).
        spec
            * a name or alias (``"adamw"``) or importable path (``"torch.optim.AdamW"``);
            * a class or factory function, called with ``overrides``;
            * an instance, returned as is;
            * a config dict: ``{"name": "adamw", "parameters": {"lr": 1e-3}}`` or tinybig's
              ``{"optimizer_class": "torch.optim.AdamW", "optimizer_parameters": {...}}``.
        **overrides
            Keyword arguments passed to the constructor; they win over config parameters
            (e.g. ``params=model.parameters()`` for an optimizer).

        Returns
        -------
        object
            The built component.

        Raises
        ------
        ComponentNotFoundError, GroupNotFoundError, ConfigError
            For unknown names, malformed configs or parameters the target does not accept.
        """
        grp = self._group(group)
        label = grp.info.name
        parameters: dict[str, Any] = {}
        if isinstance(spec, Mapping):
            spec, parameters = split_spec(label, spec)
        if isinstance(spec, str):
            info = self.get_info(grp.info.name, spec)
            factory = info.load()
            if info.plugin == IMPORT_PATH and grp.info.path_adapter is not None:
                factory = import_target(grp.info.path_adapter)(factory, info.name)
            label = f"{grp.info.name} {info.name!r}"
        elif inspect.isclass(spec) or inspect.isfunction(spec) or inspect.ismethod(spec):
            factory = spec
        else:
            if parameters:
                raise ConfigError(
                    f"{label}: parameters {sorted(parameters)} were given for an already built "
                    f"{type(spec).__name__} instance; give a name or class instead"
                )
            return spec
        kwargs = {**parameters, **overrides}
        check_parameters(factory, kwargs, label)
        return factory(**kwargs)


def split_spec(group: str, spec: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Split a config dict into ``(name_or_class, parameters)``.

    Accepts rpnkit's form ``{"name": ..., "parameters": {...}}`` and tinybig's form
    ``{"<group>_class": ..., "<group>_parameters": {...}}`` (any ``*_class`` /
    ``*_parameters`` pair).

    Raises
    ------
    ConfigError
        If no name is given, several are given, or unknown keys are present.
    """
    name_keys = [k for k in spec if k in ("name", "class") or str(k).endswith("_class")]
    param_keys = [k for k in spec if k == "parameters" or str(k).endswith("_parameters")]
    unknown = sorted(str(k) for k in spec if k not in name_keys and k not in param_keys)
    if unknown:
        raise ConfigError(
            f"{group} config has unknown key(s) {unknown}; valid keys: 'name' and 'parameters' "
            f"(or tinybig's '{group}_class' and '{group}_parameters')"
        )
    if len(name_keys) != 1:
        raise ConfigError(
            f"{group} config needs exactly one of 'name' or '{group}_class', got "
            f"{sorted(map(str, name_keys)) or 'none'}"
        )
    if len(param_keys) > 1:
        raise ConfigError(f"{group} config has several parameter keys {sorted(param_keys)}")
    params = spec[param_keys[0]] if param_keys else {}
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{group} config '{param_keys[0]}' must be a mapping of parameter names to values, "
            f"got {type(params).__name__}"
        )
    return spec[name_keys[0]], dict(params)


def check_parameters(factory: Any, kwargs: Mapping[str, Any], label: str) -> None:
    """Raise :class:`ConfigError` if ``factory`` cannot take the keyword arguments ``kwargs``.

    Unknown names get close-match suggestions. Factories whose signature cannot be read, or
    that take ``**kwargs``, accept anything.
    """
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return
    params = sig.parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"{label} has no parameter {key!r}{did_you_mean(key, accepted)}; "
                f"valid parameters: {', '.join(accepted) or 'none'}"
            )


_default: Registry | None = None


def get_registry() -> Registry:
    """Return the default registry, filled by every plugin on first use."""
    global _default
    if _default is None:
        from rpnkit.plugins import get_plugin_manager

        registry = Registry()
        get_plugin_manager().populate(registry)
        _default = registry
    return _default


def loaded_registry() -> Registry | None:
    """Return the default registry if it has been loaded, else ``None`` (loads nothing)."""
    return _default


def reset_registry() -> None:
    """Forget the default registry (and the plugin manager), so the next use reloads plugins."""
    global _default
    from rpnkit.plugins import reset_plugin_manager

    _default = None
    reset_plugin_manager()


def build(group: str, spec: Any, /, **overrides: Any) -> Any:
    """Build a component with the default registry; see :meth:`Registry.build`."""
    return get_registry().build(group, spec, **overrides)
