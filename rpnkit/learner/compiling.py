"""``compile=True``: train through :func:`torch.compile`, with its one-time cost on its own.

:func:`compile_network` compiles what trains (the model, or its DistributedDataParallel
wrapper); the test passes and everything saved use the model itself, whose parameters the
compiled module shares, so saved weights load into the plain model. A failure of the
compiler (most often: no working C++ compiler for the CPU backend) stops training with one
line that suggests ``compile: false``.

:class:`CompileClock` puts the estimated compile time in the record as
``record["preparation"]["compile_time_cost"]``: the first training step (which compiles)
minus the median of the other steps of the first epoch.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from torch import Tensor, nn

from rpnkit.errors import TrainingError
from rpnkit.learner.context import TrainContext
from rpnkit.plugins.hookspecs import hookimpl

__all__ = ["CompileClock", "compile_network", "compile_time_cost"]


def compile_network(network: nn.Module) -> Callable[..., Tensor]:
    """``torch.compile(network)``, raising a one-line :class:`TrainingError` if it fails.

    Compilation happens on the first call, so the returned callable turns the compiler's own
    exceptions (``torch._dynamo.exc.TorchDynamoException``) into the one-line error; errors of
    the model itself pass through unchanged.
    """
    import torch
    from torch._dynamo.exc import TorchDynamoException

    compiled = torch.compile(network)

    def call(*args: Any, **kwargs: Any) -> Tensor:
        try:
            return compiled(*args, **kwargs)
        except TorchDynamoException as exc:
            first = next((line for line in str(exc).splitlines() if line.strip()), "")
            raise TrainingError(
                f"compile: torch.compile failed ({type(exc).__name__}: {first.strip()}); set "
                "compile: false (learner.compile in a config, compile=False in Python) to "
                "train without compiling"
            ) from None

    return call


def compile_time_cost(step_seconds: list[float]) -> float:
    """The estimated compile time of a first epoch whose steps took ``step_seconds``.

    The first step minus the median of the others (never below 0); with a single step, the
    whole of it.
    """
    if not step_seconds:
        return 0.0
    rest = step_seconds[1:]
    typical = statistics.median(rest) if rest else 0.0
    return max(step_seconds[0] - typical, 0.0)


class CompileClock:
    """Records ``compile_time_cost`` after the first epoch a compiled run trains."""

    def __init__(self) -> None:
        self.done = False

    @hookimpl(tryfirst=True)
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        """Estimate the compile time from the first epoch's batch records."""
        if self.done:
            return
        self.done = True
        batches = context.record["training"][context.epoch]["batch_records"]
        seconds = [batches[i]["time_cost"] for i in sorted(batches)]
        context.record["preparation"]["compile_time_cost"] = compile_time_cost(seconds)
