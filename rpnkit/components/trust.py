"""The explicit opt-in that lets a config's dotted paths name any importable class.

By default a dotted path in a config must name a registered component or a class of its
group's kind (:mod:`rpnkit.components.registry`). Trust is granted by the caller — ``rpnkit train
--trust-code`` on the command line, the :func:`trusted_code` context manager
(``rpnkit.trusted_code()``) in Python — never by the config itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import inspect
from collections.abc import Iterator
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.components.entry import IMPORT_PATH, ComponentInfo, GroupInfo, import_target
from rpnkit.errors import ComponentNotFoundError, ConfigError, did_you_mean, one_line

__all__ = ["admit_path", "import_path", "is_trusted", "of_kind", "trusted_code"]

_TRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("rpnkit_trusted", default=False)


@contextlib.contextmanager
def trusted_code(enabled: bool = True) -> Iterator[None]:
    """Let dotted paths name any importable class in the block (an explicit opt-in).

    Without it a dotted path must name a registered component or a class of its group's
    kind (see the module docstring). Use it only for configs you trust as you trust code;
    ``--trust-code`` of ``rpnkit train``, ``validate`` and ``lr-find`` sets it for the command;
    in Python, run :func:`~rpnkit.run.runner.run_config` or ``build`` inside this block.

    Parameters
    ----------
    enabled
        ``False`` makes the block change nothing (for a caller whose opt-in is a flag,
        such as ``--trust-code``); an enclosing opt-in still holds.

    Examples
    --------
    >>> with trusted_code():  # doctest: +SKIP
    ...     build("loss", "my_lab.losses.FocalLoss")
    """
    if not enabled:
        yield
        return
    token = _TRUSTED.set(True)
    try:
        yield
    finally:
        _TRUSTED.reset(token)


def is_trusted() -> bool:
    """Whether the caller opted in to arbitrary importable classes (:func:`trusted_code`)."""
    return _TRUSTED.get()


def of_kind(group: GroupInfo, obj: Any) -> bool:
    """Whether ``obj`` is a class deriving from one of the group's kinds."""
    if not inspect.isclass(obj):
        return False
    for kind in group.kinds:
        try:
            base = import_target(kind)
        except (ImportError, AttributeError):
            continue
        if inspect.isclass(base) and issubclass(obj, base):
            return True
    return False


def admit_path(group: GroupInfo, path: str, obj: Any) -> None:
    """Accept the object an unregistered dotted path names, or refuse it in one line.

    Parameters
    ----------
    group
        The group the path is looked up in; its ``kinds`` say what it accepts.
    path
        The dotted path, as given.
    obj
        What it imported to.

    Raises
    ------
    ConfigError
        Unless ``obj`` is a class of the group's kind or the caller opted in with
        :func:`trusted_code`.
    """
    if is_trusted() or of_kind(group, obj):
        return
    name = group.name
    kinds = [k.replace(":", ".") for k in group.kinds]
    accepts = f"subclasses of {' / '.join(kinds)}" if kinds else "no dotted paths"
    what = getattr(obj, "__qualname__", None) or type(obj).__name__
    raise ConfigError(
        f"{name} {short_repr(path)} names {what}, which is not a registered {name} nor a "
        f"class of that kind; besides registered names the {name} group accepts {accepts}. "
        "A config cannot run other code: to allow any importable class, opt in with "
        "`--trust-code` (CLI) or rpnkit.trusted_code() (Python)"
    )


def import_path(group: GroupInfo, path: str) -> ComponentInfo:
    """The entry of an unregistered dotted path: a class of the group's kind, or trusted.

    Raises
    ------
    ComponentNotFoundError
        If nothing can be imported at ``path`` (with close matches in its module); a broken
        module is the same one-line error as a typo.
    ConfigError
        If the object is refused (see :func:`admit_path`).
    """
    try:
        obj = import_target(path)
    except Exception as exc:
        parent, _, attr = path.replace(":", ".").rpartition(".")
        hint = ""
        with contextlib.suppress(Exception):
            names = dir(importlib.import_module(parent))
            hint = did_you_mean(f"{parent}.{attr}", [f"{parent}.{n}" for n in names])
        reason = one_line(f"{type(exc).__name__}: {exc}", 200)
        raise ComponentNotFoundError(
            f"{group.name} {short_repr(path)} is neither registered nor importable{hint} "
            f"({reason}); run `rpnkit list {group.name}` to see the registered ones"
        ) from exc
    admit_path(group, path, obj)
    return ComponentInfo(group.name, path, obj, plugin=IMPORT_PATH)
