"""tinybig and torch class paths as rpnkit registry names, and parameters checked by signature.

A class path maps by its class name: ``tinybig.expansion.taylor_expansion`` is the expansion
registered as (or aliased) ``taylor_expansion``, which is ``taylor``; ``torch.optim.AdamW`` is
the optimizer answering to ``AdamW``, which is ``adamw``. Every component rpnkit registers
answers to tinybig's class name, so no table per class is needed: whatever is registered,
builtin or plugin, maps. The emitted config holds registry names only.

Parameters are checked against the rpnkit component's signature while translating, so a
parameter it does not take is reported with its tinybig key path, together with every other
problem of the config.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.components.spec import accepted_parameters
from rpnkit.errors import ComponentNotFoundError, ConfigError, GroupNotFoundError, did_you_mean
from rpnkit.tinybig.problems import TinybigConfigError, notice

__all__ = [
    "PACKAGES",
    "accepts",
    "announce_divergence",
    "build_quietly",
    "check_parameters",
    "registry_name",
    "renamed",
]

#: Where the classes of each rpnkit group live in tinybig (and torch).
PACKAGES: dict[str, tuple[str, ...]] = {
    "expansion": ("tinybig.expansion.", "tinybig.compression."),
    "interdependence": ("tinybig.interdependence.",),
    "compression": ("tinybig.compression.",),
    "reconciliation": ("tinybig.reconciliation.",),
    "remainder": ("tinybig.remainder.",),
    "fusion": ("tinybig.fusion.",),
    "model": ("tinybig.model.",),
    "dataset": ("tinybig.data.",),
    "metric": ("tinybig.metric.",),
    "loss": ("torch.nn.", "tinybig.loss."),
    "optimizer": ("torch.optim.", "tinybig.optimizer."),
    "lr_scheduler": ("torch.optim.lr_scheduler.", "tinybig.optimizer."),
}
#: tinybig parameter names that an rpnkit component may spell differently, per group; used
#: only when the component does not take tinybig's name itself.
_RENAMES: dict[str, dict[str, str]] = {
    "dataset": {"train_batch_size": "batch_size"},
    "reconciliation": {"hidden_dim": "h"},
}


def _registry() -> Any:
    from rpnkit.plugins.state import get_registry

    return get_registry()


def registry_name(group: str, path: Any, where: str) -> str:
    """The rpnkit registry name of the class at ``path`` in ``group``.

    Parameters
    ----------
    group
        The rpnkit group.
    path
        A tinybig or torch class path (``tinybig.remainder.linear_remainder``), or an rpnkit
        name (``linear``). A torch class that rpnkit does not register under its name keeps
        its path (the registry accepts torch classes of the group's kind); a path outside
        tinybig and torch is kept too, for the registry's trust rules to decide.
    where
        The key path of the class, for messages.

    Raises
    ------
    ConfigError
        For a tinybig class of another kind or one with no rpnkit equivalent (with close
        matches), or a group this installation does not have.
    """
    if not isinstance(path, str) or not path.strip():
        raise ConfigError(f"{where} must be a class path, got {short_repr(path)}")
    path = path.strip()
    packages = PACKAGES.get(group, ())
    if "." in path and not path.startswith(packages):
        if path.startswith("tinybig."):
            raise ConfigError(
                f"{where}={short_repr(path)} is not a {group} class; {where.rpartition('.')[2]} "
                f"takes a class of {' or '.join(p.rstrip('.') for p in packages)}"
            )
        return path
    leaf = path.rpartition(".")[2]
    registry = _registry()
    try:
        name = str(registry.get_info(group, leaf).name)
    except GroupNotFoundError:
        raise ConfigError(
            f"{where}={short_repr(path)} needs rpnkit's {group!r} components, which this "
            "installation does not have"
        ) from None
    except ComponentNotFoundError:
        if path.startswith("torch."):
            return path
        names = [n for entry in registry.entries(group) for n in (entry.name, *entry.aliases)]
        prefix = path.rpartition(".")[0]  # suggest in the spelling the config uses
        hint = (
            did_you_mean(path, [f"{prefix}.{n}" for n in names])
            if prefix
            else did_you_mean(leaf, names)
        )
        raise ConfigError(
            f"{where}={short_repr(path)} has no rpnkit {group} equivalent{hint}; "
            f"`rpnkit list {group}` shows them all"
        ) from None
    announce_divergence(group, name, leaf)
    return name


def announce_divergence(group: str, name: str, label: str) -> None:
    """One notice line when the component ``name`` computes other numbers than tinybig 0.2.1.

    The component says so in its ``tinybig_divergence`` class attribute (one line); the notice
    is the same text wherever the config names it, so it is shown once.
    """
    target = _target(group, name)
    divergence = getattr(target, "tinybig_divergence", None)
    if isinstance(divergence, str) and divergence:
        notice(f"{label} ({group} {name!r}) differs from tinybig 0.2.1: {divergence}")


def _target(group: str, name: str) -> Any:
    """The registered factory of ``name``, or ``None`` for a kept path (never imported here)."""
    if "." in name:
        return None
    return _registry().get(group, name)


def accepts(group: str, name: str, parameter: str) -> bool:
    """Whether the component ``name`` of ``group`` takes a keyword called ``parameter``."""
    target = _target(group, name)
    accepted = None if target is None else accepted_parameters(target)
    return accepted is None or parameter in accepted


def renamed(group: str, name: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """``parameters`` with tinybig names the component does not take in their rpnkit spelling."""
    out = dict(parameters)
    for old, new in _RENAMES.get(group, {}).items():
        if old in out and not accepts(group, name, old) and accepts(group, name, new):
            out[new] = out.pop(old)
    return out


def check_parameters(
    group: str,
    name: str,
    parameters: Mapping[str, Any],
    where: str,
    runtime: Iterable[str] = (),
) -> None:
    """Refuse every parameter the component does not take, each with its key path.

    Parameters
    ----------
    group, name
        The component.
    parameters
        The parameters the config gives it.
    where
        Key path of the parameters mapping.
    runtime
        Parameters the head, layer or learner passes itself (``n``, ``D``, ``params``): the
        config may not set them.

    Raises
    ------
    TinybigConfigError
        With one problem per refused parameter.
    """
    target = _target(group, name)
    accepted = None if target is None else accepted_parameters(target)
    if accepted is None:
        return
    fixed = set(runtime)
    valid = [p for p in accepted if p not in fixed]
    problems = []
    for key in parameters:
        if key in fixed:
            problems.append(f"{where}.{key}: set by rpnkit itself for {group} {name!r}")
        elif key not in accepted:
            problems.append(
                f"{where}.{key}: {group} {name!r} has no such parameter"
                f"{did_you_mean(str(key), valid)}; valid: {', '.join(valid) or 'none'}"
            )
    if problems:
        raise TinybigConfigError(problems)


def build_quietly(group: str, spec: Mapping[str, Any], **runtime: Any) -> Any:
    """Build ``spec`` to read a size from it, or ``None`` if it does not build.

    The random generators are left as they were, so translating never changes a run.
    """
    import torch

    with torch.random.fork_rng(devices=[]), contextlib.suppress(Exception):
        return _registry().build(group, spec["name"], **spec["parameters"], **runtime)
    return None
