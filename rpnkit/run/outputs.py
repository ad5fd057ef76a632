"""A run's output directory: checked before training, written after, kept on interruption.

:func:`prepare_output` refuses, before any training, an output directory that cannot take
the run's files; with ``output.versioned`` a taken directory gives the run the next free
``DIR-N`` instead (:func:`next_version`). :func:`write_config` writes the effective config
(after every ``--set``) before training starts, so even a killed run says what it ran.
:func:`write_outputs` writes ``history.json``, ``history.csv``,
``config.yaml``, ``preprocessing.json`` (what :mod:`rpnkit.inference` needs to prepare new
inputs) and ``model.pt``, each atomically with the usual permissions.
:func:`keep_interrupted` writes what an interrupted run learned: the history and the model of
the last completed epoch (``history.json`` marked ``"partial": true``) and a checkpoint to
resume from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from rpnkit.atomic import TEMPORARY_SUFFIX, atomic_open, remove_stale_temporaries
from rpnkit.deferred_signals import signals_deferred
from rpnkit.errors import ConfigError, TrainingInterrupted
from rpnkit.learner.callbacks import LastEpoch
from rpnkit.learner.checkpoint import CHECKPOINT_NAME, load_checkpoint, save_checkpoint
from rpnkit.learner.hooks import PluginHookError
from rpnkit.run.config import RunConfig
from rpnkit.run.lock import lock_holder
from rpnkit.tracking.csv_logger import history_csv

__all__ = [
    "OUTPUT_FILES",
    "check_output",
    "forget_config",
    "is_taken",
    "keep_interrupted",
    "killed_run",
    "next_version",
    "prepare_output",
    "resume_command",
    "write_config",
    "write_outputs",
]

#: The files a run writes into ``output.dir``.
OUTPUT_FILES: tuple[str, ...] = (
    "history.json",
    "history.csv",
    "config.yaml",
    "preprocessing.json",
    "model.pt",
    "best.pt",
)


def prepare_output(config: RunConfig) -> Path | None:
    """Check the output directory (:func:`check_output`) and remove stale temporaries in it."""
    path = check_output(config)
    if path is not None:
        remove_stale_temporaries(path)
        if (path / "checkpoints").is_dir():  # a save killed inside an epoch
            remove_stale_temporaries(path / "checkpoints")
    return path


def check_output(config: RunConfig) -> Path | None:
    """The output directory, if ``train`` could write the run's files there; changes nothing.

    ``rpnkit validate`` and ``rpnkit train`` both call this, so they refuse the same
    directories: a file, one that is not empty (without ``output.overwrite`` or
    ``output.versioned``), one that cannot be created or written, or one holding a directory
    where a run file goes.

    Raises
    ------
    ConfigError
        One line naming ``output.dir`` and why it cannot be used.
    """
    out = config.output.get("dir")
    if out is None:
        return None
    path = Path(out)
    if path.is_symlink() and not path.exists():
        raise ConfigError(
            f"output.dir {str(path)!r} is a symbolic link to {os.readlink(path)!r}, which does "
            "not exist; create that directory or choose another --output"
        )
    if path.exists() and not path.is_dir():
        raise ConfigError(f"output.dir {str(path)!r} exists and is not a directory")
    free = config.output.get("overwrite") or config.output.get("versioned")
    killed = killed_run(path) if not free else None
    if killed is not None:
        raise ConfigError(f"output.dir {str(path)!r}: its run {killed}")
    if not free and is_taken(path):
        raise ConfigError(
            f"output.dir {str(path)!r} is not empty; add --overwrite to replace the run in it, "
            "or choose another directory with --output"
        )
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise ConfigError(
            f"output.dir {str(path)!r} cannot be created: {str(existing)!r} is a file"
        )
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(
            f"output.dir {str(path)!r} is not writable ({str(existing)!r} does not allow "
            "writing); choose another with --output"
        )
    for name in OUTPUT_FILES:
        if (path / name).is_dir():
            raise ConfigError(
                f"output.dir {str(path)!r}: {name!r} is a directory where the run writes a "
                "file; remove it or choose another --output"
            )
    return path


def _write_atomic(path: Path, data: bytes) -> None:
    with atomic_open(path) as file:
        file.write(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)


def is_taken(path: Path) -> bool:
    """Whether ``path`` is a directory holding anything but stale temporaries."""
    return path.is_dir() and any(
        not (p.name.startswith(".") and p.name.endswith(TEMPORARY_SUFFIX) and p.is_file())
        for p in path.iterdir()
    )


def next_version(config: RunConfig) -> tuple[RunConfig, str | None]:
    """``config`` moved to a free directory when ``output.versioned`` and ``output.dir`` is taken.

    The run keeps ``output.dir`` when it is free (or ``output.overwrite`` is set); otherwise
    it gets the first free ``DIR-2``, ``DIR-3``, ... beside it, so running the same command
    twice keeps both runs.

    Returns
    -------
    tuple
        The config (changed in place) and the line saying where the run goes instead, or
        ``None`` when it stays.
    """
    out = config.output.get("dir")
    if out is None or not config.output.get("versioned") or config.output.get("overwrite"):
        return config, None
    path = Path(out)
    if not is_taken(path):
        return config, None
    number = 2
    while is_taken(path.with_name(f"{path.name}-{number}")):
        number += 1
    chosen = path.with_name(f"{path.name}-{number}")
    config.output["dir"] = str(chosen)
    return config, (
        f"{str(path)!r} holds an earlier run; this one goes to {str(chosen)!r} "
        "(--overwrite replaces the earlier run instead)"
    )


def write_config(out_dir: Path, config: RunConfig) -> None:
    """Write ``config.yaml``: the effective config, before training starts."""
    resolved = _jsonable(config.to_dict())
    _write_atomic(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False).encode())


def forget_config(out_dir: Path, created: bool) -> None:
    """Remove the ``config.yaml`` written before training when nothing else of the run is kept."""
    if (out_dir / "checkpoints").exists() or (out_dir / "history.json").exists():
        return
    (out_dir / "config.yaml").unlink(missing_ok=True)
    if created and not any(out_dir.iterdir()):
        out_dir.rmdir()


def killed_run(path: Path) -> str | None:
    """What to do with a run that a killed ``rpnkit train`` left; ``None`` for any other folder.

    Training writes ``config.yaml`` before its first epoch and ``history.json`` and
    ``model.pt`` after its last (or on Ctrl-C / SIGTERM), so a folder with the first and
    not the second was left by a process killed outright (SIGKILL, out of memory, a power
    cut). It can be resumed if it kept a checkpoint.

    Returns
    -------
    str or None
        The end of a one-line message: ``"is still training (process N)…"`` while another
        process holds the run's lock (:mod:`rpnkit.run.lock`), ``"was killed before it wrote its outputs; resume it
        with `rpnkit train --resume RUN`"``, or, without a checkpoint, that it must be
        trained again.
    """
    if not (path / "config.yaml").is_file() or (path / "history.json").exists():
        return None
    holder = lock_holder(path)
    if holder is not None:
        return f"is still training (process {holder}); wait for it to end"
    if (path / "checkpoints" / CHECKPOINT_NAME).is_file() or (path / CHECKPOINT_NAME).is_file():
        return f"was killed before it wrote its outputs; resume it with `{resume_command(path)}`"
    return (
        "was killed before it wrote its outputs and kept no checkpoint to resume from "
        "(output.checkpoints was off); train it again with --overwrite"
    )


def resume_command(out_dir: Path | str) -> str:
    """The one command that continues the run in ``out_dir``."""
    return f"rpnkit train --resume {out_dir}"


def write_outputs(
    out_dir: Path,
    config: RunConfig,
    record: dict[str, Any],
    model: Any,
    *,
    weights: Mapping[str, Any] | None = None,
    partial: bool = False,
    data: Any = None,
    best: Mapping[str, Any] | None = None,
) -> None:
    """Write history (JSON + CSV), the resolved config, the preprocessing and the weights.

    ``weights`` replaces the model's current state (the last completed epoch's, after an
    interruption); ``partial`` marks ``history.json`` as the record of an interrupted run;
    ``data``, the built dataset, gives ``preprocessing.json`` (without it, a stale one is
    removed); ``best``, the weights of the best epoch (``output.save_best``), gives
    ``best.pt`` (without it, a stale one is removed). Ctrl-C and SIGTERM are held back
    until every file is written (:func:`~rpnkit.deferred_signals.signals_deferred`).
    """
    with signals_deferred():  # Ctrl-C / SIGTERM act once every file is complete
        _write_outputs(out_dir, config, record, model, weights, partial, data, best)


def _write_outputs(
    out_dir: Path,
    config: RunConfig,
    record: dict[str, Any],
    model: Any,
    weights: Mapping[str, Any] | None,
    partial: bool,
    data: Any,
    best: Mapping[str, Any] | None,
) -> None:
    import torch

    history = record.get("history", [])
    resolved = _jsonable(config.to_dict())
    summary: dict[str, Any] = {"config": resolved, "history": _jsonable(history)}
    if record.get("best"):  # the epoch best.pt holds (output.save_best, learner.restore_best)
        summary["best"] = _jsonable(dict(record["best"]))
    if partial:
        summary["partial"] = True
    _write_atomic(out_dir / "history.json", json.dumps(summary, indent=2).encode())
    _write_atomic(out_dir / "history.csv", history_csv(history))
    _write_atomic(out_dir / "config.yaml", yaml.safe_dump(resolved, sort_keys=False).encode())
    _write_preprocessing(out_dir / "preprocessing.json", data)
    if config.output.get("save_model", True):
        target = getattr(model, "module", model)  # unwrap DistributedDataParallel
        with atomic_open(out_dir / "model.pt") as file:
            torch.save(dict(weights) if weights is not None else target.state_dict(), file)
    if best is not None and config.output.get("save_model", True):
        with atomic_open(out_dir / "best.pt") as file:
            torch.save(best, file)
    elif (out_dir / "best.pt").is_file():
        (out_dir / "best.pt").unlink()


def _write_preprocessing(path: Path, data: Any) -> None:
    from rpnkit.inference.preprocessing import preprocessing_record

    if data is None:
        path.unlink(missing_ok=True)
    else:
        _write_atomic(path, preprocessing_record(data))


def keep_interrupted(
    exc: TrainingInterrupted | PluginHookError,
    keeper: LastEpoch,
    out_dir: Path,
    config: RunConfig,
    model: Any,
) -> TrainingInterrupted | PluginHookError:
    """Write what a stopped run learned; return its error, saying where it is.

    The history and the model of the last completed epoch are written (``history.json``
    marked partial), and its checkpoint, unless ``checkpoints/last.pt`` already holds a later
    one (a checkpoint written inside an epoch, ``output.checkpoints.every_n_steps``).
    ``exc`` is an interruption (Ctrl-C, SIGTERM) or a plugin's failure in a training hook
    (:class:`~rpnkit.learner.hooks.PluginHookError`), whose message comes first.
    """
    state = keeper.state()
    checkpoint = out_dir / "checkpoints" / CHECKPOINT_NAME
    later = _saved_step(checkpoint)
    if state is None and later is None:
        return exc if isinstance(exc, PluginHookError) else TrainingInterrupted(exc.record, 0)
    completed = 0
    if state is not None:
        if later is None or later < int(state.get("step", 0)):
            save_checkpoint(state, checkpoint)
        write_outputs(
            out_dir,
            config,
            {"history": state["history"]},
            model,
            weights=state["model"],
            partial=True,
        )
        completed = len(state["history"])
    kept = (
        f"the history, the model of epoch {completed - 1} (marked partial) and a checkpoint"
        if completed
        else "a checkpoint"
    )
    where = f"{kept} are in {out_dir}; resume with `{resume_command(out_dir)}`"
    if isinstance(exc, PluginHookError):
        stopped = PluginHookError(
            f"{exc} after {completed} complete epoch(s); {where}",
            exc.plugin,
            exc.hook,
            exc.record,
            completed,
        )
        return stopped
    interrupted = TrainingInterrupted(exc.record, completed)
    interrupted.args = (f"training interrupted after {completed} complete epoch(s); {where}",)
    return interrupted


def _saved_step(path: Path) -> int | None:
    """The step of the checkpoint at ``path`` if it is a readable one, else ``None``."""
    if not path.is_file():
        return None
    try:
        return int(load_checkpoint(path).get("step", 0))
    except ConfigError:
        return None
