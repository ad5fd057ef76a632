"""The component registry: named groups of lazily imported components.

A :class:`Registry` holds *groups* (``loss``, ``optimizer``, ``expansion``, ...) of
:class:`ComponentInfo` entries. Plugins fill it through the ``rpnkit_add_groups`` and
``rpnkit_add_components`` hooks (see :mod:`rpnkit.plugins.hookspecs`); rpnkit's own builtins use the
same hooks. Targets are ``"module:attr"`` strings imported only when a component is built or
shown, so listing never imports torch.

There is one lookup path for every way a component can be given: :meth:`Registry.resolve`
turns a name (canonical, alias, case-insensitive), a dotted path, a class, an instance or a
``{"name": ..., "parameters": {...}}`` mapping (parsed by
:func:`rpnkit.components.spec.parse_spec`) into a
:class:`~rpnkit.components.spec.ComponentSpec` or the instance, and :meth:`Registry.build`
builds it. The registry stores and looks up, nothing else: tinybig's
``{"<group>_class": ..., "<group>_parameters": ...}`` form is translated where tinybig's API is
read (:func:`rpnkit.tinybig.reading.rpnkit_form`), never here.

**Dotted paths are not code.** A config file names components, and opening a config must
never run arbitrary code: a dotted path is accepted only when it is the target of a
registered component or a class of the group's own *kind* (declared with
:meth:`Registry.add_group`: an optimizer must be a ``torch.optim.Optimizer`` subclass, a loss
an ``nn.Module`` class, ...). Anything else is refused in one line unless the caller opted in
explicitly with :func:`trusted_code` (the CLI's ``--trust-code``). The process-wide registry
and plugin manager live in :mod:`rpnkit.plugins.state`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import inspect
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rpnkit.components.entry import (
    IMPORT_PATH,
    NAME_RE,
    PROGRAMMATIC,
    ComponentInfo,
    GroupInfo,
    import_target,
    normalize_name,
)
from rpnkit.components.spec import ComponentSpec, parse_spec
from rpnkit.components.trust import import_path, is_trusted, trusted_code
from rpnkit.errors import (
    ComponentNotFoundError,
    ConfigError,
    DuplicateComponentError,
    GroupNotFoundError,
    did_you_mean,
)

__all__ = [
    "IMPORT_PATH",
    "PROGRAMMATIC",
    "ComponentInfo",
    "GroupInfo",
    "Registry",
    "import_target",
    "is_trusted",
    "normalize_name",
    "trusted_code",
]


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
        self,
        name: str,
        summary: str = "",
        kinds: Iterable[str] = (),
        *,
        path_adapter: str | None = None,
    ) -> GroupInfo:
        """Declare a group (idempotent; the first declaration's summary wins).

        Parameters
        ----------
        name
            Lower snake case group name.
        summary
            One-line description.
        kinds
            ``"module:attr"`` paths of base classes: a dotted path in a config may name a
            subclass of one of them (e.g. ``"torch.optim:Optimizer"``). A later declaration
            of the same group adds its kinds (a bridge plugin widening what a group accepts).
        path_adapter
            See :attr:`~rpnkit.components.entry.GroupInfo.path_adapter`.
        """
        key = normalize_name(name)
        if not NAME_RE.match(key):
            raise ConfigError(f"group name {name!r} is not lower snake case (e.g. 'optimizer')")
        added = tuple(kinds)
        if key not in self._groups:
            info = GroupInfo(key, summary, self._current_plugin, added, path_adapter)
            self._groups[key] = _Group(info)
        elif added:
            grp = self._groups[key]
            merged = tuple(dict.fromkeys((*grp.info.kinds, *added)))
            grp.info = dataclasses.replace(grp.info, kinds=merged)
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
            Replace an existing entry with the same name instead of raising. The new entry
            records the replaced one's plugin (:attr:`ComponentInfo.replaces`) and takes over
            its aliases.

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
        if not NAME_RE.match(key):
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
            old = grp.entries[key]  # its aliases move to the new entry: configs keep working
            alias_keys = (*alias_keys, *(a for a in old.aliases if a not in alias_keys))
            info = dataclasses.replace(info, aliases=alias_keys, replaces=old.plugin)
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
            return import_path(grp.info, name.strip())
        raise ComponentNotFoundError(
            f"unknown {grp.info.name} {name!r}{did_you_mean(key, grp.lookup)}; "
            f"run `rpnkit list {grp.info.name}` to see all"
        )

    def get(self, group: str, name: str) -> Any:
        """Return the (imported) target of ``name`` in ``group``, not instantiated."""
        return self.get_info(group, name).load()

    # -- building ---------------------------------------------------------------------------
    def resolve(self, group: str, spec: Any, /, where: str | None = None) -> Any:
        """Resolve how a component is given into a :class:`~rpnkit.components.spec.ComponentSpec`.

        Parameters
        ----------
        group
            The component group.
        spec
            A name, alias or dotted path; a class or factory; a ``{"name", "parameters"}``
            mapping; a ComponentSpec or an instance (returned as they are).
        where
            The config path of ``spec``, for messages.

        Returns
        -------
        ComponentSpec or object
            The factory with its parameters, or the instance itself.

        Raises
        ------
        ComponentNotFoundError, GroupNotFoundError, ConfigError
            For unknown names (with suggestions), refused dotted paths or malformed mappings.
        """
        grp = self._group(group)
        if isinstance(spec, ComponentSpec):
            return spec
        parameters: dict[str, Any] = {}
        if isinstance(spec, (str, Mapping)):
            spec, parameters = parse_spec(spec, where or f"{grp.info.name} config")
        if isinstance(spec, str):
            info = self.get_info(grp.info.name, spec)
            if info.plugin == IMPORT_PATH and grp.info.path_adapter is not None:
                factory = import_target(grp.info.path_adapter)(info.load(), info.name)
                return ComponentSpec(
                    grp.info.name, factory, parameters, f"{grp.info.name} {info.name!r}"
                )
            return ComponentSpec(
                grp.info.name, info.load(), parameters, f"{grp.info.name} {info.name!r}"
            )
        if inspect.isclass(spec) or inspect.isfunction(spec) or inspect.ismethod(spec):
            return ComponentSpec(grp.info.name, spec, parameters)
        if parameters:
            raise ConfigError(
                f"{where or grp.info.name}: parameters {sorted(parameters)} were given for an "
                f"already built {type(spec).__name__} instance; give a name or class instead"
            )
        return spec

    def build(self, group: str, spec: Any, /, **overrides: Any) -> Any:
        """Build a component from a name, dotted path, class, instance or config mapping.

        Parameters
        ----------
        group
            The component group (``"optimizer"``, ``"loss"``, ...).
        spec
            Anything :meth:`resolve` takes; an instance is returned as it is.
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
            For unknown names, malformed configs, parameters the target does not accept or
            values its constructor rejects.
        """
        resolved = self.resolve(group, spec)
        return resolved.build(**overrides) if isinstance(resolved, ComponentSpec) else resolved
