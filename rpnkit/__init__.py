"""rpnkit: train Reconciled Polynomial Network models through a plugin registry.

The public API is small: the registry (:func:`build`, :func:`get_registry`), the plugin
markers (:data:`hookimpl`), programmatic plugin registration (:func:`register_plugin`) and,
imported lazily so that ``import rpnkit`` does not import torch, the learner
(:class:`BackwardLearner`) and :func:`load_run`, which loads a trained run for prediction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rpnkit.components.registry import Registry
from rpnkit.components.trust import trusted_code
from rpnkit.errors import RpnkitError
from rpnkit.plugins.hookspecs import hookimpl, hookspec
from rpnkit.plugins.state import get_registry, register_plugin

if TYPE_CHECKING:
    from rpnkit.inference.run import load_run
    from rpnkit.learner import BackwardLearner

from rpnkit._version import __version__

__all__ = [
    "BackwardLearner",
    "Registry",
    "RpnkitError",
    "__version__",
    "build",
    "get_registry",
    "hookimpl",
    "hookspec",
    "load_run",
    "register_plugin",
    "trusted_code",
]


def build(group: str, spec: Any, /, **overrides: Any) -> Any:
    """Build a component of ``group`` with the process-wide registry.

    Parameters
    ----------
    group
        The registry group (``"loss"``, ``"expansion"``, ...).
    spec
        A name or alias, a ``{"name", "parameters"}`` mapping, a class or instance of the
        group's kind, or a mapping in tinybig's ``{"<group>_class", "<group>_parameters"}``
        form (translated here, by :mod:`rpnkit.tinybig`, never by the registry).
    **overrides
        Parameters added to (or replacing) the spec's own.

    Returns
    -------
    Any
        The built component; see :meth:`Registry.build`.
    """
    from rpnkit.tinybig.reading import rpnkit_form

    return get_registry().build(group, rpnkit_form(group, spec, f"{group} config"), **overrides)


def __getattr__(name: str) -> Any:
    if name == "BackwardLearner":
        from rpnkit.learner import BackwardLearner

        return BackwardLearner
    if name == "load_run":
        from rpnkit.inference.run import load_run

        return load_run
    raise AttributeError(f"module 'rpnkit' has no attribute {name!r}")
