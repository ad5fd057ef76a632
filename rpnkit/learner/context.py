"""The :class:`TrainContext` handed to the training hooks.

Plugins implementing the training hooks (``rpnkit_train_start``, ``rpnkit_epoch_start``,
``rpnkit_progress``, ``rpnkit_epoch_end``, ``rpnkit_train_end``; see :mod:`rpnkit.plugins.hookspecs`)
receive the context of the run: the model and the objects
training it, the record and history so far, and ``should_stop`` to end training after the
current epoch.

Examples
--------
A plugin printing the test loss after every epoch::

    from rpnkit import hookimpl

    class PrintTestLoss:
        @hookimpl
        def rpnkit_epoch_end(self, context):
            print(context.epoch, context.history[-1]["test_loss"])

    rpnkit.register_plugin(PrintTestLoss())
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.learner.record import HistoryRow, TrainingRecord, history_keys
from rpnkit.metrics import Metric

if TYPE_CHECKING:
    from rpnkit.learner.best import BestWeights
    from rpnkit.learner.optimization import LRSchedulerLike

__all__ = ["LossFn", "Mode", "TrainContext"]

#: A loss function: ``loss(output, labels)`` returns a 0-dim tensor.
LossFn = Callable[[Tensor, Tensor], Tensor]
#: Whether a monitored value improves by going down (``"min"``) or up (``"max"``).
Mode = Literal["min", "max"]


@dataclass(eq=False)
class TrainContext:
    """The state of one :meth:`~rpnkit.learner.BackwardLearner.train` call.

    Attributes
    ----------
    model
        The model being trained, on ``device``.
    optimizer
        The optimizer of this run.
    lr_scheduler
        Its learning-rate scheduler, or ``None``.
    loss
        The loss function; ``None`` until the first batch when it is inferred from the labels.
    metrics
        The metrics, headline first (empty without a metric).
    device
        The training device.
    train_loader, test_loader
        The loaders (``test_loader`` is ``None`` when no test pass runs).
    val_loader
        The validation loader, or ``None`` without a validation split. When there is one,
        whatever selects (early stopping, the best epoch, ``ReduceLROnPlateau``, the
        ``"auto"`` monitor) looks at its ``val_*`` columns, and the test pass is the report.
    n_epochs
        Total number of epochs: the last one is ``n_epochs - 1``.
    start_epoch
        The first epoch this call runs (above 0 after ``resume=``).
    record
        The training record being filled; ``record["history"]`` is :attr:`history`.
    monitor
        The history key watched by ``ReduceLROnPlateau`` and, unless told otherwise, early
        stopping.
    grad_scaler
        The float16 gradient scaler, or ``None``.
    rank
        This process's rank in a ``torchrun`` launch (0 outside one). Only rank 0 shows
        progress and writes checkpoints; plugins writing files should do the same (see
        :attr:`is_main_process`).
    world_size
        The number of processes training the model together (1 without DDP).
    steps_per_epoch
        Batches per epoch of the training loader (``None`` when it has no length).
    epoch
        The epoch running now; in ``rpnkit_epoch_end`` the epoch just finished.
    best
        The best epoch kept so far (:class:`~rpnkit.learner.best.BestWeights`) when the run
        keeps its best weights (``save_best``/``restore_best``), else ``None``.
    accumulate_grad_batches
        Batches whose gradients make one optimizer step.
    step
        The training steps (batches) run so far since the first epoch of the run, earlier
        runs' included after ``resume=``.
    should_stop
        Set it to ``True`` in ``rpnkit_epoch_end`` to end training after this epoch.
    stop_reason
        A one-line reason shown in the summary when a plugin stops training.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    lr_scheduler: LRSchedulerLike | None
    loss: LossFn | None
    metrics: list[Metric]
    device: torch.device
    train_loader: Iterable[Any]
    test_loader: Iterable[Any] | None
    n_epochs: int
    start_epoch: int
    record: TrainingRecord
    monitor: str
    grad_scaler: torch.amp.GradScaler | None = None
    rank: int = 0
    world_size: int = 1
    steps_per_epoch: int | None = None
    val_loader: Iterable[Any] | None = None
    best: BestWeights | None = None
    accumulate_grad_batches: int = 1
    epoch: int = 0
    step: int = 0
    should_stop: bool = False
    stop_reason: str | None = None
    _keys: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = history_keys([m.name for m in self.metrics], val=self.val_loader is not None)
        self.check_key(self.monitor, "monitor")

    @property
    def history(self) -> list[HistoryRow]:
        """The history rows so far, one per finished epoch (earlier runs' too after resume)."""
        return self.record["history"]

    @property
    def is_main_process(self) -> bool:
        """Whether this is the process that shows progress and writes files (rank 0)."""
        return self.rank == 0

    @property
    def loaders(self) -> list[Iterable[Any] | None]:
        """The training and test loaders (``None`` for a run without a test pass)."""
        return [self.train_loader, self.test_loader]

    @property
    def has_validation(self) -> bool:
        """Whether the run has a validation split (``val_*`` history columns)."""
        return self.val_loader is not None

    @property
    def history_keys(self) -> list[str]:
        """The keys every history row of this run has."""
        return list(self._keys)

    def check_key(self, key: str, argument: str) -> str:
        """Return ``key`` if history rows have it (the headline metric may be named:
        ``val_accuracy`` is ``val_score`` in a run whose only metric is accuracy).

        Parameters
        ----------
        key
            A history key such as ``"test_loss"``.
        argument
            The argument that named it, for the error message.

        Raises
        ------
        ConfigError
            If rows of this run have no such key.
        """
        split, _, name = key.partition("_")
        if (
            key not in self._keys
            and self.metrics
            and name == self.metrics[0].name
            and f"{split}_score" in self._keys
        ):
            return f"{split}_score"  # the headline metric by its name: ``val_accuracy``
        if key not in self._keys:
            raise ConfigError(
                f"{argument}={key!r} is not a history column{did_you_mean(key, self._keys)}; "
                f"valid: {', '.join(self._keys)}"
            )
        return key

    def mode(self, key: str) -> Mode:
        """Whether history column ``key`` improves downwards or upwards.

        Losses improve downwards; scores follow their metric's ``higher_is_better``; the
        remaining columns (``epoch``, ``lr``, ``seconds``) are treated as lower-is-better.
        """
        column = key.split("_", 1)[1] if key.startswith(("train_", "val_", "test_")) else key
        if column == "score" and self.metrics:
            return "max" if self.metrics[0].higher_is_better else "min"
        for metric in self.metrics:
            if column == metric.name:
                return "max" if metric.higher_is_better else "min"
        return "min"
