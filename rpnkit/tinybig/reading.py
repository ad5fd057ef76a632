"""The shapes tinybig gives an object: a class path and its parameters, in two spellings.

tinybig 0.2.1 writes and reads ``function_class`` / ``function_parameters`` for functions
(expansions, reconciliations, remainders, fusions, processing functions) and
``<object>_class`` / ``<object>_parameters`` for the rest (``head_class``, ``layer_class``,
``data_class``, ``optimizer_class``, ...). Older configs spell functions by their role too:
``data_transformation_class``, ``parameter_fabrication_class``, ``remainder_class``. Both
spellings are read wherever tinybig reads either; v0.1.x configs spell the parts of an extended
or nested expansion ``expansion_class`` / ``expansion_parameters``, and RPN 2's interdependence
functions ``data_interdependence_function_class`` / ``..._parameters``. Keys placed beside the
parameters, where no tinybig version reads them, are refused rather than dropped, except the
ones published configs hold that tinybig silently ignored (a caller names them): those are
ignored too, each with one warning line saying how to apply it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.tinybig.problems import TinybigConfigError, ignored

__all__ = [
    "LABELS",
    "TinybigObject",
    "component_config",
    "drop_labels",
    "is_tinybig_component",
    "read_object",
    "rpnkit_form",
]

#: Parameters of tinybig objects that are pure labels or bookkeeping: ``name`` names the
#: object, ``device`` is where tinybig creates it (an rpnkit run has one ``device``).
LABELS = ("name", "device")

#: The spellings tinybig reads for a component of each rpnkit group (Python API path).
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "dataset": ("data",),
    "expansion": ("function", "data_transformation"),
    "reconciliation": ("function", "parameter_fabrication"),
    "remainder": ("function", "remainder"),
    "fusion": ("function",),
    "interdependence": ("function", "data_interdependence_function", "interdependence"),
    "compression": ("function", "data_transformation", "compression"),
}


class TinybigObject:
    """One tinybig object read from a config: class path, parameters and their key paths.

    Attributes
    ----------
    cls
        The class path as written.
    parameters
        A copy of the parameters (empty when none are given).
    class_path, parameters_path
        Key paths of the class and of the parameters, for messages
        (``"...remainder_configs.function_parameters"``).
    """

    def __init__(self, cls: str, parameters: dict[str, Any], where: str, prefix: str) -> None:
        self.cls = cls
        self.parameters = parameters
        self.class_path = f"{where}.{prefix}_class"
        self.parameters_path = f"{where}.{prefix}_parameters"

    @property
    def leaf(self) -> str:
        """The class name, the last part of the path."""
        return self.cls.rpartition(".")[2]


def read_object(
    section: Any,
    where: str,
    prefixes: Sequence[str],
    ignore: Mapping[str, str] | None = None,
) -> TinybigObject:
    """Read ``{"<prefix>_class": ..., "<prefix>_parameters": {...}}`` for one of ``prefixes``.

    Parameters
    ----------
    section
        The mapping from the config.
    where
        Its key path.
    prefixes
        The spellings tinybig reads there, e.g. ``("function", "remainder")``.
    ignore
        Keys beside the parameters that published configs hold and tinybig never read,
        mapped to how to apply them; each is ignored with one warning line
        (:class:`~rpnkit.tinybig.problems.TinybigIgnoredKeyWarning`) instead of refused.

    Raises
    ------
    TinybigConfigError
        For a section that is not such a mapping, a missing or doubled class, both spellings
        at once, or keys beside the parameters (each its own problem).
    """
    expected = f"'{prefixes[0]}_class' and '{prefixes[0]}_parameters'"
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} must be a mapping with {expected}, got {short_repr(section)}")
    used = [p for p in prefixes if f"{p}_class" in section or f"{p}_parameters" in section]
    if len(used) != 1:
        found = sorted(map(str, section)) or "nothing"
        reason = "mixes two spellings" if used else f"needs {expected}"
        raise ConfigError(f"{where} {reason}; found {short_repr(found)}")
    prefix = used[0]
    class_key, params_key = f"{prefix}_class", f"{prefix}_parameters"
    skip = ignore or {}
    for key in section:
        if key in skip:
            ignored(
                f"{where}.{key}: ignored, as tinybig ignored it (no tinybig version reads it "
                f"beside {params_key}, so it was never applied); "
                f"{skip[key].format(parameters=params_key)}"
            )
    beside = [
        f"{where}.{key}: sits beside {params_key}, where tinybig never reads it; move it into "
        f"{params_key} or remove it"
        for key in section
        if key not in (class_key, params_key) and key not in skip
    ]
    if beside:
        raise TinybigConfigError(beside)
    cls = section.get(class_key)
    if not isinstance(cls, str) or not cls.strip():
        raise ConfigError(f"{where}.{class_key} must be a class path, got {short_repr(cls)}")
    params = section.get(params_key)
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"{where}.{params_key} must be a mapping of parameters, got {short_repr(params)}"
        )
    return TinybigObject(cls.strip(), dict(params), where, prefix)


def drop_labels(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` without tinybig's :data:`LABELS`."""
    return {k: v for k, v in parameters.items() if k not in LABELS}


def is_tinybig_component(section: Mapping[str, Any]) -> bool:
    """Whether a component mapping is in tinybig's ``*_class`` / ``*_parameters`` form."""
    return any(str(key).endswith(("_class", "_parameters")) for key in section)


def rpnkit_form(group: str, spec: Any, where: str) -> Any:
    """``spec`` in rpnkit's form: a tinybig component mapping translated, anything else as it is.

    The entries of the API tinybig had (the learner's ``loss``, ``optimizer`` and
    ``lr_scheduler`` arguments and their ``*_configs``, and :func:`rpnkit.build`) call this
    before the registry looks the component up; the registry itself knows only rpnkit's form.

    Parameters
    ----------
    group
        The rpnkit group (``optimizer``, ``loss``, ...).
    spec
        The component as given.
    where
        Its argument name or key path, for messages.

    Raises
    ------
    ConfigError
        For a malformed tinybig mapping.
    """
    if isinstance(spec, Mapping) and is_tinybig_component(spec):
        return component_config(group, spec, where)
    return spec


def component_config(group: str, section: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Translate one tinybig component mapping to rpnkit's ``{"name", "parameters"}`` form.

    This is the path of components handed to the Python API in tinybig's form
    (``BackwardLearner(optimizer_configs={"optimizer_class": ..., ...})``, through
    :func:`rpnkit_form`). A tinybig class path becomes its class name, which the registry
    looks up among its names and
    aliases (``tinybig.expansion.taylor_expansion`` -> ``taylor_expansion``); other paths
    (``torch.optim.AdamW``) are kept for the registry's own rules. tinybig's labels are
    dropped from tinybig classes.

    Parameters
    ----------
    group
        The rpnkit group (``optimizer``, ``expansion``, ...).
    section
        The tinybig mapping.
    where
        Its key path or argument name, for messages.

    Raises
    ------
    ConfigError
        For a malformed mapping.
    """
    prefixes = _SPELLINGS.get(group, (group,))
    try:
        obj = read_object(section, where, prefixes)
    except TinybigConfigError as exc:
        raise ConfigError(exc.problems[0]) from None
    if obj.cls.startswith("tinybig."):
        _announce(group, obj.leaf)
        return {"name": obj.leaf, "parameters": drop_labels(obj.parameters)}
    return {"name": obj.cls, "parameters": obj.parameters}


def _announce(group: str, name: str) -> None:
    """Say once when the named tinybig class computes other numbers in rpnkit (if it resolves)."""
    from rpnkit.errors import RpnkitError
    from rpnkit.tinybig.names import announce_divergence

    with contextlib.suppress(RpnkitError):  # an unknown name: building it says so
        announce_divergence(group, name, name)


def unknown_keys(keys: Sequence[str], valid: Sequence[str], where: str, what: str) -> list[str]:
    """One problem per key of ``keys`` that is not in ``valid``, with close matches."""
    return [
        f"{where}.{key}: not a {what} key{did_you_mean(str(key), valid)}; valid keys: "
        f"{', '.join(valid)}"
        for key in keys
        if key not in valid
    ]
