"""Which split selects: the ``"auto"`` monitor, and the note when the test split selects.

With a validation split, everything that selects during training (early stopping, the best
epoch, ``ReduceLROnPlateau``, the ``"auto"`` monitor) looks at its ``val_*`` columns and the
test split is only the report. Without one, a run whose selection watches a ``test_*``
column says so once on screen (:data:`SELECTING_ON_TEST`), since the reported test numbers
are then optimistic.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from torch.optim.lr_scheduler import ReduceLROnPlateau

if TYPE_CHECKING:
    from rpnkit.learner.callbacks import EarlyStopping
    from rpnkit.learner.context import TrainContext
    from rpnkit.learner.optimization import Optimization

__all__ = ["SELECTING_ON_TEST", "note_test_selection", "resolve_monitor", "selects_on_test"]

#: Said once when something selects on the test split because there is no validation split.
SELECTING_ON_TEST = "selecting on the test split: add data.parameters.val_size"


def resolve_monitor(monitor: str, *, val: Any, test: Any) -> str:
    """``monitor``, with ``"auto"`` resolved: ``val_loss`` with a validation loader, else
    ``test_loss`` with a test loader, else ``train_loss``."""
    if monitor != "auto":
        return monitor
    if val is not None:
        return "val_loss"
    return "test_loss" if test is not None else "train_loss"


def selects_on_test(
    context: TrainContext, early_stopping: EarlyStopping | None, optimization: Optimization
) -> bool:
    """Whether early stopping, the best epoch or a plateau scheduler watches a test column
    because the run has no validation split."""
    if context.has_validation or context.test_loader is None:
        return False
    watched = []
    if early_stopping is not None:
        watched.append(early_stopping.monitor or context.monitor)
    if context.best is not None:
        watched.append(context.best.monitor)
    if isinstance(optimization.scheduler, ReduceLROnPlateau):
        watched.append(context.monitor)
    return any(key.startswith("test_") for key in watched)


def note_test_selection(
    context: TrainContext, early_stopping: EarlyStopping | None, optimization: Optimization
) -> None:
    """Print :data:`SELECTING_ON_TEST` on stderr when :func:`selects_on_test`."""
    if selects_on_test(context, early_stopping, optimization):
        print(SELECTING_ON_TEST, file=sys.stderr, flush=True)
