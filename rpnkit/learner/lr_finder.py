"""The learning-rate range test behind :meth:`~rpnkit.learner.BackwardLearner.lr_find`.

The test trains on the training loader for at most ``steps`` batches while the learning rate
grows exponentially from ``min_lr`` to ``max_lr``, one rate per batch, and records the loss of
every batch. The curve is smoothed by an exponential moving average with bias correction
(``smoothed_i = avg_i / (1 - smoothing^(i+1))``, ``avg_i = smoothing avg_{i-1} + (1 -
smoothing) loss_i``). The test stops early when the loss diverges: a batch loss that is not
finite, or a smoothed loss above ``diverge`` times the best smoothed loss so far.

**The suggestion** is the rate where the smoothed loss falls fastest: the most negative slope
of the smoothed loss against ``log(lr)`` (:func:`suggest`), leaving out the first tenth of
the curve (the average is still settling there) and its end (the divergent point). The minimum of the
curve divided by ten, another common rule, is usually close to it; the steepest descent is
what is returned.

The learner's loss, optimizer (built for the model as :meth:`train` would build it), gradient
clipping and precision are used; its lr scheduler is not (the test sets the rate itself,
the same rate for every parameter group). Every batch's loss is read on the host to check
divergence, one sync per step. Afterwards the model's weights and buffers, its train/eval
mode, the optimizer's state and torch's random generators are restored exactly, so a
following :meth:`train` starts as if the test never ran.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from rpnkit.checks import positive_float, positive_int
from rpnkit.errors import ConfigError
from rpnkit.learner.arguments import split_loaders
from rpnkit.learner.device import MixedPrecision
from rpnkit.learner.launch import data_parallel
from rpnkit.learner.optimization import build_optimization
from rpnkit.learner.step import BatchForward

if TYPE_CHECKING:
    from rpnkit.learner.backward import BackwardLearner

__all__ = ["LRFindResult", "lr_find", "suggest"]

_TRAIN = "data_loader['train_loader']"
#: The most steps a test may take.
MAX_STEPS = 100_000


@dataclass(frozen=True)
class LRFindResult:
    """The curve of a learning-rate range test and the rate it suggests.

    Attributes
    ----------
    lrs
        The learning rate of every step taken.
    losses
        The smoothed loss at every step (see the module docstring).
    raw_losses
        The batch loss at every step.
    suggestion
        The suggested learning rate (steepest descent of the smoothed loss), ``None`` when
        the curve is too short to tell (fewer than 3 usable points).
    stop_reason
        Why the test ended: ``"completed N steps"``, or the divergence that stopped it.
    """

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggestion: float | None
    stop_reason: str

    def plot(self, path: str | Path | None = None, *, ax: Any = None) -> Any:
        """Draw the smoothed loss against the learning rate (log scale); mark the suggestion.

        Parameters
        ----------
        path
            Save the figure to this image file (written atomically).
        ax
            A matplotlib ``Axes`` to draw on; ``None`` makes a new figure.

        Returns
        -------
        matplotlib.axes.Axes
            The axes drawn on.

        Raises
        ------
        ConfigError
            If matplotlib is not installed (``pip install 'rpnkit[plot]'``).
        """
        try:
            import matplotlib

            if ax is None and path is not None:
                matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ConfigError(
                "plotting the lr-find curve needs matplotlib; install it with: "
                "pip install 'rpnkit[plot]'"
            ) from None
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.raw_losses, color="0.75", linewidth=1, label="batch loss")
        ax.plot(self.lrs, self.losses, linewidth=2, label="smoothed loss")
        if self.suggestion is not None:
            ax.axvline(self.suggestion, color="red", linestyle="--", linewidth=1)
            ax.plot([], [], color="red", linestyle="--", label=f"suggested {self.suggestion:.3g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.set_title("learning-rate range test")
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:  # up to the curve's start: keep the divergent tail from squashing it
            low = min(finite)
            high = max(finite[: finite.index(low) + 1] + finite[:1])
            margin = 0.1 * (high - low) or 0.05 * abs(low) or 1.0
            ax.set_ylim(low - margin, high + margin)
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        if path is not None:
            from rpnkit.atomic import atomic_open

            target = Path(path)
            figure = ax.get_figure()
            figure.tight_layout()
            with atomic_open(target) as file:
                figure.savefig(file, dpi=120, format=target.suffix.lstrip(".") or "png")
            if figure is not None:
                plt.close(figure)
        return ax


def suggest(lrs: list[float], losses: list[float]) -> float | None:
    """The rate of steepest descent of the smoothed ``losses`` against ``log(lrs)``.

    The slope at each point is taken across ``k = max(1, n // 20)`` points on either side
    (``n`` points in all), which keeps single noisy batches from deciding. The first tenth
    of the curve and its last point (the divergent one, when the test stopped early) are
    left out; ``None`` when fewer than 3 points remain.
    """
    end = len(lrs) - 1
    start = len(lrs) // 10
    if end - start < 3:
        return None
    logs = [math.log(lr) for lr in lrs]
    k = max(1, len(lrs) // 20)
    best, best_slope = None, math.inf
    for i in range(start, end):
        lo, hi = max(i - k, start), min(i + k, end - 1)
        slope = (losses[hi] - losses[lo]) / (logs[hi] - logs[lo])
        if slope < best_slope:
            best, best_slope = i, slope
    return None if best is None else lrs[best]


def lr_find(
    learner: BackwardLearner,
    model: nn.Module,
    data_loader: Any,
    *,
    device: str | torch.device = "cpu",
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 100,
    smoothing: float = 0.98,
    diverge: float = 4.0,
) -> LRFindResult:
    """Run the learning-rate range test (see the module docstring) and restore everything.

    Parameters
    ----------
    learner
        The learner whose loss, optimizer, clipping and precision the test uses.
    model
        The model to test; its weights are the same afterwards.
    data_loader
        A loader of ``(features, labels)`` batches, or ``{"train_loader": ..., ...}`` (only
        the training loader is used). It is iterated again when it has fewer than ``steps``
        batches.
    device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``; one process.
    min_lr, max_lr
        The first and the last learning rate of the ramp (``0 < min_lr < max_lr``).
    steps
        The number of batches (and rates) of the ramp, from 2 to 100,000.
    smoothing
        The moving average's factor, from 0 (no smoothing) to below 1.
    diverge
        Stop when the smoothed loss exceeds this many times the best one (> 1).

    Returns
    -------
    LRFindResult
        The rates, the smoothed and raw losses, the suggestion and why the test stopped.

    Raises
    ------
    ConfigError
        For an invalid argument, an empty loader, or what :meth:`train` refuses about the
        model, its outputs or the optimizer.
    """
    min_lr, max_lr = positive_float(min_lr, "min_lr"), positive_float(max_lr, "max_lr")
    if not min_lr < max_lr:
        raise ConfigError(f"min_lr={min_lr:g} must be below max_lr={max_lr:g}")
    steps = positive_int(steps, "steps")
    if not 2 <= steps <= MAX_STEPS:
        raise ConfigError(f"steps={steps} is not valid; expected an integer from 2 to {MAX_STEPS}")
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)):
        raise ConfigError(f"smoothing={smoothing!r} is not valid; expected a number in [0, 1)")
    if not 0 <= smoothing < 1:
        raise ConfigError(f"smoothing={smoothing!r} is not valid; expected a number in [0, 1)")
    if positive_float(diverge, "diverge") <= 1:
        raise ConfigError(f"diverge={diverge!r} is not valid; expected a number > 1")
    if not isinstance(model, nn.Module):
        raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    train_loader, _, _ = split_loaders(data_loader, False, None)
    target, _ = data_parallel("single", device, learner.backend)
    model.to(target)
    saved_model = copy.deepcopy(model.state_dict())
    was_training = model.training
    optimizer = learner.optimizer
    if optimizer is None and isinstance(learner.lr_scheduler, (LRScheduler, ReduceLROnPlateau)):
        optimizer = learner.lr_scheduler.optimizer
    precision = MixedPrecision.for_device(learner.precision, target)
    optimization = build_optimization(
        model,
        optimizer,
        None,
        interval=None,
        n_epochs=1,
        steps_per_epoch=None,
        precision=precision,
        clip=learner.grad_clip_norm,
    )
    saved_optimizer = copy.deepcopy(optimization.optimizer.state_dict())
    cuda = [target.index or 0] if target.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=cuda):
            model.train()
            return _ramp(
                _batches(train_loader, steps),
                forward=BatchForward.of(model, target, precision),
                loss_fn=learner.loss,
                optimization=optimization,
                lrs=[min_lr * (max_lr / min_lr) ** (i / (steps - 1)) for i in range(steps)],
                smoothing=float(smoothing),
                diverge=float(diverge),
            )
    finally:
        model.load_state_dict(saved_model)
        model.train(was_training)
        optimization.optimizer.load_state_dict(saved_optimizer)


def _batches(loader: Any, steps: int) -> Iterator[tuple[int, Any]]:
    """``(step, batch)`` pairs of the loader, iterated again until ``steps`` batches."""
    step = 0
    while step < steps:
        before = step
        for batch in loader:
            yield step, batch
            step += 1
            if step == steps:
                return
        if step == before:
            raise ConfigError(f"{_TRAIN} is empty: it yielded no batches; give it some data")


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _ramp(
    batches: Iterator[tuple[int, Any]],
    *,
    forward: BatchForward,
    loss_fn: Any,
    optimization: Any,
    lrs: list[float],
    smoothing: float,
    diverge: float,
) -> LRFindResult:
    """Step through the rates; stop on divergence; return the curve."""
    taken: list[float] = []
    raw: list[float] = []
    smoothed: list[float] = []
    average, best = 0.0, math.inf
    reason = f"completed {len(lrs)} steps"
    for step, batch in batches:
        lr = lrs[step]
        _set_lr(optimization.optimizer, lr)
        # the first batch is checked (shapes, loss choice) as in training
        _, _, loss_fn, loss = forward(batch, step, None, loss_fn, _TRAIN)
        value = float(loss.detach())
        taken.append(lr)
        raw.append(value)
        if not math.isfinite(value):
            smoothed.append(math.nan)
            reason = f"stopped at step {step}: the loss is not finite at lr {lr:.3g}"
            break
        average = smoothing * average + (1 - smoothing) * value
        current = average / (1 - smoothing ** (step + 1))
        smoothed.append(current)
        if step > 0 and current > diverge * best:
            reason = (
                f"stopped at step {step}: the smoothed loss {current:.4g} passed {diverge:g} "
                f"times the best {best:.4g} at lr {lr:.3g}"
            )
            break
        best = min(best, current)
        optimization.step(loss)
    return LRFindResult(
        lrs=taken,
        losses=smoothed,
        raw_losses=raw,
        suggestion=suggest(taken, smoothed),
        stop_reason=reason,
    )
