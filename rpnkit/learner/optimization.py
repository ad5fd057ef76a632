"""The optimizer and lr scheduler of a run, and the one optimizer-step path.

:func:`build_optimization` is the only place that knows how a scheduler is stepped: per
optimizer step or per epoch (``OneCycleLR`` and ``CyclicLR`` default to per step),
``ReduceLROnPlateau`` with the monitored value, and ``total_steps`` inferred from the number of
epochs and batches when a scheduler takes it and the config leaves it out. ``rpnkit validate``
checks through it too (the learner's pre-training checks, or :func:`check_optimization` when
there is no model to check with), so what trains is exactly what validates.

:meth:`Optimization.step` is the single step: zero the gradients, back-propagate through the
gradient scaler (a disabled one outside float16), clip, step, and step a per-step scheduler.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, cast, get_args

import torch
from torch import Tensor, nn
from torch.optim import Optimizer
from torch.optim.lr_scheduler import CyclicLR, LRScheduler, OneCycleLR, ReduceLROnPlateau

from rpnkit.components.spec import ComponentSpec
from rpnkit.errors import ConfigError
from rpnkit.learner.arguments import resolve_component
from rpnkit.learner.device import MixedPrecision
from rpnkit.learner.dynamo_import import prepare_step

__all__ = [
    "DEFAULT_OPTIMIZER",
    "INTERVALS",
    "Interval",
    "LRSchedulerLike",
    "Optimization",
    "build_optimization",
    "check_optimization",
]

#: A learning-rate scheduler the learner can step.
LRSchedulerLike: TypeAlias = LRScheduler | ReduceLROnPlateau
#: When the lr scheduler steps: after every epoch or after every optimizer step.
Interval = Literal["epoch", "step"]
#: The valid intervals.
INTERVALS: tuple[str, ...] = get_args(Interval)
#: The optimizer built when none is given: AdamW with learning rate 1e-3.
DEFAULT_OPTIMIZER: Mapping[str, Any] = MappingProxyType(
    {"name": "adamw", "parameters": MappingProxyType({"lr": 1e-3})}
)
# Schedulers defined per optimizer step; they step per step unless told otherwise.
_STEP_SCHEDULERS = (OneCycleLR, CyclicLR)


@dataclass
class Optimization:
    """What steps the model's parameters: optimizer, scheduler, gradient scaler, clipping.

    Attributes
    ----------
    optimizer
        The optimizer, holding the model's trainable parameters.
    scheduler
        The lr scheduler, or ``None``.
    interval
        ``"step"`` or ``"epoch"``: when :attr:`scheduler` steps.
    scaler
        The gradient scaler; disabled (a pass-through) unless training in float16.
    clip
        The gradients' total 2-norm is clipped to this before each step (``None``: not).
    parameters
        The trainable parameters (what is clipped).
    """

    optimizer: torch.optim.Optimizer
    scheduler: LRSchedulerLike | None
    interval: Interval
    scaler: torch.amp.GradScaler
    clip: float | None
    parameters: list[Tensor]
    #: Samples whose gradients are summed so far in an accumulation window.
    window: int = 0

    @property
    def grad_scaler(self) -> torch.amp.GradScaler | None:
        """The scaler when it is enabled (float16), else ``None``."""
        return self.scaler if self.scaler.is_enabled() else None

    @property
    def lr(self) -> float:
        """The first parameter group's learning rate."""
        value = self.optimizer.param_groups[0]["lr"]
        return value.item() if isinstance(value, Tensor) else float(value)

    def step(self, loss: Tensor) -> None:
        """Back-propagate ``loss`` and step the optimizer (scaled, clipped, scheduled)."""
        optimizer, scaler = self.optimizer, self.scaler
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if self.clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(self.parameters, self.clip)
        scaler.step(optimizer)
        scaler.update()
        if self.interval == "step" and self.scheduler is not None:
            self.scheduler.step()

    def train_step(self, loss: Tensor, samples: int, batch: int, accumulate: int) -> None:
        """One training batch: a step (:meth:`step`), or with ``accumulate`` > 1 its share
        of the window's gradients (:meth:`accumulate`), stepping after the window's last
        batch (``batch`` counts the epoch's batches from 0)."""
        if accumulate == 1:
            self.step(loss)
            return
        self.accumulate(loss, samples)
        if (batch + 1) % accumulate == 0:
            self.step_window()

    def accumulate(self, loss: Tensor, samples: int) -> None:
        """Add ``samples`` times the batch's mean ``loss`` to the window's summed gradients.

        :meth:`step_window` divides by the window's samples, so the step is the one of a
        single batch of all of them (for a mean loss), whatever the batches' sizes.
        """
        if self.window == 0:
            self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss * samples).backward()
        self.window += samples

    def step_window(self) -> None:
        """Step with the accumulated gradients (their per-sample mean), then start a new
        window; nothing when no batch was accumulated."""
        if self.window == 0:
            return
        optimizer, scaler = self.optimizer, self.scaler
        for group in optimizer.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    parameter.grad.div_(self.window)
        self.window = 0
        if self.clip is not None:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(self.parameters, self.clip)
        scaler.step(optimizer)
        scaler.update()
        if self.interval == "step" and self.scheduler is not None:
            self.scheduler.step()

    def end_epoch(self, monitored: float) -> None:
        """Step an epoch-wise scheduler; ``ReduceLROnPlateau`` gets the ``monitored`` value."""
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(monitored)
        elif self.scheduler is not None and self.interval == "epoch":
            self.scheduler.step()


def build_optimization(
    model: nn.Module,
    optimizer: Any,
    scheduler: Any,
    *,
    interval: Interval | None,
    n_epochs: int,
    steps_per_epoch: int | None,
    precision: MixedPrecision,
    clip: float | None = None,
) -> Optimization:
    """Build (or check) the optimizer and scheduler of a run for ``model``.

    Parameters
    ----------
    model
        The model on its training device.
    optimizer
        An optimizer instance, a :class:`~rpnkit.components.spec.ComponentSpec` or ``None`` (the
        optimizer of a scheduler instance, else :data:`DEFAULT_OPTIMIZER`).
    scheduler
        A scheduler instance, a ComponentSpec or ``None``.
    interval
        ``"step"``, ``"epoch"`` or ``None`` (per step for ``OneCycleLR``/``CyclicLR``).
    n_epochs
        The run's epochs, for an inferred ``total_steps``.
    steps_per_epoch
        Batches per epoch (``None`` for a loader without a length).
    precision
        The run's mixed-precision settings (a float16 run gets an enabled scaler).
    clip
        Gradient clipping norm.

    Raises
    ------
    ConfigError
        For a model without trainable parameters, components of the wrong type or bound to
        another model or optimizer, ``total_steps`` that cannot be inferred, or a per-step
        ``ReduceLROnPlateau``.
    """
    parameters: list[Tensor] = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ConfigError(
            "optimizer: the model has no trainable parameters (requires_grad=True), so "
            "there is nothing to optimise"
        )
    if optimizer is None and isinstance(scheduler, (LRScheduler, ReduceLROnPlateau)):
        optimizer = scheduler.optimizer
    if optimizer is None:
        optimizer = resolve_component("optimizer", DEFAULT_OPTIMIZER, "optimizer")
    if isinstance(optimizer, ComponentSpec):
        optimizer = optimizer.build(params=parameters)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise ConfigError(
            "optimizer must be a torch.optim.Optimizer, a class, a registry name or a "
            f"config, got {type(optimizer).__name__}"
        )
    owned = {id(p) for p in model.parameters()}
    if not any(id(p) in owned for group in optimizer.param_groups for p in group["params"]):
        raise ConfigError(
            "optimizer holds none of the model's parameters (was it built for another "
            "model?); give its class or name instead to build it for this model"
        )
    prepare_step(optimizer)  # under the rpnkit command: a step without torch._dynamo
    per_step = interval == "step" or (
        interval is None
        and (
            isinstance(scheduler, _STEP_SCHEDULERS)
            or (
                isinstance(scheduler, ComponentSpec)
                and inspect.isclass(scheduler.target)
                and issubclass(scheduler.target, _STEP_SCHEDULERS)
            )
        )
    )
    built = _scheduler(
        scheduler, optimizer, n_epochs * _steps(per_step, steps_per_epoch, scheduler)
    )
    if per_step and isinstance(built, ReduceLROnPlateau):
        raise ConfigError(
            "lr_scheduler_interval='step' does not fit ReduceLROnPlateau, which steps "
            "with the monitored value after every epoch; use 'epoch' or None"
        )
    return Optimization(
        optimizer=optimizer,
        scheduler=built,
        interval="step" if per_step else "epoch",
        scaler=precision.grad_scaler(),
        clip=clip,
        parameters=parameters,
    )


def _needs_total_steps(spec: Any) -> bool:
    """Whether a scheduler to build takes ``total_steps`` and the config leaves it out."""
    return (
        isinstance(spec, ComponentSpec)
        and spec.accepts("total_steps")
        and not spec.parameters.keys() & {"total_steps", "epochs"}
    )


def _steps(per_step: bool, steps_per_epoch: int | None, spec: Any) -> int:
    """Scheduler steps per epoch, for a scheduler built with ``total_steps`` left out."""
    if not per_step or not _needs_total_steps(spec):
        return 1
    if steps_per_epoch is None:
        raise ConfigError(
            "lr_scheduler needs total_steps, which the learner cannot infer from a loader "
            "without a length; give it in the scheduler's parameters"
        )
    return steps_per_epoch


def _scheduler(
    spec: Any, optimizer: torch.optim.Optimizer, total_steps: int
) -> LRSchedulerLike | None:
    if spec is None:
        return None
    if isinstance(spec, ComponentSpec):
        runtime: dict[str, Any] = {"optimizer": optimizer}
        if _needs_total_steps(spec):
            runtime["total_steps"] = total_steps
        spec = spec.build(**runtime)
    if not isinstance(spec, (LRScheduler, ReduceLROnPlateau)):
        raise ConfigError(
            "lr_scheduler must be a torch lr scheduler, a class, a registry name or a "
            f"config, got {type(spec).__name__}"
        )
    if spec.optimizer is not optimizer:
        raise ConfigError(
            "lr_scheduler is bound to another optimizer than the one training the model; "
            "give the scheduler's class or name so it is built for this run's optimizer"
        )
    return cast(LRSchedulerLike, spec)


def check_optimization(optimizer: Any, scheduler: Any, *, interval: Interval | None) -> None:
    """Build ``optimizer`` and ``scheduler`` for a one-parameter stand-in model, to check them.

    ``rpnkit validate`` calls this when the model or the data failed to build, so the
    optimizer's and scheduler's own problems are still reported; it goes through
    :func:`build_optimization`, the path training takes.

    Raises
    ------
    ConfigError
        For anything :func:`build_optimization` refuses.
    """
    given = optimizer.param_groups[0]["params"][0] if isinstance(optimizer, Optimizer) else None
    stand_in = nn.Module()
    stand_in.weight = given if isinstance(given, nn.Parameter) else nn.Parameter(torch.zeros(1))
    build_optimization(
        stand_in,
        optimizer,
        scheduler,
        interval=interval,
        n_epochs=1,
        steps_per_epoch=1,
        precision=MixedPrecision(torch.device("cpu")),
    )
