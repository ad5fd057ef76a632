"""Keep ``torch._dynamo`` unimported until something compiles.

Two parts of :class:`torch.optim.Optimizer` import ``torch._dynamo``, which takes about as long
as ``import torch`` itself (1-2 s on a small CPU) and is most of the start-up of a short run that
never compiles anything:

* every method marked ``torch._disable_dynamo`` (``add_param_group``, which ``__init__`` calls,
  ``zero_grad``, ``state_dict`` and ``load_state_dict``) imports it the first time it runs,
  only to wrap itself so a compiler will not trace it;
* ``step`` of the builtin optimizers is wrapped by ``_use_grad_for_differentiable``, which
  imports it at every call to put a ``torch._dynamo.graph_break()`` before and after the
  update (so that a compiler splits its graph there).

:func:`defer_dynamo_import` gives each of those methods the wrapper it would otherwise build:
the plain method, which is exactly what the ``torch._dynamo.disable`` wrapper runs while
nothing is being compiled. :func:`defer_step_import` does the same for the ``step`` of one
optimizer's class: the stand-in sets the grad mode as torch's wrapper does and leaves out the
two graph breaks, which do nothing outside a compiler; and nothing can be compiled while
``torch._dynamo`` is not imported. The moment anything imports ``torch._dynamo``
(``torch.compile`` does, before it traces anything), an import watcher removes every stand-in
again, so from then on torch builds and uses its real wrappers, as if this module had never
run. When torch's methods do not have the expected shape (another torch version, a
third-party optimizer with its own ``step``), nothing is changed.

This changes torch's classes for the whole process, so a library never does it: only the
``rpnkit`` command does, for its own process, by calling :func:`install` before it builds
anything, and only on the torch versions it was verified on (:data:`VERIFIED_TORCH`). After
that, :func:`prepare_step`, which the learner calls for every optimizer it builds, defers its
``step`` too; without :func:`install` (rpnkit used as a library), :func:`prepare_step` does
nothing and torch stays exactly as its host left it.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import CellType, ModuleType
from typing import Any

__all__ = [
    "VERIFIED_TORCH",
    "defer_dynamo_import",
    "defer_step_import",
    "dynamo_deferred",
    "install",
    "installed",
    "prepare_step",
    "verified",
]

#: The ``major.minor`` torch releases whose internals this module was checked against
#: (``tests/test_speed_options.py`` runs its bit-for-bit tests on them).
VERIFIED_TORCH: tuple[tuple[int, int], ...] = ((2, 13),)

_MODULE = "torch._dynamo"
_ATTRIBUTE = "__dynamo_disable"  # where torch._compile._disable_dynamo caches its wrapper
_METHODS = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")
_lock = threading.RLock()
_deferred: list[Callable[..., Any]] = []
#: ``(cell, torch's step wrapper, stand-in)`` for every ``step`` given a stand-in.
_steps: list[tuple[CellType, Callable[..., Any], Callable[..., Any]]] = []
_installed = False


class _Watcher(importlib.abc.MetaPathFinder):
    """Removes the stand-ins when ``torch._dynamo`` is about to be imported."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == _MODULE:
            _restore()
        return None  # the regular finders import it


_watcher = _Watcher()


def _torch_closure(function: Any, qualname: str, filename: str) -> dict[str, CellType] | None:
    """The cells of ``function`` if it is torch's closure ``qualname`` from ``filename``."""
    code = getattr(function, "__code__", None)
    if code is None or code.co_qualname != qualname:
        return None
    if not code.co_filename.replace("\\", "/").endswith(filename):
        return None
    return dict(zip(code.co_freevars, function.__closure__ or (), strict=False))


def _wrapped(cells: dict[str, CellType] | None) -> Callable[..., Any] | None:
    """The callable in a closure's ``fn``/``func`` cell."""
    cell = (cells or {}).get("fn") or (cells or {}).get("func")
    fn = cell.cell_contents if cell is not None else None
    return fn if callable(fn) else None


def _disabled_function(method: Any) -> Callable[..., Any] | None:
    """The function a ``torch._disable_dynamo`` wrapper wraps, or ``None`` for another shape."""
    return _wrapped(_torch_closure(method, "_disable_dynamo.<locals>.inner", "torch/_compile.py"))


def verified(version: str) -> bool:
    """Whether the torch release ``version`` (``torch.__version__``) is one of
    :data:`VERIFIED_TORCH`: its ``major.minor`` matches, whatever the patch and local parts."""
    parts = version.split("+")[0].split(".")
    try:
        return (int(parts[0]), int(parts[1])) in VERIFIED_TORCH
    except (IndexError, ValueError):
        return False


def install() -> bool:
    """Defer ``torch._dynamo`` for the ``rpnkit`` command's own process (never a library's).

    On a verified torch (:func:`verified`) with ``torch._dynamo`` not yet imported, applies
    :func:`defer_dynamo_import` and lets :func:`prepare_step` defer each optimizer's ``step``
    from then on; on any other torch it changes nothing.

    Returns
    -------
    bool
        Whether the deferral is in place.
    """
    global _installed
    import torch

    with _lock:
        if not _installed and verified(str(torch.__version__)) and _MODULE not in sys.modules:
            defer_dynamo_import()
            _installed = True
        return _installed


def installed() -> bool:
    """Whether :func:`install` put the deferral in place in this process."""
    return _installed


def prepare_step(optimizer: Any) -> None:
    """:func:`defer_step_import` for ``optimizer`` after :func:`install`; otherwise nothing."""
    if _installed:
        defer_step_import(optimizer)


def defer_dynamo_import() -> None:
    """Let optimizers be built, zeroed and saved without importing ``torch._dynamo``.

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


def defer_step_import(optimizer: Any) -> None:
    """Let ``optimizer.step()`` run without importing ``torch._dynamo`` (see the module doc).

    The stand-in serves every optimizer of the class that holds the hooked ``step`` (and its
    subclasses that inherit it) until ``torch._dynamo`` is imported. A no-op once it is
    imported, and for a ``step`` of another shape.
    """
    import torch

    with _lock:
        if _MODULE in sys.modules:
            return
        hooked = _torch_closure(
            type(optimizer).step,
            "Optimizer.profile_hook_step.<locals>.wrapper",
            "torch/optim/optimizer.py",
        )
        cell = (hooked or {}).get("func")
        if cell is None or any(cell is done for done, _, _ in _steps):
            return
        original = cell.cell_contents
        step = _wrapped(
            _torch_closure(
                original,
                "_use_grad_for_differentiable.<locals>._use_grad",
                "torch/optim/optimizer.py",
            )
        )
        if step is None:
            return

        @functools.wraps(step)
        def plain_step(*args: Any, **kwargs: Any) -> Any:
            previous = torch.is_grad_enabled()
            try:
                torch.set_grad_enabled(args[0].defaults["differentiable"])
                return step(*args, **kwargs)
            finally:
                torch.set_grad_enabled(previous)

        cell.cell_contents = plain_step
        _steps.append((cell, original, plain_step))
        if _watcher not in sys.meta_path:
            sys.meta_path.insert(0, _watcher)


def dynamo_deferred() -> bool:
    """Whether any stand-in of :func:`defer_dynamo_import` or :func:`defer_step_import` is in
    place."""
    return bool(_deferred or _steps)


def _restore() -> None:
    with _lock:
        for fn in _deferred:
            if getattr(fn, _ATTRIBUTE, None) is fn:
                delattr(fn, _ATTRIBUTE)
        _deferred.clear()
        for cell, original, stand_in in _steps:
            if cell.cell_contents is stand_in:
                cell.cell_contents = original
        _steps.clear()
        # The watcher stays on sys.meta_path, idle: removing it while the import system
        # iterates over that list would make it skip the next finder.
