"""A new sweep's plan: the config file split from its ``sweep:`` section, checked before any trial.

:func:`read_definition` reads the file and the command's flags into the base config and the
sweep's settings; :func:`plan` chooses the sampler, the number of trials and the pruner;
:func:`extra_assignments` is what the sweep adds to every trial; :func:`check_values` checks
every searched value as ``--set`` applies it, building the config once as ``rpnkit validate``
does and, for each other value, only what that value changes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, RpnkitError
from rpnkit.sweep.space import assignment

if TYPE_CHECKING:
    from rpnkit.run.config import RunConfig
    from rpnkit.run.runner import Components
    from rpnkit.sweep.objective import Objective
    from rpnkit.sweep.space import Dimension

__all__ = ["SAMPLERS", "check_values", "extra_assignments", "plan", "read_definition"]

SECTION_KEYS = ("space", "objective", "direction", "sampler", "trials", "pruner", "dir")
SAMPLERS = ("grid", "tpe", "random")
PRUNERS = ("median", "none")


def read_definition(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """The config file without its ``sweep:`` section, and the section with the flags applied."""
    from rpnkit.run.configfile import load_yaml

    raw = dict(load_yaml(Path(args.config)))
    section = raw.pop("sweep", None) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"section 'sweep' must be a mapping, got {type(section).__name__}")
    unknown = [k for k in section if k not in SECTION_KEYS]
    if unknown:
        raise ConfigError(f"unknown key sweep.{unknown[0]}; valid keys: {', '.join(SECTION_KEYS)}")
    space = dict(section.get("space") or {})
    for item in args.space:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--space {item!r} must look like KEY=VALUES")
        try:
            space[key.strip()] = yaml.safe_load(text)
        except yaml.YAMLError:
            space[key.strip()] = text
    flags = {
        "objective": args.objective,
        "direction": args.direction,
        "sampler": args.sampler,
        "trials": args.trials,
        "pruner": args.pruner,
        "dir": args.output_dir,
    }
    merged = {**section, **{k: v for k, v in flags.items() if v is not None}, "space": space}
    return raw, merged


def plan(
    section: dict[str, Any], dimensions: list[Dimension], problems: list[str]
) -> tuple[str, int, str]:
    """The sampler, the number of trials and the pruner of a new sweep."""
    all_lists = bool(dimensions) and all(d.kind == "choice" for d in dimensions)
    sampler = section.get("sampler") or (
        "grid" if all_lists and not section.get("trials") else "tpe"
    )
    if sampler not in SAMPLERS:
        problems.append(f"sweep.sampler={sampler!r} is not valid; valid: {', '.join(SAMPLERS)}")
        sampler = "tpe"
    if sampler == "grid" and not all_lists:
        ranges = [d.key for d in dimensions if d.kind != "choice"]
        problems.append(
            f"the grid sampler needs a list of values for every key; {ranges[0]} is a range "
            "(use --sampler tpe or random with --trials N)"
        )
    points = 1
    for d in dimensions:
        points *= len(d.choices) if d.kind == "choice" else 1
    trials = section.get("trials")
    if trials is not None and (
        not isinstance(trials, int) or isinstance(trials, bool) or trials < 1
    ):
        problems.append(f"sweep.trials={trials!r} is not valid; expected an integer >= 1")
        trials = None
    n_trials = points if sampler == "grid" else (trials or 20)
    pruner = section.get("pruner") or ("none" if sampler == "grid" else "median")
    if pruner not in PRUNERS:
        problems.append(f"sweep.pruner={pruner!r} is not valid; valid: {', '.join(PRUNERS)}")
    return sampler, n_trials, pruner


def extra_assignments(raw: dict[str, Any], objective: Objective | None) -> list[str]:
    """What the sweep adds to every trial: the csv logger (the watched per-epoch history) and,
    for a validation objective, ``output.save_best`` on it (the trial keeps its best model)."""
    found = raw.get("output")
    output: dict[str, Any] = found if isinstance(found, dict) else {}
    loggers = list(output.get("loggers") or [])
    names = [lg.get("name") if isinstance(lg, dict) else lg for lg in loggers]
    extra = []
    if "csv" not in names:
        extra.append(assignment("output.loggers", [*loggers, "csv"]))
    if objective is not None and objective.column.startswith("val_") and "save_best" not in output:
        mode = "min" if objective.direction == "minimize" else "max"
        extra.append(assignment("output.save_best", {"monitor": objective.name, "mode": mode}))
    return extra


def _load(base: Path, assignments: Sequence[str]) -> tuple[RunConfig | None, str | None]:
    from rpnkit.run.config import load_config

    try:
        return load_config(base, assignments), None
    except RpnkitError as exc:
        return None, str(exc)


def _validate(base: Path, assignments: Sequence[str]) -> tuple[Components | None, list[str]]:
    """The config with ``assignments``, every component built and checked as ``validate`` does."""
    from rpnkit.run.runner import validate

    config, problem = _load(base, assignments)
    if config is None:
        return None, [str(problem)]
    return validate(config)


def _model_problems(config: RunConfig, parts: Components) -> list[str]:
    """Problems of ``config``'s model built alone, against the data and loss ``parts`` built."""
    from rpnkit.plugins.state import get_registry
    from rpnkit.rpn.sizes import resolve_sizes
    from rpnkit.run.structure import resolve_graph
    from rpnkit.run.task_fit import check_model_fits_data, task_problems

    try:
        spec, _ = resolve_sizes(resolve_graph(config.model, config.data), parts.data)
        model = get_registry().build("model", spec["name"], **spec["parameters"])
        check_model_fits_data(model, parts.data)
    except RpnkitError as exc:
        return [f"model: {exc}"]
    names = [spec["name"] for spec in config.metrics]
    loss = getattr(parts.learner, "loss", None)
    return task_problems(parts.data, model, loss, parts.metrics, names)


def check_values(
    base: Path, overrides: Sequence[str], dimensions: Sequence[Dimension]
) -> list[str]:
    """Every problem of the searched values, one line each, at the cost of about one build.

    Each value (every choice, both ends of a range) is first applied as ``--set`` applies it
    (keys and structure, no component built). Then the sweep's first point (every key at its
    first value) is built and checked once, as ``rpnkit validate`` does; each other value of a
    ``model.`` key builds only the model, against that point's data and loss; each other value
    of another key (``learner.``, ``data.``, ...) is validated whole, since it changes what
    the first build checked. Only when the first point fails are the base config and each
    value validated alone, to tell which is at fault.

    Parameters
    ----------
    base
        The base config file.
    overrides
        The ``--set`` assignments every trial gets.
    dimensions
        The searched keys, whose keys and component names are already known good
        (:func:`~rpnkit.sweep.space.check_space`).
    """
    problems: list[str] = []
    for dim in dimensions:
        for value in dim.ends():
            _, problem = _load(base, [*overrides, assignment(dim.key, value)])
            if problem is not None:
                problems.append(f"sweep key {dim.key}={short_repr(value)}: {problem}")
    if problems:
        return problems
    first = {dim.key: dim.ends()[0] for dim in dimensions}

    def point(**changed: Any) -> list[str]:
        return [*overrides, *(assignment(k, changed.get(k, v)) for k, v in first.items())]

    parts, found = _validate(base, point())
    if parts is None:  # something is wrong: the base, then each value alone, tell what
        problems += _validate(base, overrides)[1] if dimensions else found
        for dim in dimensions:
            for value in dim.ends():
                lines = _validate(base, [*overrides, assignment(dim.key, value)])[1]
                where = f"sweep key {dim.key}={short_repr(value)}"
                problems += [f"{where}: {line}" for line in lines if line not in problems]
        shown = ", ".join(f"{k}={short_repr(v)}" for k, v in first.items())
        problems = problems or [f"sweep point {shown}: {line}" for line in found]
        return list(dict.fromkeys(problems))
    for dim in dimensions:
        for value in dim.ends()[1:]:
            assignments = point(**{dim.key: value})
            if dim.key.startswith("model."):
                config, _ = _load(base, assignments)
                lines = _model_problems(config, parts) if config is not None else []
            else:
                lines = _validate(base, assignments)[1]
            problems += [f"sweep key {dim.key}={short_repr(value)}: {line}" for line in lines]
    return list(dict.fromkeys(problems))
