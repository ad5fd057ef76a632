"""Verifying a checkpoint before it is trusted: its manifest, its checksum and its schema.

Every checkpoint records a :func:`manifest` (the optimizer's and scheduler's classes, the
model's parameter names and shapes) and a :func:`checksum` of everything else. Loading checks
the whole layout (:func:`schema_problem`) and the checksum; resuming compares the manifest with
the run (:func:`check_manifest`) before any state is loaded, so a flipped bit, a hand-edited
field or a run with another optimizer is refused in one line naming what differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch

from rpnkit.errors import ConfigError

__all__ = ["check_manifest", "checksum", "manifest", "schema_problem"]


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


def _is_int(value: object, minimum: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _tensor_map(value: object) -> bool:
    return isinstance(value, Mapping) and all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items()
    )


def schema_problem(state: Mapping[str, Any]) -> str | None:
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


def check_manifest(
    saved: Mapping[str, Any], model: Any, optimizer: object, lr_scheduler: object
) -> None:
    """Refuse a checkpoint written for another optimizer, scheduler or model, in one line.

    Raises
    ------
    ConfigError
        Naming the class, parameter or shape that differs.
    """
    here = manifest(model.state_dict(), optimizer, lr_scheduler)
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
