"""The training record :meth:`BackwardLearner.train` returns, and its per-epoch history.

The record keeps tinybig's structure, so code written against the reference reads it
unchanged::

    record["preparation"]["preparation_time_cost"]
    record["training"][epoch]["batch_records"][batch]["loss"]
    record["training"][epoch]["test_result"]["test_score"]

and adds ``record["history"]``: one flat row of plain numbers per epoch, ready for plotting,
early stopping or ``pandas.DataFrame(record["history"])``. Every value is a Python number,
string or ``None``; the learner fills a whole epoch from one device-to-host transfer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict

__all__ = [
    "HISTORY_KEYS",
    "BatchRecord",
    "BestRecord",
    "EpochRecord",
    "FullTestResult",
    "HistoryRow",
    "PreparationRecord",
    "TestResult",
    "TrainingRecord",
    "batch_records",
    "history_keys",
    "history_row",
]

#: A history row: ``epoch`` (0-based, as the record's keys), ``train_loss`` and ``train_score``
#: (means over the epoch's training samples), ``test_loss`` and ``test_score`` (the test pass
#: after the epoch), ``lr`` (the first parameter group's rate during the epoch) and
#: ``seconds`` (the epoch's wall time, test pass included); with several metrics also
#: ``train_<name>`` and ``test_<name>`` for each. A run with a validation split also has
#: ``val_loss`` and ``val_score`` (and ``val_<name>``), from the validation pass after the
#: epoch. Values that were not measured (no metric, no test pass) are NaN, so every column is
#: numeric.
HistoryRow = dict[str, float]

#: The columns every history row has, in display order.
HISTORY_KEYS: tuple[str, ...] = (
    "epoch",
    "train_loss",
    "train_score",
    "test_loss",
    "test_score",
    "lr",
    "seconds",
)


class BatchRecord(TypedDict):
    """One training batch, as tinybig records it.

    ``time`` is the wall-clock time (``time.time()`` scale) at the end of the batch and
    ``time_cost`` its duration in seconds. On an accelerator both measure the host: batches
    are not synchronised, so a batch's kernels may still run when the next one is queued.
    ``loss`` is the batch's loss. ``score`` is the headline metric on this batch alone when
    the learner was built with ``batch_scores=True``, else ``None``; ``metric_name`` names that
    metric (``None`` without one).
    """

    time: float
    time_cost: float
    loss: float
    score: float | None
    metric_name: str | None


class TestResult(TypedDict):
    """The short test result stored for every epoch (tinybig's ``return_full_result=False``).

    ``test_loss`` is the mean loss per test sample, ``test_score`` the headline metric
    (``None`` without one) and ``time_cost`` the test pass's duration in seconds.
    """

    test_loss: float
    test_score: float | None
    time_cost: float


class FullTestResult(TestResult):
    """The full test result of :meth:`BackwardLearner.test`.

    ``y_pred`` holds the arg-max class of each sample when the outputs are scores of shape
    ``(n, C)`` with ``C > 1``, else the outputs themselves; ``y_true`` the labels; ``y_score``
    the raw outputs (all as Python lists). ``metric_name`` names the headline metric and
    ``test_scores`` maps every metric's name to its value.
    """

    y_pred: list[object]
    y_true: list[object]
    y_score: list[object]
    metric_name: str | None
    test_scores: dict[str, float]


class PreparationRecord(TypedDict):
    """Time spent before the first epoch: building the optimizer, scheduler and metrics.

    A compiled run (``compile=True``) adds ``compile_time_cost``, the estimated one-time cost
    of compiling, which its first training step paid (see :mod:`rpnkit.learner.compiling`).
    """

    preparation_time_cost: float
    compile_time_cost: NotRequired[float]


class EpochRecord(TypedDict, total=False):
    """One epoch: wall-clock ``start_time`` and ``end_time``, ``time_cost`` of the training
    pass in seconds, ``batch_records`` keyed by the batch's index, and ``test_result`` when a
    test pass ran."""

    start_time: float
    end_time: float
    time_cost: float
    batch_records: dict[int, BatchRecord]
    test_result: TestResult


class BestRecord(TypedDict):
    """The best epoch of a run that keeps its best weights (``save_best``/``restore_best``).

    ``epoch`` is the 0-based epoch whose weights were kept, ``monitor`` the history column
    that chose it, ``mode`` ``"min"`` or ``"max"``, ``value`` that column's value then, and
    ``restored`` whether training ended with those weights in the model. When it did,
    ``test`` holds the test pass on the restored weights (``test_loss``, ``test_score`` and
    ``test_<name>`` of each metric), else it is empty.
    """

    epoch: int
    monitor: str
    mode: str
    value: float
    restored: bool
    test: dict[str, float]


class TrainingRecord(TypedDict):
    """What :meth:`BackwardLearner.train` returns.

    ``training`` is keyed by the 0-based epoch; after ``resume=`` it holds the epochs this
    call ran, while ``history`` holds every epoch since the first run. A run keeping its best
    weights adds ``best`` (:class:`BestRecord`).
    """

    preparation: PreparationRecord
    training: dict[int, EpochRecord]
    history: list[HistoryRow]
    best: NotRequired[BestRecord]


def history_keys(metric_names: Sequence[str], *, val: bool = False) -> list[str]:
    """Return the keys of a history row for metrics ``metric_names`` (headline first).

    With one metric or none the keys are :data:`HISTORY_KEYS`; with several, every metric
    also gets ``train_<name>`` and ``test_<name>``. With ``val`` (a validation split) the
    rows also have ``val_loss``, ``val_score`` and ``val_<name>``, after the train columns.
    """
    keys = list(HISTORY_KEYS)
    if val:
        keys[3:3] = ["val_loss", "val_score"]
    splits = ("train", "val", "test") if val else ("train", "test")
    if len(metric_names) > 1:
        keys += [f"{split}_{name}" for name in metric_names for split in splits]
    return keys


def batch_records(
    *,
    wall_start: float,
    clock_start: float,
    starts: Sequence[float],
    ends: Sequence[float],
    losses: Sequence[float],
    scores: Sequence[float] | None,
    metric_name: str | None,
) -> dict[int, BatchRecord]:
    """Build an epoch's batch records from host values gathered at the epoch's end.

    Parameters
    ----------
    wall_start
        ``time.time()`` at the epoch's start.
    clock_start
        ``time.perf_counter()`` at the same moment; ``starts`` and ``ends`` are on this clock.
    starts, ends
        ``time.perf_counter()`` at the start and end of each batch.
    losses
        Each batch's loss.
    scores
        Each batch's headline score, or ``None`` when per-batch scores were not computed.
    metric_name
        The headline metric's name, or ``None``.

    Returns
    -------
    dict of int to BatchRecord
        The records keyed by the batch's index.
    """
    return {
        i: BatchRecord(
            time=wall_start + (end - clock_start),
            time_cost=end - start,
            loss=loss,
            score=None if scores is None else scores[i],
            metric_name=metric_name,
        )
        for i, (start, end, loss) in enumerate(zip(starts, ends, losses, strict=True))
    }


def history_row(
    *,
    epoch: int,
    lr: float,
    seconds: float,
    train_loss: float,
    train_scores: Mapping[str, float],
    test_loss: float | None,
    test_scores: Mapping[str, float],
    val_loss: float | None = None,
    val_scores: Mapping[str, float] | None = None,
) -> HistoryRow:
    """Build an epoch's history row (see :data:`HistoryRow`).

    Parameters
    ----------
    epoch
        The 0-based epoch.
    lr
        The learning rate during the epoch.
    seconds
        The epoch's wall time.
    train_loss
        Mean training loss per sample.
    train_scores, test_scores
        Metric values by name, headline first (empty without metrics; ``test_scores`` empty
        without a test pass).
    test_loss
        Mean test loss per sample, ``None`` without a test pass.
    val_loss, val_scores
        The validation pass's mean loss and metric values; ``val_loss=None`` (no validation
        split) leaves the ``val_*`` columns out.
    """
    names = list(train_scores)
    row: HistoryRow = {
        "epoch": epoch,
        "train_loss": train_loss,
        "train_score": train_scores[names[0]] if names else math.nan,
    }
    splits: list[tuple[str, Mapping[str, float]]] = [("train", train_scores)]
    if val_loss is not None:
        val_scores = val_scores or {}
        row["val_loss"] = val_loss
        row["val_score"] = val_scores.get(names[0], math.nan) if names else math.nan
        splits.append(("val", val_scores))
    row["test_loss"] = math.nan if test_loss is None else test_loss
    row["test_score"] = test_scores.get(names[0], math.nan) if names else math.nan
    row["lr"] = lr
    row["seconds"] = seconds
    splits.append(("test", test_scores))
    if len(names) > 1:
        for name in names:
            for split, scores in splits:
                row[f"{split}_{name}"] = scores.get(name, math.nan)
    return row
