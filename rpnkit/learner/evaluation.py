"""Evaluation passes: the loss and metrics of a model on a loader, without host syncs.

:func:`evaluate` runs one pass in eval mode under :func:`torch.inference_mode`; the loss sum,
the sample count and the metric states stay on the device and, under DDP, are summed over the
processes (some of which may have had no batch), so every process gets the numbers of the
whole test set. :func:`test_result` turns a pass into the records ``test`` returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError
from rpnkit.learner.context import LossFn
from rpnkit.learner.device import host_dtype
from rpnkit.learner.parallel import Parallel
from rpnkit.learner.record import FullTestResult, TestResult
from rpnkit.learner.step import BatchForward
from rpnkit.metrics import Metric

__all__ = ["Evaluation", "LossSum", "evaluate", "test_result"]


class LossSum:
    """Sample-weighted loss sum and sample count, kept on the device.

    Both are tensors, so a distributed run can sum them over processes before dividing.
    """

    def __init__(self, device: torch.device) -> None:
        self.total = torch.zeros((), dtype=host_dtype(device), device=device)
        self.count = torch.zeros((), dtype=torch.long, device=device)

    def add(self, loss: Tensor, samples: int) -> None:
        """Add a batch's mean ``loss`` over ``samples`` samples."""
        self.total += loss.detach() * samples
        self.count += samples

    def sum_over(self, parallel: Parallel) -> None:
        """Replace the sum and count by their sums over the processes (one collective)."""
        both = parallel.sum_over_processes(
            torch.stack([self.total, self.count.to(self.total.dtype)])
        )
        self.total, self.count = both[0], both[1].to(torch.long)

    def mean(self) -> Tensor:
        """The mean loss per sample."""
        return self.total / self.count


@dataclass
class Evaluation:
    """What a pass over a test loader leaves on the device (``count``: samples evaluated)."""

    mean_loss: Tensor
    count: Tensor
    scores: list[Tensor]
    outputs: list[Tensor]
    targets: list[Tensor]


def evaluate(
    model: nn.Module,
    loader: Iterable[Any],
    *,
    forward: BatchForward,
    loss: LossFn | None,
    metrics: list[Metric],
    rows: Tensor | None,
    collect: bool,
    parallel: Parallel,
    argument: str = "test_loader",
) -> Evaluation:
    """One pass over ``loader`` in eval mode; everything stays on the device.

    Parameters
    ----------
    model
        The model (not a DDP wrapper: evaluation needs no gradient sync).
    loader
        This process's share of the test loader.
    forward
        The batch forward of ``model``.
    loss
        The loss function, or ``None`` to pick the default at the first batch.
    metrics
        The metrics, reset and updated here.
    rows
        Rows of the output to evaluate (full-batch data), or ``None``.
    collect
        Keep the outputs and labels (for predictions).
    parallel
        The run's process group.
    argument
        How messages name the loader.
    """
    model.eval()
    for item in metrics:
        item.reset()
    total = LossSum(forward.device)
    outputs: list[Tensor] = []
    targets: list[Tensor] = []
    step = -1
    with torch.inference_mode():
        for step, batch in enumerate(loader):
            output, labels, loss, value = forward(batch, step, rows, loss, argument)
            total.add(value, labels.shape[0])
            for item in metrics:
                item.update(output, labels)
            if collect:
                outputs.append(output)
                targets.append(labels)
    if step < 0 and parallel.world_size == 1:
        raise ConfigError(f"{argument} is empty: it yielded no batches; give it some data")
    total.sum_over(parallel)
    return Evaluation(
        mean_loss=total.mean(),
        count=total.count,
        scores=[parallel.compute(metric) for metric in metrics],
        outputs=outputs,
        targets=targets,
    )


def test_result(
    evaluation: Evaluation,
    metrics: list[Metric],
    parallel: Parallel,
    *,
    full: bool,
    started: float,
) -> FullTestResult | TestResult:
    """The record ``test`` returns, after one transfer of the numbers to the host."""
    parts = [evaluation.mean_loss.reshape(1), *(s.reshape(1) for s in evaluation.scores)]
    dtype = host_dtype(evaluation.mean_loss.device)
    test_loss, *scores = torch.cat(parts).to(dtype).tolist()
    names = [m.name for m in metrics]
    headline = scores[0] if metrics else None
    if not full:
        return TestResult(
            test_loss=test_loss, test_score=headline, time_cost=time.perf_counter() - started
        )
    size = int(evaluation.count)
    y_score = parallel.gather_rows(_cat(evaluation.outputs), size)
    y_true = parallel.gather_rows(_cat(evaluation.targets), size)
    predicts_classes = y_score.is_floating_point() and y_score.ndim == 2 and y_score.shape[1] > 1
    y_pred = y_score.argmax(dim=1) if predicts_classes else y_score
    return FullTestResult(
        y_pred=y_pred.tolist(),
        y_true=y_true.tolist(),
        y_score=y_score.tolist(),
        test_loss=test_loss,
        test_score=headline,
        time_cost=time.perf_counter() - started,
        metric_name=names[0] if names else None,
        test_scores=dict(zip(names, scores, strict=True)),
    )


def _cat(parts: list[Tensor]) -> Tensor | None:
    """``torch.cat(parts)``, or ``None`` for no parts (a process with no test batch)."""
    return torch.cat(parts) if parts else None
