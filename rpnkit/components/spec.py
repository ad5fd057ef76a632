"""Component specs: the one parser of how a component is given, and the one way it is built.

A component (a loss, an optimizer, an expansion, ...) is given as

* a registry name or alias (``"adamw"``), or a dotted path (``"torch.optim.AdamW"``);
* a class or factory function;
* an instance, used as it is;
* a config mapping ``{"name": ..., "parameters": {...}}``.

:func:`parse_spec` is the one parser of the name and mapping forms (run configs, the registry
and the learner all use it). :class:`ComponentSpec` is a resolved factory with its parameters,
built later, when run-time arguments such as an optimizer's ``params`` are known; its
parameters are bound to the factory's signature when it is made and again, with the run-time
arguments, when it is built (:func:`check_arguments`). A mistake in how a component is called
(an unknown, missing or doubled parameter) is a one-line :class:`~rpnkit.errors.ConfigError`;
an error raised inside the factory is the component's own and keeps its traceback. Name
lookup is the registry's job (:meth:`rpnkit.components.registry.Registry.resolve`); this
module knows nothing of plugins, nor of tinybig's ``*_class`` form (translated by
:mod:`rpnkit.tinybig.reading` where tinybig's API is read).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, did_you_mean

__all__ = [
    "ComponentSpec",
    "accepted_parameters",
    "check_arguments",
    "check_numbers",
    "parse_spec",
    "unknown_parameter",
]

_SPEC_KEYS = ("name", "parameters")


def parse_spec(value: Any, where: str) -> tuple[Any, dict[str, Any]]:
    """Parse a component given as a name or a ``{"name": ..., "parameters": {...}}`` mapping.

    Parameters
    ----------
    value
        A non-empty name (returned stripped, with no parameters) or the mapping. In a mapping
        from Python, the name may also be a class, a factory or an instance.
    where
        The config path or argument name of ``value`` (``"learner.optimizer"``), for messages.

    Returns
    -------
    tuple
        ``(name, parameters)``, ``parameters`` a new dict.

    Raises
    ------
    ConfigError
        For another shape, unknown keys, a missing or empty name, or parameters that are not
        a mapping; one line naming ``where``.
    """
    if isinstance(value, str) and value.strip():
        return value.strip(), {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where} must be a component name or a mapping with 'name' and 'parameters', "
            f"got {type(value).__name__} {short_repr(value)}"
        )
    unknown = sorted(str(k) for k in value if k not in _SPEC_KEYS)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key {unknown[0]!r}{did_you_mean(unknown[0], _SPEC_KEYS)}; "
            f"valid keys: name, parameters"
        )
    name = value.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ConfigError(
            f"{where} needs a 'name' (a component name), got {short_repr(name)} with keys "
            f"{sorted(map(str, value)) or 'none'}"
        )
    params = value.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{where}.parameters must be a mapping of parameter names to values, got "
            f"{type(params).__name__} {short_repr(params)}"
        )
    return (name.strip() if isinstance(name, str) else name), dict(params)


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


def _given(kwargs: Mapping[str, Any], n_args: int = 0) -> str:
    names = [f"<{n_args} positional>"] if n_args else []
    names += [str(k) for k in kwargs]
    return ", ".join(names) or "none"


def unknown_parameter(label: str, key: str, valid: Sequence[str], given: str) -> str:
    """The one-line message for a parameter ``key`` that ``label`` does not take."""
    return (
        f"{label} has no parameter {short_repr(key)}{did_you_mean(str(key), valid)}; "
        f"valid parameters: {', '.join(valid) or 'none'}; given: {given}"
    )


def check_arguments(
    factory: Any,
    kwargs: Mapping[str, Any],
    label: str,
    *,
    args: Sequence[Any] = (),
    partial: bool = False,
) -> inspect.BoundArguments | None:
    """Bind ``args`` and ``kwargs`` to ``factory``'s signature; a mistake is one line.

    Parameters
    ----------
    factory
        The class or function to be called.
    kwargs, args
        The arguments it is to be called with.
    label
        How messages name it (``"optimizer 'adamw'"``).
    partial
        Bind what is given so far (run-time arguments come later): a missing parameter is
        not a mistake yet.

    Returns
    -------
    inspect.BoundArguments or None
        The bound arguments, defaults applied (for a full bind); ``None`` when the signature
        cannot be read (such a factory accepts anything here).

    Raises
    ------
    ConfigError
        For a parameter the factory does not take (with close matches and the valid ones),
        a required one missing, or one given twice; each message lists the parameters given.
    """
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    try:
        bound = (signature.bind_partial if partial else signature.bind)(*args, **kwargs)
    except TypeError as exc:
        raise ConfigError(_binding_problem(signature, args, kwargs, label, exc)) from None
    if not partial:
        bound.apply_defaults()
    return bound


def _binding_problem(
    signature: inspect.Signature,
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    label: str,
    exc: TypeError,
) -> str:
    """Say in one line why ``args`` and ``kwargs`` do not bind to ``signature``."""
    kind = inspect.Parameter
    params = signature.parameters
    given = _given(kwargs, len(args))
    takes_any = any(p.kind is kind.VAR_KEYWORD for p in params.values())
    named = [
        n for n, p in params.items() if p.kind in (kind.POSITIONAL_OR_KEYWORD, kind.KEYWORD_ONLY)
    ]
    for key in kwargs:
        param = params.get(key)
        if param is None and not takes_any:
            return unknown_parameter(label, key, named, given)
        if param is not None and param.kind is kind.POSITIONAL_ONLY and not takes_any:
            return f"{label} takes {key!r} by position only, not by name; given: {given}"
    positional = [
        p for p in params.values() if p.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD)
    ]
    if not any(p.kind is kind.VAR_POSITIONAL for p in params.values()):
        if len(args) > len(positional):
            return (
                f"{label} takes at most {len(positional)} positional argument(s), got "
                f"{len(args)}; given: {given}"
            )
        twice = [p.name for p in positional[: len(args)] if p.name in kwargs]
        if twice:
            return (
                f"{label} got parameter {twice[0]!r} twice, by position and by name; given: {given}"
            )
    filled = {p.name for p in positional[: len(args)]} | set(kwargs)
    missing = [
        n
        for n, p in params.items()
        if p.default is kind.empty
        and p.kind not in (kind.VAR_POSITIONAL, kind.VAR_KEYWORD)
        and n not in filled
    ]
    if missing:
        return (
            f"{label} is missing required parameter(s) {', '.join(map(repr, missing))}; "
            f"given: {given}"
        )
    return f"{label} cannot be called with these parameters ({exc}); given: {given}"


#: Groups of torch classes that take (or silently keep) a bad number and fail later: their
#: numeric parameters are checked before building, not only when the constructor refuses.
_TORCH_CHECKED = frozenset({"optimizer", "lr_scheduler"})


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_numbers(factory: Any, kwargs: Mapping[str, Any], label: str, *, group: str = "") -> None:
    """Refuse a non-number given for a parameter whose default is a number, in one line.

    :meth:`ComponentSpec.build` calls this before building a torch optimizer or scheduler,
    and for other components when the constructor refuses its arguments, so a component's
    own, more precise checks speak first.

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
    only when training starts, so the learner keeps this and calls :meth:`build` then. The
    parameters are bound to the target's signature when the spec is made, so a parameter the
    target does not take fails at once.

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

    Raises
    ------
    ConfigError
        When made, for a parameter the target does not take.
    """

    group: str
    target: Callable[..., Any]
    parameters: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the target's name."""
        return self.label or f"{self.group} {getattr(self.target, '__name__', self.target)!r}"

    def __post_init__(self) -> None:
        check_arguments(self.target, self.parameters, self.name, partial=True)

    def accepts(self, parameter: str) -> bool:
        """Whether the target takes a keyword argument called ``parameter``."""
        accepted = accepted_parameters(self.target)
        return accepted is None or parameter in accepted

    def build(self, **runtime: Any) -> Any:
        """Call the target with its parameters plus ``runtime`` ones (which win).

        Raises
        ------
        ConfigError
            For a parameter the target does not take or a required one missing (naming
            the parameters given), or a number it cannot take (see :func:`check_numbers`).
        Exception
            Whatever the target itself raises, with its traceback: a ``TypeError`` or
            ``ValueError`` from inside a constructor is the component's, unless its
            signature shows a value given to it was not a valid number.
        """
        kwargs = {**self.parameters, **runtime}
        check_arguments(self.target, kwargs, self.name)
        if self.group in _TORCH_CHECKED:
            check_numbers(self.target, kwargs, self.name, group=self.group)
        try:
            return self.target(**kwargs)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            # the constructor's text rarely says what is valid: a wrong number is named
            try:
                check_numbers(self.target, kwargs, self.name, group=self.group)
            except ConfigError as mistake:
                raise mistake from exc
            raise
