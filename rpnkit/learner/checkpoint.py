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

import hashlib
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

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "capture_rng_state",
    "checkpoint_path",
    "checkpoint_position",
    "checksum",
    "load_checkpoint",
    "manifest",
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
        ``manifest`` (see :func:`manifest`).
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


def _class_name(obj: object) -> str | None:
    return None if obj is None else f"{type(obj).__module__}.{type(obj).__qualname__}"


def manifest(
    model_state: Mapping[str, Any], optimizer: object, lr_scheduler: object
) -> dict[str, Any]:
    """What a checkpoint was written for: classes, and the model's parameter names and shapes.

    Parameters
    ----------
    model_state
        The model's ``state_dict()``.
    optimizer, lr_scheduler
        The run's optimizer and scheduler (``None``: none).

    Returns
    -------
    dict
        ``{"optimizer": "torch.optim.adam.Adam", "lr_scheduler": ... or None, "parameters":
        {name: [sizes]}}``.
    """
    return {
        "optimizer": _class_name(optimizer),
        "lr_scheduler": _class_name(lr_scheduler),
        "parameters": {
            name: list(value.shape)
            for name, value in model_state.items()
            if isinstance(value, torch.Tensor)
        },
    }


def checksum(state: Mapping[str, Any]) -> str:
    """A BLAKE2 digest of ``state`` without its ``checksum`` key: every tensor's dtype, shape
    and bytes and every plain value, mapping keys in a fixed order."""
    digest = hashlib.blake2b(digest_size=16)
    _feed(digest, {k: v for k, v in state.items() if k != "checksum"})
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        tensor = tensor.contiguous()
        digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
        if tensor.numel():
            digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, Mapping):
        digest.update(f"{{{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode())
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"[{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__}:{value!r};".encode())


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
    """
    target = Path(path)
    payload = dict(state)
    payload["checksum"] = checksum(payload)
    with atomic_open(target) as file:
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
    problem = _schema_problem(state)
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


def _is_int(value: object, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _tensor_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def _schema_problem(state: Mapping[str, Any]) -> str | None:
    """What in ``state`` does not follow the checkpoint schema, or ``None``."""
    position, optimizer, rng = state.get("position"), state.get("optimizer"), state.get("rng")
    info = state.get("manifest")
    checks: list[tuple[str, bool]] = [
        ("epoch", _is_int(state.get("epoch"), -1)),
        (
            "position",
            isinstance(position, Mapping)
            and _is_int(position.get("epoch"))
            and _is_int(position.get("batches")),
        ),
        ("step", _is_int(state.get("step"))),
        ("model", _tensor_map(state.get("model"))),
        (
            "optimizer",
            isinstance(optimizer, Mapping)
            and isinstance(optimizer.get("state"), Mapping)
            and isinstance(optimizer.get("param_groups"), list),
        ),
        (
            "lr_scheduler",
            state.get("lr_scheduler", 0) is None or isinstance(state.get("lr_scheduler"), Mapping),
        ),
        (
            "grad_scaler",
            state.get("grad_scaler", 0) is None or isinstance(state.get("grad_scaler"), Mapping),
        ),
        (
            "history",
            isinstance(state.get("history"), list)
            and all(isinstance(row, Mapping) for row in state["history"]),
        ),
        (
            "rng",
            isinstance(rng, Mapping)
            and isinstance(rng.get("torch"), torch.Tensor)
            and isinstance(rng.get("cuda"), list)
            and isinstance(rng.get("numpy"), Mapping)
            and isinstance(rng["numpy"].get("keys"), torch.Tensor)
            and isinstance(rng.get("python"), Mapping)
            and isinstance(rng["python"].get("state"), list)
            and isinstance(rng.get("loaders"), list)
            and all(isinstance(g, torch.Tensor) for g in rng["loaders"]),
        ),
        (
            "manifest",
            isinstance(info, Mapping)
            and isinstance(info.get("parameters"), Mapping)
            and all(
                isinstance(c, (str, type(None)))
                for c in (info.get("optimizer"), info.get("lr_scheduler"))
            ),
        ),
        ("checksum", isinstance(state.get("checksum"), str)),
    ]
    bad = [key for key, ok in checks if not ok]
    if not bad:
        return None
    missing = [key for key in bad if key not in state]
    if missing:
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
    return f"{', '.join(bad)} {'does' if len(bad) == 1 else 'do'} not have the checkpoint's form"


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
    _check_manifest(context, state["manifest"])
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


def _check_manifest(context: TrainContext, saved: Mapping[str, Any]) -> None:
    """Refuse a checkpoint written for another optimizer, scheduler or model, in one line."""
    here = manifest(context.model.state_dict(), context.optimizer, context.lr_scheduler)
    for key in ("optimizer", "lr_scheduler"):
        if None not in (saved.get(key), here[key]) and saved.get(key) != here[key]:
            raise ConfigError(
                f"resume checkpoint was written with {key} {saved.get(key)} but this run's "
                f"{key} is {here[key]}; resume with the settings of the interrupted run"
            )
    theirs, ours = dict(saved["parameters"]), here["parameters"]
    missing = [name for name in ours if name not in theirs]
    extra = [name for name in theirs if name not in ours]
    if missing or extra:
        parts = [
            f"lacks {_short_list(missing)}" if missing else "",
            f"has {_short_list(extra)} that this model does not" if extra else "",
        ]
        raise ConfigError(
            "resume checkpoint's model state does not fit this run's model: it "
            f"{' and '.join(p for p in parts if p)}; resume with the model of the interrupted run"
        )
    for name, shape in ours.items():
        if list(theirs[name]) != shape:
            raise ConfigError(
                f"resume checkpoint's model state does not fit this run's model: parameter "
                f"{name!r} has shape {list(theirs[name])} there and {shape} here; resume with "
                "the model of the interrupted run"
            )


def _short_list(names: list[str], limit: int = 3) -> str:
    """``'a', 'b', 'c' and 2 more``: a few names for a one-line message."""
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
