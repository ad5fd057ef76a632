"""Calling the training hooks of one run, so that a plugin raising stops the run cleanly.

Every run has its own dispatch, :class:`TrainingHooks`: a fresh :class:`pluggy.PluginManager`
with rpnkit's hook specifications, holding the process's training-hook plugins (those of the
process-wide manager that implement a training hook: builtins, entry points,
:func:`rpnkit.register_plugin` ones), registered under their own names in the order the
process registered them, then the run's callbacks. pluggy's own call machinery runs them, in
its order: ``tryfirst`` before plain before ``trylast``, the most recently registered first
within each, wrappers around the rest; so a run's callback runs before a process plugin of
the same kind, exactly as if it had been registered last in the process manager. Nothing of a
run is ever registered into the process-wide manager, so a run started inside another run's
hook, or in another thread, never sees the other run's callbacks. A callback that is also
registered process-wide is called once.

:class:`TrainingHooks` calls ``rpnkit_train_start``, ``rpnkit_epoch_start``,
``rpnkit_progress``, ``rpnkit_epoch_end`` and ``rpnkit_train_end``. When a third-party
implementation raises (anything but ``KeyboardInterrupt``, ``SystemExit`` included), training
stops with a :class:`PluginHookError`: a one-line message naming the plugin, its distribution
and the hook, carrying the record so far, so that ``rpnkit train`` keeps the history, the
model of the last completed epoch and a checkpoint before it reports the error (see
:func:`rpnkit.run.outputs.keep_interrupted`). Errors of rpnkit's own implementations (early
stopping, checkpoints, the display) are raised as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import CodeType, TracebackType
from typing import Any

import pluggy

from rpnkit.errors import PluginError, one_line
from rpnkit.plugins import hookspecs
from rpnkit.plugins.state import get_plugin_manager
from rpnkit.tracking.resolve import TRAINING_HOOKS

__all__ = ["PluginHookError", "TrainingHooks", "callback_name"]


class PluginHookError(PluginError):
    """A plugin raised inside a training hook; training stopped there.

    Attributes
    ----------
    plugin
        The plugin's registration name.
    hook
        The hook it raised in.
    record
        The training record so far.
    completed
        The number of complete epochs.
    """

    def __init__(self, message: str, plugin: str, hook: str, record: Any, completed: int) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook
        self.record = record
        self.completed = completed


class _HookFailed(Exception):
    """Raised by :class:`TrainingHooks` and turned into a :class:`PluginHookError` by the loop."""

    def __init__(self, message: str, plugin: str, hook: str) -> None:
        super().__init__(message)
        self.plugin = plugin
        self.hook = hook

    def stop(self, record: Any, completed: int) -> PluginHookError:
        """The error that ends the run."""
        return PluginHookError(str(self), self.plugin, self.hook, record, completed)


class _RunManager(pluggy.PluginManager):
    """pluggy's manager for one run, registering plugins without pluggy's slow attribute scan.

    pluggy's :meth:`~pluggy.PluginManager.register` asks :meth:`parse_hookimpl_opts` about
    every name in ``dir(plugin)``, each through :func:`inspect.getattr_static`; most of
    those names (``__init__``, ``__repr__``, ...) cannot carry the hook marker. Here the
    names whose value carries it are listed once per plugin, from the same dictionaries the
    static lookup reads, and only those go on to pluggy's own parsing, so what is registered
    is exactly what pluggy would register. A plugin with ``__slots__`` is parsed by pluggy
    alone.
    """

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.add_hookspecs(hookspecs)
        self._scanned: tuple[Any, frozenset[str] | None] = (None, None)

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        """pluggy's options for ``plugin.name``; ``None`` at once for an unmarked name."""
        if self._scanned[0] is not plugin:
            self._scanned = (plugin, _marked_names(plugin, f"{self.project_name}_impl"))
        names = self._scanned[1]
        if names is not None and name not in names:
            return None
        return super().parse_hookimpl_opts(plugin, name)


def _marked_names(plugin: Any, marker: str) -> frozenset[str] | None:
    """Names of ``plugin`` whose stored value may carry ``marker``; ``None``: cannot tell."""
    owners = [plugin] if isinstance(plugin, type) else [type(plugin)]
    if isinstance(plugin, type):
        owners.append(type(plugin))
    dicts: list[Any] = []
    if not isinstance(plugin, type):
        try:
            own = object.__getattribute__(plugin, "__dict__")
        except AttributeError:
            own = {}
        dicts.append(own)
    for owner in owners:
        for klass in owner.__mro__:
            if "__slots__" in klass.__dict__:
                return None
            dicts.append(klass.__dict__)
    names = set()
    for namespace in dicts:
        if not isinstance(namespace, Mapping):
            return None
        for key, value in namespace.items():
            if _may_be_marked(value, marker):
                names.add(key)
    return frozenset(names)


def _may_be_marked(value: Any, marker: str) -> bool:
    """Whether ``value`` (or the function it wraps) may carry ``marker``."""
    try:
        return (
            getattr(value, marker, None) is not None
            or getattr(getattr(value, "__func__", None), marker, None) is not None
        )
    except Exception:  # an odd object's attribute lookup failing: let pluggy decide
        return True


def callback_name(callback: Any) -> str:
    """The name a run's callback is registered under in the run's own manager."""
    return f"rpnkit.run.{type(callback).__name__}.{id(callback):x}"


class TrainingHooks:
    """One run's training hooks: the process's training plugins and the run's callbacks.

    Parameters
    ----------
    callbacks
        The run's own callbacks (plugin objects with ``@rpnkit.hookimpl`` training hooks),
        registered after the process's plugins; one already registered process-wide is left
        to its process registration, so it is called once.
    process
        The process-wide manager whose training plugins the run calls; the one of
        :func:`rpnkit.plugins.state.get_plugin_manager` by default.

    Attributes
    ----------
    manager
        The run's own :class:`pluggy.PluginManager`.
    process
        The process-wide manager (its records name a failing plugin's distribution).

    Raises
    ------
    pluggy.PluginValidationError
        If a callback's hook implementation does not match its specification.
    """

    def __init__(self, callbacks: Sequence[Any] = (), process: Any = None) -> None:
        self.process = get_plugin_manager() if process is None else process
        self.manager: pluggy.PluginManager = _RunManager()
        training = {
            impl.plugin_name
            for name in TRAINING_HOOKS
            for impl in getattr(self.process.hook, name).get_hookimpls()
        }
        # The process's registration order, which pluggy's call order follows.
        for name, plugin in self.process.list_name_plugin():
            if plugin is not None and name in training:
                self.manager.register(plugin, name=name)
        for callback in callbacks:
            if not self.manager.is_registered(callback):
                self.manager.register(callback, name=callback_name(callback))

    def listening(self, name: str) -> bool:
        """Whether any plugin of the run implements hook ``name``."""
        return bool(getattr(self.manager.hook, name).get_hookimpls())

    def __call__(self, name: str, **kwargs: Any) -> None:
        """Call hook ``name``; a third-party implementation raising becomes ``_HookFailed``."""
        caller = getattr(self.manager.hook, name)
        try:
            caller(**kwargs)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            failed = self._raiser(caller.get_hookimpls(), exc.__traceback__)
            if failed is None:
                raise
            raise _HookFailed(self._message(failed, name, exc), failed, name) from exc

    def _raiser(self, impls: list[Any], traceback: TracebackType | None) -> str | None:
        """The name of the third-party plugin whose implementation raised, if one did."""
        codes: dict[CodeType, Any] = {}
        for impl in impls:
            function = getattr(impl.function, "__func__", impl.function)
            code = getattr(function, "__code__", None)
            if code is not None:
                codes[code] = impl
        while traceback is not None:
            impl = codes.get(traceback.tb_frame.f_code)
            if impl is not None:
                plugin = impl.plugin
                module = getattr(plugin, "__name__", None) or type(plugin).__module__
                own = str(module).split(".")[0] == "rpnkit"
                return None if own else str(impl.plugin_name)
            traceback = traceback.tb_next
        return None

    def _message(self, plugin: str, hook: str, exc: BaseException) -> str:
        record = getattr(self.process, "records", {}).get(plugin)
        distribution = getattr(record, "distribution", None)
        origin = f" (distribution {distribution!r})" if distribution else ""
        text = one_line(exc, 300)
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return f"plugin {plugin!r}{origin} raised in hook {hook}: {reason}; training stopped"
