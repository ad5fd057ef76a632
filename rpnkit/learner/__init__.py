"""The backward learner and what it hands out: context, records, checkpoints, devices.

:class:`BackwardLearner` (also importable as ``backward_learner``, tinybig's name) trains a
``torch.nn.Module`` by error back-propagation. This package imports torch; ``import rpnkit``
does not, and reaches :class:`BackwardLearner` lazily.
"""

from rpnkit.learner.backward import DEFAULT_OPTIMIZER, BackwardLearner, backward_learner
from rpnkit.learner.callbacks import Checkpointer, EarlyStopping
from rpnkit.learner.context import TrainContext
from rpnkit.learner.record import (
    BatchRecord,
    EpochRecord,
    FullTestResult,
    HistoryRow,
    TestResult,
    TrainingRecord,
)

__all__ = [
    "DEFAULT_OPTIMIZER",
    "BackwardLearner",
    "BatchRecord",
    "Checkpointer",
    "EarlyStopping",
    "EpochRecord",
    "FullTestResult",
    "HistoryRow",
    "TestResult",
    "TrainContext",
    "TrainingRecord",
    "backward_learner",
]
