"""Calling the training hooks, so that a plugin raising stops the run cleanly.

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

from types import CodeType, TracebackType
from typing import Any

from rpnkit.errors import PluginError, one_line
from rpnkit.plugins.state import get_plugin_manager

__all__ = ["PluginHookError", "TrainingHooks"]


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


class TrainingHooks:
    """The training hooks of the process-wide plugin manager, with failures attributed."""

    def __init__(self) -> None:
        self.manager = get_plugin_manager()

    def listening(self, name: str) -> bool:
        """Whether any plugin implements hook ``name``."""
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
        record = getattr(self.manager, "records", {}).get(plugin)
        distribution = getattr(record, "distribution", None)
        origin = f" (distribution {distribution!r})" if distribution else ""
        text = one_line(exc, 300)
        reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        return f"plugin {plugin!r}{origin} raised in hook {hook}: {reason}; training stopped"
