"""``auto`` sizes: an RPN model's input and output widths taken from the dataset.

In rpnkit's config form, the ``rpn`` model's first layer ``m`` and last layer ``n``, and the
first and last of a preset's ``dims``, may be ``auto``: :func:`resolve_sizes` replaces them
with the dataset's ``in_features`` and ``out_features`` before the model is built, so the
config a run saves holds the numbers. (An inner layer's ``m: auto``, the previous layer's
output size, needs no data: :func:`~rpnkit.rpn.model.build_model` resolves it.)

A size left out is not ``auto``: a missing ``m`` or ``n`` stays an error, so a forgotten key
is never filled in silently, and a config says on its face which sizes come from the data.

Only the builtin targets are resolved: a plugin model (or one replacing ``rpn``) receives
``auto`` as it is, with its own meaning.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from rpnkit.errors import ConfigError, RpnkitError
from rpnkit.plugins.state import get_registry
from rpnkit.rpn import presets
from rpnkit.rpn.model import AUTO, build_model

__all__ = ["auto_fields", "resolve_sizes"]

#: The preset factories, whose sizes are ``dims``.
_PRESETS = tuple(getattr(presets, name) for name in presets.__all__ if name.islower())


def auto_fields(spec: Mapping[str, Any], where: str = "model") -> dict[str, str]:
    """The fields of the model config ``spec`` that are ``auto`` and take a dataset width.

    Parameters
    ----------
    spec
        A ``{"name", "parameters"}`` model config.
    where
        Its config path, for the field names.

    Returns
    -------
    dict
        ``{field path: "in_features" or "out_features"}``, e.g.
        ``{"model.parameters.layers[0].m": "in_features"}``; empty for a model whose sizes
        are all numbers, or one that is not a builtin RPN model.
    """
    params = spec.get("parameters") or {}
    at = f"{where}.parameters"
    target = _target(spec.get("name"))
    found: dict[str, str] = {}
    if target is build_model:
        layers = params.get("layers")
        if isinstance(layers, list) and layers:
            for i, key, width in ((0, "m", "in_features"), (-1, "n", "out_features")):
                layer = layers[i]
                if isinstance(layer, Mapping) and layer.get(key) == AUTO:
                    found[f"{at}.layers[{i % len(layers)}].{key}"] = width
    elif target in _PRESETS:
        dims = params.get("dims")
        if isinstance(dims, list) and len(dims) >= 2:
            for i, width in ((0, "in_features"), (len(dims) - 1, "out_features")):
                if dims[i] == AUTO:
                    found[f"{at}.dims[{i}]"] = width
    return found


def resolve_sizes(
    spec: Mapping[str, Any], data: Any, where: str = "model"
) -> tuple[dict[str, Any], dict[str, int]]:
    """Replace the ``auto`` sizes of the model config ``spec`` with ``data``'s widths.

    Parameters
    ----------
    spec
        A ``{"name", "parameters"}`` model config (a run config's ``model`` section).
    data
        The built dataset: its ``in_features`` and ``out_features`` are used.
    where
        The config path of ``spec``, for messages.

    Returns
    -------
    tuple
        The config with numbers in place of the data's ``auto`` (a copy; ``spec`` is
        unchanged), and ``{field path: number}`` for every size resolved.

    Raises
    ------
    ConfigError
        One line naming the field when the dataset does not give the width it needs.

    Examples
    --------
    >>> data = rpnkit.build("dataset", "iris")  # doctest: +SKIP
    >>> spec, sizes = resolve_sizes(  # doctest: +SKIP
    ...     {"name": "rpn", "parameters": {"layers": [{"m": "auto", "n": "auto"}]}}, data)
    >>> sizes  # doctest: +SKIP
    {'model.parameters.layers[0].m': 4, 'model.parameters.layers[0].n': 3}
    >>> model = rpnkit.build("model", spec)  # doctest: +SKIP
    """
    fields = auto_fields(spec, where)
    resolved = copy.deepcopy(dict(spec))
    sizes: dict[str, int] = {}
    for path, width in fields.items():
        number = getattr(data, width, None)
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            name = getattr(data, "name", None)
            dataset = f"dataset {name!r}" if isinstance(name, str) else "the dataset"
            noun = "features" if width == "in_features" else "outputs"
            raise ConfigError(
                f"{path}={AUTO!r} takes the dataset's number of {noun}, but {dataset} does "
                f"not give one ({width}); give a number"
            )
        _set(resolved["parameters"], path.removeprefix(f"{where}.parameters."), number)
        sizes[path] = number
    return resolved, sizes


def _target(name: object) -> Any:
    """The model factory ``name`` answers to, or ``None`` when it does not resolve."""
    if not isinstance(name, str):
        return None
    try:
        return get_registry().get("model", name)
    except RpnkitError:
        return None  # an unknown name: building the model says so


def _set(parameters: dict[str, Any], path: str, number: int) -> None:
    """Set ``layers[i].m``-style ``path`` inside ``parameters`` to ``number``."""
    key, _, rest = path.partition("[")
    index, _, field = rest.partition("]")
    items = parameters[key]
    if field:
        items[int(index)][field.removeprefix(".")] = number
    else:
        items[int(index)] = number
