"""A new sweep's plan: the config file split from its ``sweep:`` section, checked before any trial.

:func:`read_definition` reads the file and the command's flags into the base config and the
sweep's settings; :func:`plan` chooses the sampler, the number of trials and the pruner;
:func:`extra_assignments` is what the sweep adds to every trial; :func:`check_base` and
:func:`check_value` build and check the config as ``rpnkit validate`` does, with one searched
value applied exactly as ``--set`` applies it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from rpnkit.errors import ConfigError, RpnkitError
from rpnkit.sweep.space import assignment

if TYPE_CHECKING:
    from rpnkit.sweep.objective import Objective
    from rpnkit.sweep.space import Dimension

__all__ = ["SAMPLERS", "check_base", "check_value", "extra_assignments", "plan", "read_definition"]

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


def check_base(base: Path, overrides: list[str]) -> list[str]:
    from rpnkit.run.config import load_config

    try:
        load_config(base, overrides)
    except RpnkitError as exc:
        return [str(exc)]
    return []


def check_value(base: Path, overrides: list[str], key: str, value: Any) -> list[str]:
    """Problems of the config with ``--set key=value``, built and checked as ``validate`` does."""
    from rpnkit.run.config import load_config
    from rpnkit.run.runner import validate

    try:
        config = load_config(base, [*overrides, assignment(key, value)])
    except RpnkitError as exc:
        return [str(exc)]
    return validate(config)[1]
