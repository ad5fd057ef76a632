"""The learner's settings: every constructor argument of the backward learner, checked once.

:class:`~rpnkit.learner.BackwardLearner` derives from :class:`LearnerSettings`; the loop reads
these attributes and nothing else of the learner. Components given by name or config are
resolved here (an unknown name fails at construction, with suggestions); an optimizer or
scheduler that needs the model is kept as a :class:`~rpnkit.components.spec.ComponentSpec` and built by
:func:`~rpnkit.learner.optimization.build_optimization` when training starts.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from rpnkit.checks import choice, positive_float, positive_int
from rpnkit.checks import seed as check_seed
from rpnkit.components.spec import ComponentSpec
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.learner.arguments import resolve_component, resolve_loss
from rpnkit.learner.callbacks import Checkpointer, EarlyStopping, build_early_stopping
from rpnkit.learner.device import Precision, check_precision
from rpnkit.learner.launch import Backend, check_backend
from rpnkit.learner.optimization import INTERVALS, Interval
from rpnkit.tracking.resolve import resolve_loggers

__all__ = ["LearnerSettings", "NanPolicy"]

#: What a non-finite loss does: stop with an error, or skip the batch.
NanPolicy = Literal["raise", "skip"]
_NAN_POLICIES: tuple[str, ...] = get_args(NanPolicy)


class LearnerSettings:
    """The checked settings of a backward learner (see :class:`~rpnkit.learner.BackwardLearner`
    for every parameter)."""

    def __init__(
        self,
        name: str = "error_backward_propagation_algorithm",
        n_epochs: int = 100,
        lr_scheduler: Any = None,
        optimizer: Any = None,
        loss: Any = None,
        lr_scheduler_configs: Mapping[str, Any] | None = None,
        optimizer_configs: Mapping[str, Any] | None = None,
        loss_configs: Mapping[str, Any] | None = None,
        *,
        lr_scheduler_interval: Interval | None = None,
        grad_clip_norm: float | None = None,
        precision: Precision | None = None,
        verbose: bool = True,
        progress_every: int = 20,
        batch_scores: bool = False,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        checkpoint_every_n_steps: int | None = None,
        resume: str | os.PathLike[str] | None = None,
        early_stopping: int | EarlyStopping | Mapping[str, Any] | None = None,
        monitor: str = "auto",
        nan_policy: NanPolicy = "raise",
        seed: int | None = None,
        backend: Backend | None = None,
        callbacks: Sequence[object] = (),
        loggers: Sequence[Any] = (),
        compile: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            valid = [p for p in inspect.signature(type(self)).parameters if p != "kwargs"]
            key = sorted(kwargs)[0]
            raise ConfigError(
                f"{type(self).__name__} got an unknown argument {key!r}{did_you_mean(key, valid)}; "
                f"valid arguments: {', '.join(valid)}"
            )
        self.name = name
        self.n_epochs = positive_int(n_epochs, "n_epochs")
        self.loss = resolve_loss(loss, loss_configs)
        self.optimizer = resolve_component("optimizer", optimizer, optimizer_configs, "optimizer")
        self.lr_scheduler = resolve_component(
            "lr_scheduler", lr_scheduler, lr_scheduler_configs, "lr_scheduler"
        )
        for spec, runtime in ((self.optimizer, "params"), (self.lr_scheduler, "optimizer")):
            if isinstance(spec, ComponentSpec):
                spec.check(runtime)
        self.lr_scheduler_interval: Interval | None = choice(
            lr_scheduler_interval, INTERVALS, "lr_scheduler_interval", allow_none=True
        )
        if grad_clip_norm is not None:
            positive_float(grad_clip_norm, "grad_clip_norm")
        self.grad_clip_norm = grad_clip_norm
        self.precision = check_precision(precision)
        self.verbose = bool(verbose)
        self.progress_every = positive_int(progress_every, "progress_every")
        self.batch_scores = bool(batch_scores)
        self.checkpoint_dir = (
            Checkpointer(checkpoint_dir).directory if checkpoint_dir is not None else None
        )
        if checkpoint_every_n_steps is not None:
            positive_int(checkpoint_every_n_steps, "checkpoint_every_n_steps")
            if checkpoint_dir is None:
                raise ConfigError(
                    f"checkpoint_every_n_steps={checkpoint_every_n_steps} needs checkpoint_dir, "
                    "the folder to write the checkpoints into"
                )
        self.checkpoint_every_n_steps: int | None = checkpoint_every_n_steps
        if resume is not None and not isinstance(resume, (str, os.PathLike)):
            raise ConfigError(
                f"resume must be a checkpoint path (str or os.PathLike), got {type(resume).__name__}"
            )
        self.resume = resume
        self.early_stopping = build_early_stopping(early_stopping)
        if not isinstance(monitor, str):
            raise ConfigError(f"monitor must be a history column name or 'auto', got {monitor!r}")
        self.monitor = monitor
        self.nan_policy: NanPolicy = choice(nan_policy, _NAN_POLICIES, "nan_policy")
        self.seed = check_seed(seed)
        self.backend = check_backend(backend)
        if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
            raise ConfigError(
                "callbacks must be a list of plugin objects with @rpnkit.hookimpl methods, got "
                f"{type(callbacks).__name__}"
            )
        self.callbacks = list(callbacks)
        self.loggers = resolve_loggers(loggers)
        if not isinstance(compile, bool):
            raise ConfigError(f"compile must be true or false, got {compile!r}")
        self.compile = compile

    def __repr__(self) -> str:
        return f"BackwardLearner(name={self.name!r}, n_epochs={self.n_epochs})"
