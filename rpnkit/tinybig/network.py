"""tinybig's RPN model, layers and heads as rpnkit layer configs.

A tinybig layer holds head configs, each repeated by ``width_alloc`` (tinybig's rule for
``width``, ``width_alloc`` and the configs is :func:`allocation`); a model holds layer configs
repeated by ``depth_alloc``. rpnkit's model config is the flat list of its layers, so a
repeated layer is written out once per repeat (each builds its own parameters, as in
tinybig). A layer whose heads are all alike is one set of head options with ``width``; a
layer with different heads lists them under ``heads``.

tinybig's layer hands its own ``m``, ``n`` and ``parameters_init_method`` to every head,
whatever the head config says; a head config that says otherwise is refused. RPN 2 heads'
``attribute_interdependence_configs`` / ``instance_interdependence_configs`` and
``batch_num`` become the head's interdependence options.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.tinybig.components import (
    expansion,
    expansion_size,
    fusion,
    interdependence,
    lazy,
    reconciliation,
    reconciliation_size,
    remainder,
)
from rpnkit.tinybig.functions import pop_steps, steps
from rpnkit.tinybig.names import check_parameters, registry_name
from rpnkit.tinybig.problems import Problems, TinybigConfigError
from rpnkit.tinybig.reading import drop_labels, read_object, unknown_keys

__all__ = [
    "HEAD_KEYS",
    "INIT_METHODS",
    "LAYER_KEYS",
    "MODEL_KEYS",
    "allocation",
    "head",
    "layer",
    "model",
]

#: The initialisation methods tinybig's heads know (any other leaves them uninitialised).
INIT_METHODS = ("xavier_uniform", "kaiming_uniform", "xavier_normal", "fanout_std_uniform")
_DEFAULT_INIT = "xavier_uniform"
#: tinybig's old layer option ``fusion_strategy``, as tinybig 0.2.1 fusion class names.
_STRATEGIES = {"average": "mean_fusion", "mean": "mean_fusion", "sum": "summation_fusion",
               "summation": "summation_fusion", "add": "summation_fusion",
               "plus": "summation_fusion"}  # fmt: skip
#: Head keys that must be empty: built functions (a config holds their configs instead) and
#: parameter counts rpnkit computes from the functions.
_UNSUPPORTED = ("attribute_interdependence", "instance_interdependence",
                "l_attribute_interdependence", "l_instance_interdependence", "l_channel_fusion")  # fmt: skip
_INTERDEPENDENCE = ("attribute", "instance")
#: The keys of tinybig's ``head_parameters``.
HEAD_KEYS = ("m", "n", "l", "channel_num", "data_transformation_configs",
              "parameter_fabrication_configs", "remainder_configs", "channel_fusion_configs",
              "input_process_functions", "input_process_function_configs",
              "output_process_functions", "output_process_function_configs",
              "create_parameters_at_init", "parameters_init_method", "batch_num",
              "attribute_interdependence_configs", "instance_interdependence_configs",
              *_UNSUPPORTED)  # fmt: skip
#: The keys of tinybig's ``layer_parameters``.
LAYER_KEYS = ("m", "n", "width", "width_alloc", "head_configs", "head_fusion_configs",
               "fusion_strategy", "parameters_init_method")  # fmt: skip
#: The keys of tinybig's ``model_parameters`` for ``tinybig.model.rpn``.
MODEL_KEYS = ("depth", "depth_alloc", "layer_configs")


def allocation(
    total: Any, alloc: Any, configs: Any, where: str, names: tuple[str, str, str]
) -> list[tuple[Any, int]]:
    """tinybig's rule for a count, its allocation and configs: each config with its repeats.

    * ``alloc`` given (an integer or a list): one count per config, summing to ``total``
      when that is given;
    * else ``total`` missing or equal to the number of configs: each once;
    * else a single config: ``total`` times.

    Raises
    ------
    ConfigError
        Where tinybig raises (inconsistent counts), naming the keys.
    """
    total_key, alloc_key, configs_key = names
    items = configs if isinstance(configs, list) else [configs]
    if configs is None or not items:
        raise ConfigError(f"{where}.{configs_key} is empty; expected at least one config")
    if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 1):
        raise ConfigError(f"{where}.{total_key}={short_repr(total)}: expected an integer >= 1")
    if alloc is None:
        if total is None or total == len(items):
            return [(item, 1) for item in items]
        if len(items) == 1:
            return [(items[0], total)]
        raise ConfigError(
            f"{where}.{total_key}={total} does not match the {len(items)} {configs_key}; give "
            f"{alloc_key}, one count per config"
        )
    counts = alloc if isinstance(alloc, list) else [alloc]
    if not all(isinstance(c, int) and not isinstance(c, bool) and c >= 1 for c in counts):
        raise ConfigError(
            f"{where}.{alloc_key}={short_repr(alloc)}: expected integers >= 1, one per config"
        )
    if len(counts) != len(items):
        raise ConfigError(
            f"{where}.{alloc_key} has {len(counts)} counts for {len(items)} {configs_key}"
        )
    if total is not None and total != sum(counts):
        raise ConfigError(
            f"{where}.{total_key}={total} does not match {alloc_key}, whose sum is {sum(counts)}"
        )
    return list(zip(items, counts, strict=True))


def head(section: Any, where: str, m: int, n: int, init: str) -> dict[str, Any]:
    """The rpnkit head options of a tinybig head config in a layer of sizes ``m``, ``n``.

    Raises
    ------
    TinybigConfigError
        With every problem of the head.
    """
    obj = read_object(section, where, ("head",))
    if not (obj.cls.startswith("tinybig.module.") and obj.leaf in ("rpn_head", "head")):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: rpnkit's RPN layers take "
            "tinybig.module.rpn_head heads"
        )
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    problems = Problems()
    for key in unknown_keys(list(params), HEAD_KEYS, at, "tinybig head"):
        problems.add(key)
    for key, size in (("m", m), ("n", n)):
        if params.get(key) not in (None, size):
            problems.add(f"{at}.{key}={short_repr(params[key])}: the layer sets {key}={size}")
    for key in _UNSUPPORTED:
        if params.get(key) is not None:
            reason = (
                "rpnkit computes it from the function"
                if key.startswith("l_")
                else f"a config cannot hold a built function; give {key}_configs"
            )
            problems.add(f"{at}.{key}: {reason}")
    if params.get("create_parameters_at_init", True) is not True:
        problems.add(f"{at}.create_parameters_at_init: rpnkit heads always create their weights")
    if params.get("parameters_init_method") not in (None, init):
        problems.add(
            f"{at}.parameters_init_method={short_repr(params['parameters_init_method'])}: "
            f"tinybig's layer replaces it with its own, {init!r}; set it on the layer"
        )
    options: dict[str, Any] = {}
    channels = params.get("channel_num", 1)
    if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
        problems.add(f"{at}.channel_num={short_repr(channels)}: expected an integer >= 1")
        channels = 1
    elif channels != 1:
        options["channels"] = channels
    section_of = {key: params.get(key) for key in HEAD_KEYS}
    for kind in _INTERDEPENDENCE:
        key = f"{kind}_interdependence_configs"
        if section_of[key] is not None:
            function = problems.attempt(interdependence, section_of[key], f"{at}.{key}", kind)
            if function is not None:
                options[f"{kind}_interdependence"] = function
    batch_num = params.get("batch_num")
    if batch_num is not None:
        if isinstance(batch_num, bool) or not isinstance(batch_num, int) or batch_num < 1:
            problems.add(f"{at}.batch_num={short_repr(batch_num)}: expected an integer >= 1")
        else:
            options["batch_num"] = batch_num
    kappa = None
    if section_of["data_transformation_configs"] is None:
        problems.add(f"{at}.data_transformation_configs is missing; tinybig's head needs one")
    else:
        kappa = problems.attempt(
            expansion, section_of["data_transformation_configs"],
            f"{at}.data_transformation_configs", m,
        )  # fmt: skip
    psi = None
    if section_of["parameter_fabrication_configs"] is None:
        problems.add(
            f"{at}.parameter_fabrication_configs is missing: tinybig's head then has no weight "
            "and outputs κ(x) itself, which rpnkit's heads do not do; give a reconciliation"
        )
    else:
        psi = problems.attempt(
            reconciliation, section_of["parameter_fabrication_configs"],
            f"{at}.parameter_fabrication_configs",
        )  # fmt: skip
    if section_of["remainder_configs"] is not None:
        pi = problems.attempt(
            remainder, section_of["remainder_configs"], f"{at}.remainder_configs", m, n
        )
        if pi is not None:
            options["remainder"] = pi
    else:
        options["remainder"] = "zero"
    if section_of["channel_fusion_configs"] is not None:
        fused = problems.attempt(
            fusion, section_of["channel_fusion_configs"], f"{at}.channel_fusion_configs",
            (n,) * channels,
        )  # fmt: skip
        if fused is not None:
            options["channel_fusion"] = fused
    rest = dict(params)
    for stem, size in (("input_process", m), ("output_process", n)):
        popped = problems.attempt(pop_steps, rest, stem, at)
        known: int | None = size
        if stem == "output_process" and "channel_fusion" in options:
            known = None  # the channel fusion may change the size
        named = problems.attempt(steps, popped, _constant(known))
        if named:
            options[stem] = named
    if kappa is not None and psi is not None and params.get("l") is not None:
        D = lazy(lambda: expansion_size(kappa, m))
        l_size = reconciliation_size(psi, n, D())
        if l_size is not None and l_size != params["l"]:
            problems.add(
                f"{at}.l={short_repr(params['l'])}: reconciliation {psi['name']!r} has "
                f"l={l_size} parameters for n={n}, D={D()}"
            )
    problems.raise_if_any()
    options["expansion"], options["reconciliation"] = kappa, psi
    if init != _DEFAULT_INIT:
        options["parameters_init_method"] = init
    return {key: options[key] for key in sorted(options, key=_HEAD_ORDER.index)}


def _constant(size: int | None) -> Callable[[], int | None]:
    return lambda: size


_HEAD_ORDER = ["expansion", "reconciliation", "remainder", "channels", "channel_fusion",
               "input_process", "output_process", "parameters_init_method",
               "attribute_interdependence", "instance_interdependence", "batch_num"]  # fmt: skip


def layer(section: Any, where: str) -> dict[str, Any]:
    """One rpnkit layer config from a tinybig layer config.

    Raises
    ------
    TinybigConfigError
        With every problem of the layer and its heads.
    """
    obj = read_object(section, where, ("layer",))
    if not (obj.cls.startswith("tinybig.module.") and obj.leaf in ("rpn_layer", "layer")):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: rpnkit's RPN model takes "
            "tinybig.module.rpn_layer layers"
        )
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    problems = Problems()
    for key in unknown_keys(list(params), LAYER_KEYS, at, "tinybig layer"):
        problems.add(key)
    sizes: list[int] = []
    for key in ("m", "n"):
        value = params.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.add(f"{at}.{key}={short_repr(value)}: expected an integer >= 1")
        else:
            sizes.append(value)
    init = params.get("parameters_init_method", _DEFAULT_INIT)
    if init not in INIT_METHODS:
        problems.add(
            f"{at}.parameters_init_method={short_repr(init)}: tinybig leaves the parameters "
            f"uninitialised for it; valid: {', '.join(INIT_METHODS)}"
        )
    heads = problems.attempt(
        allocation, params.get("width"), params.get("width_alloc"), params.get("head_configs"),
        at, ("width", "width_alloc", "head_configs"),
    )  # fmt: skip
    problems.raise_if_any()
    m, n = sizes
    listed = isinstance(params.get("head_configs"), list)
    translated = []
    for i, (config, count) in enumerate(heads or []):
        label = f"{at}.head_configs[{i}]" if listed else f"{at}.head_configs"
        translated.append((problems.attempt(head, config, label, m, n, init), count))
    width = sum(count for _, count in translated)
    fused = problems.attempt(_head_fusion, params, at, width, n)
    problems.raise_if_any()
    out: dict[str, Any] = {"m": m, "n": n}
    first = translated[0][0]
    if all(options == first for options, _ in translated):
        out.update(first or {})
        if width > 1:
            out["width"] = width
    else:
        out["heads"] = [copy.deepcopy(o) for o, count in translated for _ in range(count)]
    if fused is not None:
        out["fusion"] = fused
    return out


def _head_fusion(params: Mapping[str, Any], at: str, width: int, n: int) -> Any:
    """The layer's fusion: ``head_fusion_configs`` (0.2.1) or ``fusion_strategy`` (older)."""
    configs, strategy = params.get("head_fusion_configs"), params.get("fusion_strategy")
    if configs is not None and strategy is not None:
        raise ConfigError(
            f"{at}: both head_fusion_configs and fusion_strategy are given; tinybig 0.2.1 reads "
            "only head_fusion_configs, so give one"
        )
    if configs is not None:
        return fusion(configs, f"{at}.head_fusion_configs", (n,) * width)
    if strategy is None:
        return None  # tinybig fuses several heads by their mean, rpnkit's default
    if strategy not in _STRATEGIES:
        raise ConfigError(
            f"{at}.fusion_strategy={short_repr(strategy)}: has no exact rpnkit fusion (tinybig "
            f"warns and leaves the heads unfused, or fuses with an untrained map for 'linear'); "
            f"valid: {', '.join(_STRATEGIES)}"
        )
    if width == 1 or _STRATEGIES[strategy] == "mean_fusion":
        return None  # one head is itself; the mean is rpnkit's default
    return registry_name("fusion", _STRATEGIES[strategy], f"{at}.fusion_strategy")


def model(section: Any, where: str, device: Any = None) -> dict[str, Any]:
    """The rpnkit model spec of ``model_configs``.

    ``tinybig.model.rpn`` becomes the ``rpn`` model with its layers; another model class maps
    by name (a preset), with its parameters. A ``device`` beside ``model_parameters`` (older
    published configs) was never read by tinybig: it is ignored, with one warning line when
    it differs from the run's ``device`` (``configurations.device``).

    Raises
    ------
    TinybigConfigError
        With every problem of the model, its layers and heads.
    """
    ignore: dict[str, str] = {}
    if isinstance(section, Mapping) and "device" in section:
        if section["device"] == device:
            section = {key: value for key, value in section.items() if key != "device"}
        else:
            ignore["device"] = (
                f"the run uses configurations.device={short_repr(device)}; to run on "
                f"{short_repr(section['device'])}, set configurations.device"
            )
    obj = read_object(section, where, ("model",), ignore)
    name = registry_name("model", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    if name != "rpn":
        check_parameters("model", name, params, at)
        return {"name": name, "parameters": params}
    problems = Problems()
    for key in unknown_keys(list(params), MODEL_KEYS, at, "tinybig rpn model"):
        problems.add(key)
    layers = problems.attempt(
        allocation, params.get("depth"), params.get("depth_alloc"), params.get("layer_configs"),
        at, ("depth", "depth_alloc", "layer_configs"),
    )  # fmt: skip
    problems.raise_if_any()
    listed = isinstance(params.get("layer_configs"), list)
    built = []
    for i, (config, count) in enumerate(layers or []):
        label = f"{at}.layer_configs[{i}]" if listed else f"{at}.layer_configs"
        built.append((problems.attempt(layer, config, label), count))
    if problems.found:
        raise TinybigConfigError(problems.found)
    return {
        "name": "rpn",
        "parameters": {
            "layers": [copy.deepcopy(cfg) for cfg, count in built for _ in range(count)]
        },
    }
