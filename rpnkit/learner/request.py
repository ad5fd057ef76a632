"""The checked arguments of one :meth:`~rpnkit.learner.BackwardLearner.train` call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.learner.arguments import resolve_metrics, split_loaders
from rpnkit.learner.launch import Strategy, check_strategy
from rpnkit.metrics import Metric

__all__ = ["Request"]


@dataclass(frozen=True)
class Request:
    """The checked arguments of one ``train`` call (see :meth:`BackwardLearner.train`)."""

    model: nn.Module
    train_loader: Iterable[Any]
    test_loader: Iterable[Any] | None
    val_loader: Iterable[Any] | None
    device: str | torch.device
    metrics: list[Metric]
    display_step: int
    train_idx: Any
    test_idx: Any
    val_idx: Any
    strategy: Strategy
    progress: bool

    @classmethod
    def of(cls, arguments: Mapping[str, Any]) -> Request:
        """Check the arguments of one :meth:`~rpnkit.learner.BackwardLearner.train` call.

        Parameters
        ----------
        arguments
            ``train``'s arguments by name (other keys are ignored), so its signature is the
            one list of them.
        """
        model = arguments["model"]
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        test_idx, val_idx = arguments["test_idx"], arguments.get("val_idx")
        train_loader, val_loader, test_loader = split_loaders(
            arguments["data_loader"], arguments["test_check"], test_idx, val_idx
        )
        return cls(
            model=model,
            train_loader=train_loader,
            test_loader=test_loader,
            val_loader=val_loader,
            device=arguments["device"],
            metrics=resolve_metrics(arguments["metric"]),
            display_step=positive_int(arguments["display_step"], "display_step"),
            train_idx=arguments["train_idx"],
            test_idx=test_idx,
            val_idx=val_idx,
            strategy=check_strategy(arguments["strategy"]),
            progress=not arguments["disable_tqdm"],
        )
