"""tinybig's functions as rpnkit component specs: expansion, reconciliation, remainder, fusion.

Each takes the tinybig section (``data_transformation_configs``, ...) with its key path and
returns ``{"name": <registry name>, "parameters": {...}}``. Parameters keep tinybig's names
(rpnkit's RPN components take them), minus the labels ``name`` and ``device``; the
function-valued ones become rpnkit specs: processing functions become step names
(:mod:`rpnkit.tinybig.functions`) and an extended or nested expansion's
``composition_function_configs`` become its ``expansions``. What tinybig's head does with a
remainder's ``require_parameters`` and ``enable_bias`` (it owns the remainder's weight) is
mapped here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.tinybig.functions import pop_steps, steps
from rpnkit.tinybig.names import (
    accepts,
    build_quietly,
    check_parameters,
    registry_name,
    renamed,
)
from rpnkit.tinybig.problems import Problems
from rpnkit.tinybig.reading import drop_labels, read_object

__all__ = [
    "PROCESSING_BESIDE",
    "expansion",
    "expansion_size",
    "fusion",
    "interdependence",
    "reconciliation",
    "remainder",
]

Spec = dict[str, Any]

#: Processing keys that published configs put beside an expansion's parameters, where no
#: tinybig version reads them: ignored, as tinybig did (the published MNIST run had no layer
#: norm for this reason), each with one warning line.
PROCESSING_BESIDE = {
    key: "to apply it, move it into {parameters}"
    for key in (
        "preprocess_functions",
        "preprocess_function_configs",
        "postprocess_functions",
        "postprocess_function_configs",
    )
}
#: The spellings of an extended or nested expansion's parts: tinybig 0.2.1's and v0.1.x's.
_PARTS = ("composition_function_configs", "expansion_function_configs")


def _spec(name: str, parameters: dict[str, Any]) -> Spec:
    return {"name": name, "parameters": parameters}


def expansion(section: Any, where: str, m: int | None) -> Spec:
    """An expansion κ from ``data_transformation_configs`` (or a composition part).

    Parameters
    ----------
    section
        The tinybig mapping.
    where
        Its key path.
    m
        The number of input features, when known (checked against layer norms).

    Raises
    ------
    TinybigConfigError
        With every problem of the section.
    """
    obj = read_object(
        section, where, ("function", "data_transformation", "expansion"), PROCESSING_BESIDE
    )
    name = registry_name("expansion", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    problems = Problems()
    pre = problems.attempt(pop_steps, params, "preprocess", at)
    post = problems.attempt(pop_steps, params, "postprocess", at)
    parts = None
    if params.get("composition_functions") is not None:
        problems.add(
            f"{at}.composition_functions: a config cannot hold built functions; give "
            "composition_function_configs"
        )
    params.pop("composition_functions", None)
    given = [key for key in _PARTS if params.get(key) is not None]
    if len(given) > 1:
        problems.add(f"{at}: both {' and '.join(given)} are given; give one")
    key = given[0] if given else _PARTS[0]
    configs = params.pop(key, None)
    for other in _PARTS:
        params.pop(other, None)
    if configs is not None:
        if not isinstance(configs, list) or not configs:
            problems.add(f"{at}.{key} must be a non-empty list")
        else:
            # an extended expansion hands every part its own input, a nested one the previous
            # part's output, whose size is not known here
            part_m = m if name == "extended" else None
            parts = [
                problems.attempt(expansion, c, f"{at}.{key}[{i}]", part_m)
                for i, c in enumerate(configs)
            ]
    params = renamed("expansion", name, params)
    problems.attempt(check_parameters, "expansion", name, params, at)
    if parts is not None:
        params["expansions"] = parts
    pre_steps = problems.attempt(steps, pre, lambda: m)
    if pre_steps:
        params["preprocess"] = pre_steps
    post_steps = problems.attempt(steps, post, lambda: expansion_size(_spec(name, params), m))
    problems.raise_if_any()
    if post_steps:
        params["postprocess"] = post_steps
    return _spec(name, params)


def expansion_size(spec: Spec, m: int | None) -> int | None:
    """The expansion's output size ``D`` for ``m`` inputs, or ``None`` if it cannot be built."""
    if m is None:
        return None
    built = build_quietly("expansion", spec)
    size = getattr(built, "calculate_D", None)
    try:
        return int(size(m)) if callable(size) else None
    except (TypeError, ValueError, ConfigError):
        return None


def reconciliation(section: Any, where: str) -> Spec:
    """A reconciliation ψ from ``parameter_fabrication_configs``.

    ``require_parameters: true`` is every parameterised tinybig reconciliation's default and
    says nothing more; ``false`` would leave tinybig's head without a weight, which only a
    reconciliation that takes the option can express.

    Raises
    ------
    TinybigConfigError
        With every problem of the section.
    """
    obj = read_object(section, where, ("function", "parameter_fabrication"))
    name = registry_name("reconciliation", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    if "require_parameters" in params and not accepts("reconciliation", name, "require_parameters"):
        require = params.pop("require_parameters")
        if require is not True:
            raise ConfigError(
                f"{at}.require_parameters={short_repr(require)}: a tinybig head then has no "
                f"weight for reconciliation {name!r}; rpnkit's takes its l parameters always"
            )
    params = renamed("reconciliation", name, params)
    check_parameters("reconciliation", name, params, at, runtime=("n", "D"))
    return _spec(name, params)


def reconciliation_size(spec: Spec, n: int, D: int | None) -> int | None:
    """The reconciliation's parameter count ``l``, or ``None`` if it cannot be built."""
    if D is None:
        return None
    built = build_quietly("reconciliation", spec, n=n, D=D)
    size = getattr(built, "l", None)
    return size if isinstance(size, int) else None


def remainder(section: Any, where: str, m: int, n: int) -> Spec:
    """A remainder π from ``remainder_configs``, with what tinybig's head makes of it.

    tinybig's head owns the remainder's weight: it creates ``W (n, m)`` when the remainder has
    ``require_parameters`` (the linear remainder's default) and a bias when it also has
    ``enable_bias``. So a linear remainder without parameters is ``π(x) = act(x)``, rpnkit's
    ``identity`` remainder (which, like tinybig, needs ``m = n``); any other remainder with
    parameters would get a weight it never uses, and ``enable_bias`` without parameters
    changes nothing: both are refused.

    Raises
    ------
    TinybigConfigError
        With every problem of the section.
    """
    obj = read_object(section, where, ("function", "remainder"))
    name = registry_name("remainder", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    problems = Problems()
    activation = problems.attempt(pop_steps, params, "activation", at)
    require = params.pop("require_parameters", name == "linear")
    enable_bias = params.pop("enable_bias", False)
    for key, value in (("require_parameters", require), ("enable_bias", enable_bias)):
        if not isinstance(value, bool):
            problems.add(f"{at}.{key}={short_repr(value)} must be true or false")
    if name == "linear" and require is False:
        name = "identity"
    elif require is True and name != "linear":
        problems.add(
            f"{at}.require_parameters=true: tinybig's head would create a remainder weight that "
            f"remainder {name!r} never uses; remove it (a remainder that maps m to n with a "
            "weight is linear_remainder)"
        )
    if enable_bias is True and (name != "linear" or require is not True):
        problems.add(
            f"{at}.enable_bias=true: tinybig's head adds a remainder bias only with "
            "require_parameters, so it has no effect here; remove it"
        )
    elif enable_bias is True:
        params["enable_bias"] = True
    steps_ = problems.attempt(steps, activation, lambda: n)
    problems.attempt(check_parameters, "remainder", name, params, at, ("m", "n"))
    problems.raise_if_any()
    if steps_:
        params["activation"] = steps_
    return _spec(name, params)


def fusion(section: Any, where: str, dims: tuple[int, ...] | None) -> Spec | str:
    """A fusion from ``head_fusion_configs`` or ``channel_fusion_configs``.

    rpnkit builds a fusion with the sizes it fuses (``dims``); a ``dims`` in the config must
    be those.

    Raises
    ------
    TinybigConfigError
        With every problem of the section.
    """
    obj = read_object(section, where, ("function", "fusion"))
    name = registry_name("fusion", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    given = params.pop("dims", None)
    if given is not None and dims is not None and list(given) != list(dims):
        raise ConfigError(
            f"{at}.dims={short_repr(given)}: the fused outputs have sizes {list(dims)}"
        )
    check_parameters("fusion", name, params, at, runtime=("dims",))
    return _spec(name, params) if params else name


def lazy(value: Callable[[], int | None]) -> Callable[[], int | None]:
    """A size computed at most once."""
    cache: list[int | None] = []

    def size() -> int | None:
        if not cache:
            cache.append(value())
        return cache[0]

    return size


def interdependence(section: Any, where: str, kind: str) -> Spec:
    """An interdependence function ξ from a head's ``<kind>_interdependence_configs``.

    Parameters keep tinybig's names (rpnkit's interdependence functions take them); the head
    gives ``m``, ``b`` (its ``batch_num``) and the type unless the config does, and a type
    the config gives must be the head slot's.

    Raises
    ------
    TinybigConfigError
        With every problem of the section.
    """
    obj = read_object(
        section, where, ("function", "data_interdependence_function", "interdependence")
    )
    name = registry_name("interdependence", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    given = params.get("interdependence_type")
    if given is not None:
        from rpnkit.rpn.interdependence.base import INTERDEPENDENCE_TYPES

        if INTERDEPENDENCE_TYPES.get(str(given)) != kind:
            raise ConfigError(
                f"{at}.interdependence_type={short_repr(given)}: the head applies its "
                f"{kind}_interdependence as {kind} type; expected {kind!r}"
            )
    check_parameters("interdependence", name, params, at)
    return _spec(name, params)
