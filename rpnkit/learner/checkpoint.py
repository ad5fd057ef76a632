"""Training checkpoints: what is saved after an epoch or a step, and how a run resumes from it.

A checkpoint holds everything needed to continue exactly where a run stopped: the model,
optimizer, lr scheduler and gradient-scaler states, the position (the epoch and the batches of
it already trained), the optimizer steps so far, the history, and the random-number-generator
states (torch's CPU and CUDA generators, NumPy's, Python's and the generators of the training
and test loaders). A checkpoint written inside an epoch (``checkpoint_every_n_steps``) also
holds, for every process, the partial epoch (its losses, metric states and timings so far) and
the random states at the epoch's start, which replay the epoch's data order (see
:mod:`rpnkit.learner.position`). A run stopped anywhere and resumed therefore ends with the
same weights as a run that never stopped.

Files are written atomically (to a temporary file in the same folder, then renamed over the
old one), so an interrupted save never leaves a broken checkpoint. They contain only tensors
and plain Python values and are read with ``torch.load(..., weights_only=True)``.

A checkpoint is verified before it is trusted. Every one records a ``manifest`` (the
optimizer's and scheduler's classes, the model's parameter names and shapes) and a
``checksum`` of everything else (a BLAKE2 digest over every tensor's bytes and every value);
:func:`load_checkpoint` checks the whole schema and the checksum, and
:func:`restore_training_state` compares the manifest with the run before loading any state,
so a flipped bit, a hand-edited field or a run with another optimizer is refused in one line
naming what differs.
"""

from __future__ import annotations

import os
import pickle
import random
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rpnkit.atomic import atomic_open
from rpnkit.errors import ConfigError, one_line
from rpnkit.learner.checkpoint_verification import (
    check_manifest,
    checksum,
    manifest,
    schema_problem,
)

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "capture_rng_state",
    "checkpoint_path",
    "checkpoint_position",
    "load_checkpoint",
    "restore_rng_state",
    "restore_training_state",
    "save_checkpoint",
    "training_state",
]

#: File name of the checkpoint written into ``checkpoint_dir`` after every epoch.
CHECKPOINT_NAME = "last.pt"
#: Value of a checkpoint's ``"format"`` key.
FORMAT = "rpnkit.checkpoint/2"


def _loader_generators(loaders: Iterable[object]) -> list[torch.Generator]:
    """The distinct generators that drive the loaders' shuffling and worker seeds, in order.

    ``None`` entries (a run without a test loader) are skipped.
    """
    found: dict[int, torch.Generator] = {}
    for loader in loaders:
        if loader is None:
            continue
        sampler = getattr(loader, "sampler", None)
        batch_sampler = getattr(loader, "batch_sampler", None)
        for owner in (loader, sampler, getattr(batch_sampler, "sampler", None)):
            generator = getattr(owner, "generator", None)
            if isinstance(generator, torch.Generator):
                found.setdefault(id(generator), generator)
    return list(found.values())


def capture_rng_state(loaders: Iterable[object] = ()) -> dict[str, Any]:
    """Return the states of every random-number generator training draws from.

    Parameters
    ----------
    loaders
        Data loaders whose own generators (``DataLoader(generator=...)``) are captured too.

    Returns
    -------
    dict
        Tensors and plain values only, so it loads with ``weights_only=True``.
    """
    kind, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    version, python_state, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "position": int(position),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached_gaussian),
        },
        "python": {"version": version, "state": list(python_state), "gauss_next": gauss_next},
        "loaders": [generator.get_state() for generator in _loader_generators(loaders)],
    }


def restore_rng_state(state: Mapping[str, Any], loaders: Iterable[object] = ()) -> None:
    """Set every generator back to the states :func:`capture_rng_state` returned.

    Parameters
    ----------
    state
        The captured states.
    loaders
        The same loaders, in the same order, as when the states were captured.
    """
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        count = min(len(state["cuda"]), torch.cuda.device_count())
        torch.cuda.set_rng_state_all(state["cuda"][:count])
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            numpy_state["kind"],
            numpy_state["keys"].numpy().astype(np.uint32),
            numpy_state["position"],
            numpy_state["has_gauss"],
            numpy_state["cached_gaussian"],
        )
    )
    python_state = state["python"]
    random.setstate(
        (python_state["version"], tuple(python_state["state"]), python_state["gauss_next"])
    )
    generators = _loader_generators(loaders)
    if len(generators) != len(state["loaders"]):
        raise ConfigError(
            f"resume checkpoint holds {len(state['loaders'])} data-loader generator state(s) but "
            f"this run's loaders have {len(generators)}; resume with the same loaders"
        )
    for generator, generator_state in zip(generators, state["loaders"], strict=True):
        generator.set_state(generator_state)


def training_state(context: TrainContext) -> dict[str, Any]:
    """Return the checkpoint of ``context`` after its epoch ``context.epoch`` finished.

    Parameters
    ----------
    context
        The run's context, at the end of an epoch (after the scheduler stepped).

    Returns
    -------
    dict
        ``format``, ``epoch`` (the last finished epoch), ``position`` (``{"epoch": E,
        "batches": B}``: the next batch to train), ``step`` (optimizer steps so far),
        ``model``, ``optimizer``, ``lr_scheduler``, ``grad_scaler``, ``history``, ``rng`` and
        ``manifest`` (see :func:`~rpnkit.learner.checkpoint_verification.manifest`).
    """
    scheduler, scaler = context.lr_scheduler, context.grad_scaler
    model = context.model.state_dict()
    return {
        "format": FORMAT,
        "epoch": context.epoch,
        "position": {"epoch": context.epoch + 1, "batches": 0},
        "step": context.step,
        "model": model,
        "optimizer": context.optimizer.state_dict(),
        "lr_scheduler": scheduler.state_dict() if scheduler is not None else None,
        "grad_scaler": scaler.state_dict() if scaler is not None else None,
        "history": [dict(row) for row in context.history],
        "rng": capture_rng_state(context.loaders),
        "manifest": manifest(model, context.optimizer, scheduler),
    }


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder, then rename).

    Parameters
    ----------
    state
        What to save, e.g. :func:`training_state`.
    path
        The checkpoint file; its folder is created if needed.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DiskFullError
        If the device fills up (the previous checkpoint is kept).
    """
    target = Path(path)
    payload = dict(state)
    payload["checksum"] = checksum(payload)
    with atomic_open(target, defer_signals=True) as file:  # Ctrl-C acts right after
        torch.save(payload, file)
    return target


def checkpoint_path(path: str | os.PathLike[str]) -> Path:
    """Return the checkpoint file ``path`` names: itself, or ``last.pt`` inside a folder."""
    candidate = Path(path)
    return candidate / CHECKPOINT_NAME if candidate.is_dir() else candidate


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(..., weights_only=True)`` onto the CPU.

    Parameters
    ----------
    path
        A checkpoint file, or a ``checkpoint_dir`` holding ``last.pt``.

    Returns
    -------
    dict
        The saved state (see :func:`training_state`).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable, or not an rpnkit checkpoint.
    """
    file = checkpoint_path(path)
    if not file.is_file():
        raise ConfigError(f"resume={str(path)!r}: no checkpoint file at {str(file)!r}")
    subject = "the file" if file == Path(path) else repr(str(file))
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except PermissionError as exc:
        raise ConfigError(
            f"resume={str(path)!r}: cannot read {subject} (permission denied)"
        ) from exc
    except Exception as exc:
        if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in str(exc):
            raise ConfigError(f"resume={str(path)!r}: {subject} {_refusal(exc)}") from exc
        raise ConfigError(
            f"resume={str(path)!r}: {subject} is truncated or corrupt "
            f"({os.path.getsize(file)} bytes, not a complete checkpoint); resume from another "
            "checkpoint or train anew"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, dict) else None
        older = (
            f" (it is {found!r}, written by an older rpnkit)"
            if isinstance(found, str) and found.startswith("rpnkit.checkpoint/")
            else ""
        )
        raise ConfigError(
            f"resume={str(path)!r}: {subject} is not an rpnkit checkpoint of this version "
            f"(expected format {FORMAT!r}){older}; train anew"
        )
    problem = schema_problem(state)
    if problem is not None:
        raise ConfigError(
            f"resume={str(path)!r}: {subject} is not a valid checkpoint: {problem}; resume "
            "from another checkpoint or train anew"
        )
    if state["checksum"] != checksum(state):
        raise ConfigError(
            f"resume={str(path)!r}: {subject} is corrupt (its checksum does not match its "
            "contents: it was changed after rpnkit wrote it); resume from another "
            "checkpoint or train anew"
        )
    return state


def _refusal(exc: BaseException) -> str:
    """Why a file was refused by the weights-only reader, in one complete sentence."""
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(exc))
    holds = f"an object of type {found.group(1)}" if found else "objects other than plain data"
    return (
        f"was refused: it holds {holds}, and rpnkit reads checkpoints as tensors and plain "
        "values only, so that opening one can never run code; it is not a checkpoint rpnkit "
        "wrote"
    )


def checkpoint_position(state: Mapping[str, Any]) -> tuple[int, int]:
    """The position a checkpoint resumes at: ``(epoch, batches of it already trained)``."""
    position = state.get("position")
    if isinstance(position, Mapping):
        return int(position["epoch"]), int(position["batches"])
    return int(state["epoch"]) + 1, 0


def refuse_finished(state: Mapping[str, Any], n_epochs: int, what: str, more: str) -> None:
    """Refuse to resume a checkpoint whose run already trained all ``n_epochs`` epochs.

    Parameters
    ----------
    state
        The loaded checkpoint.
    n_epochs
        The epochs the resumed run is asked to train in all.
    what
        How the user named the checkpoint, e.g. ``"--resume 'runs/x'"``.
    more
        The setting that trains further, e.g. ``"learner.n_epochs"``.

    Raises
    ------
    ConfigError
        If there is nothing left to train.
    """
    epoch, _ = checkpoint_position(state)
    if epoch >= n_epochs:
        raise ConfigError(
            f"{what}: that run already finished its {epoch} epoch(s) and {more} is "
            f"{n_epochs}; there is nothing to resume (raise {more} to train further)"
        )


def restore_training_state(context: TrainContext, state: Mapping[str, Any]) -> None:
    """Load ``state`` into the run of ``context`` and continue after its epoch.

    Sets the model, optimizer, scheduler and scaler states, the history,
    ``context.start_epoch`` (the epoch of the checkpoint's position) and ``context.step``. The
    partial epoch of a checkpoint written inside an epoch is restored by the loop
    (:mod:`rpnkit.learner.position`). The random generators are left alone: restore them with
    :func:`restore_rng_state` (``state["rng"]``, ``context.loaders``) right before the next
    epoch, so it draws the same numbers as in the interrupted run.

    Raises
    ------
    ConfigError
        If the checkpoint does not fit the model, optimizer or scheduler of this run (compared
        with its manifest, naming what differs, before any state is loaded).
    """
    check_manifest(state["manifest"], context.model, context.optimizer, context.lr_scheduler)
    parts: list[tuple[str, Any]] = [
        ("model", context.model),
        ("optimizer", context.optimizer),
        ("lr_scheduler", context.lr_scheduler),
        ("grad_scaler", context.grad_scaler),
    ]
    for key, target in parts:
        saved = state[key]
        if (saved is None) != (target is None):
            raise ConfigError(
                f"resume checkpoint has {'no' if saved is None else 'a'} {key} state but this "
                f"run {'has' if target is not None else 'has no'} {key}; resume with the "
                "settings of the interrupted run"
            )
        if target is None:
            continue
        try:
            target.load_state_dict(saved)
        except (RuntimeError, ValueError, KeyError) as exc:
            reason = one_line(exc, 300)
            raise ConfigError(
                f"resume checkpoint's {key} state does not fit this run's {key}: {reason}"
            ) from exc
    context.record["history"][:] = [dict(row) for row in state["history"]]
    epoch, batches = checkpoint_position(state)
    context.start_epoch = context.epoch = epoch
    default_steps = epoch * (context.steps_per_epoch or 0) + batches
    context.step = int(state.get("step", default_steps))
