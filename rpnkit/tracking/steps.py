"""Per-step logging: a listener on ``rpnkit_batch_end`` for a logger with ``log_every_n_steps``.

A logger itself never implements the per-batch hook, so a run whose loggers log per epoch
only has no per-batch listener and the loop stays free of per-batch host syncs. For each
logger given ``log_every_n_steps`` the learner adds a :class:`StepLogging` to the run: every
``n``-th training step it reads that step's loss from the device (one small transfer) and
hands ``train/step_loss`` and ``lr`` to :meth:`~rpnkit.tracking.base.Logger.log_step`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext
    from rpnkit.tracking.base import Logger

__all__ = ["StepLogging", "logger_steps"]


def logger_steps(logger: Any) -> int | None:
    """The ``log_every_n_steps`` of ``logger``, or ``None`` when it logs per epoch only."""
    every = getattr(logger, "log_every_n_steps", None)
    return every if isinstance(every, int) and not isinstance(every, bool) else None


class StepLogging:
    """Hand every ``logger.log_every_n_steps``-th training step's numbers to ``logger``.

    Parameters
    ----------
    logger
        A :class:`~rpnkit.tracking.base.Logger` with ``log_every_n_steps`` set.
    """

    def __init__(self, logger: Any) -> None:
        every = logger_steps(logger)
        if every is None:
            raise ValueError("StepLogging needs a logger with log_every_n_steps")
        self.logger: Logger = logger
        self.every = every

    def __repr__(self) -> str:
        return f"StepLogging({self.logger!r}, every={self.every})"

    @hookimpl
    def rpnkit_batch_end(self, context: TrainContext, loss: Tensor) -> None:
        """Log the step's loss and learning rate when ``context.step`` is due."""
        if context.step % self.every or not self.logger.is_open:
            return
        lr = context.optimizer.param_groups[0]["lr"]
        scalars = {"train/step_loss": float(loss), "lr": float(lr)}
        self.logger.log_step(scalars, context.step, context)
