"""The backward learner and what it hands out: context, records, checkpoints, devices.

:class:`BackwardLearner` (also importable as ``backward_learner``, tinybig's name) trains a
``torch.nn.Module`` by error back-propagation. The public names below import torch when first
used, not when the package is: ``rpnkit.learner.columns`` (the history's column names, read
by ``rpnkit plot``) stays light, and so does ``import rpnkit``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

#: Where each public name lives; imported on first use.
_HOMES: dict[str, str] = {
    "DEFAULT_OPTIMIZER": "backward",
    "BackwardLearner": "backward",
    "backward_learner": "backward",
    "Checkpointer": "callbacks",
    "EarlyStopping": "callbacks",
    "TrainContext": "context",
    "BatchRecord": "record",
    "EpochRecord": "record",
    "FullTestResult": "record",
    "HistoryRow": "record",
    "TestResult": "record",
    "TrainingRecord": "record",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rpnkit.learner' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"rpnkit.learner.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
