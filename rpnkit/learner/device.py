"""Where training runs: device resolution and mixed precision.

:func:`resolve_device` turns ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"`` into a
:class:`torch.device`, failing with a one-line error before any work when the device is not
available. :class:`MixedPrecision` holds the autocast dtype and whether a gradient scaler is
needed; mixed precision runs on CUDA only and is ignored, with a warning, elsewhere.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, get_args

import torch

from rpnkit.checks import choice
from rpnkit.errors import ConfigError, did_you_mean

__all__ = [
    "DEVICE_TYPES",
    "PRECISIONS",
    "MixedPrecision",
    "Precision",
    "check_precision",
    "host_dtype",
    "resolve_device",
]

#: Mixed-precision modes: bfloat16 autocast, or float16 autocast with gradient scaling.
Precision = Literal["bf16", "fp16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
#: Device types :func:`resolve_device` accepts (``"cuda"`` may carry an index, ``"cuda:1"``).
DEVICE_TYPES: tuple[str, ...] = ("cpu", "cuda", "mps", "auto")

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def resolve_device(device: str | torch.device) -> torch.device:
    """Return the :class:`torch.device` for ``device``, checking that it exists.

    Parameters
    ----------
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"``, ``"auto"`` (CUDA, else MPS, else CPU) or
        a :class:`torch.device`.

    Returns
    -------
    torch.device
        The device; a bare ``"cuda"`` becomes the current CUDA device (``cuda:0`` unless
        changed), so checkpoints and metrics agree on the index.

    Raises
    ------
    ConfigError
        If ``device`` is not a known device string, or names a device this machine lacks.
    """
    if isinstance(device, str) and device.strip().lower() == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise ConfigError(
            f"device must be a string or torch.device, got {type(device).__name__}; valid: "
            f"{', '.join(map(repr, DEVICE_TYPES))} or 'cuda:N'"
        )
    try:
        resolved = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except RuntimeError:
        raise ConfigError(
            f"device={device!r} is not a device{did_you_mean(str(device), DEVICE_TYPES)}; "
            f"valid: {', '.join(map(repr, DEVICE_TYPES))} or 'cuda:N'"
        ) from None
    if resolved.type == "cpu":
        return torch.device("cpu")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device={device!r} is not available: torch.cuda.is_available() is False "
                "(no GPU or a CPU-only torch build); use device='cpu' or 'auto'"
            )
        index = torch.cuda.current_device() if resolved.index is None else resolved.index
        count = torch.cuda.device_count()
        if index >= count:
            raise ConfigError(
                f"device={device!r} is not available: this machine has {count} CUDA "
                f"device(s), cuda:0..cuda:{count - 1}"
            )
        return torch.device("cuda", index)
    if resolved.type == "mps":
        if not _mps_available():
            raise ConfigError(
                f"device={device!r} is not available: torch.backends.mps.is_available() is "
                "False; use device='cpu' or 'auto'"
            )
        return resolved
    raise ConfigError(
        f"device={device!r} is not supported by the learner; valid: "
        f"{', '.join(map(repr, DEVICE_TYPES))} or 'cuda:N'"
    )


def check_precision(precision: object) -> Precision | None:
    """Return ``precision`` if it is ``None`` or one of :data:`PRECISIONS`.

    Raises
    ------
    ConfigError
        For any other value.
    """
    return choice(precision, PRECISIONS, "precision", allow_none=True)


def host_dtype(device: torch.device) -> torch.dtype:
    """The dtype values travel to the host in: float64, or float32 on MPS (which lacks it)."""
    return torch.float32 if device.type == "mps" else torch.float64


@dataclass(frozen=True)
class MixedPrecision:
    """The mixed-precision settings of one run.

    Attributes
    ----------
    device
        The device the run trains on.
    dtype
        The autocast dtype, or ``None`` for full precision.
    """

    device: torch.device
    dtype: torch.dtype | None = None

    @classmethod
    def for_device(cls, precision: Precision | None, device: torch.device) -> MixedPrecision:
        """Settings for ``precision`` on ``device``; off, with a warning, outside CUDA.

        Parameters
        ----------
        precision
            ``None``, ``"bf16"`` or ``"fp16"``.
        device
            The resolved training device.
        """
        if precision is None:
            return cls(device)
        if device.type != "cuda":
            warnings.warn(
                f"precision={precision!r} is ignored on device '{device}': mixed precision "
                "runs on CUDA only; training in full precision",
                UserWarning,
                stacklevel=3,
            )
            return cls(device)
        return cls(device, _DTYPES[precision])

    @property
    def needs_grad_scaler(self) -> bool:
        """Whether gradients need scaling (float16 underflows without it; bfloat16 does not)."""
        return self.dtype is torch.float16

    def autocast_factory(self) -> Callable[[], AbstractContextManager[object]]:
        """Return a zero-argument callable giving the context a forward pass runs in.

        Full precision gets a shared :func:`contextlib.nullcontext`, so the training loop pays
        nothing for the feature it does not use.
        """
        if self.dtype is None:
            null = contextlib.nullcontext()
            return lambda: null
        device_type, dtype = self.device.type, self.dtype
        return lambda: torch.autocast(device_type=device_type, dtype=dtype)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A new :class:`torch.amp.GradScaler`, enabled for float16 only.

        A disabled scaler passes the loss and the optimizer step through unchanged, so the
        training step has one path. torch 2.2 only has the CUDA-specific
        ``torch.cuda.amp.GradScaler``; it is used there.
        """
        enabled = self.needs_grad_scaler
        if hasattr(torch.amp, "GradScaler"):
            return torch.amp.GradScaler(self.device.type, enabled=enabled)
        return torch.cuda.amp.GradScaler(enabled=enabled)  # pragma: no cover - torch < 2.3
