"""The RPN model: a stack of :class:`RPNLayer` modules, and :func:`build_model` from configs."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, RpnkitError, did_you_mean
from rpnkit.rpn._validation import allocation, build_component
from rpnkit.rpn.head import HEAD_KEYS
from rpnkit.rpn.layer import RPNLayer

__all__ = ["AUTO", "LAYER_KEYS", "RPN", "build_model", "check_size", "is_layer"]

#: Keys of a layer config; ``m`` and ``n`` are required, the rest default as in
#: :class:`RPNLayer`.
LAYER_KEYS = ("m", "n", *HEAD_KEYS, "width", "fusion", "heads", "width_alloc")
#: The size that is taken from elsewhere: an inner layer's ``m`` is the previous layer's output
#: size; the first layer's ``m`` and the last one's ``n`` are the dataset's widths, which a run
#: resolves before the model is built (:mod:`rpnkit.rpn.sizes`).
AUTO = "auto"


class RPN(nn.Module):
    """A Reconciled Polynomial Network: ``x_{i+1} = layer_i(x_i)``.

    Nothing is inserted between layers; non-linearity comes from the expansions and the
    processing steps.

    Parameters
    ----------
    layers
        The layers, in order; each one's ``m`` must equal the previous one's output size.

    Raises
    ------
    ConfigError
        If there are no layers or two neighbours do not chain.
    """

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        super().__init__()
        if not layers:
            raise ConfigError("model.layers is empty; expected at least one layer")
        for i, layer in enumerate(layers):
            if not is_layer(layer):
                raise ConfigError(
                    f"model.layers[{i}] is a {type(layer).__qualname__}; expected an RPNLayer "
                    "or a layer module with integer m and out_features (use "
                    "rpnkit.rpn.build_model for layer configs)"
                )
            if i:
                _check_chain(i, cast(int, layer.m), layers[i - 1])
        self.layers = nn.ModuleList(layers)

    @property
    def in_features(self) -> int:
        """Input size of the first layer."""
        return cast(RPNLayer, self.layers[0]).m

    @property
    def out_features(self) -> int:
        """Output size of the last layer."""
        return cast(RPNLayer, self.layers[-1]).out_features

    def forward(self, x: Tensor, device: torch.device | str | None = None) -> Tensor:
        """Return the network output for ``x`` of shape ``(..., m)``.

        Parameters
        ----------
        x
            Input batch.
        device
            If given, ``x`` is moved there first (a no-op when it is already there).
        """
        if device is not None:
            x = x.to(device)
        for layer in self.layers:
            x = layer(x)
        return x


def is_layer(layer: object) -> bool:
    """Whether ``layer`` can be a layer of an :class:`RPN`: an :class:`RPNLayer`, or any module
    with integer ``m`` and ``out_features`` (the RPN 2 structured layers, a plugin's layers)."""
    if isinstance(layer, RPNLayer):
        return True
    sizes = (getattr(layer, "m", None), getattr(layer, "out_features", None))
    return isinstance(layer, nn.Module) and all(
        isinstance(size, int) and not isinstance(size, bool) for size in sizes
    )


def _check_chain(i: int, m: int, previous: nn.Module) -> None:
    """Raise if layer ``i`` (input size ``m``) does not take the previous layer's output."""
    if m == previous.out_features:
        return
    source = f"model.layers[{i - 1}] output size {previous.out_features}"
    if isinstance(previous, RPNLayer) and previous.out_features == previous.n:
        source = f"model.layers[{i - 1}].n={previous.n}"
    elif isinstance(previous, RPNLayer):
        source += (
            f" (n={previous.n}, width={previous.width}, fusion {type(previous.fusion).__name__})"
        )
    raise ConfigError(f"model.layers[{i}].m={m} does not match {source}")


def build_model(
    layers: Sequence[Mapping[str, Any] | nn.Module],
    depth: int | None = None,
    depth_alloc: int | Sequence[int] | None = None,
) -> RPN:
    """Build an :class:`RPN` from layer configs (or layers).

    Parameters
    ----------
    layers
        One entry per layer config: a built layer (:func:`is_layer`), a registered layer
        ``{"name": "grid_interdependence_layer", "parameters": {...}}`` (group ``layer``), or
        a mapping with the keys :data:`LAYER_KEYS`, for example::

            {"m": 64, "n": 32, "expansion": "taylor",
             "reconciliation": {"name": "low_rank", "parameters": {"r": 2}},
             "remainder": "linear", "width": 1, "channels": 1, "postprocess": ["layer_norm"]}

        Components are resolved through :func:`rpnkit.build`, so plugin components
        work by name. An inner layer's ``m`` may be :data:`AUTO`: the previous layer's output
        size. The first ``m`` and the last ``n`` may be ``auto`` only in a run config, which
        replaces them with the dataset's widths first (:mod:`rpnkit.rpn.sizes`).
    depth
        Number of layers. Default: one per config, or ``sum(depth_alloc)``; with a single
        config, ``depth`` repeats it.
    depth_alloc
        How many layers each config gives (tinybig's ``depth_alloc``); each one is built
        afresh, with its own parameters.

    Returns
    -------
    RPN
        The model, initialised (deterministic under :func:`torch.manual_seed`).

    Raises
    ------
    ConfigError
        For a malformed layer config, invalid component options, or layers whose sizes do
        not chain, e.g. ``model.layers[1].m=32 does not match model.layers[0].n=64``.
    ComponentNotFoundError
        For an unknown component name.

    Every message starts with the layer it is about (``model.layers[i]``).
    """
    if isinstance(layers, (str, bytes, Mapping)) or not isinstance(layers, Sequence):
        shown = repr(layers) if isinstance(layers, str) and len(layers) < 40 else "a value"
        raise ConfigError(f"model.layers={shown} is not valid; expected a list of layer configs")
    if not layers:
        raise ConfigError("model.layers is empty; expected at least one layer")
    counts = allocation(depth, depth_alloc, len(layers), "depth", "depth_alloc", "model.layers")
    built: list[nn.Module] = []
    for i, (config, count) in enumerate(zip(layers, counts, strict=True)):
        if is_layer(config):
            if count > 1:
                raise ConfigError(
                    f"model.layers[{i}] is a built {type(config).__name__}, which cannot be "
                    "repeated by depth_alloc; give a layer config instead"
                )
            built.append(cast(nn.Module, config))
            continue
        if isinstance(config, Mapping) and "name" in config:  # a registered layer
            for repeat in range(count):
                spec = dict(config) if repeat == 0 else copy.deepcopy(dict(config))
                try:
                    built.append(build_component("layer", spec, nn.Module, f"model.layers[{i}]"))
                except RpnkitError as exc:
                    raise type(exc)(f"model.layers[{i}]: {exc}") from exc
            continue
        _check_layer_config(i, config, last=i == len(layers) - 1)
        config = cast(Mapping[str, Any], config)
        for repeat in range(count):
            options = dict(config) if repeat == 0 else copy.deepcopy(dict(config))
            if isinstance(options["m"], str):  # an inner layer's auto (checked above)
                options["m"] = built[-1].out_features  # the previous layer's output size
            try:
                built.append(RPNLayer(**options))
            except RpnkitError as exc:
                raise type(exc)(f"model.layers[{i}]: {exc}") from exc
    return RPN(built)


def _check_layer_config(i: int, config: Any, last: bool) -> None:
    """Raise if a layer config is not a mapping with known keys and valid ``m`` and ``n``."""
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"model.layers[{i}] is a {type(config).__qualname__}; expected a mapping with keys "
            f"{', '.join(LAYER_KEYS)}"
        )
    for key in config:
        if key not in LAYER_KEYS:
            raise ConfigError(
                f"model.layers[{i}] has unknown key {key!r}{did_you_mean(str(key), LAYER_KEYS)}; "
                f"valid keys: {', '.join(LAYER_KEYS)}"
            )
    missing = [key for key in ("m", "n") if key not in config]
    if missing:
        raise ConfigError(f"model.layers[{i}] is missing the required key(s) {missing}")
    field = f"model.layers[{i}]"
    if i == 0:
        check_size(config["m"], f"{field}.m", "the dataset's number of features", data=True)
    else:
        check_size(config["m"], f"{field}.m", f"model.layers[{i - 1}]'s output size")
    if last:
        check_size(config["n"], f"{field}.n", "the dataset's number of outputs", data=True)
    else:
        check_size(config["n"], f"{field}.n", None)


def check_size(value: object, field: str, auto: str | None, *, data: bool = False) -> None:
    """Raise unless ``value`` is an integer >= 1, or :data:`AUTO` where ``auto`` says what it is.

    Parameters
    ----------
    value
        The size given.
    field
        Its path, for messages (``"model.layers[0].m"``).
    auto
        What ``auto`` stands for here, or ``None`` where it is not allowed.
    data
        ``auto`` stands for a width of the dataset, which only a run knows: it is refused here
        (a run replaces it with the number before the model is built).

    Raises
    ------
    ConfigError
        One line naming ``field`` and the value, with what is valid.
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return
    valid = f"an integer >= 1 or {AUTO!r} ({auto})" if auto else "an integer >= 1"
    text = value if isinstance(value, str) else None
    if text == AUTO and auto is None:
        raise ConfigError(
            f"{field}={AUTO!r} is not valid here: only a model's first input size, its last "
            "output size and an inner RPN layer's m may be 'auto'; give a number"
        )
    if text == AUTO and data:
        raise ConfigError(
            f"{field}={AUTO!r} stands for {auto}, which only a run config resolves (or "
            "rpnkit.rpn.sizes.resolve_sizes); give a number"
        )
    if text == AUTO:
        return
    hint = did_you_mean(text, (AUTO,)) if text is not None and auto else ""
    raise ConfigError(f"{field}={short_repr(value)} is not valid{hint}; expected {valid}")
