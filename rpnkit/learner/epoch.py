"""What one training epoch gathers, and how it reaches the host in a single transfer.

A :class:`TrainPass` collects device tensors (losses, optional per-batch scores) and host
timings while the epoch runs; :func:`to_host` moves every number of the epoch, test pass
included, to the host in one ``tolist()`` and splits them up again (:class:`HostValues`).
:func:`check_finite` applies the ``nan_policy="raise"`` rule to losses already on the host.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rpnkit.errors import TrainingError
from rpnkit.learner.evaluation import Evaluation
from rpnkit.learner.record import EpochRecord, TestResult, batch_records
from rpnkit.metrics import Metric

__all__ = [
    "HostValues",
    "TrainPass",
    "check_finite",
    "epoch_entry",
    "fresh",
    "mean_loss",
    "running_loss",
    "to_host",
]


def fresh(metric: Metric) -> Metric:
    """An independent copy of ``metric`` with empty states (same settings and device)."""
    copy = deepcopy(metric)
    copy.reset()
    return copy


@dataclass
class TrainPass:
    """What a training pass gathers per batch: device tensors and host timings.

    ``wall_start`` (``time.time()``) and ``clock_start`` (``time.perf_counter()``) mark the
    epoch's start, earlier than now in an epoch resumed from a checkpoint; ``lr`` is the
    learning rate at the epoch's start (the history's ``lr``).
    """

    losses: list[Tensor] = field(default_factory=list)
    scores: list[Tensor] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    wall_start: float = field(default_factory=time.time)
    clock_start: float = field(default_factory=time.perf_counter)
    lr: float = math.nan


@dataclass
class HostValues:
    """An epoch's numbers after the single device-to-host transfer."""

    batch_losses: list[float]
    batch_scores: list[float] | None
    train_scores: list[float]
    test_loss: float | None
    test_scores: list[float]
    val_loss: float | None = None
    val_scores: list[float] = field(default_factory=list)


def to_host(
    train: TrainPass,
    batch_losses: Tensor,
    train_scores: list[Tensor],
    evaluation: Evaluation | None,
    dtype: torch.dtype,
    validation: Evaluation | None = None,
) -> HostValues:
    """Move every number of an epoch to the host in one transfer and split them up again.

    ``validation`` (the validation pass, when the run has one) travels in the same transfer.
    """
    parts = [batch_losses]
    if train.scores:
        parts.append(torch.stack(train.scores))
    parts += [score.reshape(1) for score in train_scores]
    if evaluation is not None:
        parts += [evaluation.mean_loss.reshape(1), *(s.reshape(1) for s in evaluation.scores)]
    if validation is not None:
        parts += [validation.mean_loss.reshape(1), *(s.reshape(1) for s in validation.scores)]
    values = torch.cat([part.to(dtype) for part in parts]).tolist()
    n, m = len(train.losses), len(train_scores)
    losses, values = values[:n], values[n:]
    scores: list[float] | None = None
    if train.scores:
        scores, values = values[: len(train.scores)], values[len(train.scores) :]
        for i in train.skipped:
            scores.insert(i, math.nan)
    train_values, values = values[:m], values[m:]
    test_loss, test_scores = None, []
    if evaluation is not None:
        k = 1 + len(evaluation.scores)
        test_loss, test_scores, values = values[0], values[1:k], values[k:]
    return HostValues(
        batch_losses=losses,
        batch_scores=scores,
        train_scores=train_values,
        test_loss=test_loss,
        test_scores=test_scores,
        val_loss=values[0] if validation is not None else None,
        val_scores=values[1:] if validation is not None else [],
    )


def epoch_entry(
    train: TrainPass, host: HostValues, names: Sequence[str], train_end: float
) -> EpochRecord:
    """The record's entry of an epoch: its batch records and, after a test pass, the test
    result (timed from ``train_end``, the training pass's end, to now)."""
    entry = EpochRecord(
        start_time=train.wall_start,
        end_time=train_end,
        time_cost=train_end - train.wall_start,
        batch_records=batch_records(
            wall_start=train.wall_start,
            clock_start=train.clock_start,
            starts=train.starts,
            ends=train.ends,
            losses=host.batch_losses,
            scores=host.batch_scores,
            metric_name=names[0] if names else None,
        ),
    )
    if host.test_loss is not None:
        entry["test_result"] = TestResult(
            test_loss=host.test_loss,
            test_score=host.test_scores[0] if names else None,
            time_cost=time.time() - train_end,
        )
    return entry


def mean_loss(losses: Sequence[float], sizes: Sequence[int], skipped: Sequence[int]) -> float:
    """The epoch's training loss per sample, leaving out skipped batches."""
    left_out = set(skipped)
    kept = [(v, n) for i, (v, n) in enumerate(zip(losses, sizes, strict=True)) if i not in left_out]
    samples = sum(n for _, n in kept)
    return sum(v * n for v, n in kept) / samples if samples else math.nan


def running_loss(losses: Sequence[Tensor], every: int, epoch: int, *, check: bool) -> float:
    """The mean of the last ``every`` batch losses, read from the device in one transfer.

    With ``check``, a non-finite one raises :class:`TrainingError` here already (one
    process; under DDP only the epoch's end checks, where every process stops together).
    """
    window = torch.stack(list(losses[-every:])).tolist()
    if check:
        check_finite(window, epoch, first=len(losses) - len(window))
    finite = [value for value in window if math.isfinite(value)]
    return sum(finite) / len(finite) if finite else math.nan


def check_finite(losses: Sequence[float], epoch: int, first: int = 0) -> None:
    """Raise :class:`TrainingError` at the first NaN or infinite batch loss."""
    for batch, value in enumerate(losses, start=first):
        if not math.isfinite(value):
            raise TrainingError(
                f"the loss became {value} at epoch {epoch}, batch {batch}; lower the learning "
                "rate, set grad_clip_norm, check the data, or pass nan_policy='skip'"
            )
