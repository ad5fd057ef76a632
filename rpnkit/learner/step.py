"""One batch forward: move the batch, autocast, run the model, check the first batch, loss.

:class:`BatchForward` is the only place that calls the model during training and testing.
On the first batch it checks the batch is a ``(features, labels)`` pair, that the model's
output fits the labels, and picks a default loss when none was given (cross entropy for
integer labels, mean squared error otherwise).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError, one_line
from rpnkit.learner.context import LossFn
from rpnkit.learner.device import MixedPrecision

__all__ = ["BatchForward", "loss_name"]


@dataclass(frozen=True)
class BatchForward:
    """Moves a batch to the device, runs the model and computes the loss, checking batch 0.

    The model is called as ``model(x, device=...)`` when its ``forward`` takes a ``device``
    argument (RPN-style models), else as ``model(x)``. A DistributedDataParallel wrapper is
    called like the module it wraps.
    """

    model: Callable[..., Tensor]
    device: torch.device
    autocast: Callable[[], Any]
    pass_device: bool

    @classmethod
    def of(cls, model: nn.Module, device: torch.device, precision: MixedPrecision) -> BatchForward:
        module = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
        try:
            takes_device = "device" in inspect.signature(module.forward).parameters
        except (TypeError, ValueError):
            takes_device = False
        return cls(model, device, precision.autocast_factory(), takes_device)

    def __call__(
        self, batch: Any, step: int, rows: Tensor | None, loss: LossFn | None, loader: str
    ) -> tuple[Tensor, Tensor, LossFn, Tensor]:
        """Return the output, the labels, the loss function and the loss of ``batch``.

        On the first batch (``step == 0``) the batch, output and labels are checked and a
        missing loss function is chosen.
        """
        if step == 0:
            batch = _unpack(batch, loader)
        features, labels = batch
        features = features.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        with self.autocast():
            try:
                if self.pass_device:
                    output = self.model(features, device=str(self.device))
                else:
                    output = self.model(features)
            except RuntimeError as exc:  # widths are compared only once the forward failed
                width = _width_error(self.model, features, loader, step)
                if width is None:
                    raise
                raise width from exc
            if rows is not None:
                if step == 0:
                    _check_rows(rows, output, loader)
                output, labels = output[rows], labels[rows]
            if loss is None or step == 0:
                loss, value = _first_loss(loss, output, labels)
            else:
                value = loss(output, labels)
        return output, labels, loss, value


def _unpack(batch: object, loader: str) -> tuple[Tensor, Tensor]:
    """Check the first batch of ``loader`` is a ``(features, labels)`` pair of tensors."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = (
            f"a {type(batch).__name__} of {len(batch)}"
            if isinstance(batch, (tuple, list))
            else (f"a {type(batch).__name__}")
        )
        raise ConfigError(f"{loader} must yield (features, labels) pairs, got {got}")
    features, labels = batch
    if not isinstance(features, Tensor) or not isinstance(labels, Tensor):
        raise ConfigError(
            f"{loader} must yield tensors, got ({type(features).__name__}, {type(labels).__name__})"
        )
    return features, labels


def _width_error(model: object, features: Tensor, loader: str, step: int) -> ConfigError | None:
    """A one-line error when the first layer's ``in_features`` differs from the data's width.

    Called only after the model's forward raised, on any batch (batch 0 is the usual case;
    a later batch of another width is the loader's fault, so the message names the batch).
    """
    if not isinstance(model, nn.Module) or features.ndim < 1:
        return None
    first = next((m for m in model.modules() if isinstance(m, nn.Linear)), None)
    width = features.shape[-1]
    if first is None or first.in_features == width:
        return None
    if step == 0:
        return ConfigError(
            f"{loader} gives features of width {width} but the model's first linear layer "
            f"expects in_features={first.in_features}; make the model's input size match the data"
        )
    return ConfigError(
        f"batch {step} of {loader} has features of width {width} but the model's first linear "
        f"layer expects in_features={first.in_features}; every batch of a loader must have "
        "the same number of features"
    )


def _check_rows(rows: Tensor, output: Tensor, loader: str) -> None:
    """Refuse ``train_idx``/``test_idx`` entries outside the first batch's rows (batch 0 only)."""
    size = output.shape[0] if output.ndim else 0
    field = "test_idx" if "test" in loader else "train_idx"
    if rows.numel() == 0:
        return
    bad = rows[(rows >= size) | (rows < -size)]
    if bad.numel():
        raise ConfigError(
            f"{field}: index {int(bad[0])} is out of range: valid row indices are 0 to "
            f"{size - 1} (the batch of {loader} has {size} rows)"
        )


def _default_loss(labels: Tensor) -> nn.Module:
    """Cross entropy for integer class labels, mean squared error otherwise."""
    if labels.is_floating_point():
        return nn.MSELoss()
    return nn.CrossEntropyLoss()


def loss_name(loss: Callable[..., Tensor]) -> str:
    """How messages name a loss: its class name, or its function name."""
    return type(loss).__name__ if isinstance(loss, nn.Module) else getattr(loss, "__name__", "loss")


def _first_loss(loss: LossFn | None, output: Tensor, labels: Tensor) -> tuple[LossFn, Tensor]:
    """Pick the loss if none was given and compute it, naming both shapes if they do not fit."""
    if not isinstance(output, Tensor):
        raise ConfigError(f"the model must return a tensor, got {type(output).__name__}")
    shapes = f"model output shape {tuple(output.shape)} and labels shape {tuple(labels.shape)}"
    if output.ndim == 0 or labels.ndim == 0 or output.shape[0] != labels.shape[0]:
        raise ConfigError(f"{shapes} do not match in the batch dimension")
    if labels.is_floating_point() and output.shape != labels.shape:
        raise ConfigError(
            f"{shapes} differ; floating-point labels need the output's shape (reshape the "
            "labels or the model's output)"
        )
    loss = loss if loss is not None else _default_loss(labels)
    try:
        value = loss(output, labels)
    except (RuntimeError, ValueError, IndexError) as exc:
        reason = one_line(exc, 200)
        raise ConfigError(f"{shapes} do not fit loss {loss_name(loss)}: {reason}") from exc
    if not isinstance(value, Tensor) or value.ndim != 0:
        raise ConfigError(
            f"loss {loss_name(loss)} must return a 0-dim tensor (reduction='mean'), got "
            f"{'shape ' + str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__}"
        )
    return loss, value
