"""The explicit opt-in that lets a config's dotted paths name any importable class.

By default a dotted path in a config must name a registered component or a class of its
group's kind (:mod:`rpnkit.components.registry`), and whether it may be imported at all is
decided from the path alone, before anything is imported: importing a module runs its
top-level code, so without trust a module is imported only when it is already imported, or
lies in rpnkit, in a package of the group's kinds (``torch`` for a loss) or in an installed
rpnkit plugin, and is not found through the working directory. ``__main__`` modules (whose
import runs a program) are never imported. :func:`importlib.util.find_spec` of a top-level
name locates a module without running it; no import is made to build a did-you-mean hint. Trust is granted by the caller — ``rpnkit train
--trust-code`` on the command line, the :func:`trusted_code` context manager
(``rpnkit.trusted_code()``) in Python — never by the config itself.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Iterable, Iterator
from importlib.machinery import ModuleSpec
from pathlib import Path
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.components.entry import IMPORT_PATH, ComponentInfo, GroupInfo, import_target
from rpnkit.errors import ComponentNotFoundError, ConfigError, did_you_mean, one_line

__all__ = [
    "admit_path",
    "import_admitted",
    "import_path",
    "import_refusal",
    "is_trusted",
    "of_kind",
    "plugin_packages",
    "trusted_code",
]

#: The entry-point group of installed rpnkit plugins (as in :mod:`rpnkit.plugins.manager`).
_PLUGIN_GROUP = "rpnkit"

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
    return _of_kinds(group.kinds, obj)


def _of_kinds(kinds: Iterable[str], obj: Any) -> bool:
    if not inspect.isclass(obj):
        return False
    for kind in kinds:
        try:
            base = import_target(kind)
        except (ImportError, AttributeError):
            continue
        if inspect.isclass(base) and issubclass(obj, base):
            return True
    return False


@functools.cache
def plugin_packages() -> frozenset[str]:
    """Top-level packages of the installed rpnkit plugins (their entry points), not imported."""
    from importlib.metadata import entry_points

    return frozenset(ep.module.split(".")[0] for ep in entry_points(group=_PLUGIN_GROUP))


def _split(path: str) -> tuple[str, str]:
    """``("module", "attr")`` of ``"module:attr"`` or ``"package.module.attr"``."""
    if ":" in path:
        module, _, attr = path.partition(":")
    else:
        module, _, attr = path.rpartition(".")
    return module, attr


def _working_directories() -> set[Path]:
    """Directories a module must not be found through: the working directory, and what
    ``""`` / ``"."`` on ``sys.path`` stand for (``python -m`` puts the working directory first).
    """
    places = {Path.cwd()}
    places.update(Path(entry or ".") for entry in sys.path if entry in ("", "."))
    return {place.resolve() for place in places}


def _found_in(spec: ModuleSpec) -> set[Path]:
    """The ``sys.path`` directories a top-level module's spec was found in."""
    places = list(spec.submodule_search_locations or [])
    if spec.origin and spec.has_location:
        places.append(spec.origin)
    return {Path(place).resolve().parent for place in places}


def import_refusal(module: str, packages: Iterable[str]) -> str | None:
    """Why ``module`` may not be imported without trust, or ``None`` when it may.

    Decided from the name and :func:`importlib.util.find_spec` of its top-level package,
    which locates it without running any of its code.

    Parameters
    ----------
    module
        The dotted module name (``"torch.nn"``).
    packages
        The top-level packages whose modules may be imported (besides rpnkit, installed
        plugins and modules already imported).
    """
    if not module:
        return "is not a dotted path"
    parts = module.split(".")
    if "__main__" in parts:
        return f"names the __main__ module {module!r}, whose import runs a program"
    if module in sys.modules:
        return None
    top = parts[0]
    try:
        spec = sys.modules[top].__spec__ if top in sys.modules else importlib.util.find_spec(top)
    except (ImportError, ValueError) as exc:
        return f"cannot be located ({one_line(exc, 120)})"
    if spec is None:
        return f"is not importable (no module named {top!r})"
    allowed = {"rpnkit", *packages, *plugin_packages()}
    if top not in allowed:
        return (
            f"would import {top!r}, which is not yet imported nor one of the packages a "
            f"config may import ({', '.join(sorted(allowed))})"
        )
    if top not in sys.modules and _found_in(spec) & _working_directories():
        return f"would import {top!r} from the working directory, which a config may not do"
    return None


def _import(path: str, what: str) -> Any:
    """Import ``path``; any failure, ``SystemExit`` included, is one line.

    A ``__main__`` module below a package is refused even with trust: importing it runs a
    program (``venv.__main__`` creates a virtual environment), never defines a component.
    """
    module, _ = _split(path)
    if "__main__" in module.split(".")[1:]:
        raise ConfigError(
            f"{what} names the __main__ module {module!r}, whose import runs a program"
        )
    try:
        return import_target(path)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        parent, attr = _split(path.replace(":", "."))
        hint = ""
        loaded = sys.modules.get(parent)  # never imported for the hint
        if loaded is not None:
            names = [f"{parent}.{n}" for n in dir(loaded)]
            hint = did_you_mean(f"{parent}.{attr}", names)
        reason = one_line(f"{type(exc).__name__}: {exc}", 200)
        raise ComponentNotFoundError(
            f"{what} is neither registered nor importable{hint} ({reason})"
        ) from None


def _refuse(what: str, reason: str, accepts: str) -> ConfigError:
    return ConfigError(
        f"{what} {reason}; besides registered names it accepts {accepts}. A config cannot "
        "run other code: to allow any importable class, opt in with `--trust-code` (CLI) or "
        "rpnkit.trusted_code() (Python)"
    )


def _accepts(kinds: Iterable[str]) -> str:
    names = [k.replace(":", ".") for k in kinds]
    return f"subclasses of {' / '.join(names)}" if names else "no dotted paths"


def import_admitted(path: str, kinds: tuple[str, ...], what: str) -> Any:
    """Import the class ``path`` names if a config may name it, or refuse in one line.

    Without :func:`trusted_code` the module must pass :func:`import_refusal` (checked before
    anything is imported) and the object must be a class of one of ``kinds``.

    Parameters
    ----------
    path
        ``"module:attr"`` or ``"package.module.attr"``.
    kinds
        ``"module:attr"`` of the base classes accepted.
    what
        How the path is named in messages (``"dataset 'x.Y'"``).

    Raises
    ------
    ConfigError
        If the path is refused.
    ComponentNotFoundError
        If it cannot be imported (any exception of the import, ``SystemExit`` included).
    """
    if not is_trusted():
        module, _ = _split(path)
        if not module:
            raise ComponentNotFoundError(f"{what} is not a dotted path")
        reason = import_refusal(module, {k.split(":")[0].split(".")[0] for k in kinds})
        if reason is not None:
            raise _refuse(what, reason, _accepts(kinds))
    obj = _import(path, what)
    if not is_trusted() and not _of_kinds(kinds, obj):
        name = getattr(obj, "__qualname__", None) or type(obj).__name__
        raise _refuse(what, f"names {name}, which is not a class of that kind", _accepts(kinds))
    return obj


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
    what = getattr(obj, "__qualname__", None) or type(obj).__name__
    raise ConfigError(
        f"{name} {short_repr(path)} names {what}, which is not a registered {name} nor a "
        f"class of that kind; besides registered names the {name} group accepts "
        f"{_accepts(group.kinds)}. A config cannot run other code: to allow any importable "
        "class, opt in with `--trust-code` (CLI) or rpnkit.trusted_code() (Python)"
    )


def import_path(group: GroupInfo, path: str) -> ComponentInfo:
    """The entry of an unregistered dotted path: a class of the group's kind, or trusted.

    Without trust, whether the module may be imported is decided first, from the path
    alone (:func:`import_refusal`); nothing is imported for a refused path.

    Raises
    ------
    ComponentNotFoundError
        If nothing can be imported at ``path`` (with close matches among the names of an
        already imported module); a broken module, even one that calls ``sys.exit``, is the
        same one-line error as a typo.
    ConfigError
        If the path is refused (see :func:`import_refusal` and :func:`admit_path`).
    """
    what = f"{group.name} {short_repr(path)}"
    if not is_trusted():
        module, _ = _split(path)
        packages = {k.split(":")[0].split(".")[0] for k in group.kinds}
        reason = import_refusal(module, packages)
        if reason is not None and reason.startswith("is not importable"):
            raise ComponentNotFoundError(
                f"{what} is neither registered nor importable "
                f"{reason.removeprefix('is not importable ')}; run "
                f"`rpnkit list {group.name}` to see the registered ones"
            )
        if reason is not None:
            raise ConfigError(
                f"{what} {reason}; besides registered names the {group.name} group accepts "
                f"{_accepts(group.kinds)}. A config cannot run other code: to allow any "
                "importable class, opt in with `--trust-code` (CLI) or rpnkit.trusted_code() "
                "(Python)"
            )
    try:
        obj = _import(path, what)
    except ComponentNotFoundError as exc:
        raise ComponentNotFoundError(
            f"{exc}; run `rpnkit list {group.name}` to see the registered ones"
        ) from None
    admit_path(group, path, obj)
    return ComponentInfo(group.name, path, obj, plugin=IMPORT_PATH)
