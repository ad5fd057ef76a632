"""Run a whole training from a :class:`~rpnkit.run.config.RunConfig`: what ``rpnkit train`` does.

:func:`validate` (``rpnkit validate``) builds every component without training and returns every
problem found, the output directory's included (:func:`check_config` returns the problems);
:func:`run_config` checks first (so a bad config leaves nothing on disk), then trains and writes
the outputs: ``history.json``, ``history.csv``, ``model.pt`` (weights), ``config.yaml`` (the
resolved config, with the numbers the model's ``auto`` sizes became) and, on request,
``checkpoints/``. Result files are written to a temporary name and moved into place, so the
output directory never holds half-written files.

Launched by ``torchrun`` (or ``rpnkit train --nproc-per-node N``), every process runs
:func:`run_config` with the same config and trains its share of the data (the config's
``strategy`` decides, see :mod:`rpnkit.learner.parallel`); only rank 0 writes files. Every
process checks the output directory before the processes meet for training, so none of them
can see a file another one wrote.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from rpnkit.errors import ConfigError, RpnkitError, TrainingInterrupted
from rpnkit.learner.callbacks import LastEpoch
from rpnkit.learner.hooks import PluginHookError
from rpnkit.learner.seeding import seed_everything
from rpnkit.plugins.state import get_registry
from rpnkit.run.config import RunConfig
from rpnkit.run.horizons import resolve_horizons
from rpnkit.run.outputs import (
    check_output,
    forget_config,
    keep_interrupted,
    next_version,
    prepare_output,
    write_config,
    write_outputs,
)
from rpnkit.run.structure import node_sets, resolve_graph
from rpnkit.run.task_fit import check_model_fits_data, metrics_in_target_units, task_problems
from rpnkit.tracking.resolve import resolve_loggers

__all__ = [
    "Components",
    "RunResult",
    "assemble",
    "assemble_or_raise",
    "check_config",
    "check_run",
    "run_config",
    "sizes_line",
    "validate",
]


@dataclass
class RunResult:
    """What :func:`run_config` returns.

    Attributes
    ----------
    record
        The learner's training record (reference structure plus ``history``).
    output_dir
        Where this process wrote results: ``None`` without ``output.dir`` and on every
        process of a launch but rank 0.
    final
        The last epoch's history row.
    """

    record: dict[str, Any]
    output_dir: Path | None
    final: dict[str, Any]


@dataclass
class Components:
    """Everything a run needs, built from a config.

    ``config`` is the config they were built from, with the model's ``auto`` sizes replaced
    by the dataset's widths (``sizes``: ``{field path: number}``, see :mod:`rpnkit.rpn.sizes`).
    """

    data: Any
    model: Any
    learner: Any
    metrics: list[Any]
    config: RunConfig | None = None
    sizes: dict[str, int] = field(default_factory=dict)


def assemble(
    config: RunConfig,
    *,
    verbose: bool = True,
    check: bool = False,
    strategy: str | None = None,
    callbacks: Sequence[object] = (),
) -> tuple[Components | None, list[str]]:
    """Build every component of ``config``, collecting every problem instead of stopping.

    A config's ``threads`` is not applied here (:func:`run_config` applies it while it
    trains, the ``rpnkit`` command for its own process), so checking changes nothing. Each
    component is built once, by the code that trains it: the loss, optimizer
    and scheduler are resolved by the learner's own entry
    (:func:`~rpnkit.learner.arguments.resolve_component`, each problem reported under its
    key) and handed to the learner, which is constructed with every setting of the run (its
    checkpoints included). With ``check``, :meth:`~rpnkit.learner.BackwardLearner.check` then
    runs every check ``train`` runs before its first step (device, optimizer and scheduler
    built for the model, monitor, resume file, ...). Without a model or data to check with,
    the optimizer and scheduler are checked alone
    (:func:`~rpnkit.learner.optimization.check_optimization`). A user mistake is a problem; an
    error raised inside a component is not one, and propagates with its traceback.

    Parameters
    ----------
    config
        The run's config.
    verbose
        The learner's ``verbose``.
    check
        Also run the learner's pre-training checks (what ``rpnkit validate`` does).
    strategy
        Override the config's strategy for the check (``"single"`` before a launch).
    callbacks
        The learner's ``callbacks`` (plugin objects on the training hooks).

    Returns
    -------
    tuple
        ``(components, [])`` when everything built, else ``(None, problems)`` with one line
        per problem, each naming its section.
    """
    from rpnkit.learner import BackwardLearner
    from rpnkit.learner.arguments import resolve_component, resolve_loss
    from rpnkit.learner.optimization import check_optimization

    problems: list[str] = []

    def attempt(section: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RpnkitError as exc:
            problems.append(f"{section}: {exc}")
        return None

    resolved = attempt("learner.lr_scheduler", resolve_horizons, config)
    if resolved is not None:
        config, notes = resolved  # T_max: auto and friends follow learner.n_epochs
        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=2)
    data = attempt("data", _build, "dataset", config.data)
    model, sizes = None, {}
    sized = attempt("model", _resolve_sizes, config, data)
    if sized is not None:  # None also when auto sizes wait for data that failed to build
        config, sizes = sized
        model = attempt("model", _build, "model", config.model)
    if data is not None and model is not None:
        attempt("model", check_model_fits_data, model, data)
    metrics = [
        attempt(f"metric[{i}]", _build, "metric", spec) for i, spec in enumerate(config.metrics)
    ]
    loggers = attempt(
        "output.loggers",
        resolve_loggers,
        config.output.get("loggers", []),
        directory=config.output.get("dir") or ".",
        where="output.loggers",
    )
    components: dict[str, Any] = {}
    for key in ("loss", "optimizer", "lr_scheduler"):
        spec, where = getattr(config, key), f"learner.{key}"
        if spec is not None:
            resolve = resolve_loss if key == "loss" else partial(resolve_component, key)
            components[key] = attempt(where, resolve, spec, where)
    if model is None or data is None:
        attempt(
            "learner",
            check_optimization,
            components.get("optimizer"),
            components.get("lr_scheduler"),
            interval=config.learner.get("lr_scheduler_interval"),
        )

    def learner() -> Any:
        # components that failed above were reported once; the learner is checked without them
        kwargs: dict[str, Any] = {
            **config.learner,
            **{k: v for k, v in components.items() if v is not None},
            **_checkpointing(config.output),
        }
        kwargs.setdefault("verbose", verbose)
        if loggers:
            kwargs["loggers"] = loggers
        if callbacks:
            kwargs["callbacks"] = [*kwargs.get("callbacks", ()), *callbacks]
        return BackwardLearner(**kwargs)

    if data is not None and model is not None and None not in metrics:
        names = [spec["name"] for spec in config.metrics]
        problems += task_problems(data, model, components.get("loss"), metrics, names)
        metrics_in_target_units(data, metrics)
    built_learner = attempt("learner", learner)
    if check and not problems:
        attempt(
            "learner",
            built_learner.check,
            model,
            data,
            device=config.device,
            metric=metrics or None,
            strategy=strategy or config.strategy,
            **config.train,
        )
    if problems or None in components.values():
        return None, problems
    return Components(data, model, built_learner, metrics, config, sizes), []


def _checkpointing(output: Mapping[str, Any]) -> dict[str, Any]:
    """The learner's checkpoint settings from ``output``: under ``output.dir/checkpoints``."""
    checkpoints, directory = output.get("checkpoints"), output.get("dir")
    if directory is None or not checkpoints:
        return {} if output.get("save_best") is None else {"save_best": output["save_best"]}
    every = checkpoints["every_n_steps"] if isinstance(checkpoints, Mapping) else None
    return {
        "checkpoint_dir": Path(directory) / "checkpoints",
        "checkpoint_every_n_steps": every,
        **({} if output.get("save_best") is None else {"save_best": output["save_best"]}),
    }


def _resolve_sizes(config: RunConfig, data: Any) -> tuple[RunConfig, dict[str, int]] | None:
    """``config`` with the model's ``auto`` sizes resolved from ``data`` (None: no data yet)."""
    from rpnkit.rpn.sizes import auto_fields, resolve_sizes

    if data is None and auto_fields(config.model):
        return None  # the data's problem is reported; the model's sizes are unknown
    model, sizes = resolve_sizes(resolve_graph(config.model, config.data), data)
    return replace(config, model=model), sizes  # graph: auto is the run's graph dataset


def _build(group: str, spec: dict[str, Any]) -> Any:
    return get_registry().build(group, spec["name"], **spec["parameters"])


def assemble_or_raise(config: RunConfig, **options: Any) -> Components:
    """:func:`assemble`, raising one :class:`ConfigError` that lists every problem."""
    parts, problems = assemble(config, **options)
    if parts is None:
        raise ConfigError(f"{len(problems)} problem(s) in the config: " + "; ".join(problems))
    return parts


def validate(config: RunConfig) -> tuple[Components | None, list[str]]:
    """What ``rpnkit validate`` does: every check ``train`` makes, writing nothing.

    Every component is built and checked (:func:`assemble` with ``check``) and the output
    directory is checked as ``train`` would check it (:func:`~rpnkit.run.outputs.check_output`).

    Returns
    -------
    tuple
        ``(components, [])`` when the config would train, else ``(None, problems)``.
    """
    parts, problems = assemble(config, verbose=False, check=True)
    try:
        check_output(config)
    except ConfigError as exc:
        problems.append(str(exc))
    return (parts, []) if parts is not None and not problems else (None, problems)


def check_config(config: RunConfig) -> list[str]:
    """Build and check every component of ``config`` without training; return all problems.

    The problems :func:`validate` finds, the output directory's included.
    """
    return validate(config)[1]


def check_run(config: RunConfig, processes: int = 1) -> None:
    """Check ``config`` and its output directory as :func:`run_config` would, without training.

    Used before launching processes, so a mistake is reported once, not by every process.

    Parameters
    ----------
    config
        The run's config.
    processes
        The number of processes that will train together: the training batch size must be
        a multiple of it.

    Raises
    ------
    ConfigError
        For an output directory that is not empty (without ``output.overwrite``), a batch
        size that does not split over ``processes``, or listing every problem
        :func:`check_config` finds.
    """
    prepare_output(config)
    parts = assemble_or_raise(config, verbose=False, check=True, strategy="single")
    train = parts.data.get("train_loader") if isinstance(parts.data, Mapping) else parts.data
    batch_size = getattr(train, "batch_size", None)
    if processes > 1 and isinstance(batch_size, int):
        from rpnkit.learner.sharding import batch_share

        batch_share(batch_size, processes, "data.parameters.batch_size")


def sizes_line(sizes: Mapping[str, int], data: Any) -> str:
    """The line saying what the model's ``auto`` sizes became, from the dataset ``data``."""
    resolved = ", ".join(f"{path}={number}" for path, number in sizes.items())
    return f"{resolved} (from dataset {getattr(data, 'name', '?')!r})"


def run_config(config: RunConfig, *, verbose: bool = True) -> RunResult:
    """Check ``config``, train, and write the outputs (on rank 0 only under a launch).

    The model's ``auto`` sizes are resolved from the dataset (:mod:`rpnkit.rpn.sizes`); with
    ``verbose``, one line on stderr says what they became, and ``config.yaml`` records the
    numbers. A config's ``threads`` holds while the components are built and trained; torch's
    thread count is set back when this returns (the ``rpnkit`` command keeps it for its process).

    Raises
    ------
    ConfigError
        Listing every problem :func:`check_config` found, before anything is written.
    """
    with _threads(config.threads):
        return _run_config(config, verbose=verbose)


@contextlib.contextmanager
def _threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` in the block (``None``: left as they are)."""
    if threads is None:
        yield
        return
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)  # before anything is built
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _run_config(config: RunConfig, *, verbose: bool) -> RunResult:
    from rpnkit.learner.launch import launch_rank, wait_for_all

    if "RANK" not in os.environ:  # a launch's processes got the directory the command chose
        config, moved = next_version(config)
        if moved is not None and verbose:
            print(moved, file=sys.stderr, flush=True)
    out_dir = prepare_output(config) if launch_rank() == 0 else None  # rank 0's to check
    if config.seed is not None:
        seed_everything(config.seed)
    keeper = LastEpoch()
    parts = assemble_or_raise(config, verbose=verbose, callbacks=[keeper])
    config = parts.config or config  # with the model's auto sizes as numbers, for config.yaml
    created = out_dir is not None and not out_dir.exists()
    if out_dir is not None and launch_rank() == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_config(out_dir, config)  # what runs, even if the run is killed
    if parts.sizes and verbose and launch_rank() == 0:
        print(f"auto sizes: {sizes_line(parts.sizes, parts.data)}", file=sys.stderr, flush=True)
    try:
        record = parts.learner.train(
            parts.model,
            parts.data,
            device=config.device,
            metric=parts.metrics or None,
            strategy=config.strategy,
            **{**node_sets(parts.data), **config.train},  # a graph: one batch, node sets
        )
    except (TrainingInterrupted, PluginHookError) as exc:
        if launch_rank() != 0 or out_dir is None:
            raise
        raise keep_interrupted(exc, keeper, out_dir, config, parts.model) from exc
    except BaseException:
        if out_dir is not None and launch_rank() == 0:
            forget_config(out_dir, created)  # a run refused or failed before keeping anything
        raise
    if launch_rank() != 0:
        out_dir = None
    if out_dir is not None:
        write_outputs(out_dir, config, record, parts.model, data=parts.data, best=keeper.best())
    wait_for_all()  # every process leaves together, after rank 0's files are written
    history = record.get("history", [])
    return RunResult(record, out_dir, history[-1] if history else {})
