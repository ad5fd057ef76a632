"""The callbacks one training run gets, and its hook dispatch.

:func:`run_callbacks` chooses them from the learner's arguments: its own ``callbacks``, the
compile clock, early stopping, and on the main process the loggers (with a
:class:`~rpnkit.tracking.steps.StepLogging` for each that logs every ``n`` steps), the
progress bar and the epoch table. :func:`run_hooks` builds the run's
:class:`~rpnkit.learner.hooks.TrainingHooks` over them, a callback whose hook does not fit
its specification being one line naming it and the hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from rpnkit.errors import PluginError, one_line
from rpnkit.learner.compiling import CompileClock
from rpnkit.learner.display import EpochTable
from rpnkit.learner.hooks import TrainingHooks
from rpnkit.learner.progress import ProgressBar
from rpnkit.tracking.resolve import TRAINING_HOOKS
from rpnkit.tracking.steps import StepLogging, logger_steps

if TYPE_CHECKING:
    from rpnkit.learner.backward import BackwardLearner
    from rpnkit.learner.context import TrainContext
    from rpnkit.learner.request import Request

__all__ = ["run_callbacks", "run_hooks"]


def run_hooks(callbacks: list[Any]) -> TrainingHooks:
    """The run's hook dispatch; a callback whose hook does not fit its specification is a
    one-line :class:`~rpnkit.errors.PluginError` naming it and the hook."""
    try:
        return TrainingHooks(callbacks)
    except pluggy.PluginValidationError as exc:
        hook = next((name for name in TRAINING_HOOKS if name in str(exc)), "a training hook")
        plugin = getattr(exc, "plugin", None)
        named = type(plugin).__name__ if plugin is not None else "a callback"
        raise PluginError(
            f"callback {named}: its {hook} does not fit the hook's specification "
            f"({one_line(exc, 200)}); take only the hook's arguments, by their names"
        ) from None


def run_callbacks(learner: BackwardLearner, request: Request, context: TrainContext) -> list[Any]:
    """The per-run callbacks: early stopping; on the main process loggers, checkpoints, display."""
    chosen: list[Any] = list(learner.callbacks)
    if learner.compile:
        chosen.append(CompileClock())
    if learner.early_stopping is not None:
        chosen.append(learner.early_stopping)
    if not context.is_main_process:
        return chosen
    chosen += learner.loggers  # loggers write on the main process only
    chosen += [StepLogging(logger) for logger in learner.loggers if logger_steps(logger)]
    if learner.verbose and request.progress and ProgressBar.visible():
        chosen.append(ProgressBar(n_epochs=learner.n_epochs))
    if learner.verbose:
        chosen.append(
            EpochTable(
                scores=bool(request.metrics),
                test=context.test_loader is not None,
                val=context.has_validation,
                display_step=request.display_step,
            )
        )
    return chosen
