"""The position inside an epoch: saving a partial epoch every N steps, and resuming inside one.

With ``checkpoint_every_n_steps=N`` the loop hands every N-th training step to
:class:`StepSaver`, which writes the full state of the run (see
:mod:`rpnkit.learner.checkpoint`) plus, for every process, what the epoch gathered so far (its
losses, per-batch scores, batch sizes and timings, and the metric states) and two sets of
random states: those at the start of the epoch, right before its loader was asked for
batches, and those now.

A run resumed from such a checkpoint (:func:`open_epoch`) sets the random states back to the
epoch's start, asks the loader for the epoch's batches, moves past the batches already
trained, and only then sets the random states to those of the checkpoint: the data order,
dropout masks and everything else drawn afterwards are the uninterrupted run's.

* A :class:`~rpnkit.data.loader.BatchLoader` (what rpnkit's datasets serve) jumps to the
  position without reading the batches before it.
* Any other loader serves the batches before the position once more, and they are dropped
  unused. Its order is still the uninterrupted run's, worker seeds and random transforms
  included, as long as the loader and its dataset draw their randomness from torch's, NumPy's
  or Python's generators (or the loader's own ``generator``), which a checkpoint restores.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from rpnkit.data.loader import BatchLoader
from rpnkit.errors import ConfigError
from rpnkit.learner.best import run_state
from rpnkit.learner.checkpoint import (
    CHECKPOINT_NAME,
    capture_rng_state,
    restore_rng_state,
    save_checkpoint,
)
from rpnkit.learner.epoch import TrainPass
from rpnkit.learner.parallel import Parallel

if TYPE_CHECKING:
    from rpnkit.learner.context import TrainContext

__all__ = ["Resumption", "StepSaver", "open_epoch", "rank_rng"]


def _pass_state(passed: TrainPass, metrics: Iterable[Any]) -> dict[str, Any]:
    """What a training pass gathered so far, as CPU tensors and plain values."""
    now = time.perf_counter()
    return {
        "losses": torch.stack(passed.losses).cpu() if passed.losses else None,
        "scores": torch.stack(passed.scores).cpu() if passed.scores else None,
        "sizes": list(passed.sizes),
        "skipped": list(passed.skipped),
        "starts": [t - passed.clock_start for t in passed.starts],
        "ends": [t - passed.clock_start for t in passed.ends],
        "elapsed": now - passed.clock_start,
        "lr": passed.lr,
        "metrics": [
            {name: value.detach().cpu().clone() for name, value in metric.state_dict().items()}
            for metric in metrics
        ],
    }


def _restore_pass(state: Mapping[str, Any], device: torch.device, metrics: list[Any]) -> TrainPass:
    """The training pass of ``state`` (see :func:`_pass_state`), its metrics' states restored."""
    elapsed = float(state["elapsed"])
    clock = time.perf_counter() - elapsed
    saved = state["metrics"]
    if len(saved) != len(metrics):
        raise ConfigError(
            f"resume checkpoint holds the states of {len(saved)} metric(s) but this run has "
            f"{len(metrics)}; resume with the metrics of the interrupted run"
        )
    for metric, metric_state in zip(metrics, saved, strict=True):
        metric.load_state_dict(metric_state)
    return TrainPass(
        losses=[] if state["losses"] is None else list(state["losses"].to(device).unbind()),
        scores=[] if state["scores"] is None else list(state["scores"].to(device).unbind()),
        sizes=list(state["sizes"]),
        skipped=list(state["skipped"]),
        starts=[clock + t for t in state["starts"]],
        ends=[clock + t for t in state["ends"]],
        wall_start=time.time() - elapsed,
        clock_start=clock,
        lr=float(state["lr"]),
    )


def rank_rng(state: Mapping[str, Any], rank: int, world_size: int) -> Mapping[str, Any]:
    """The random states of process ``rank`` in checkpoint ``state`` (rank 0's in old ones)."""
    ranks = state.get("ranks")
    if isinstance(ranks, list) and len(ranks) == world_size:
        return ranks[rank]["rng"]
    return state["rng"]


@dataclass
class Resumption:
    """Where a resumed run re-enters its first epoch, and what that epoch had gathered.

    Attributes
    ----------
    batches
        The batches of the epoch already trained (0: the run resumes between epochs).
    state
        The checkpoint.
    epoch_rng
        This process's random states at the start of the epoch (after :meth:`check`).
    rng
        This process's random states at the checkpoint (after :meth:`check`).
    partial
        This process's partial epoch (see :func:`_pass_state`), ``None`` between epochs.
    """

    batches: int
    state: Mapping[str, Any]
    epoch_rng: Mapping[str, Any] | None = None
    rng: Mapping[str, Any] | None = None
    partial: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, state: Mapping[str, Any]) -> Resumption:
        """The resumption of checkpoint ``state``."""
        position = state.get("position") or {"batches": 0}
        return cls(int(position["batches"]), state)

    def check(self, context: TrainContext) -> None:
        """Take this process's part of the checkpoint, checked against the run.

        Called when training starts (a check before a launch runs on one process).

        Raises
        ------
        ConfigError
            If a checkpoint written inside an epoch is resumed on another number of processes
            or with another number of batches per epoch.
        """
        state = self.state
        if self.batches == 0:
            self.rng = rank_rng(state, context.rank, context.world_size)
            return
        ranks, saved_steps = state["ranks"], state.get("steps_per_epoch")
        if len(ranks) != context.world_size:
            raise ConfigError(
                f"resume checkpoint was written inside an epoch by {len(ranks)} process(es), "
                f"but this run has {context.world_size}; resume on {len(ranks)} process(es)"
            )
        if saved_steps != context.steps_per_epoch:
            raise ConfigError(
                f"resume checkpoint was written with {saved_steps} batches per epoch, but this "
                f"run's training loader has {context.steps_per_epoch}; resume with the data "
                "and batch size of the interrupted run"
            )
        mine = ranks[context.rank]
        self.epoch_rng, self.rng, self.partial = mine["epoch_rng"], mine["rng"], mine["partial"]

    def training_pass(self, context: TrainContext) -> TrainPass:
        """The partial epoch to go on with, its metric states restored."""
        assert self.partial is not None
        return _restore_pass(self.partial, context.device, context.metrics)


def open_epoch(
    loader: Iterable[Any], loaders: list[Any], resume: Resumption | None
) -> Iterator[Any]:
    """Start an epoch of ``loader``; inside a resumed epoch, at the checkpoint's position.

    ``loaders`` are the run's loaders whose generators the checkpoint holds. Without
    ``resume`` (or between epochs) this is ``iter(loader)``.

    Raises
    ------
    ConfigError
        If the loader ends before the position (it serves fewer batches than it did).
    """
    if resume is None or resume.batches == 0:
        return iter(loader)
    assert resume.epoch_rng is not None and resume.rng is not None
    restore_rng_state(resume.epoch_rng, loaders)
    if isinstance(loader, BatchLoader):
        state = loader.state_dict()
        loader.load_state_dict({"epoch": state["epoch"], "batches": resume.batches})
        batches = iter(loader)
    else:
        batches = iter(loader)
        for served in range(resume.batches):
            if next(batches, _END) is _END:
                raise ConfigError(
                    f"data_loader['train_loader'] served {served} batch(es) where the resume "
                    f"checkpoint's epoch had {resume.batches}; resume with the same data"
                )
    restore_rng_state(resume.rng, loaders)
    return batches


_END = object()


class StepSaver:
    """Write the run's full state every ``every`` training steps and after every epoch.

    Every process calls :meth:`after_step` and :meth:`after_epoch` (their random states and
    partial epochs are gathered); only the main process writes ``directory/last.pt``,
    atomically.

    Parameters
    ----------
    directory
        The checkpoint folder.
    every
        Steps between two checkpoints inside epochs; ``None`` saves after epochs only.
    parallel
        The run's processes.
    """

    def __init__(
        self, directory: str | os.PathLike[str], every: int | None, parallel: Parallel
    ) -> None:
        self.path = Path(directory) / CHECKPOINT_NAME
        self.every = every
        self.parallel = parallel
        self.epoch_rng: dict[str, Any] | None = None

    def start_epoch(self, context: TrainContext, resume: Resumption | None) -> None:
        """Remember the random states at the epoch's start (right before ``iter(loader)``)."""
        if self.every is None:
            return
        if resume is not None and resume.epoch_rng is not None:
            self.epoch_rng = dict(resume.epoch_rng)
        else:
            self.epoch_rng = capture_rng_state(context.loaders)

    def after_step(self, context: TrainContext, batches: int, passed: TrainPass) -> None:
        """Save if ``context.step`` is a multiple of ``every``; ``batches`` done this epoch."""
        if self.every is None or context.step % self.every:
            return
        mine = {
            "rng": capture_rng_state(context.loaders),
            "epoch_rng": self.epoch_rng,
            "partial": _pass_state(passed, context.metrics),
        }
        ranks = self.parallel.gather_objects(mine)
        if not context.is_main_process:
            return
        state = run_state(context)
        state["epoch"] = context.epoch - 1
        state["position"] = {"epoch": context.epoch, "batches": batches}
        self._write(state, context, ranks)

    def after_epoch(self, context: TrainContext) -> None:
        """Save the state after the epoch (after the epoch-end hooks)."""
        ranks = self.parallel.gather_objects({"rng": capture_rng_state(context.loaders)})
        if context.is_main_process:
            self._write(run_state(context), context, ranks)

    def _write(self, state: dict[str, Any], context: TrainContext, ranks: list[Any]) -> None:
        state["ranks"] = ranks
        state["world_size"] = context.world_size
        state["steps_per_epoch"] = context.steps_per_epoch
        save_checkpoint(state, self.path)
