"""Read tinybig-style run configs by mapping them onto rpnkit's components.

tinybig files have a ``configurations:`` root with ``*_configs`` sections, each naming a class
path (``*_class``) and its parameters (``*_parameters``). :func:`translate_tinybig` turns such a
mapping into rpnkit's config form (see :mod:`rpnkit.config`). Class paths of torch
(``torch.optim.AdamW``) pass through unchanged; tinybig's own classes are looked up in
:data:`TINYBIG_CLASSES`, and a class with no rpnkit equivalent is a one-line
:class:`~rpnkit.errors.ConfigError` naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["TINYBIG_CLASSES", "component_config", "is_tinybig_component", "translate_tinybig"]

#: tinybig class path -> (rpnkit group, rpnkit name).
TINYBIG_CLASSES: dict[str, tuple[str, str]] = {
    # expansions ("data transformations")
    "tinybig.expansion.identity_expansion": ("expansion", "identity"),
    "tinybig.expansion.taylor_expansion": ("expansion", "taylor"),
    "tinybig.expansion.fourier_expansion": ("expansion", "fourier"),
    "tinybig.expansion.chebyshev_expansion": ("expansion", "chebyshev"),
    "tinybig.expansion.bspline_expansion": ("expansion", "bspline"),
    "tinybig.expansion.gaussian_rbf_expansion": ("expansion", "gaussian_rbf"),
    "tinybig.expansion.hyperbolic_expansion": ("expansion", "hyperbolic"),
    "tinybig.expansion.trigonometric_expansion": ("expansion", "trigonometric"),
    "tinybig.expansion.naive_normal_expansion": ("expansion", "naive_normal"),
    # reconciliations ("parameter fabrications")
    "tinybig.reconciliation.identity_reconciliation": ("reconciliation", "identity"),
    "tinybig.reconciliation.lorr_reconciliation": ("reconciliation", "low_rank"),
    "tinybig.reconciliation.hm_reconciliation": ("reconciliation", "hm"),
    "tinybig.reconciliation.lphm_reconciliation": ("reconciliation", "lphm"),
    "tinybig.reconciliation.dual_lphm_reconciliation": ("reconciliation", "dual_lphm"),
    "tinybig.reconciliation.hypernet_reconciliation": ("reconciliation", "hypernet"),
    # remainders
    "tinybig.remainder.zero_remainder": ("remainder", "zero"),
    "tinybig.remainder.identity_remainder": ("remainder", "identity"),
    "tinybig.remainder.linear_remainder": ("remainder", "linear"),
    # models, metrics, data
    "tinybig.model.rpn": ("model", "rpn"),
    "tinybig.metric.accuracy": ("metric", "accuracy"),
    "tinybig.metric.mse": ("metric", "mse"),
    "tinybig.data.iris": ("dataset", "iris"),
    "tinybig.data.elementary_function": ("dataset", "function"),
    "tinybig.data.composite_function": ("dataset", "function"),
}
_LEARNERS = ("tinybig.learner.backward_learner",)
#: Bookkeeping parameters of tinybig classes that have no meaning in rpnkit.
_IGNORED = frozenset({"name", "device", "require_parameters"})
#: tinybig parameter names that rpnkit spells differently, per group.
_PARAM_RENAMES: dict[str, dict[str, str]] = {
    "dataset": {"train_batch_size": "batch_size"},
    "reconciliation": {"hidden_dim": "h"},
    "remainder": {"activation_functions": "activation"},
}
_FUSIONS = {"average": "mean", "mean": "mean", "sum": "sum", "summation": "sum",
            "concatenation": "concat", "concat": "concat"}  # fmt: skip


def _class_and_params(section: Any, prefix: str, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(section, Mapping):
        raise ConfigError(f"{where} must be a mapping with '{prefix}_class', got {section!r}")
    cls = section.get(f"{prefix}_class")
    if not isinstance(cls, str):
        raise ConfigError(f"{where}.{prefix}_class must be a class path, got {cls!r}")
    params = section.get(f"{prefix}_parameters") or {}
    if not isinstance(params, Mapping):
        raise ConfigError(f"{where}.{prefix}_parameters must be a mapping, got {params!r}")
    return cls, dict(params)


def _map(cls: str, group: str, where: str) -> str:
    """Map a class path to an rpnkit name in ``group`` (torch paths pass through)."""
    if not cls.startswith("tinybig."):
        return cls
    mapped = TINYBIG_CLASSES.get(cls)
    if mapped is None or mapped[0] != group:
        known = [k for k, (g, _) in TINYBIG_CLASSES.items() if g == group]
        raise ConfigError(
            f"{where}: tinybig class {cls!r} has no rpnkit {group} equivalent"
            f"{did_you_mean(cls, known)}; mappable: {', '.join(known)}"
        )
    return mapped[1]


def _parameters(params: dict[str, Any], group: str) -> dict[str, Any]:
    """Drop tinybig's bookkeeping parameters and rename the ones rpnkit spells differently."""
    renames = _PARAM_RENAMES.get(group, {})
    return {renames.get(k, k): v for k, v in params.items() if k not in _IGNORED}


def _component(section: Any, prefix: str, group: str, where: str) -> dict[str, Any]:
    cls, params = _class_and_params(section, prefix, where)
    return {"name": _map(cls, group, where), "parameters": _parameters(params, group)}


def is_tinybig_component(section: Mapping[str, Any]) -> bool:
    """Whether a component mapping is in tinybig's ``*_class`` / ``*_parameters`` form."""
    return any(str(key).endswith(("_class", "_parameters")) for key in section)


def component_config(group: str, section: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Translate a tinybig component mapping (``{"<group>_class": ..., ...}``) to rpnkit's form.

    Parameters
    ----------
    group
        The rpnkit group, which is also tinybig's key prefix (``optimizer``, ``lr_scheduler``).
    section
        The tinybig mapping.
    where
        Its config path or argument name, for messages.

    Returns
    -------
    dict
        ``{"name": ..., "parameters": {...}}``.

    Raises
    ------
    ConfigError
        For keys other than the class and parameters, or a class with no rpnkit equivalent.
    """
    valid = (f"{group}_class", f"{group}_parameters")
    unknown = sorted(str(k) for k in section if k not in valid)
    if unknown:
        raise ConfigError(
            f"{where} has unknown key(s) {unknown}{did_you_mean(unknown[0], valid)}; a tinybig "
            f"{group} config has '{valid[0]}' and '{valid[1]}'"
        )
    if valid[0] not in section:
        raise ConfigError(
            f"{where} needs exactly one of 'name' or '{valid[0]}', got {sorted(map(str, section))}"
        )
    return _component(section, group, group, where)


#: torch.nn module classes tinybig configs use as processing functions -> functional names.
_MODULE_FUNCTIONS = {"LayerNorm": "layer_norm", "ReLU": "relu", "SiLU": "silu", "GELU": "gelu",
                     "Sigmoid": "sigmoid", "Tanh": "tanh", "Softmax": "softmax",
                     "LogSoftmax": "log_softmax", "LeakyReLU": "leaky_relu", "ELU": "elu"}  # fmt: skip


def _functions(configs: Any, where: str) -> list[str]:
    """Map tinybig ``*_function_configs`` lists to processing names (``"layer_norm"``)."""
    names = []
    for i, item in enumerate(configs or []):
        cls, _ = _class_and_params(item, "function", f"{where}[{i}]")
        module, _, leaf = cls.rpartition(".")
        if module == "torch.nn.functional":
            names.append(leaf)
        elif module == "torch.nn" and leaf in _MODULE_FUNCTIONS:
            names.append(_MODULE_FUNCTIONS[leaf])
        else:
            raise ConfigError(
                f"{where}[{i}]: function class {cls!r} has no rpnkit equivalent; use a "
                f"torch.nn.functional path or one of torch.nn.{', torch.nn.'.join(_MODULE_FUNCTIONS)}"
            )
    return names


def _expansion(section: Any, where: str) -> tuple[dict[str, Any], list[str]]:
    cls, params = _class_and_params(section, "data_transformation", where)
    post = _functions(params.pop("postprocess_function_configs", None), f"{where}.postprocess")
    params.pop("preprocess_function_configs", None)
    return {
        "name": _map(cls, "expansion", where),
        "parameters": _parameters(params, "expansion"),
    }, post


def _head(section: Any, where: str) -> dict[str, Any]:
    _, params = _class_and_params(section, "head", where)
    layer: dict[str, Any] = {"m": params.get("m"), "n": params.get("n")}
    if "channel_num" in params:
        layer["channels"] = params["channel_num"]
    if "data_transformation_configs" in params:
        expansion, post = _expansion(
            params["data_transformation_configs"], f"{where}.data_transformation_configs"
        )
        layer["expansion"] = expansion
        if post:
            layer["postprocess"] = post
    if "parameter_fabrication_configs" in params:
        layer["reconciliation"] = _component(
            params["parameter_fabrication_configs"],
            "parameter_fabrication",
            "reconciliation",
            f"{where}.parameter_fabrication_configs",
        )
    if "remainder_configs" in params:
        layer["remainder"] = _component(
            params["remainder_configs"], "remainder", "remainder", f"{where}.remainder_configs"
        )
    out = _functions(params.get("output_process_function_configs"), f"{where}.output_process")
    if out:
        layer["output_process"] = out
    return layer


def _layer(section: Any, where: str) -> dict[str, Any]:
    _, params = _class_and_params(section, "layer", where)
    heads = params.get("head_configs") or []
    if isinstance(heads, Mapping):
        heads = [heads]
    if not heads:
        raise ConfigError(f"{where}.layer_parameters.head_configs is empty; expected a head")
    layer = _head(heads[0], f"{where}.head_configs[0]")
    layer["m"] = params.get("m", layer.get("m"))
    layer["n"] = params.get("n", layer.get("n"))
    width = params.get("width", 1)
    if width != 1:
        layer["width"] = width
    fusion = params.get("fusion_strategy")
    if fusion is not None:
        if fusion not in _FUSIONS:
            raise ConfigError(
                f"{where}.fusion_strategy={fusion!r} has no rpnkit equivalent"
                f"{did_you_mean(str(fusion), _FUSIONS)}; valid: {', '.join(_FUSIONS)}"
            )
        layer["fusion"] = _FUSIONS[fusion]
    return layer


def _model(section: Any) -> dict[str, Any]:
    where = "model_configs"
    cls, params = _class_and_params(section, "model", where)
    name = _map(cls, "model", where)
    layers = params.get("layer_configs") or []
    if not layers:
        raise ConfigError(f"{where}.model_parameters.layer_configs is empty; expected layers")
    return {
        "name": name,
        "parameters": {
            "layers": [_layer(lay, f"{where}.layer_configs[{i}]") for i, lay in enumerate(layers)]
        },
    }


def _learner(section: Any) -> dict[str, Any]:
    where = "learner_configs"
    cls, params = _class_and_params(section, "learner", where)
    if cls not in _LEARNERS:
        raise ConfigError(
            f"{where}: tinybig learner {cls!r} has no rpnkit equivalent; mappable: "
            + ", ".join(_LEARNERS)
        )
    learner: dict[str, Any] = {"n_epochs": params.get("n_epochs", 100)}
    for key in ("loss", "optimizer", "lr_scheduler"):
        sub = params.get(f"{key}_configs")
        if sub is not None:
            learner[key] = _component(sub, key, key, f"{where}.{key}_configs")
    return learner


def _data(section: Any) -> dict[str, Any]:
    return _component(section, "data", "dataset", "data_configs")


def translate_tinybig(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Translate a tinybig config (``configurations:`` root) into rpnkit's form.

    Parameters
    ----------
    raw
        The parsed YAML, with a ``configurations`` mapping holding ``data_configs``,
        ``model_configs``, ``learner_configs`` and optionally ``metric_configs``, ``device``,
        ``random_seed`` and ``output_configs``/``result_configs`` (ignored: rpnkit writes its
        own outputs).

    Returns
    -------
    dict
        A config in rpnkit's form.

    Raises
    ------
    ConfigError
        For a class with no rpnkit equivalent or a malformed section.
    """
    extra = sorted(k for k in raw if k != "configurations")
    if extra:
        raise ConfigError(f"a tinybig config has only a 'configurations' root; found also {extra}")
    conf = raw["configurations"]
    if not isinstance(conf, Mapping):
        raise ConfigError("configurations must be a mapping of *_configs sections")
    known = ("device", "random_seed", "data_configs", "model_configs", "learner_configs",
             "metric_configs", "result_configs", "output_configs")  # fmt: skip
    for key in conf:
        if key not in known:
            raise ConfigError(
                f"unknown key configurations.{key}{did_you_mean(str(key), known)}; "
                f"valid keys: {', '.join(known)}"
            )
    for required in ("data_configs", "model_configs", "learner_configs"):
        if required not in conf:
            raise ConfigError(f"configurations.{required} is missing")
    out: dict[str, Any] = {
        "seed": conf.get("random_seed", 0),
        "device": conf.get("device", "cpu"),
        "data": _data(conf["data_configs"]),
        "model": _model(conf["model_configs"]),
        "learner": _learner(conf["learner_configs"]),
    }
    if conf.get("metric_configs") is not None:
        out["metric"] = _component(conf["metric_configs"], "metric", "metric", "metric_configs")
    return out
