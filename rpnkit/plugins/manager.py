"""The plugin manager: builtins first, then ``rpnkit`` entry points, each isolated.

rpnkit's builtin components are plugins like any other: the modules listed in
:data:`BUILTIN_PLUGINS` are registered under short names through the same hooks as
third-party packages. Third-party plugins are found through the ``rpnkit`` entry-point group
(``[project.entry-points.rpnkit]`` in their ``pyproject.toml``). A plugin that fails to import
or raises in a hook is reported (a :class:`PluginWarning` and a ``failed`` record) and never
stops the others; whatever it registered before failing is rolled back.

Registration hooks run in pluggy's own call order (``tryfirst`` implementations first, then
the most recently registered; rpnkit's builtins are ``tryfirst`` so third-party plugins find
their groups and can override their names) and each implementation receives only the
arguments it declares, as pluggy documents.

Set ``RPNKIT_DISABLE_PLUGIN_AUTOLOAD=1`` to skip entry-point loading; plugins can still be
registered programmatically with :func:`rpnkit.plugins.state.register_plugin`. The process-wide
manager lives in :mod:`rpnkit.plugins.state`.
"""

from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import pluggy

from rpnkit._version import __version__
from rpnkit.errors import PluginError, did_you_mean, one_line
from rpnkit.plugins import hookspecs

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

__all__ = [
    "AUTOLOAD_ENV",
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginManager",
    "PluginRecord",
    "PluginWarning",
]

#: Builtin plugin modules, registered under the short name after ``rpnkit.builtin.``.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "rpnkit.builtin.torch_components",
    "rpnkit.builtin.metrics",
    "rpnkit.builtin.rpn",
    "rpnkit.builtin.compression",
    "rpnkit.builtin.interdependence",
    "rpnkit.builtin.rpn2_models",
    "rpnkit.builtin.datasets",
    "rpnkit.builtin.loggers",
)
ENTRY_POINT_GROUP = "rpnkit"
AUTOLOAD_ENV = "RPNKIT_DISABLE_PLUGIN_AUTOLOAD"


class PluginWarning(UserWarning):
    """A plugin failed to load or raised in a hook; the others went on."""


@dataclass
class PluginRecord:
    """What the manager knows about one plugin, for ``rpnkit plugins``.

    Attributes
    ----------
    name
        Registration name (entry-point name, or ``builtin.<module>``).
    source
        Where it came from: ``"builtin"``, ``"entry point"`` or ``"programmatic"``.
    module
        The module or object path.
    distribution, version
        The installed distribution that provides it, if any.
    status
        ``"loaded"`` or ``"failed"``.
    error
        One-line reason of a failure.
    warning
        One-line reason a loaded plugin may do nothing (no ``@hookimpl`` marker).
    """

    name: str
    source: str
    module: str
    distribution: str | None = None
    version: str | None = None
    status: Literal["loaded", "failed"] = "loaded"
    error: str | None = None
    warning: str | None = None


def _one_line(exc: BaseException) -> str:
    text = one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class PluginManager(pluggy.PluginManager):
    """pluggy's manager for project ``rpnkit``, with isolated loading and records."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}

    # -- loading ------------------------------------------------------------------------------
    def _fail(self, record: PluginRecord, exc: BaseException, what: str) -> None:
        record.status = "failed"
        record.error = _one_line(exc)
        self.records[record.name] = record
        warnings.warn(
            f"rpnkit plugin {record.name!r} {what}: {record.error}", PluginWarning, stacklevel=3
        )

    def add_plugin(self, plugin: Any, record: PluginRecord) -> bool:
        """Register ``plugin`` under ``record.name``; record (not raise) a failure."""
        if self.is_blocked(record.name) or self.has_plugin(record.name):
            return False
        try:
            self.register(plugin, name=record.name)
            self._check_hook_names(plugin, record.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            if self.has_plugin(record.name):
                self.unregister(name=record.name)
            self._fail(record, exc, "was rejected")
            return False
        self.records[record.name] = record
        self._check_marked(plugin, record)
        return True

    def _check_marked(self, plugin: Any, record: PluginRecord) -> None:
        """Warn when a plugin defines ``rpnkit_*`` functions pluggy will never call.

        A hook function without the ``@rpnkit.hookimpl`` marker is an ordinary function to
        pluggy: the plugin loads, registers nothing, and says nothing, unless told here.
        """
        prefix = f"{hookspecs.PROJECT_NAME}_"
        unmarked = [
            attr
            for attr in dir(plugin)
            if attr.startswith(prefix)
            and callable(getattr(plugin, attr, None))
            and self.parse_hookimpl_opts(plugin, attr) is None
        ]
        if unmarked:
            record.warning = (
                f"{', '.join(unmarked)} lack(s) the @rpnkit.hookimpl marker, so "
                f"{'they are' if len(unmarked) > 1 else 'it is'} never called; decorate with "
                "@rpnkit.hookimpl (from rpnkit import hookimpl)"
            )
        elif not self.get_hookcallers(plugin):
            record.warning = "implements no rpnkit hook: it registers nothing"
        if record.warning:
            warnings.warn(
                f"rpnkit plugin {record.name!r} {record.warning}", PluginWarning, stacklevel=3
            )

    def _check_hook_names(self, plugin: Any, name: str) -> None:
        """Refuse marked hook implementations that match no hook specification.

        pluggy accepts them silently until ``check_pending``; a misspelt hook name would then
        just never run.
        """
        specified = [n for n in dir(hookspecs) if n.startswith(f"{hookspecs.PROJECT_NAME}_")]
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None or opts.get("optionalhook") or attr in specified:
                continue
            raise PluginError(
                f"plugin {name!r} implements unknown hook {attr!r}{did_you_mean(attr, specified)}; "
                f"rpnkit's hooks: {', '.join(specified)}"
            )

    def load_builtins(self) -> None:
        """Register :data:`BUILTIN_PLUGINS` (blocked names are skipped before import)."""
        for module_name in BUILTIN_PLUGINS:
            name = module_name.removeprefix("rpnkit.")
            record = PluginRecord(name, "builtin", module_name, "rpnkit", __version__)
            if self.is_blocked(name):
                continue
            try:
                module = importlib.import_module(module_name)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self._fail(record, exc, "failed to import")
                continue
            self.add_plugin(module, record)

    def load_entry_points(self) -> int:
        """Load plugins from the ``rpnkit`` entry-point group; return how many loaded."""
        from importlib.metadata import entry_points

        count = 0
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            record = PluginRecord(
                ep.name,
                "entry point",
                ep.value,
                distribution=dist.metadata["Name"] if dist is not None else None,
                version=dist.version if dist is not None else None,
            )
            if self.is_blocked(ep.name) or self.has_plugin(ep.name):
                continue
            try:
                plugin = ep.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                self._fail(record, exc, f"failed to import ({ep.value})")
                continue
            count += self.add_plugin(plugin, record)
        return count

    def load_all(self) -> None:
        """Builtins, then entry points unless ``RPNKIT_DISABLE_PLUGIN_AUTOLOAD`` is set."""
        self.load_builtins()
        if os.environ.get(AUTOLOAD_ENV, "").strip().lower() not in ("1", "true", "yes", "on"):
            self.load_entry_points()

    # -- registry -----------------------------------------------------------------------------
    def populate(self, registry: Registry, only: set[str] | None = None) -> None:
        """Fill ``registry`` by calling each plugin's registration hooks in turn.

        Groups are declared by every plugin before any component is registered. Within a
        hook the implementations run in pluggy's call order and get only the arguments they
        declare. Each call is isolated: a plugin raising is recorded as failed and its
        registrations are undone. ``only`` restricts the calls to the named plugins.
        """
        failed: set[str] = set()
        arguments = {"registry": registry}
        for hook in (self.hook.rpnkit_add_groups, self.hook.rpnkit_add_components):
            for impl in reversed(hook.get_hookimpls()):  # pluggy calls the list back to front
                name = impl.plugin_name
                if name in failed or (only is not None and name not in only):
                    continue
                try:
                    if impl.hookwrapper or impl.wrapper:
                        raise PluginError(f"{hook.name} cannot be a wrapper; drop wrapper=True")
                    with registry.registering_as(name):
                        impl.function(**{arg: arguments[arg] for arg in impl.argnames})
                except KeyboardInterrupt:
                    raise
                except BaseException as exc:
                    failed.add(name)
                    record = self.records.get(name) or PluginRecord(
                        name, "programmatic", repr(impl.plugin)
                    )
                    self._fail(record, exc, f"raised in {hook.name}")
