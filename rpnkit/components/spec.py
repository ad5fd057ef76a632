"""Component specs: the one parser of how a component is given, and the one way it is built.

A component (a loss, an optimizer, an expansion, ...) is given as

* a registry name or alias (``"adamw"``), or a dotted path (``"torch.optim.AdamW"``);
* a class or factory function;
* an instance, used as it is;
* a config mapping ``{"name": ..., "parameters": {...}}`` (tinybig's
  ``{"<group>_class": ..., "<group>_parameters": ...}`` form is translated to this one by
  :mod:`rpnkit.tinybig` before it gets here).

:func:`split_spec` parses the mapping form, :class:`ComponentSpec` is a resolved factory
with its parameters (built later, when run-time arguments such as an optimizer's ``params``
are known), and :func:`check_parameters` checks keyword arguments against a factory's
signature before it is called. Name lookup is the registry's job
(:meth:`rpnkit.components.registry.Registry.resolve`); this module knows nothing of plugins.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, did_you_mean, one_line

__all__ = ["ComponentSpec", "accepted_parameters", "check_parameters", "split_spec"]

_SPEC_KEYS = ("name", "parameters")


def split_spec(
    group: str, spec: Mapping[str, Any], where: str | None = None
) -> tuple[Any, dict[str, Any]]:
    """Split a ``{"name": ..., "parameters": {...}}`` mapping into ``(name, parameters)``.

    Parameters
    ----------
    group
        The component group, for messages.
    spec
        The mapping.
    where
        The config path of the mapping (``"learner.optimizer"``), for messages; defaults to
        ``"<group> config"``.

    Raises
    ------
    ConfigError
        If the name is missing, unknown keys are present or the parameters are not a mapping.
    """
    label = where or f"{group} config"
    unknown = sorted(str(k) for k in spec if k not in _SPEC_KEYS)
    if unknown:
        raise ConfigError(
            f"{label} has unknown key(s) {unknown}{did_you_mean(unknown[0], _SPEC_KEYS)}; valid "
            f"keys: 'name' and 'parameters' (or tinybig's '{group}_class' and "
            f"'{group}_parameters')"
        )
    if "name" not in spec or spec["name"] is None:
        raise ConfigError(
            f"{label} needs exactly one of 'name' or '{group}_class', got "
            f"{sorted(map(str, spec)) or 'none'}"
        )
    params = spec.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{label}.parameters must be a mapping of parameter names to values, got "
            f"{type(params).__name__}"
        )
    return spec["name"], dict(params)


def accepted_parameters(factory: Any) -> list[str] | None:
    """The keyword arguments ``factory`` takes, or ``None`` when it takes any (or is opaque)."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return [
        n
        for n, p in params.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]


def check_parameters(factory: Any, kwargs: Mapping[str, Any], label: str) -> None:
    """Raise :class:`ConfigError` if ``factory`` cannot take the keyword arguments ``kwargs``.

    Unknown names get close-match suggestions. Factories whose signature cannot be read, or
    that take ``**kwargs``, accept anything.
    """
    accepted = accepted_parameters(factory)
    if accepted is None:
        return
    for key in kwargs:
        if key not in accepted:
            raise ConfigError(
                f"{label} has no parameter {short_repr(key)}{did_you_mean(str(key), accepted)}; "
                f"valid parameters: {', '.join(accepted) or 'none'}"
            )


#: Groups of torch classes that take (or silently keep) a bad number and fail later: their
#: numeric parameters are checked before building, not only when the constructor refuses.
_TORCH_CHECKED = frozenset({"optimizer", "lr_scheduler"})


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_numbers(factory: Any, kwargs: Mapping[str, Any], label: str, *, group: str = "") -> None:
    """Refuse a non-number given for a parameter whose default is a number, in one line.

    :meth:`ComponentSpec.build` calls this when the constructor refuses its arguments, so a
    component's own, more precise checks speak first.

    A parameter annotated ``int`` needs an integer; one annotated ``float`` or with a numeric
    default needs a number
    (finite unless the default is not); for an optimizer, a parameter with a non-negative
    default needs a non-negative number (torch refuses a negative ``lr``, ``eps``,
    ``weight_decay`` or ``momentum``). ``None`` and values for other parameters pass.
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    for key, value in kwargs.items():
        param = params.get(key)
        if value is None or param is None:
            continue
        default = param.default if _is_number(param.default) else None
        integer = param.annotation in (int, "int")
        if default is None and not integer and param.annotation not in (float, "float"):
            continue
        noun = "integer" if integer else "number"
        valid = _is_number(value) and (isinstance(value, int) or not integer)
        if not integer and (default is None or math.isfinite(default)):
            noun = f"finite {noun}"
            valid = valid and math.isfinite(value)
        if group == "optimizer" and default is not None and default >= 0:
            noun = f"non-negative {noun}"
            valid = valid and value >= 0
        expected = f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
        if not valid:
            raise ConfigError(
                f"{label} parameter {key}={short_repr(value)} is not valid; expected {expected}"
            )


@dataclass(frozen=True)
class ComponentSpec:
    """A resolved component factory and its configured parameters, built on demand.

    An optimizer needs the model's parameters and a scheduler its optimizer: both are known
    only when training starts, so the learner keeps this and calls :meth:`build` then.

    Attributes
    ----------
    group
        The registry group (``"optimizer"``, ``"lr_scheduler"``, ...).
    target
        The class or factory.
    parameters
        Keyword arguments from the config (``{"lr": 1e-3}``).
    label
        How messages name it (``"optimizer 'adamw'"``).
    """

    group: str
    target: Callable[..., Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the target's name."""
        return self.label or f"{self.group} {getattr(self.target, '__name__', self.target)!r}"

    def accepts(self, parameter: str) -> bool:
        """Whether the target takes a keyword argument called ``parameter``."""
        accepted = accepted_parameters(self.target)
        return accepted is None or parameter in accepted

    def check(self, *runtime: str) -> None:
        """Check the configured parameters plus the named run-time ones, without building."""
        check_parameters(
            self.target,
            {**self.parameters, **dict.fromkeys(runtime)},
            self.name,
        )

    def build(self, **runtime: Any) -> Any:
        """Call the target with its parameters plus ``runtime`` ones (which win).

        Raises
        ------
        ConfigError
            For a parameter the target does not take, or a value it rejects (``TypeError``
            or ``ValueError`` from the constructor, named with the parameters given).
        """
        kwargs = {**self.parameters, **runtime}
        check_parameters(self.target, kwargs, self.name)
        if self.group in _TORCH_CHECKED:
            check_numbers(self.target, self.parameters, self.name, group=self.group)
        try:
            return self.target(**kwargs)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            # the constructor's own text rarely says what is valid: name it for numbers
            check_numbers(self.target, self.parameters, self.name, group=self.group)
            reason = one_line(exc, 200)
            raise ConfigError(
                f"{self.name} with parameters {short_repr(self.parameters, 120)} failed: "
                f"{type(exc).__name__}: {reason}"
            ) from exc
