"""Run a whole training from a :class:`~rpnkit.config.RunConfig`: what ``rpnkit train`` does.

:func:`check_config` builds every component without training and returns every problem found;
:func:`run_config` checks first (so a bad config leaves nothing on disk), then trains and writes
the outputs: ``history.json``, ``history.csv``, ``model.pt`` (weights), ``config.yaml`` (the
resolved config) and, on request, ``checkpoints/``. Result files are written to a temporary
name and moved into place, so the output directory never holds half-written files.

Launched by ``torchrun`` (or ``rpnkit train --nproc-per-node N``), every process runs
:func:`run_config` with the same config and trains its share of the data (the config's
``strategy`` decides, see :mod:`rpnkit.learner.distributed`); only rank 0 writes files. Every
process checks the output directory before the processes meet for training, so none of them
can see a file another one wrote.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rpnkit.atomic import atomic_open
from rpnkit.config import RunConfig
from rpnkit.errors import ConfigError, RpnkitError
from rpnkit.registry import build, check_parameters

__all__ = [
    "Components",
    "RunResult",
    "assemble",
    "check_config",
    "check_run",
    "run_config",
    "seed_everything",
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


def seed_everything(seed: int | None) -> None:
    """Seed python's, numpy's and torch's generators (nothing if ``seed`` is ``None``)."""
    if seed is None:
        return
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class Components:
    """Everything a run needs, built from a config."""

    data: Any
    model: Any
    learner: Any
    metrics: list[Any]


def assemble(config: RunConfig, *, verbose: bool = True) -> tuple[Components | None, list[str]]:
    """Build every component of ``config``, collecting every problem instead of stopping.

    The optimizer and scheduler are built against the model's parameters exactly as training
    would build them, so their names and parameters are checked too.

    Returns
    -------
    tuple
        ``(components, [])`` when everything built, else ``(None, problems)`` with one line
        per problem, each naming its section.
    """
    from rpnkit.learner import BackwardLearner

    problems: list[str] = []

    def attempt(section: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RpnkitError as exc:
            problems.append(f"{section}: {exc}")
        except (TypeError, ValueError) as exc:
            problems.append(f"{section}: {type(exc).__name__}: {exc}")
        return None

    def component(group: str, spec: dict[str, Any], **extra: Any) -> Any:
        try:
            return build(group, spec["name"], **spec["parameters"], **extra)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, RpnkitError):
                raise
            # the component itself rejected a value: say which parameters it was given
            raise ConfigError(
                f"{group} {spec['name']!r} with parameters {spec['parameters']} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    data = attempt("data", component, "dataset", config.data)
    model = attempt("model", component, "model", config.model)
    if data is not None and model is not None:
        attempt("model", _check_model_fits_data, model, data)
    metrics = [
        attempt(f"metric[{i}]", component, "metric", spec) for i, spec in enumerate(config.metrics)
    ]
    # the learner builds these again itself: remember which failed so each is reported once
    failed: set[str] = set()
    if config.loss is not None and attempt("learner.loss", component, "loss", config.loss) is None:
        failed.add("loss")
    optimizer = None
    if config.optimizer is not None:
        # without a model, check the optimizer's name and parameters on a stand-in parameter
        params = model.parameters() if model is not None else [_stand_in_parameter()]
        optimizer = attempt(
            "learner.optimizer", component, "optimizer", config.optimizer, params=params
        )
        if optimizer is None:
            failed.add("optimizer")
    if config.lr_scheduler is not None and optimizer is not None:
        scheduler = attempt(
            "learner.lr_scheduler",
            component,
            "lr_scheduler",
            config.lr_scheduler,
            optimizer=optimizer,
        )
        if scheduler is None:
            failed.add("lr_scheduler")

    def learner() -> Any:
        kwargs: dict[str, Any] = dict(config.learner)
        for key in ("loss", "optimizer", "lr_scheduler"):
            spec = getattr(config, key)
            if spec is not None and key not in failed:
                kwargs[f"{key}_configs"] = spec
        kwargs.setdefault("verbose", verbose)
        check_parameters(BackwardLearner, kwargs, "learner")
        return BackwardLearner(**kwargs)

    built_learner = attempt("learner", learner)
    if problems:
        return None, problems
    return Components(data, model, built_learner, metrics), []


def _assemble_or_raise(config: RunConfig, *, verbose: bool) -> Components:
    """:func:`assemble`, raising one :class:`ConfigError` that lists every problem."""
    parts, problems = assemble(config, verbose=verbose)
    if parts is None:
        raise ConfigError(f"{len(problems)} problem(s) in the config: " + "; ".join(problems))
    return parts


def check_config(config: RunConfig) -> list[str]:
    """Build every component of ``config`` without training; return all problems found."""
    return assemble(config, verbose=False)[1]


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
    _prepare_output(config)
    parts = _assemble_or_raise(config, verbose=False)
    train = parts.data.get("train_loader") if isinstance(parts.data, Mapping) else parts.data
    batch_size = getattr(train, "batch_size", None)
    if processes > 1 and isinstance(batch_size, int):
        from rpnkit.learner.distributed import batch_share

        batch_share(batch_size, processes, "data.parameters.batch_size")


def _stand_in_parameter() -> Any:
    import torch

    return torch.nn.Parameter(torch.zeros(1))


def _check_model_fits_data(model: Any, data: Any) -> None:
    in_features = getattr(data, "in_features", None)
    first = getattr(model, "in_features", None)
    if in_features is not None and first is not None and first != in_features:
        raise ConfigError(
            f"the first layer takes m={first} inputs but dataset {data.name!r} has "
            f"{in_features} features"
        )
    out_features = getattr(data, "out_features", None)
    last = getattr(model, "out_features", None)
    if out_features is not None and last is not None and last != out_features:
        raise ConfigError(
            f"the last layer gives n={last} outputs but dataset {data.name!r} needs {out_features}"
        )


def _prepare_output(config: RunConfig) -> Path | None:
    out = config.output.get("dir")
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output.dir {str(path)!r} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not config.output.get("overwrite"):
        raise ConfigError(
            f"output.dir {str(path)!r} is not empty; choose another with --output or set "
            "output.overwrite: true"
        )
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    with atomic_open(path) as file:
        file.write(data)


def _history_csv(history: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    if history:
        writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    return buffer.getvalue().encode()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def write_outputs(out_dir: Path, config: RunConfig, record: dict[str, Any], model: Any) -> None:
    """Write history (JSON + CSV), the resolved config and the model weights."""
    import torch

    history = record.get("history", [])
    resolved = _jsonable(config.to_dict())
    summary = {"config": resolved, "history": _jsonable(history)}
    _write_atomic(out_dir / "history.json", json.dumps(summary, indent=2).encode())
    _write_atomic(out_dir / "history.csv", _history_csv(history))
    _write_atomic(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False).encode())
    if config.output.get("save_model", True):
        target = getattr(model, "module", model)  # unwrap DistributedDataParallel
        with atomic_open(out_dir / "model.pt") as file:
            torch.save(target.state_dict(), file)


def run_config(config: RunConfig, *, verbose: bool = True) -> RunResult:
    """Check ``config``, train, and write the outputs (on rank 0 only under a launch).

    Raises
    ------
    ConfigError
        Listing every problem :func:`check_config` found, before anything is written.
    """
    from rpnkit.learner.distributed import launch_rank

    out_dir = _prepare_output(config)
    seed_everything(config.seed)
    parts = _assemble_or_raise(config, verbose=verbose)
    if out_dir is not None and config.output.get("checkpoints"):
        parts.learner.checkpoint_dir = out_dir / "checkpoints"
    record = parts.learner.train(
        parts.model,
        parts.data,
        device=config.device,
        metric=parts.metrics or None,
        strategy=config.strategy,
        **config.train,
    )
    if launch_rank() != 0:
        out_dir = None
    if out_dir is not None:
        write_outputs(out_dir, config, record, parts.model)
    history = record.get("history", [])
    return RunResult(record, out_dir, history[-1] if history else {})
