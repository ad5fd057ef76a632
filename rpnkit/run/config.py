"""Run configurations: load YAML, apply ``--set`` overrides, normalise, validate.

A run config has these top-level sections::

    seed: 0                      # int; seeds python, numpy and torch
    device: cpu                  # cpu | cuda | cuda:N | mps | auto
    strategy: auto               # auto | single (force one process even under torchrun)
    threads: 1                   # positive int: torch's CPU threads (absent: torch's default)
    data:    {name: digits, parameters: {batch_size: 64}}
    model:   {name: rpn, parameters: {layers: [...]}}
    learner: {n_epochs: 20, loss: cross_entropy, optimizer: {name: adamw, parameters: {lr: 3e-3}},
              lr_scheduler: ..., <other BackwardLearner options>, <train options>}
    metric:  accuracy            # a name, a {name, parameters} mapping, or a list of them
    output:  {dir: runs/digits, save_model: true, checkpoints: false,
              loggers: [tensorboard, {name: csv, parameters: {...}}]}
                                 # checkpoints: true, false or {every_n_steps: N}
                                 # save_best: {monitor: val_loss, mode: min} keeps best.pt

Components (``data``, ``model``, ``loss``, ``optimizer``, ``lr_scheduler``, ``metric``) are
given like everywhere else in rpnkit: a registry name or a ``{name, parameters}`` mapping.
tinybig-style files (a ``configurations:`` root) are translated by :mod:`rpnkit.tinybig`.

Every mistake is a :class:`~rpnkit.errors.ConfigError` with a one-line message naming the field
(``learner.n_epochs``), the value and what would be valid.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rpnkit.checks import positive_int, short_repr
from rpnkit.checks import seed as check_seed
from rpnkit.components.spec import parse_spec
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.run.configfile import check_written_paths, load_yaml

__all__ = [
    "LEARNER_TRAIN_OPTIONS",
    "SECTIONS",
    "RunConfig",
    "apply_overrides",
    "load_config",
    "load_yaml",
    "normalize_config",
]

SECTIONS: tuple[str, ...] = (
    "seed",
    "device",
    "strategy",
    "threads",
    "data",
    "model",
    "learner",
    "metric",
    "output",
)
#: Keys of the ``learner`` section that go to ``BackwardLearner.train`` rather than ``__init__``.
LEARNER_TRAIN_OPTIONS: tuple[str, ...] = ("display_step", "test_check", "disable_tqdm")
_COMPONENT_KEYS = ("loss", "optimizer", "lr_scheduler")
_OUTPUT_KEYS = (
    "dir",
    "save_model",
    "save_best",
    "checkpoints",
    "overwrite",
    "versioned",
    "loggers",
)
_STRATEGIES = ("auto", "single", "ddp")


@dataclass
class RunConfig:
    """A normalised run configuration (see the module docstring for the file format).

    Attributes
    ----------
    seed
        Random seed, or ``None`` to leave the generators alone.
    device
        Device string for training.
    strategy
        ``"auto"`` (DDP when launched by torchrun), ``"single"`` or ``"ddp"``.
    threads
        The number of CPU threads torch computes with (:func:`torch.set_num_threads`, set
        before anything is built, for the run only: the ``rpnkit`` command keeps it for its
        process, :func:`~rpnkit.run.runner.run_config` sets the previous number back), or
        ``None`` for torch's default.
    data, model
        Component specs ``{"name": str, "parameters": dict}``.
    loss, optimizer, lr_scheduler
        Component specs, or ``None`` for the learner's default.
    learner
        Other ``BackwardLearner`` keyword arguments (``n_epochs``, ``grad_clip_norm``, ...).
    train
        ``BackwardLearner.train`` options (``display_step``, ``test_check``, ``disable_tqdm``).
    metrics
        Metric specs; the first is the headline score.
    output
        ``dir`` (path or ``None``), ``save_model``, ``checkpoints``, ``overwrite``,
        ``versioned`` (a taken ``dir`` gives the run ``dir-2``, ``dir-3``, ...), ``loggers``
        (logger specs, written under ``dir``).
    source
        The file it was read from, if any.
    """

    seed: int | None = 0
    device: str = "cpu"
    strategy: str = "auto"
    threads: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    loss: dict[str, Any] | None = None
    optimizer: dict[str, Any] | None = None
    lr_scheduler: dict[str, Any] | None = None
    learner: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    output: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the config in rpnkit's file form (what ``rpnkit train`` saves)."""
        learner = dict(self.learner)
        for key in _COMPONENT_KEYS:
            spec = getattr(self, key)
            if spec is not None:
                learner[key] = spec
        learner.update(self.train)
        return {
            "seed": self.seed,
            "device": self.device,
            "strategy": self.strategy,
            **({"threads": self.threads} if self.threads is not None else {}),
            "data": self.data,
            "model": self.model,
            "learner": learner,
            "metric": self.metrics,
            "output": self.output,
        }


# -- loading ---------------------------------------------------------------------------------
def _parse_assignment(assignment: str) -> tuple[list[str], Any]:
    key, sep, raw = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r} must look like KEY.PATH=VALUE")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(raw: dict[str, Any], assignments: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with ``KEY.PATH=VALUE`` assignments applied.

    Values are parsed as YAML (``3`` is an int, ``[1, 2]`` a list, ``null`` is None). List
    items are addressed by index (``model.parameters.layers.0.n=32``); missing mappings are
    created.
    """
    out = copy.deepcopy(raw)
    for assignment in assignments:
        path, value = _parse_assignment(assignment)
        node: Any = out
        for depth, part in enumerate(path[:-1]):
            where = ".".join(path[: depth + 1])
            if isinstance(node, list):
                node = node[_index(part, node, where)]
            elif isinstance(node, dict):
                if not isinstance(node.get(part), dict | list):
                    node[part] = {}
                node = node[part]
            else:
                raise ConfigError(f"--set {assignment!r}: {where} is not a mapping or list")
        last = path[-1]
        if isinstance(node, list):
            node[_index(last, node, ".".join(path))] = value
        elif isinstance(node, dict):
            node[last] = value
        else:
            raise ConfigError(f"--set {assignment!r}: {'.'.join(path[:-1])} is not a mapping")
    return out


def _index(part: str, items: list[Any], where: str) -> int:
    if not part.isdigit() or int(part) >= len(items):
        raise ConfigError(
            f"--set: {where} needs a list index from 0 to {len(items) - 1}, got {part!r}"
        )
    return int(part)


# -- normalising -----------------------------------------------------------------------------
def component_spec(value: Any, where: str) -> dict[str, Any]:
    """A component of a config file as ``{"name": str, "parameters": dict}``.

    The shape is parsed by :func:`rpnkit.components.spec.parse_spec`, the one parser of it;
    a file can only name a component, so the name must be a string.

    Raises
    ------
    ConfigError
        Naming ``where`` when the value has another shape.
    """
    name, parameters = parse_spec(value, where)
    if not isinstance(name, str):
        raise ConfigError(f"{where}.name must be a component name, got {short_repr(name)}")
    return {"name": name, "parameters": parameters}


def _check_keys(section: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
    for key in section:
        if key not in valid:
            raise ConfigError(
                f"unknown key {where}{key!s}{did_you_mean(str(key), valid)}; "
                f"valid keys: {', '.join(valid)}"
            )


def _mapping(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"section {key!r} must be a mapping, got {type(value).__name__}")
    return dict(value)


def normalize_config(raw: Mapping[str, Any], source: Path | None = None) -> RunConfig:
    """Check the shape of a raw config and return a :class:`RunConfig`.

    This checks sections, keys and types; names and parameters are checked by building the
    components (:func:`rpnkit.run.runner.check_config`).

    Raises
    ------
    ConfigError
        For the first problem found.
    """
    if "configurations" in raw:
        from rpnkit.tinybig.run import translate_tinybig

        raw = translate_tinybig(raw, source)
    if "sweep" in raw:  # a sweep config trains as it is written; its search is `rpnkit sweep`'s
        raw = {key: value for key, value in raw.items() if key != "sweep"}
        warnings.warn(
            "section 'sweep' is read only by `rpnkit sweep`; this command uses the config's "
            "own values",
            UserWarning,
            stacklevel=2,
        )
    _check_keys(raw, SECTIONS, "")
    config = RunConfig(source=source)

    config.seed = check_seed(raw.get("seed", 0), none="null")
    device = raw.get("device", "cpu")
    if not isinstance(device, str):
        raise ConfigError(
            f"device must be a string such as 'cpu', 'cuda:0' or 'auto', got {device!r}"
        )
    config.device = device
    strategy = raw.get("strategy", "auto")
    if strategy not in _STRATEGIES:
        raise ConfigError(
            f"strategy={strategy!r} is not valid{did_you_mean(str(strategy), _STRATEGIES)}; "
            f"valid: {', '.join(_STRATEGIES)}"
        )
    config.strategy = strategy
    threads = raw.get("threads")
    config.threads = None if threads is None else positive_int(threads, "threads")
    limit = 4 * (os.cpu_count() or 1)  # more threads than that only thrash (or crash torch)
    if config.threads is not None and config.threads > limit:
        raise ConfigError(f"threads={config.threads} is too many; valid: 1 to {limit} here")

    if "data" not in raw:
        raise ConfigError("section 'data' is missing; e.g. data: {name: digits}")
    config.data = component_spec(raw["data"], "data")
    if "model" not in raw:
        raise ConfigError("section 'model' is missing; e.g. model: {name: rpn, parameters: ...}")
    config.model = component_spec(raw["model"], "model")

    learner = _mapping(raw, "learner")
    for key in _COMPONENT_KEYS:
        if learner.get(key) is not None:
            setattr(config, key, component_spec(learner.pop(key), f"learner.{key}"))
        else:
            learner.pop(key, None)
    config.train = {k: learner.pop(k) for k in LEARNER_TRAIN_OPTIONS if k in learner}
    n_epochs = learner.get("n_epochs", 100)
    if not isinstance(n_epochs, int) or isinstance(n_epochs, bool) or n_epochs < 1:
        raise ConfigError(f"learner.n_epochs must be an integer >= 1, got {n_epochs!r}")
    if "loggers" in learner:
        raise ConfigError("learner.loggers is not a config key; list loggers under output.loggers")
    if "callbacks" in learner:
        raise ConfigError(
            f"learner.callbacks={short_repr(learner['callbacks'])} is refused: a config cannot "
            "name code to run; list loggers under output.loggers, or pass callbacks=[...] to "
            "BackwardLearner in Python"
        )
    config.learner = learner

    metric = raw.get("metric")
    items = [] if metric is None else metric if isinstance(metric, list) else [metric]
    config.metrics = [component_spec(m, f"metric[{i}]") for i, m in enumerate(items)]

    output = _mapping(raw, "output")
    _check_keys(output, _OUTPUT_KEYS, "output.")
    out_dir = output.get("dir")
    if out_dir is not None and not isinstance(out_dir, str):
        raise ConfigError(f"output.dir must be a path string or null, got {out_dir!r}")
    for flag, default in (("save_model", True), ("overwrite", False), ("versioned", False)):
        value = output.get(flag, default)
        if not isinstance(value, bool):
            raise ConfigError(f"output.{flag} must be true or false, got {value!r}")
        output[flag] = value
    output["checkpoints"] = _checkpoints(output.get("checkpoints", False))
    if output.get("save_best") is not None:
        from rpnkit.learner.best import check_save_best

        check_save_best(output["save_best"], "output.save_best")
    output["dir"] = out_dir
    if "loggers" in output:
        output["loggers"] = _loggers(output["loggers"])
    config.output = output
    return config


def _loggers(value: Any) -> list[dict[str, Any]]:
    """``output.loggers``: a list of logger names or ``{name, parameters}`` mappings."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(
            f"output.loggers must be a list of logger names or {{name, parameters}} mappings "
            f"(e.g. [tensorboard, csv]), got {short_repr(value)}"
        )
    return [component_spec(item, f"output.loggers[{i}]") for i, item in enumerate(value)]


def _checkpoints(value: Any) -> bool | dict[str, int]:
    """``output.checkpoints``: ``true`` (after every epoch), ``false``, or ``{every_n_steps: N}``
    (also every N training steps, inside epochs)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        _check_keys(value, ("every_n_steps",), "output.checkpoints.")
        steps = value.get("every_n_steps")
        if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
            raise ConfigError(
                f"output.checkpoints.every_n_steps={short_repr(steps)} is not valid; expected "
                "an integer >= 1"
            )
        return {"every_n_steps": steps}
    raise ConfigError(
        f"output.checkpoints={short_repr(value)} is not valid; expected true (after every "
        "epoch), false, or {every_n_steps: N} (also every N training steps)"
    )


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> RunConfig:
    """Load, override and normalise the config file at ``path``.

    Parameters
    ----------
    path
        A YAML file in rpnkit or tinybig form.
    overrides
        ``KEY.PATH=VALUE`` assignments applied before normalising. In a tinybig file, those
        under ``configurations.`` set tinybig's own keys before it is translated; the others
        use rpnkit's section names and apply to the translation.

    Returns
    -------
    RunConfig
        The normalised config.
    """
    path = Path(path)
    raw = load_yaml(path)
    check_written_paths(raw, path)
    overrides = list(overrides)
    if "configurations" in raw:
        from rpnkit.tinybig.run import translate_tinybig

        own = [a for a in overrides if a.partition("=")[0].strip().startswith("configurations.")]
        overrides = [a for a in overrides if a not in own]
        raw = translate_tinybig(apply_overrides(raw, own), path)
    return normalize_config(apply_overrides(raw, overrides), source=path)
