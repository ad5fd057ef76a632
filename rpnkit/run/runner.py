"""Run a whole training from a :class:`~rpnkit.run.config.RunConfig`: what ``rpnkit train`` does.

:func:`check_config` builds every component without training and returns every problem found;
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

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rpnkit.components.spec import ComponentSpec, check_parameters
from rpnkit.errors import ConfigError, RpnkitError, TrainingInterrupted
from rpnkit.learner.callbacks import LastEpoch
from rpnkit.learner.hooks import PluginHookError
from rpnkit.learner.seeding import seed_everything
from rpnkit.plugins.state import get_registry
from rpnkit.run.config import RunConfig
from rpnkit.run.outputs import keep_interrupted, prepare_output, write_outputs
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
    config: RunConfig, *, verbose: bool = True, check: bool = False, strategy: str | None = None
) -> tuple[Components | None, list[str]]:
    """Build every component of ``config``, collecting every problem instead of stopping.

    A config's ``threads`` is applied first (:func:`torch.set_num_threads`, for the whole
    process). Each component is built by the code that trains it: the learner resolves the loss,
    optimizer and scheduler; with ``check``, :meth:`~rpnkit.learner.BackwardLearner.check`
    then runs every check ``train`` runs before its first step (device, optimizer and
    scheduler built for the model, monitor, resume file, ...). Without a model or data, the
    optimizer and scheduler are still checked, on a stand-in parameter.

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

    Returns
    -------
    tuple
        ``(components, [])`` when everything built, else ``(None, problems)`` with one line
        per problem, each naming its section.
    """
    from rpnkit.learner import BackwardLearner
    from rpnkit.learner.arguments import resolve_loss
    from rpnkit.learner.device import MixedPrecision
    from rpnkit.learner.optimization import build_optimization

    if config.threads is not None:
        import torch

        torch.set_num_threads(config.threads)  # before anything is built
    problems: list[str] = []

    def attempt(section: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RpnkitError as exc:
            problems.append(f"{section}: {exc}")
        except (TypeError, ValueError) as exc:
            problems.append(f"{section}: {type(exc).__name__}: {exc}")
        return None

    data = attempt("data", _build, "dataset", config.data)
    model, sizes = None, {}
    sized = attempt("model", _resolve_sizes, config, data)
    if sized is not None:  # None also when auto sizes wait for data that failed to build
        config, sizes = sized
        model = attempt("model", _build, "model", config.model)
    if data is not None and model is not None:
        attempt("model", _check_model_fits_data, model, data)
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
    registry = get_registry()
    specs: dict[str, Any] = {}
    failed = False
    if config.loss is not None:
        specs["loss"] = attempt("learner.loss", resolve_loss, config.loss, None)
        failed |= specs["loss"] is None
    for key in ("optimizer", "lr_scheduler"):
        spec = getattr(config, key)
        if spec is not None:
            specs[key] = attempt(f"learner.{key}", registry.resolve, key, spec, f"learner.{key}")
            failed |= specs[key] is None
    if model is None or data is None:
        # without a model, build the optimizer and scheduler for a stand-in parameter
        optimizer = specs.get("optimizer")
        if isinstance(optimizer, ComponentSpec):
            optimizer = attempt(
                "learner.optimizer", optimizer.build, params=_stand_in().parameters()
            )
            if optimizer is None:
                specs["optimizer"] = None
        if optimizer is not None and specs.get("lr_scheduler") is not None:
            checked = attempt(
                "learner.lr_scheduler",
                build_optimization,
                _stand_in(optimizer),
                optimizer,
                specs["lr_scheduler"],
                interval=config.learner.get("lr_scheduler_interval"),
                n_epochs=1,
                steps_per_epoch=1,
                precision=MixedPrecision(_cpu()),
            )
            if checked is None:
                specs["lr_scheduler"] = None

    def learner() -> Any:
        # components that failed above were reported once; the learner is checked without them
        kwargs: dict[str, Any] = {
            **config.learner,
            **{k: v for k, v in specs.items() if v is not None},
        }
        kwargs.setdefault("verbose", verbose)
        if loggers:
            kwargs["loggers"] = loggers
        check_parameters(BackwardLearner, kwargs, "learner")
        return BackwardLearner(**kwargs)

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
    if problems or failed:
        return None, problems
    return Components(data, model, built_learner, metrics, config, sizes), []


def _resolve_sizes(config: RunConfig, data: Any) -> tuple[RunConfig, dict[str, int]] | None:
    """``config`` with the model's ``auto`` sizes resolved from ``data`` (None: no data yet)."""
    from rpnkit.rpn.sizes import auto_fields, resolve_sizes

    if data is None and auto_fields(config.model):
        return None  # the data's problem is reported; the model's sizes are unknown
    model, sizes = resolve_sizes(config.model, data)
    return (replace(config, model=model), sizes) if sizes else (config, {})


def _build(group: str, spec: dict[str, Any]) -> Any:
    return get_registry().build(group, spec["name"], **spec["parameters"])


def _stand_in(optimizer: Any = None) -> Any:
    """A one-parameter model, holding ``optimizer``'s first parameter when given."""
    import torch

    model = torch.nn.Module()
    if optimizer is not None:
        model.weight = optimizer.param_groups[0]["params"][0]
    else:
        model.weight = torch.nn.Parameter(torch.zeros(1))
    return model


def _cpu() -> Any:
    import torch

    return torch.device("cpu")


def assemble_or_raise(config: RunConfig, **options: Any) -> Components:
    """:func:`assemble`, raising one :class:`ConfigError` that lists every problem."""
    parts, problems = assemble(config, **options)
    if parts is None:
        raise ConfigError(f"{len(problems)} problem(s) in the config: " + "; ".join(problems))
    return parts


def check_config(config: RunConfig) -> list[str]:
    """Build and check every component of ``config`` without training; return all problems."""
    return assemble(config, verbose=False, check=True)[1]


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


def _check_model_fits_data(model: Any, data: Any) -> None:
    from rpnkit.rpn.model import RPN

    hint = " (or auto, to take the dataset's)" if isinstance(model, RPN) else ""
    in_features = getattr(data, "in_features", None)
    first = getattr(model, "in_features", None)
    if in_features is not None and first is not None and first != in_features:
        raise ConfigError(
            f"the first layer takes m={first} inputs but dataset {data.name!r} has "
            f"{in_features} features; give m: {in_features}{hint}"
        )
    out_features = getattr(data, "out_features", None)
    last = getattr(model, "out_features", None)
    if out_features is not None and last is not None and last != out_features:
        raise ConfigError(
            f"the last layer gives n={last} outputs but dataset {data.name!r} needs "
            f"{out_features}; give n: {out_features}{hint}"
        )


def sizes_line(sizes: Mapping[str, int], data: Any) -> str:
    """The line saying what the model's ``auto`` sizes became, from the dataset ``data``."""
    resolved = ", ".join(f"{path}={number}" for path, number in sizes.items())
    return f"{resolved} (from dataset {getattr(data, 'name', '?')!r})"


def run_config(config: RunConfig, *, verbose: bool = True) -> RunResult:
    """Check ``config``, train, and write the outputs (on rank 0 only under a launch).

    The model's ``auto`` sizes are resolved from the dataset (:mod:`rpnkit.rpn.sizes`); with
    ``verbose``, one line on stderr says what they became, and ``config.yaml`` records the
    numbers.

    Raises
    ------
    ConfigError
        Listing every problem :func:`check_config` found, before anything is written.
    """
    from rpnkit.learner.launch import launch_rank, wait_for_all

    out_dir = prepare_output(config)
    if config.seed is not None:
        seed_everything(config.seed)
    parts = assemble_or_raise(config, verbose=verbose)
    config = parts.config or config  # with the model's auto sizes as numbers, for config.yaml
    if parts.sizes and verbose and launch_rank() == 0:
        print(f"auto sizes: {sizes_line(parts.sizes, parts.data)}", file=sys.stderr, flush=True)
    checkpoints = config.output.get("checkpoints")
    if out_dir is not None and checkpoints:
        parts.learner.checkpoint_dir = out_dir / "checkpoints"
        if isinstance(checkpoints, Mapping):
            parts.learner.checkpoint_every_n_steps = checkpoints["every_n_steps"]
    keeper = LastEpoch()
    parts.learner.callbacks.append(keeper)
    try:
        record = parts.learner.train(
            parts.model,
            parts.data,
            device=config.device,
            metric=parts.metrics or None,
            strategy=config.strategy,
            **config.train,
        )
    except (TrainingInterrupted, PluginHookError) as exc:
        if launch_rank() != 0 or out_dir is None:
            raise
        raise keep_interrupted(exc, keeper, out_dir, config, parts.model) from exc
    if launch_rank() != 0:
        out_dir = None
    if out_dir is not None:
        write_outputs(out_dir, config, record, parts.model, data=parts.data)
    wait_for_all()  # every process leaves together, after rank 0's files are written
    history = record.get("history", [])
    return RunResult(record, out_dir, history[-1] if history else {})
