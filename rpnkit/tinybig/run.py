"""A whole tinybig run config (``configurations:`` root) as an rpnkit config.

Sections map as follows (every key is mapped or refused; the migration guide has the full
table):

* ``random_seed`` -> ``seed``, ``device`` -> ``device``;
* ``data_configs`` -> ``data``: tinybig's datasets with an offline rpnkit equivalent (its
  bundled ``iris``, the ``elementary`` / ``composite`` / ``feynman`` equations), or any rpnkit
  dataset by name; tinybig's tabular labels are floats of shape ``(n, 1)``, so unless the loss
  takes class indices the dataset is wrapped in ``label_regression``, which gives exactly
  those targets;
* ``model_configs`` -> ``model`` (:mod:`rpnkit.tinybig.network`);
* ``learner_configs`` -> ``learner``: ``n_epochs`` and the loss, optimizer and scheduler;
* ``metric_configs`` -> ``metric``;
* ``result_configs`` / ``output_configs`` -> ``output``: a run directory ``runs/<config name>``
  (``--output`` chooses another), where the run saves its history, weights and config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.tinybig.names import accepts, check_parameters, registry_name, renamed
from rpnkit.tinybig.network import model
from rpnkit.tinybig.problems import Problems
from rpnkit.tinybig.reading import drop_labels, read_object, unknown_keys

__all__ = ["CLASS_INDEX_LOSSES", "LEARNER_KEYS", "SECTIONS", "translate_tinybig"]

#: The sections of ``configurations``.
SECTIONS = ("device", "random_seed", "data_configs", "model_configs", "learner_configs",
            "metric_configs", "result_configs", "output_configs")  # fmt: skip
#: rpnkit losses whose targets are class indices; with any other, tinybig's float labels stay.
CLASS_INDEX_LOSSES = ("cross_entropy", "nll", "multi_margin")
#: tinybig datasets that it downloads when first used.
_DOWNLOADED = ("imagenet", "imdb", "sst2", "agnews")
#: tinybig datasets it downloads that rpnkit reads from a local copy (rpnkit.data.downloads).
_READ_LOCALLY = ("mnist", "cifar10", "cora", "citeseer", "pubmed", "etf", "stock", "traffic_la",
                 "traffic_bay")  # fmt: skip
#: tinybig tabular sets, whose labels are float codes; the first one rpnkit bundles too.
_TABULAR = ("iris", "diabetes", "banknote", "wheat")
#: tinybig's tabular ``load()`` defaults: 90 % training samples, features as they are.
_TABULAR_DEFAULTS = {"test_size": 0.1, "standardize": False}
#: rpnkit datasets that are tinybig's function tables (regression already).
_EQUATIONS = ("elementary", "composite", "feynman", "dimensionless_feynman")
#: tinybig metric defaults that differ from rpnkit's.
_METRIC_DEFAULTS = {"f1": {"average": "binary"}}
#: The keys of ``backward_learner``'s ``learner_parameters``.
LEARNER_KEYS = ("n_epochs", "optimizer_configs", "lr_scheduler_configs", "loss_configs")
_LOCAL_FILES = (
    "rpnkit bundles no copy; to train on a local copy, set data_class to an rpnkit dataset "
    "that reads it (`rpnkit list dataset`)"
)


def translate_tinybig(raw: Mapping[str, Any], source: str | Path | None = None) -> dict[str, Any]:
    """Translate a tinybig config (``configurations:`` root) into rpnkit's form.

    Parameters
    ----------
    raw
        The parsed YAML.
    source
        The file it came from: a config with ``result_configs`` or ``output_configs`` saves
        its outputs to ``runs/<file name without suffix>``.

    Returns
    -------
    dict
        A config in rpnkit's form, holding registry names only.

    Raises
    ------
    TinybigConfigError
        Listing every key that has no exact rpnkit equivalent, each with its key path and the
        reason, found in one pass.
    """
    label = Path(source).name if source is not None else "the tinybig config"
    problems = Problems()
    extra = sorted(str(k) for k in raw if k != "configurations")
    if extra:
        problems.add(f"{', '.join(extra)}: a tinybig config has only a 'configurations' root")
    conf = raw.get("configurations")
    if not isinstance(conf, Mapping):
        problems.add(f"configurations must be a mapping of sections, got {short_repr(conf)}")
        problems.raise_if_any(label)
        return {}
    for key in unknown_keys(list(conf), SECTIONS, "configurations", "tinybig run"):
        problems.add(key)
    for required in ("data_configs", "model_configs", "learner_configs"):
        if conf.get(required) is None:
            problems.add(f"configurations.{required} is missing")
    out: dict[str, Any] = {}
    seed = conf.get("random_seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add(f"configurations.random_seed={short_repr(seed)}: expected an integer >= 0")
    else:
        out["seed"] = seed
    out["device"] = conf.get("device", "cpu")
    learner = None
    if conf.get("learner_configs") is not None:
        learner = problems.attempt(_learner, conf["learner_configs"])
    if conf.get("data_configs") is not None:
        loss = (learner or {}).get("loss") or {}
        data = problems.attempt(_data, conf["data_configs"], loss.get("name"), out.get("seed", 0))
        out["data"] = data
    if conf.get("model_configs") is not None:
        out["model"] = problems.attempt(
            model, conf["model_configs"], "configurations.model_configs", out["device"]
        )
    out["learner"] = learner
    if conf.get("metric_configs") is not None:
        out["metric"] = problems.attempt(_metric, conf["metric_configs"])
    output = problems.attempt(_output, conf, source)
    problems.raise_if_any(label)
    if output is not None:
        out["output"] = output
    return out


def _torch_component(group: str, section: Any, where: str, runtime: tuple[str, ...]) -> Any:
    """A loss, optimizer or scheduler: ``{"<group>_class", "<group>_parameters"}``."""
    obj = read_object(section, where, (group,))
    name = registry_name(group, obj.cls, obj.class_path)
    check_parameters(group, name, obj.parameters, obj.parameters_path, runtime)
    return {"name": name, "parameters": obj.parameters}


def _learner(section: Any) -> dict[str, Any]:
    where = "configurations.learner_configs"
    obj = read_object(section, where, ("learner",))
    if not (obj.cls.startswith("tinybig.learner.") and obj.leaf == "backward_learner"):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: rpnkit's learner is tinybig's "
            "tinybig.learner.backward_learner"
        )
    params = drop_labels(obj.parameters)
    at = obj.parameters_path
    problems = Problems()
    for key in unknown_keys(list(params), LEARNER_KEYS, at, "backward_learner"):
        problems.add(key)
    learner: dict[str, Any] = {}
    n_epochs = params.get("n_epochs", 100)
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, int) or n_epochs < 1:
        problems.add(f"{at}.n_epochs={short_repr(n_epochs)}: expected an integer >= 1")
    learner["n_epochs"] = n_epochs
    for group, runtime in (("loss", ()), ("optimizer", ("params",)),
                           ("lr_scheduler", ("optimizer",))):  # fmt: skip
        if params.get(f"{group}_configs") is not None:
            learner[group] = problems.attempt(
                _torch_component, group, params[f"{group}_configs"], f"{at}.{group}_configs",
                runtime,
            )  # fmt: skip
    problems.raise_if_any()
    if "lr_scheduler" in learner:
        learner["lr_scheduler_interval"] = "epoch"  # tinybig steps every scheduler once an epoch
    return learner


def _data(section: Any, loss: str | None, seed: int) -> dict[str, Any]:
    where = "configurations.data_configs"
    obj = read_object(section, where, ("data",))
    tinybig = obj.cls.startswith("tinybig.data.")
    if tinybig and obj.leaf in _READ_LOCALLY and not {"root", "path"} & set(obj.parameters):
        from rpnkit.data.downloads import LOCAL_COPIES, download_hint

        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)} is downloaded by tinybig; "
            f"{download_hint(obj.leaf)} (in {obj.parameters_path}: "
            f"{LOCAL_COPIES[obj.leaf][0]}: ...)"
        )
    if tinybig and obj.leaf in _DOWNLOADED:
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)} is downloaded by tinybig; {_LOCAL_FILES}"
        )
    if tinybig and obj.leaf in _TABULAR[1:]:
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)} is a table inside tinybig; {_LOCAL_FILES}"
        )
    name = registry_name("dataset", obj.cls, obj.class_path)
    params = renamed("dataset", name, drop_labels(obj.parameters))
    if tinybig and obj.leaf in _TABULAR:
        params = {**_TABULAR_DEFAULTS, **params}
    if "seed" not in params and accepts("dataset", name, "seed"):
        params["seed"] = seed
    if "standardize_target" not in params and accepts("dataset", name, "standardize_target"):
        params["standardize_target"] = False  # a tinybig config means raw targets
    check_parameters("dataset", name, params, obj.parameters_path)
    if loss in CLASS_INDEX_LOSSES or loss is None or name in _EQUATIONS or name in _READ_LOCALLY:
        return {"name": name, "parameters": params}
    return {"name": "label_regression", "parameters": {"dataset": name, **params}}


def _metric(section: Any) -> dict[str, Any]:
    obj = read_object(section, "configurations.metric_configs", ("metric",))
    name = registry_name("metric", obj.cls, obj.class_path)
    params = drop_labels(obj.parameters)
    if obj.cls.startswith("tinybig."):
        params = {**_METRIC_DEFAULTS.get(name, {}), **params}
    check_parameters("metric", name, params, obj.parameters_path)
    return {"name": name, "parameters": params}


def _output(conf: Mapping[str, Any], source: str | Path | None) -> dict[str, Any] | None:
    given = [key for key in ("result_configs", "output_configs") if conf.get(key) is not None]
    if not given:
        return None
    if len(given) > 1:
        raise ConfigError(
            "configurations: both result_configs and output_configs are given; give one"
        )
    where = f"configurations.{given[0]}"
    obj = read_object(conf[given[0]], where, (given[0].removesuffix("_configs"),))
    if not obj.cls.startswith("tinybig.output."):
        raise ConfigError(
            f"{obj.class_path}={short_repr(obj.cls)}: rpnkit saves a run's outputs itself; "
            "expected a tinybig.output class"
        )
    extra = [key for key in drop_labels(obj.parameters)]
    if extra:
        raise ConfigError(
            f"{obj.parameters_path}.{extra[0]}: rpnkit's run directory has no such option "
            "(it saves history, weights and the resolved config)"
        )
    stem = Path(source).stem if source is not None else "tinybig"
    return {"dir": str(Path("runs") / stem)}
