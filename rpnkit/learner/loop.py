"""The training loop: a :class:`Run` resolved once, then epochs between the training hooks.

:meth:`Run.prepare` checks and builds everything a call of
:meth:`~rpnkit.learner.BackwardLearner.train` needs before the first step — device and
process group, loader shards, row selections, the resume checkpoint, seeding, optimizer and
scheduler, the context plugins see, the callbacks — so a mistake is reported before any work
and ``rpnkit validate`` can run the very same checks (:meth:`BackwardLearner.check`).
:meth:`Run.fit` then runs ``rpnkit_train_start``, every epoch (``rpnkit_epoch_start``, the
training pass with ``rpnkit_progress`` at the refresh points, the test pass,
``rpnkit_epoch_end``) and ``rpnkit_train_end``.

The loop has one path for one process and for DDP: the run's
:class:`~rpnkit.learner.parallel.Parallel` is a null object outside a launch. No number is
read on the host per batch: the losses stay on the device until the epoch's single transfer,
and the running loss is read only at refresh points somebody listens to.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError, TrainingInterrupted
from rpnkit.learner.arguments import loader_length, rows
from rpnkit.learner.best import best_keeper, finish_best, restore_best
from rpnkit.learner.callbacks import closing
from rpnkit.learner.checkpoint import (
    load_checkpoint,
    refuse_finished,
    restore_rng_state,
    restore_training_state,
)
from rpnkit.learner.compiling import compile_network
from rpnkit.learner.context import TrainContext
from rpnkit.learner.device import MixedPrecision, host_dtype
from rpnkit.learner.epoch import (
    TrainPass,
    check_finite,
    epoch_entry,
    fresh,
    mean_loss,
    running_loss,
    to_host,
)
from rpnkit.learner.evaluation import Evaluation, evaluate
from rpnkit.learner.hooks import TrainingHooks, _HookFailed
from rpnkit.learner.launch import data_parallel, launch_rank
from rpnkit.learner.optimization import Optimization, build_optimization
from rpnkit.learner.parallel import Parallel
from rpnkit.learner.position import Resumption, StepSaver, open_epoch
from rpnkit.learner.progress import Refresh
from rpnkit.learner.record import (
    HistoryRow,
    TrainingRecord,
    history_row,
)
from rpnkit.learner.request import Request
from rpnkit.learner.run_callbacks import run_callbacks, run_hooks
from rpnkit.learner.seeding import seed_everything
from rpnkit.learner.selection import note_test_selection, resolve_monitor
from rpnkit.learner.step import BatchForward

if TYPE_CHECKING:
    from rpnkit.learner.backward import BackwardLearner

__all__ = ["Request", "Run"]

_TRAIN = "data_loader['train_loader']"
_TEST = "data_loader['test_loader']"
_VAL = "data_loader['val_loader']"


@dataclass
class Run:
    """One training run, resolved once before its first epoch.

    ``network`` is what trains: the model, or its DistributedDataParallel wrapper, which
    ``forward`` calls; ``evaluate`` calls the model itself, for the test passes.
    """

    learner: BackwardLearner
    context: TrainContext
    optimization: Optimization
    network: nn.Module
    forward: BatchForward
    evaluate: BatchForward
    parallel: Parallel
    train_rows: Tensor | None
    test_rows: Tensor | None
    val_rows: Tensor | None
    callbacks: list[Any]
    resumption: Resumption | None
    saver: StepSaver | None
    hooks: TrainingHooks
    #: Whether a plugin implements ``rpnkit_batch_end`` (set when :meth:`fit` starts).
    batch_listening: bool = False

    @classmethod
    def prepare(cls, learner: BackwardLearner, request: Request) -> Run:
        """Check and build everything the run needs; nothing trains yet."""
        target, parallel = data_parallel(request.strategy, request.device, learner.backend)
        train_loader, test_loader = request.train_loader, request.test_loader
        val_loader = request.val_loader
        for name in ("train_idx", "val_idx", "test_idx"):
            if getattr(request, name) is not None:
                parallel.refuse_rows(name)
        train_loader = parallel.shard_train_loader(train_loader, _TRAIN)
        if test_loader is not None:
            test_loader = parallel.shard_test_loader(test_loader, _TEST)
        if val_loader is not None:
            val_loader = parallel.shard_test_loader(val_loader, _VAL)
        train_rows = rows(request.train_idx, target, "train_idx")
        test_rows = rows(request.test_idx, target, "test_idx")
        val_rows = rows(request.val_idx, target, "val_idx")
        checkpoint = load_checkpoint(learner.resume) if learner.resume is not None else None
        if checkpoint is not None:
            where = f"resume={str(learner.resume)!r}"
            refuse_finished(checkpoint, learner.n_epochs, where, "n_epochs")
        if learner.seed is not None:
            seed_everything(learner.seed)
        model = request.model.to(target)
        for metric in request.metrics:
            metric.to(target)
        precision = MixedPrecision.for_device(learner.precision, target)
        steps = loader_length(train_loader)
        accumulate = learner.accumulate_grad_batches
        optimization = build_optimization(
            model,
            learner.optimizer,
            learner.lr_scheduler,
            interval=learner.lr_scheduler_interval,
            n_epochs=learner.n_epochs,
            # Optimizer steps per epoch: what a per-step scheduler's horizon counts.
            steps_per_epoch=None if steps is None else -(-steps // accumulate),
            precision=precision,
            clip=learner.grad_clip_norm,
        )
        monitor = resolve_monitor(learner.monitor, val=val_loader, test=test_loader)
        context = TrainContext(
            model=model,
            optimizer=optimization.optimizer,
            lr_scheduler=optimization.scheduler,
            loss=learner.loss,
            metrics=request.metrics,
            device=target,
            train_loader=train_loader,
            test_loader=test_loader,
            n_epochs=learner.n_epochs,
            start_epoch=0,
            record=TrainingRecord(
                preparation={"preparation_time_cost": 0.0}, training={}, history=[]
            ),
            monitor=monitor,
            grad_scaler=optimization.grad_scaler,
            rank=launch_rank(),
            world_size=parallel.world_size,
            steps_per_epoch=steps,
            val_loader=val_loader,
            accumulate_grad_batches=accumulate,
        )
        context.best = best_keeper(learner.save_best, learner.restore_best, context)
        callbacks = run_callbacks(learner, request, context)
        resumption = None
        if checkpoint is not None:
            restore_training_state(context, checkpoint)
            restore_best(context, checkpoint, f"resume={str(learner.resume)!r}")
            resumption = Resumption.of(checkpoint)
        # Wrapped after the restore: DDP copies rank 0's parameters to every process.
        network = parallel.wrap(model)
        evaluate_forward = BatchForward.of(model, target, precision)
        forward = (
            evaluate_forward if network is model else BatchForward.of(network, target, precision)
        )
        if learner.compile:
            forward = replace(forward, model=compile_network(network))
        return cls(
            learner=learner,
            context=context,
            optimization=optimization,
            network=network,
            forward=forward,
            evaluate=evaluate_forward,
            parallel=parallel,
            train_rows=train_rows,
            test_rows=test_rows,
            val_rows=val_rows,
            callbacks=callbacks,
            resumption=resumption,
            saver=(
                None
                if learner.checkpoint_dir is None
                else StepSaver(learner.checkpoint_dir, learner.checkpoint_every_n_steps, parallel)
            ),
            hooks=run_hooks(callbacks),
        )

    # -- the run ----------------------------------------------------------------------------
    def fit(self) -> TrainingRecord:
        """Train every remaining epoch between the train-start and train-end hooks.

        Raises
        ------
        TrainingInterrupted
            On Ctrl-C (or SIGTERM in ``rpnkit train``), with the record so far.
        PluginHookError
            When a plugin raises inside a training hook, with the record so far.
        """
        context, hook = self.context, self.hooks
        with closing(self.callbacks):
            listening = hook.listening("rpnkit_progress")
            self.batch_listening = hook.listening("rpnkit_batch_end")
            if self.learner.verbose and context.is_main_process:
                note_test_selection(context, self.learner.early_stopping, self.optimization)
            resume = self.resumption
            if resume is not None:
                resume.check(context)
            try:
                hook("rpnkit_train_start", context=context)
                if resume is not None and resume.batches == 0:
                    # Last, so the next epoch draws exactly what it drew in the interrupted run.
                    assert resume.rng is not None
                    restore_rng_state(resume.rng, context.loaders)
                for epoch in range(context.start_epoch, context.n_epochs):
                    context.epoch = epoch
                    hook("rpnkit_epoch_start", context=context)
                    self._epoch(listening, resume if epoch == context.start_epoch else None)
                    hook("rpnkit_epoch_end", context=context)
                    if self.saver is not None:
                        self.saver.after_epoch(context)
                    # Every process stops together, whichever plugin asked for it.
                    context.should_stop = self.parallel.any_true(context.should_stop)
                    if context.should_stop:
                        break
                self._finish_best()
                hook("rpnkit_train_end", context=context)
            except KeyboardInterrupt as exc:
                raise TrainingInterrupted(context.record, len(context.history)) from exc
            except _HookFailed as exc:
                raise exc.stop(context.record, len(context.history)) from exc.__cause__
        return context.record

    def _epoch(self, listening: bool, resume: Resumption | None) -> HistoryRow:
        """One training pass and test pass: record them, then step an epoch-wise scheduler."""
        context, parallel = self.context, self.parallel
        train = self._train_pass(listening, resume)
        clock_start, lr = train.clock_start, train.lr
        batch_losses = parallel.global_means(torch.stack(train.losses), train.sizes)
        train_scores = [parallel.compute(metric) for metric in context.metrics]
        # Rank 0's batch-norm statistics (and other buffers): the model rank 0 saves.
        parallel.broadcast_buffers(context.model)
        train_end = time.time()
        evaluation = self._pass(context.test_loader, self.test_rows, _TEST)
        validation = self._pass(context.val_loader, self.val_rows, _VAL)
        host = to_host(
            train,
            batch_losses,
            train_scores,
            evaluation,
            host_dtype(context.device),
            validation=validation,
        )
        if self.learner.nan_policy == "raise":
            check_finite(host.batch_losses, context.epoch)
        names = [metric.name for metric in context.metrics]
        entry = epoch_entry(train, host, names, train_end)
        row = history_row(
            epoch=context.epoch,
            lr=lr,
            seconds=time.perf_counter() - clock_start,
            train_loss=mean_loss(host.batch_losses, train.sizes, train.skipped),
            train_scores=dict(zip(names, host.train_scores, strict=True)),
            test_loss=host.test_loss,
            test_scores=dict(zip(names, host.test_scores, strict=True)) if evaluation else {},
            val_loss=host.val_loss,
            val_scores=dict(zip(names, host.val_scores, strict=True)) if validation else None,
        )
        context.record["training"][context.epoch] = entry
        context.history.append(row)
        if context.best is not None:
            context.best.observe(context)
        if train.skipped:
            warnings.warn(
                f"nan_policy='skip' skipped {len(train.skipped)} batch(es) with a non-finite "
                f"loss in epoch {context.epoch}: batches {train.skipped}",
                RuntimeWarning,
                stacklevel=2,
            )
        self.optimization.end_epoch(row[context.monitor])
        return row

    def _train_pass(self, listening: bool, resume: Resumption | None) -> TrainPass:
        """One pass over the training loader (from the checkpoint's position when resuming
        inside it); nothing is read back from the device."""
        context, learner, saver = self.context, self.learner, self.saver
        forward, rows_, metrics = self.forward, self.train_rows, context.metrics
        batch_metric = fresh(metrics[0]) if learner.batch_scores and metrics else None
        skip_nan = learner.nan_policy == "skip"
        accumulate = context.accumulate_grad_batches
        refresh = Refresh(learner.progress_every, context.steps_per_epoch)
        self.network.train()
        self.parallel.set_epoch(context.train_loader, context.epoch)
        for metric in metrics:
            metric.reset()
        if saver is not None:
            saver.start_epoch(context, resume)
        batches = open_epoch(context.train_loader, context.loaders, resume)
        if resume is not None and resume.batches > 0:
            passed = resume.training_pass(context)
        else:
            passed = TrainPass(lr=self.optimization.lr)
        for step, batch in enumerate(batches, start=len(passed.losses)):
            start = time.perf_counter()
            output, labels, context.loss, loss = forward(batch, step, rows_, context.loss, _TRAIN)
            if skip_nan and not self.parallel.all_true(torch.isfinite(loss)):
                passed.skipped.append(step)
            else:
                self.optimization.train_step(loss, labels.shape[0], step, accumulate)
                scores = output.detach()
                for metric in metrics:
                    metric.update(scores, labels)
                if batch_metric is not None:
                    batch_metric.reset()
                    batch_metric.update(scores, labels)
                    passed.scores.append(batch_metric.compute())
            passed.losses.append(loss.detach())
            passed.sizes.append(labels.shape[0])
            passed.starts.append(start)
            passed.ends.append(time.perf_counter())
            context.step += 1
            if self.batch_listening:
                self.hooks(
                    "rpnkit_batch_end",
                    context=context,
                    batch=step,
                    loss=passed.losses[-1],
                    outputs=output.detach(),
                    labels=labels,
                )
            if listening and refresh.due(step + 1):
                self._progress(passed.losses)
            if saver is not None:
                saver.after_step(context, step + 1, passed)
        if not passed.losses:
            raise ConfigError(f"{_TRAIN} is empty: it yielded no batches; give it some data")
        if accumulate > 1:
            self.optimization.step_window()  # a window cut short by the epoch's end
        return passed

    def _finish_best(self) -> None:
        """Record the best epoch; with ``restore_best``, load its weights and test them."""
        context = self.context
        if context.best is not None:
            context.record["best"] = finish_best(
                context,
                self.learner.restore_best,
                lambda: self._pass(context.test_loader, self.test_rows, _TEST),
            )

    def _pass(self, loader: Any, rows_: Tensor | None, argument: str) -> Evaluation | None:
        """One evaluation pass over ``loader`` (``None`` for a split the run does not have)."""
        if loader is None:
            return None
        context = self.context
        return evaluate(
            context.model,
            loader,
            forward=self.evaluate,
            loss=context.loss,
            metrics=context.metrics,
            rows=rows_,
            collect=False,
            parallel=self.parallel,
            argument=argument,
        )

    def _progress(self, losses: list[Tensor]) -> None:
        """Hand the mean loss of the last steps to ``rpnkit_progress`` (one small transfer;
        on one process a non-finite loss raises here already, see :func:`running_loss`)."""
        context, learner = self.context, self.learner
        check = self.parallel.world_size == 1 and learner.nan_policy == "raise"
        running = running_loss(losses, learner.progress_every, context.epoch, check=check)
        self.hooks(
            "rpnkit_progress",
            context=context,
            step=len(losses),
            loss=running,
            lr=self.optimization.lr,
        )
