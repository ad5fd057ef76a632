"""tinybig's processing functions as rpnkit processing steps (``torch.nn.functional`` names).

tinybig takes processing functions in two forms, under ``<stem>_functions`` (strings) and
``<stem>_function_configs`` (classes to instantiate), for the stems ``preprocess`` and
``postprocess`` (expansions), ``input_process`` and ``output_process`` (heads) and
``activation`` (remainders). What it then computes decides the rpnkit step:

* a string is looked up in ``torch.nn.functional`` (``"silu"``, ``"torch.nn.functional.silu"``)
  and applied only if tinybig knows how to call it (:data:`STRING_FUNCTIONS`); anything else
  tinybig passes through unchanged with a warning, so it is refused here;
* a list of class configs is instantiated once and kept outside the model: the modules'
  weights are never trained and they never leave training mode. ``torch.nn.LayerNorm`` is
  therefore a layer norm without affine parameters (``layer_norm``), the activation modules
  are their functions when their parameters are the functions' defaults and ``Identity`` is no
  step. ``BatchNorm1d`` and ``Dropout(p=0.5)`` in such a list are no valid function (batch
  statistics of whatever test batch they are given, dropout active at test time): they become
  rpnkit's ``batch_norm`` and ``dropout`` steps, real submodules with running statistics and a
  trained scale and shift, off after ``eval()``, with one notice line saying so. Functions
  given as a class config (``torch.nn.functional.silu``) are called with no input, which
  fails in tinybig: refused, as is anything with parameters an rpnkit step cannot take;
* a single class config, not in a list, is assigned to the tinybig object and so becomes a
  module of the model: a ``LayerNorm`` then trains its scale and shift, which rpnkit's
  ``layer_norm`` does not have, so it is refused unless ``elementwise_affine: false``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.tinybig.problems import Problems, TinybigConfigError, notice
from rpnkit.tinybig.reading import read_object

__all__ = ["MODULE_FUNCTIONS", "STRING_FUNCTIONS", "Size", "pop_steps", "steps"]

#: A lazily computed size of the tensor a step sees (``None``: unknown, not checked).
Size = Callable[[], int | None]

#: Functions tinybig applies when given by name (other names it skips with a warning).
STRING_FUNCTIONS = (
    "sigmoid",
    "relu",
    "leaky_relu",
    "tanh",
    "softplus",
    "silu",
    "celu",
    "gelu",
    "dropout",
    "layer_norm",
)
#: ``torch.nn`` activation modules that are a ``torch.nn.functional`` function.
MODULE_FUNCTIONS = {
    "ReLU": "relu", "ReLU6": "relu6", "SiLU": "silu", "GELU": "gelu", "Sigmoid": "sigmoid",
    "Tanh": "tanh", "ELU": "elu", "CELU": "celu", "SELU": "selu", "LeakyReLU": "leaky_relu",
    "Softplus": "softplus", "Softsign": "softsign", "Mish": "mish", "Hardswish": "hardswish",
    "Hardsigmoid": "hardsigmoid", "Hardtanh": "hardtanh", "LogSigmoid": "logsigmoid",
    "Tanhshrink": "tanhshrink", "Softmax": "softmax", "LogSoftmax": "log_softmax",
    "Softmin": "softmin",
}  # fmt: skip
_FUNCTIONAL = "torch.nn.functional."
_BATCH_NORMS = ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d")
#: Parameters of a module config that do not change what the module computes.
_INERT = ("device", "dtype", "inplace")
_LAYER_NORM_EPS = 1e-5
#: The notice for a module tinybig keeps in a plain list, which rpnkit registers.
_UNREGISTERED = (
    "torch.nn.{module} in a tinybig processing list: tinybig keeps it outside the model "
    "({effect}); rpnkit's {step!r} step is a registered module ({fixed})"
)
_DROPOUT = "so dropout stays active at test time"
_BATCH_NORM = "so it normalises every test batch by that batch's statistics, never trained"
_DROPOUT_FIXED = "off after eval()"
_BATCH_NORM_FIXED = "scale and shift trained, running statistics after eval()"
#: ``torch.nn.BatchNorm1d``'s defaults, the only values rpnkit's ``batch_norm`` step has.
_BATCH_NORM_DEFAULTS = {"eps": 1e-5, "momentum": 0.1, "affine": True, "track_running_stats": True}


def pop_steps(params: dict[str, Any], stem: str, where: str) -> tuple[str, Any] | None:
    """Take ``<stem>_functions`` or ``<stem>_function_configs`` out of ``params``.

    Returns
    -------
    tuple or None
        ``(key path, value)`` of the one given, or ``None`` when neither is.

    Raises
    ------
    ConfigError
        If both are given (tinybig would use the functions and ignore the configs).
    """
    names = f"{stem}_functions"
    configs = f"{stem}_function_configs"
    given = [(key, params.pop(key)) for key in (names, configs) if params.get(key) is not None]
    params.pop(names, None)
    params.pop(configs, None)
    if len(given) > 1:
        raise ConfigError(
            f"{where}: both {names} and {configs} are given; tinybig applies {names} and "
            f"ignores {configs}, so give one"
        )
    return (f"{where}.{given[0][0]}", given[0][1]) if given else None


def steps(popped: tuple[str, Any] | None, size: Size) -> list[str] | None:
    """Translate what :func:`pop_steps` took into rpnkit step names (``None`` for none).

    Parameters
    ----------
    popped
        ``(key path, value)`` from :func:`pop_steps`.
    size
        The size of the last dimension the steps see, checked against a layer norm's
        ``normalized_shape``.

    Raises
    ------
    TinybigConfigError
        With one problem per step that has no exact rpnkit equivalent.
    """
    if popped is None:
        return None
    where, value = popped
    if where.endswith("_functions"):
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise ConfigError(f"{where} must be a function name or a list of them")
        translate: Callable[[Any, str, Size], str | None] = _string
        labels = [where] if isinstance(value, str) else [f"{where}[{i}]" for i in range(len(items))]
    else:
        if isinstance(value, Mapping) and "function_class" not in value:
            raise ConfigError(
                f"{where}: a mapping of named function configs makes tinybig build functions it "
                "never applies; give a list of function configs"
            )
        single = isinstance(value, Mapping)
        items = [value] if single else value
        if not isinstance(items, Sequence) or isinstance(items, (str, bytes)):
            raise ConfigError(f"{where} must be a function config or a list of them")
        translate = _registered_config if single else _config
        labels = [where] if single else [f"{where}[{i}]" for i in range(len(items))]
    problems = Problems()
    names = [
        problems.attempt(translate, item, label, size)
        for item, label in zip(items, labels, strict=True)
    ]
    problems.raise_if_any()
    return [name for name in names if name is not None]


def _string(spec: Any, where: str, size: Size) -> str | None:
    """One string function: what tinybig's string lookup applies."""
    if not isinstance(spec, str):
        raise ConfigError(f"{where} must be a function name, got {short_repr(spec)}")
    if spec.startswith(_FUNCTIONAL):
        name = spec[len(_FUNCTIONAL) :]
    elif "." in spec:
        leaf = spec.rpartition(".")[2]
        if leaf in _BATCH_NORMS:
            raise ConfigError(_batch_norm(where))
        raise ConfigError(
            f"{where}={short_repr(spec)}: tinybig applies a path here only when it names a "
            f"torch.nn.functional function it knows: {', '.join(STRING_FUNCTIONS)}"
        )
    else:
        name = spec.lower()
    if name in STRING_FUNCTIONS:
        return name
    raise ConfigError(
        f"{where}={short_repr(spec)}: tinybig applies nothing for it (it warns and passes the "
        f"input through); the functions it applies by name are {', '.join(STRING_FUNCTIONS)}"
    )


def _registered_config(item: Any, where: str, size: Size) -> str | None:
    """A function config given alone: tinybig assigns the module, so it is a trained submodule."""
    return _config(item, where, size, registered=True)


def _config(item: Any, where: str, size: Size, registered: bool = False) -> str | None:
    """One function config: the step for the module tinybig would create."""
    obj = read_object(item, where, ("function",))
    if obj.cls.startswith(_FUNCTIONAL):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: tinybig calls a function config with its "
            "parameters and no input, which fails for a function; give it by name in "
            "*_functions, or give a torch.nn module class"
        )
    if not obj.cls.startswith("torch.nn."):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: only torch.nn module classes map onto "
            "rpnkit processing steps"
        )
    leaf = obj.leaf
    params = {k: v for k, v in obj.parameters.items() if k not in _INERT}
    where_params = obj.parameters_path
    if leaf == "Identity":
        return None
    if leaf == "LayerNorm":
        affine = params.get("elementwise_affine", True)
        if registered and affine is not False:
            raise ConfigError(
                f"{obj.class_path}: a LayerNorm config given alone (not in a list) becomes a "
                "module of tinybig's model, which trains its scale and shift, and rpnkit's "
                "layer_norm step has neither; put it in a list (tinybig then never trains them) "
                "or set elementwise_affine: false"
            )
        return _layer_norm(params, where_params, size)
    if leaf == "Dropout":
        _expect_defaults(params, {"p": 0.5}, where_params, "Dropout", "dropout")
        if not registered:
            notice(
                _UNREGISTERED.format(
                    module="Dropout", step="dropout", effect=_DROPOUT, fixed=_DROPOUT_FIXED
                )
            )
        return "dropout"
    if leaf == "BatchNorm1d":
        return _batch_norm_step(params, where_params, size, registered)
    if leaf in MODULE_FUNCTIONS:
        import torch

        signature = inspect.signature(getattr(torch.nn, leaf))
        defaults = {
            n: p.default for n, p in signature.parameters.items() if p.default is not p.empty
        }
        if leaf in ("Softmax", "LogSoftmax", "Softmin"):
            dim = params.pop("dim", None)
            if dim not in (None, -1, 1):
                raise ConfigError(
                    f"{where_params}.dim={short_repr(dim)}: rpnkit's {MODULE_FUNCTIONS[leaf]} "
                    "reduces over the features (dim -1 or 1)"
                )
        _expect_defaults(params, defaults, where_params, leaf, MODULE_FUNCTIONS[leaf])
        return MODULE_FUNCTIONS[leaf]
    if leaf in _BATCH_NORMS:
        raise ConfigError(_batch_norm(obj.class_path))
    raise ConfigError(
        f"{obj.class_path}={short_repr(obj.cls)} has no rpnkit processing step; mapped: "
        f"LayerNorm, Dropout, Identity, {', '.join(MODULE_FUNCTIONS)}"
    )


def _layer_norm(params: dict[str, Any], where: str, size: Size) -> str:
    """``torch.nn.LayerNorm``, never trained in tinybig: ``layer_norm`` over the last dim."""
    params.pop("elementwise_affine", None)  # its weight stays 1 and its bias 0 in tinybig
    params.pop("bias", None)
    shape = params.pop("normalized_shape", None)
    eps = params.pop("eps", _LAYER_NORM_EPS)
    problems = [f"{where}.{key}: LayerNorm has no such parameter" for key in params]
    if eps != _LAYER_NORM_EPS:
        problems.append(f"{where}.eps={short_repr(eps)}: rpnkit's layer_norm uses eps=1e-05")
    features = shape[0] if isinstance(shape, list | tuple) and len(shape) == 1 else shape
    if isinstance(features, bool) or not isinstance(features, int):
        problems.append(
            f"{where}.normalized_shape={short_repr(shape)}: expected the number of features "
            "it normalises, an integer"
        )
    else:
        expected = size()
        if expected is not None and expected != features:
            problems.append(
                f"{where}.normalized_shape={features}: its input has {expected} features, so "
                "tinybig fails at the first batch"
            )
    if problems:
        raise TinybigConfigError(problems)
    return "layer_norm"


def _batch_norm_step(params: dict[str, Any], where: str, size: Size, registered: bool) -> str:
    """``torch.nn.BatchNorm1d`` as rpnkit's ``batch_norm`` step (a registered BatchNorm1d)."""
    features = params.pop("num_features", None)
    problems = []
    if isinstance(features, bool) or not isinstance(features, int):
        problems.append(
            f"{where}.num_features={short_repr(features)}: expected the number of features it "
            "normalises, an integer"
        )
    else:
        expected = size()
        if expected is not None and expected != features:
            problems.append(
                f"{where}.num_features={features}: its input has {expected} features, so "
                "tinybig fails at the first batch"
            )
    if problems:
        raise TinybigConfigError(problems)
    _expect_defaults(params, _BATCH_NORM_DEFAULTS, where, "BatchNorm1d", "batch_norm")
    if not registered:
        notice(
            _UNREGISTERED.format(
                module="BatchNorm1d", step="batch_norm", effect=_BATCH_NORM, fixed=_BATCH_NORM_FIXED
            )
        )
    return "batch_norm"


def _expect_defaults(
    params: Mapping[str, Any], defaults: Mapping[str, Any], where: str, module: str, step: str
) -> None:
    """Refuse parameters an rpnkit step name cannot carry (anything but the defaults)."""
    problems = []
    for key, value in params.items():
        if key not in defaults:
            problems.append(f"{where}.{key}: {module} has no such parameter")
        elif value != defaults[key]:
            problems.append(
                f"{where}.{key}={short_repr(value)}: rpnkit's step {step!r} takes no parameters "
                f"and uses {key}={defaults[key]!r}"
            )
    if problems:
        raise TinybigConfigError(problems)


def _batch_norm(where: str) -> str:
    return (
        f"{where}: tinybig keeps a BatchNorm outside the model, so it normalises every batch with "
        "that batch's statistics, in evaluation too, with untrained scale and shift; no rpnkit "
        "processing step does that"
    )
