"""The backward learner: trains a model by error back-propagation without per-batch host syncs.

:class:`BackwardLearner` keeps tinybig's ``backward_learner`` API (constructor, ``train``,
``test`` and the returned records) and is the public face of small parts with one job each:
:mod:`~rpnkit.learner.arguments` checks what it is given, :mod:`~rpnkit.learner.loop` runs the
epochs (:mod:`~rpnkit.learner.step` the batch forward, :mod:`~rpnkit.learner.optimization` the
optimizer step, :mod:`~rpnkit.learner.evaluation` the test passes) and
:mod:`~rpnkit.learner.callbacks` and :mod:`~rpnkit.learner.display` listen on the training
hooks. The loss and the metric states stay on the device during an epoch and the per-batch
records are filled from one device-to-host transfer at the epoch's end. Launched by
``torchrun`` on several processes, the learner trains data-parallel with
DistributedDataParallel (:mod:`rpnkit.learner.parallel`).
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, cast, get_args, overload

import torch
from torch import nn

from rpnkit.checks import choice, positive_float, positive_int
from rpnkit.checks import seed as check_seed
from rpnkit.components.spec import check_arguments, unknown_parameter
from rpnkit.errors import ConfigError
from rpnkit.learner.arguments import (
    MetricSpec,
    check_callbacks,
    check_flag,
    check_loader,
    check_monitor,
    check_resume,
    check_step_checkpoints,
    one_of,
    resolve_component,
    resolve_loss,
    resolve_metrics,
    rows,
)
from rpnkit.learner.best import check_save_best
from rpnkit.learner.callbacks import Checkpointer, EarlyStopping, build_early_stopping
from rpnkit.learner.device import MixedPrecision, Precision, check_precision
from rpnkit.learner.evaluation import evaluate, test_result
from rpnkit.learner.launch import Backend, Strategy, check_backend, check_strategy, data_parallel
from rpnkit.learner.loop import Request, Run
from rpnkit.learner.lr_finder import LRFindResult, lr_find
from rpnkit.learner.optimization import DEFAULT_OPTIMIZER, INTERVALS, Interval, LRSchedulerLike
from rpnkit.learner.record import FullTestResult, TestResult, TrainingRecord
from rpnkit.learner.step import BatchForward
from rpnkit.tracking.resolve import resolve_loggers

__all__ = [
    "DEFAULT_OPTIMIZER",
    "BackwardLearner",
    "Interval",
    "LRSchedulerLike",
    "MetricSpec",
    "NanPolicy",
    "backward_learner",
]

#: What a non-finite loss does: stop with an error, or skip the batch.
NanPolicy = Literal["raise", "skip"]
_NAN_POLICIES: tuple[str, ...] = get_args(NanPolicy)


class BackwardLearner:
    """Train a model by error back-propagation (tinybig's ``backward_learner``).

    The loss, optimizer and lr scheduler may each be an instance, a class, a registry name
    (``"adamw"``, ``"cross_entropy"``, ``"cosine"``) or come from the matching ``*_configs``
    dict, in rpnkit form ``{"name": "adamw", "parameters": {"lr": 1e-3}}`` or tinybig form
    ``{"optimizer_class": "torch.optim.AdamW", "optimizer_parameters": {"lr": 1e-3}}``.
    Names are checked here; an optimizer or scheduler given by name, class or config is
    built in :meth:`train` from the model's trainable parameters.

    Defaults: without a loss, cross entropy for integer labels and mean squared error for
    floating-point labels (chosen at the first batch); without an optimizer, the optimizer of
    a given scheduler instance, else :data:`DEFAULT_OPTIMIZER` (AdamW, lr 1e-3); without a
    scheduler, a constant learning rate.

    Parameters
    ----------
    name
        Name of the learner.
    n_epochs
        Number of training epochs.
    lr_scheduler, optimizer, loss
        The components, in any of the forms above.
    lr_scheduler_configs, optimizer_configs, loss_configs
        The components as config dicts (give either a component or its config, not both).
    lr_scheduler_interval
        ``"epoch"`` or ``"step"``: when the scheduler steps. ``None`` steps ``OneCycleLR``
        and ``CyclicLR`` after every optimizer step and every other scheduler after every
        epoch. ``ReduceLROnPlateau`` steps per epoch with the ``monitor`` value.
    grad_clip_norm
        Clip the gradients' total 2-norm to this value before each step (``None``: no
        clipping).
    precision
        ``"bf16"`` or ``"fp16"`` for mixed precision on CUDA; ignored with a warning on other
        devices. ``None`` trains in full precision. ``"fp16"`` scales the gradients, and the
        scaler reads one overflow flag per step (a host sync bf16 does not need).
    verbose
        Show the progress bars, the epoch table and the summary; ``False`` silences all.
    progress_every
        Refresh the progress bar's numbers every this many steps (each refresh reads the
        running loss from the device).
    batch_scores
        Fill each batch record's ``score`` with the headline metric on that batch alone (one
        more metric update and compute per batch, still without host syncs). ``False``
        leaves it ``None``; epoch scores are always recorded.
    checkpoint_dir
        Save a checkpoint to ``checkpoint_dir/last.pt`` after every epoch (atomically).
    checkpoint_every_n_steps
        Also save it every this many training steps (batches, counted over the whole run),
        inside epochs: with the position in the epoch, the partial epoch's losses and metric
        states and the random states, so a run killed at any batch resumes from the last
        saved step (see :mod:`rpnkit.learner.position`). Needs ``checkpoint_dir``.
    resume
        A checkpoint file or ``checkpoint_dir`` to continue from: :meth:`train` restores
        the model, optimizer, scheduler, history and random states and runs the remaining
        epochs up to ``n_epochs``; from a checkpoint written inside an epoch it goes on
        from the next batch, and ends with the weights, history and metrics of a run that
        never stopped.
    early_stopping
        Stop when ``monitor`` has not improved for this many epochs; or an
        :class:`~rpnkit.learner.callbacks.EarlyStopping`, or a dict of its arguments.
    monitor
        The history column watched by ``ReduceLROnPlateau``, early stopping, the best epoch
        and the summary: ``"auto"`` is ``"val_loss"`` when the data has a validation split,
        else ``"test_loss"`` when a test pass runs (said once on screen: the test split then
        selects), else ``"train_loss"``.
    save_best
        Keep the weights of the best epoch: ``True`` (by ``monitor``), a history column
        (``"val_accuracy"``) or ``{"monitor": ..., "mode": "min" | "max"}``. The record gets
        ``best`` (epoch, column, value), checkpoints carry the best so far, and ``rpnkit
        train`` writes them to ``best.pt`` beside ``model.pt``.
    restore_best
        End training with the best epoch's weights in the model (by ``save_best``'s column,
        else ``monitor``); the test pass is then run again on them, into
        ``record["best"]["test"]``.
    accumulate_grad_batches
        Sum the gradients of this many batches before each optimizer step. Each batch's
        mean loss is weighted by its share of the window's samples, so with a mean loss the
        update is the one of a single batch of all their samples (to float rounding); a
        window cut short by the epoch's end steps with what it has.
    nan_policy
        ``"raise"``: a NaN or infinite loss stops training with a
        :class:`~rpnkit.errors.TrainingError` naming the epoch and batch, found at the next
        progress refresh or at the epoch's end, with no extra host sync. ``"skip"``: such a
        batch is skipped before the optimizer step (this reads every loss on the host, one
        sync per batch) and a warning counts the skipped batches.
    seed
        Seed Python's, NumPy's and torch's generators when :meth:`train` starts.
    backend
        The :mod:`torch.distributed` backend of a data-parallel run, ``"gloo"`` or
        ``"nccl"`` (CUDA only); ``None`` picks ``nccl`` on CUDA and ``gloo`` on the CPU. Used
        when the learner initialises the process group (see :meth:`train`).
    callbacks
        Plugin objects (with ``@rpnkit.hookimpl`` training hooks) registered for every
        :meth:`train` call of this learner, on every process, after the builtin ones.
    loggers
        Experiment loggers of every :meth:`train` call, on the main process only: names
        (``"tensorboard"``), ``{name, parameters}`` configs or objects (:mod:`rpnkit.tracking`).
    compile
        Train through :func:`torch.compile` (test passes run the plain model). The first
        step pays the compile time, recorded as ``record["preparation"]["compile_time_cost"]``;
        the model's own weights are what is saved, loadable without compiling. See the
        performance page for when it pays.
    **kwargs
        Accepted for signature compatibility with tinybig; any key raises a
        :class:`~rpnkit.errors.ConfigError` listing the valid arguments.

    Raises
    ------
    ConfigError
        For an unknown component name (with suggestions), a component given twice, or an
        invalid value; :class:`~rpnkit.errors.ComponentNotFoundError` for an unknown name.

    Examples
    --------
    >>> import rpnkit
    >>> learner = BackwardLearner(n_epochs=10, optimizer="adamw", early_stopping=3)
    >>> data = rpnkit.build("dataset", "iris", batch_size=16)  # doctest: +SKIP
    >>> model = rpnkit.build("model", "rpn", layers=[{"m": 4, "n": 3}])  # doctest: +SKIP
    >>> record = learner.train(model, data, metric="accuracy")  # doctest: +SKIP
    >>> record["history"][-1]["test_score"]  # doctest: +SKIP
    """

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
        save_best: bool | str | Mapping[str, Any] | None = None,
        restore_best: bool = False,
        accumulate_grad_batches: int = 1,
        nan_policy: NanPolicy = "raise",
        seed: int | None = None,
        backend: Backend | None = None,
        callbacks: Sequence[object] = (),
        loggers: Sequence[Any] = (),
        compile: bool = False,
        **kwargs: Any,
    ) -> None:
        if kwargs:  # taken for tinybig's signature; every key is a mistake
            valid = [p for p in inspect.signature(type(self)).parameters if p != "kwargs"]
            given = ", ".join(map(str, kwargs))
            raise ConfigError(unknown_parameter(type(self).__name__, min(kwargs), valid, given))
        self.name = name
        self.n_epochs = positive_int(n_epochs, "n_epochs")
        self.loss = resolve_loss(*one_of(loss, loss_configs, "loss"))
        self.optimizer = resolve_component(
            "optimizer", *one_of(optimizer, optimizer_configs, "optimizer")
        )
        self.lr_scheduler = resolve_component(
            "lr_scheduler", *one_of(lr_scheduler, lr_scheduler_configs, "lr_scheduler")
        )
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
        self.checkpoint_every_n_steps = check_step_checkpoints(
            checkpoint_every_n_steps, checkpoint_dir
        )
        self.resume = check_resume(resume)
        self.early_stopping = build_early_stopping(early_stopping)
        self.monitor = check_monitor(monitor)
        self.save_best = check_save_best(save_best)
        self.restore_best = check_flag(restore_best, "restore_best")
        self.accumulate_grad_batches = positive_int(
            accumulate_grad_batches, "accumulate_grad_batches"
        )
        if self.accumulate_grad_batches > 1 and self.checkpoint_every_n_steps is not None:
            raise ConfigError(
                f"accumulate_grad_batches={self.accumulate_grad_batches} cannot be combined "
                "with checkpoint_every_n_steps: a save inside an accumulation window would "
                "lose its summed gradients; checkpoint after every epoch instead"
            )
        self.nan_policy: NanPolicy = choice(nan_policy, _NAN_POLICIES, "nan_policy")
        self.seed = check_seed(seed)
        self.backend = check_backend(backend)
        self.callbacks = check_callbacks(callbacks)
        self.loggers = resolve_loggers(loggers)
        self.compile = check_flag(compile, "compile")

    def __repr__(self) -> str:
        return f"BackwardLearner(name={self.name!r}, n_epochs={self.n_epochs})"

    # -- training ----------------------------------------------------------------------------
    def train(
        self,
        model: nn.Module,
        data_loader: Any,
        device: str | torch.device = "cpu",
        metric: MetricSpec = None,
        test_check: bool = True,
        disable_tqdm: bool = False,
        display_step: int = 1,
        train_idx: Any = None,
        test_idx: Any = None,
        *,
        strategy: Strategy = "auto",
        val_idx: Any = None,
    ) -> TrainingRecord:
        """Train ``model`` for ``n_epochs`` epochs and return the training record.

        Every argument is checked before any work: a mistake raises a one-line
        :class:`~rpnkit.errors.ConfigError` naming the argument and what is valid.

        Launched by ``torchrun`` on several processes (or called after
        ``torch.distributed.init_process_group``), every process runs ``train`` with the same
        arguments and they train together: the model is wrapped in DistributedDataParallel,
        the training loader's ``batch_size`` is the global batch, split evenly over the
        processes, and the test passes are exact (see :mod:`rpnkit.learner.parallel`).
        Every process returns the same record, and only rank 0 shows progress and writes
        checkpoints.

        Parameters
        ----------
        model
            The model; called as ``model(x, device=device)`` when its ``forward`` takes a
            ``device`` argument (RPN models), else as ``model(x)``.
        data_loader
            ``{"train_loader": ..., "test_loader": ...}``, optionally with ``"val_loader"``
            (a :class:`~rpnkit.data.bundle.DataBundle` works, with its validation split when
            it has one), or a single loader (no test pass). Loaders yield
            ``(features, labels)`` batches. With a validation loader, a validation pass runs
            after every epoch (``val_*`` history columns) and everything that selects uses
            it; the test pass is the report.
        device
            ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
        metric
            A metric, a registry name (``"accuracy"``) or a list of them; the first one is the
            headline score. ``None`` records the loss only (scores ``None`` in the record, NaN
            in the history).
        test_check
            Run a test pass after every epoch.
        disable_tqdm
            Hide the progress bars (the table still prints unless ``verbose=False``).
        display_step
            Print a table row every this many epochs (and after the last one).
        train_idx, test_idx
            Rows of the model's output to train and test on, for full-batch (graph-style)
            training: indices or a boolean mask. With ``test_idx`` and a single loader, the
            test pass runs on that loader's ``test_idx`` rows. Single-process only.
        val_idx
            Rows of the model's output to validate on, as ``test_idx`` (the training loader
            is the validation loader unless ``data_loader`` has a ``"val_loader"``).
        strategy
            ``"auto"``: data-parallel when launched on more than one process; ``"single"``:
            this process trains alone even under a launch; ``"ddp"``: data-parallel, and an
            error without a launch.

        Returns
        -------
        TrainingRecord
            ``preparation``, ``training`` (keyed by epoch, with ``batch_records`` and
            ``test_result``) and ``history`` (see :mod:`rpnkit.learner.record`). Under DDP,
            batch losses and history values are over the samples of all processes.

        Raises
        ------
        ConfigError
            For invalid arguments, an unavailable device, an empty loader, or model outputs
            whose shape does not fit the labels (checked on the first batch, before any step);
            under DDP also for a loader that cannot be sharded or a batch size that is not a
            multiple of the number of processes.
        TrainingError
            If the loss becomes NaN or infinite and ``nan_policy="raise"``.
        """
        started = time.time()
        run = Run.prepare(self, Request.of(locals()))  # this method's arguments, by name
        run.context.record["preparation"]["preparation_time_cost"] = time.time() - started
        return run.fit()

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Run every check :meth:`train` runs before its first step, and train nothing.

        Takes :meth:`train`'s arguments (bound to its signature, so a wrong one is a
        one-line :class:`~rpnkit.errors.ConfigError`). The model is moved to the device and
        the optimizer and scheduler are built for it, exactly as training would build them,
        so a config that passes ``rpnkit validate`` (which calls this) cannot be refused by
        ``train``: it raises :class:`~rpnkit.errors.ConfigError` for everything ``train``
        would refuse.
        """
        bound = check_arguments(self.train, kwargs, "BackwardLearner.check", args=args)
        Run.prepare(self, Request.of(cast(inspect.BoundArguments, bound).arguments))

    def lr_find(self, model: nn.Module, data_loader: Any, **options: Any) -> LRFindResult:
        """The LR range test, model and optimizer restored after (see :func:`lr_find`)."""
        return lr_find(self, model, data_loader, **options)

    # -- testing ------------------------------------------------------------------------------
    @overload
    def test(
        self,
        model: nn.Module,
        test_loader: Iterable[Any],
        device: str | torch.device = ...,
        metric: MetricSpec = ...,
        return_full_result: Literal[True] = ...,
        test_idx: Any = ...,
        *,
        strategy: Strategy = ...,
    ) -> FullTestResult: ...

    @overload
    def test(
        self,
        model: nn.Module,
        test_loader: Iterable[Any],
        device: str | torch.device = ...,
        metric: MetricSpec = ...,
        *,
        return_full_result: Literal[False],
        test_idx: Any = ...,
        strategy: Strategy = ...,
    ) -> TestResult: ...

    @overload
    def test(
        self,
        model: nn.Module,
        test_loader: Iterable[Any],
        device: str | torch.device = ...,
        metric: MetricSpec = ...,
        return_full_result: bool = ...,
        test_idx: Any = ...,
        *,
        strategy: Strategy = ...,
    ) -> FullTestResult | TestResult: ...

    def test(
        self,
        model: nn.Module,
        test_loader: Iterable[Any],
        device: str | torch.device = "cpu",
        metric: MetricSpec = None,
        return_full_result: bool = True,
        test_idx: Any = None,
        *,
        strategy: Strategy = "auto",
    ) -> FullTestResult | TestResult:
        """Evaluate ``model`` on ``test_loader`` (no gradients, ``model.eval()``).

        Under a ``torchrun`` launch on several processes, every process calls ``test`` with
        the same model and loader; each evaluates its share of the test set (no sample twice)
        and every process returns the result of the whole test set: the same loss and scores
        as a single process and, with ``return_full_result``, all the predictions in the
        loader's order.

        Parameters
        ----------
        model
            The model to evaluate (a DistributedDataParallel wrapper is unwrapped).
        test_loader
            Loader of ``(features, labels)`` batches.
        device
            ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or ``"auto"``.
        metric
            A metric, a registry name or a list of them (the first one is ``test_score``).
        return_full_result
            Return the predictions too (:class:`~rpnkit.learner.record.FullTestResult`);
            ``False`` returns ``test_loss``, ``test_score`` and ``time_cost`` only.
        test_idx
            Rows of the model's output to evaluate (full-batch, graph-style data);
            single-process only.
        strategy
            ``"auto"``: shard the evaluation when launched on more than one process;
            ``"single"``: evaluate everything in this process; ``"ddp"``: shard, and an error
            without a launch.

        Returns
        -------
        FullTestResult or TestResult
            ``test_loss`` is the mean loss per sample; ``test_score`` is ``None`` without a
            metric.

        Raises
        ------
        ConfigError
            For invalid arguments, an empty loader or outputs that do not fit the labels.
        """
        started = time.perf_counter()
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        check_loader(test_loader, "test_loader")
        metrics = resolve_metrics(metric)
        target, parallel = data_parallel(check_strategy(strategy), device, self.backend)
        if test_idx is not None:
            parallel.refuse_rows("test_idx")
        test_loader = parallel.shard_test_loader(test_loader, "test_loader")
        model.to(target)
        for item in metrics:
            item.to(target)
        evaluation = evaluate(
            model,
            test_loader,
            forward=BatchForward.of(
                model, target, MixedPrecision.for_device(self.precision, target)
            ),
            loss=self.loss,
            metrics=metrics,
            rows=rows(test_idx, target, "test_idx"),
            collect=return_full_result,
            parallel=parallel,
        )
        return test_result(evaluation, metrics, parallel, full=return_full_result, started=started)


#: tinybig's name for :class:`BackwardLearner`, for code written against the reference.
backward_learner = BackwardLearner
