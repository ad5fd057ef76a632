"""Keep ``torch._dynamo`` unimported until something compiles.

Every :class:`torch.optim.Optimizer` method marked ``torch._disable_dynamo`` (``add_param_group``,
which ``__init__`` calls, ``zero_grad``, ``state_dict`` and ``load_state_dict``) imports
``torch._dynamo`` the first time it runs, only to wrap itself so a compiler will not trace
it. That import takes about as long as ``import torch`` itself (1.5-2 s on a small CPU) and is
most of the start-up of a short run that never compiles anything.

:func:`defer_dynamo_import` gives each of those methods the wrapper it would otherwise build:
the plain method, which is exactly what the ``torch._dynamo.disable`` wrapper runs while
nothing is being compiled, and nothing can be compiled while ``torch._dynamo`` is not
imported. The moment anything imports ``torch._dynamo`` (``torch.compile`` does, before it
traces anything), an import watcher removes these stand-ins again, so from then on torch
builds and uses its real wrappers, as if this module had never run. When torch's methods do
not have the expected shape (another torch version), nothing is changed.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

__all__ = ["defer_dynamo_import", "dynamo_deferred"]

_MODULE = "torch._dynamo"
_ATTRIBUTE = "__dynamo_disable"  # where torch._compile._disable_dynamo caches its wrapper
_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
_lock = threading.RLock()
_deferred: list[Callable[..., Any]] = []


class _Watcher(importlib.abc.MetaPathFinder):
    """Removes the stand-ins when ``torch._dynamo`` is about to be imported."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == _MODULE:
            _restore()
        return None  # the regular finders import it


_watcher = _Watcher()


def _disabled_function(method: Any) -> Callable[..., Any] | None:
    """The function a ``torch._disable_dynamo`` wrapper wraps, or ``None`` for another shape."""
    code = getattr(method, "__code__", None)
    if code is None or code.co_qualname != "_disable_dynamo.<locals>.inner":
        return None
    if not code.co_filename.replace("\\", "/").endswith("torch/_compile.py"):
        return None
    cells = dict(zip(code.co_freevars, method.__closure__ or (), strict=False))
    cell = cells.get("fn")
    fn = cell.cell_contents if cell is not None else None
    return fn if callable(fn) else None


def defer_dynamo_import() -> None:
    """Let optimizers be built and stepped without importing ``torch._dynamo``.

    Idempotent, and a no-op once ``torch._dynamo`` is imported. See the module docstring for
    why this changes nothing but the time: the stand-ins are removed before ``torch._dynamo``
    is imported, so a compiler never sees them.
    """
    import torch

    with _lock:
        if _MODULE in sys.modules or _deferred:
            return
        for name in _METHODS:
            fn = _disabled_function(torch.optim.Optimizer.__dict__.get(name))
            if fn is not None and getattr(fn, _ATTRIBUTE, None) is None:
                setattr(fn, _ATTRIBUTE, fn)
                _deferred.append(fn)
        if _deferred and _watcher not in sys.meta_path:
            sys.meta_path.insert(0, _watcher)


def dynamo_deferred() -> bool:
    """Whether the stand-ins of :func:`defer_dynamo_import` are in place."""
    return bool(_deferred)


def _restore() -> None:
    with _lock:
        for fn in _deferred:
            if getattr(fn, _ATTRIBUTE, None) is fn:
                delattr(fn, _ATTRIBUTE)
        _deferred.clear()
        # The watcher stays on sys.meta_path, idle: removing it while the import system
        # iterates over that list would make it skip the next finder.
