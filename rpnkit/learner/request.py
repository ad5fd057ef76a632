"""The checked arguments of one :meth:`~rpnkit.learner.BackwardLearner.train` call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.learner.arguments import MetricSpec, resolve_metrics, split_loaders
from rpnkit.learner.launch import Strategy, check_strategy
from rpnkit.metrics import Metric

__all__ = ["Request"]


@dataclass(frozen=True)
class Request:
    """The checked arguments of one ``train`` call (see :meth:`BackwardLearner.train`)."""

    model: nn.Module
    train_loader: Iterable[Any]
    test_loader: Iterable[Any] | None
    device: str | torch.device
    metrics: list[Metric]
    display_step: int
    train_idx: Any
    test_idx: Any
    strategy: Strategy
    progress: bool

    @classmethod
    def of(
        cls,
        model: nn.Module,
        data_loader: Any,
        device: str | torch.device,
        metric: MetricSpec,
        test_check: bool,
        disable_tqdm: bool,
        display_step: int,
        train_idx: Any,
        test_idx: Any,
        strategy: Strategy,
    ) -> Request:
        """Check the arguments of :meth:`train` into a :class:`~rpnkit.learner.loop.Request`."""
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        train_loader, test_loader = split_loaders(data_loader, test_check, test_idx)
        return cls(
            model=model,
            train_loader=train_loader,
            test_loader=test_loader,
            device=device,
            metrics=resolve_metrics(metric),
            display_step=positive_int(display_step, "display_step"),
            train_idx=train_idx,
            test_idx=test_idx,
            strategy=check_strategy(strategy),
            progress=not disable_tqdm,
        )
