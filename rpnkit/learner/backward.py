"""The backward learner: trains a model by error back-propagation without per-batch host syncs.

:class:`BackwardLearner` keeps tinybig's ``backward_learner`` API (constructor, ``train``,
``test`` and the returned records) and is built for speed: the loss and the metric states stay
on the device during an epoch, the per-batch records are filled from one device-to-host
transfer at the epoch's end, and the progress bar reads the running loss only every
``progress_every`` steps. Training events are pluggy hooks (:mod:`rpnkit.hookspecs`), so
loggers, early stopping and checkpointing are plugins. Launched by ``torchrun`` on several
processes, the learner trains data-parallel with DistributedDataParallel
(:mod:`rpnkit.learner.distributed`).
"""

from __future__ import annotations

import inspect
import math
import os
import random
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeAlias, cast, get_args, overload

import numpy as np
import torch
from torch import Tensor, nn
from torch.optim.lr_scheduler import CyclicLR, LRScheduler, OneCycleLR, ReduceLROnPlateau

from rpnkit.builtin.callbacks import Checkpointer, EarlyStopping
from rpnkit.errors import ConfigError, TrainingError, did_you_mean
from rpnkit.learner.checkpoint import load_checkpoint, restore_rng_state, restore_training_state
from rpnkit.learner.context import LossFn, TrainContext
from rpnkit.learner.device import MixedPrecision, Precision, check_precision
from rpnkit.learner.display import TrainDisplay
from rpnkit.learner.distributed import (
    Backend,
    DataParallel,
    Strategy,
    check_backend,
    check_strategy,
    data_parallel,
    launch_rank,
)
from rpnkit.learner.record import (
    EpochRecord,
    FullTestResult,
    HistoryRow,
    TestResult,
    TrainingRecord,
    batch_records,
    history_row,
)
from rpnkit.metrics import Metric
from rpnkit.plugins import get_plugin_manager
from rpnkit.registry import check_parameters, get_registry, split_spec

__all__ = [
    "DEFAULT_OPTIMIZER",
    "BackwardLearner",
    "ComponentSpec",
    "Interval",
    "LRSchedulerLike",
    "MetricSpec",
    "NanPolicy",
    "backward_learner",
]

#: A learning-rate scheduler the learner can step.
LRSchedulerLike: TypeAlias = LRScheduler | ReduceLROnPlateau
#: What ``metric=`` accepts: a metric, a registry name, or a list of them (headline first).
MetricSpec: TypeAlias = Metric | str | Sequence[Metric | str] | None
#: What a non-finite loss does: stop with an error, or skip the batch.
NanPolicy = Literal["raise", "skip"]
#: When the lr scheduler steps: after every epoch or after every optimizer step.
Interval = Literal["epoch", "step"]
#: The optimizer built when none is given: AdamW with learning rate 1e-3.
DEFAULT_OPTIMIZER: Mapping[str, Any] = MappingProxyType(
    {"name": "adamw", "parameters": MappingProxyType({"lr": 1e-3})}
)

_NAN_POLICIES: tuple[str, ...] = get_args(NanPolicy)
_INTERVALS: tuple[str, ...] = get_args(Interval)
# Schedulers defined per optimizer step; they step per step unless told otherwise.
_STEP_SCHEDULERS = (OneCycleLR, CyclicLR)


@dataclass(frozen=True)
class ComponentSpec:
    """A component to build in :meth:`BackwardLearner.train`, once the model is known.

    An optimizer given by name, class or config needs the model's parameters, and a scheduler
    its optimizer; the learner resolves the name when it is constructed and keeps this.

    Attributes
    ----------
    group
        The registry group (``"optimizer"``, ``"lr_scheduler"``, ...).
    target
        The resolved class or factory.
    parameters
        Keyword arguments from the config (``{"lr": 1e-3}``).
    """

    group: str
    target: Callable[..., Any]
    parameters: dict[str, Any]

    def build(self, **runtime: Any) -> Any:
        """Build the component with its parameters plus ``runtime`` ones (``params=...``)."""
        return get_registry().build(self.group, self.target, **self.parameters, **runtime)

    def accepts(self, name: str) -> bool:
        """Whether the target takes a parameter called ``name``."""
        try:
            return name in inspect.signature(self.target).parameters
        except (TypeError, ValueError):
            return False


def _resolve(group: str, value: Any, configs: Any, argument: str) -> Any:
    """Turn ``argument`` or ``argument_configs`` into an instance, a :class:`ComponentSpec` or None.

    Names are looked up now, so an unknown name fails at construction with suggestions.
    """
    if value is not None and configs is not None:
        raise ConfigError(
            f"{argument} and {argument}_configs are both given; give one of them "
            f"({argument}: an instance, class or name; {argument}_configs: a config dict)"
        )
    spec = value if value is not None else configs
    if configs is not None and not isinstance(configs, Mapping):
        raise ConfigError(
            f"{argument}_configs must be a dict such as {{'name': ..., 'parameters': {{...}}}} "
            f"or {{'{group}_class': ..., '{group}_parameters': {{...}}}}, got "
            f"{type(configs).__name__}"
        )
    if spec is None:
        return None
    parameters: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        spec, parameters = split_spec(group, spec)
    if isinstance(spec, str):
        spec = get_registry().get(group, spec)
    if inspect.isclass(spec) or (parameters and callable(spec)):
        return ComponentSpec(group, spec, parameters)
    return spec


def _positive_int(value: object, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{argument}={value!r} is not valid; expected an integer >= 1")
    return value


def _choice(value: object, choices: tuple[str, ...], argument: str, allow_none: bool) -> Any:
    if (value is None and allow_none) or value in choices:
        return value
    valid = ", ".join(map(repr, choices)) + (" or None" if allow_none else "")
    raise ConfigError(
        f"{argument}={value!r} is not valid{did_you_mean(str(value), choices)}; expected {valid}"
    )


def _seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's generators (every CUDA device included)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _resolve_metrics(metric: MetricSpec) -> list[Metric]:
    """Build the metrics of ``metric=``: instances as they are, names from the registry."""
    if metric is None:
        return []
    listed = isinstance(metric, (list, tuple))
    items = list(cast(Sequence[Any], metric)) if listed else [metric]
    if not items:
        raise ConfigError("metric=[] is empty; give None, a metric, a name or a non-empty list")
    metrics: list[Metric] = []
    for i, item in enumerate(items):
        where = f"metric[{i}]" if listed else "metric"
        if isinstance(item, (str, Mapping)) or (inspect.isclass(item) and issubclass(item, Metric)):
            item = get_registry().build("metric", item)
        if not isinstance(item, Metric):
            raise ConfigError(
                f"{where} must be an rpnkit.metrics.Metric, a registry name such as 'accuracy' "
                f"or a list of them; got {type(item).__name__}"
            )
        metrics.append(item)
    names = [m.name for m in metrics]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(
            f"metric names must be unique, {repeated} appear more than once; history columns "
            "are keyed by name"
        )
    return metrics


def _loaders(
    data_loader: Any, test_check: bool, test_idx: object
) -> tuple[Iterable[Any], Iterable[Any] | None]:
    """Return the train loader and the test loader (``None`` when no test pass runs)."""
    if isinstance(data_loader, Mapping):
        if "train_loader" not in data_loader:
            raise ConfigError(
                f"data_loader has no 'train_loader' (keys: {sorted(map(str, data_loader))}); "
                "give {'train_loader': ..., 'test_loader': ...} or a single loader"
            )
        train, test = data_loader["train_loader"], data_loader.get("test_loader")
    elif isinstance(data_loader, Iterable) and not isinstance(data_loader, (str, bytes)):
        train, test = data_loader, None
    else:
        raise ConfigError(
            "data_loader must be a dict with 'train_loader' (and 'test_loader') or a single "
            f"loader, got {type(data_loader).__name__}"
        )
    if test is None and test_idx is not None:
        test = train  # graph style: one full batch, test rows picked by test_idx
    for name, loader in (("train_loader", train), ("test_loader", test)):
        if loader is not None:
            _check_loader(loader, f"data_loader['{name}']")
    return train, test if test_check else None


def _check_loader(loader: object, argument: str) -> None:
    if not isinstance(loader, Iterable) or isinstance(loader, (str, bytes, Mapping)):
        raise ConfigError(
            f"{argument} must be an iterable of (features, labels) batches such as a "
            f"DataLoader, got {type(loader).__name__}"
        )
    if hasattr(loader, "__len__") and len(cast(Any, loader)) == 0:
        raise ConfigError(f"{argument} is empty: it yields no batches; give it some data")


def _length(loader: Iterable[Any]) -> int | None:
    try:
        return len(cast(Any, loader))
    except TypeError:
        return None


def _rows(index: object, device: torch.device, argument: str) -> Tensor | None:
    """``train_idx``/``test_idx`` as a 1-D int64 tensor on ``device`` (masks become indices)."""
    if index is None:
        return None
    try:
        rows = torch.as_tensor(index)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"{argument} must be a 1-D tensor, array or list of row indices or a boolean mask, "
            f"got {type(index).__name__}"
        ) from None
    if rows.ndim != 1 or not (rows.dtype == torch.bool or not rows.is_floating_point()):
        raise ConfigError(
            f"{argument} must be 1-D integer indices or a boolean mask, got a {rows.dtype} "
            f"tensor of shape {tuple(rows.shape)}"
        )
    if rows.dtype == torch.bool:
        rows = rows.nonzero().squeeze(1)
    return rows.to(device=device, dtype=torch.long)


@dataclass(frozen=True)
class _BatchForward:
    """Moves a batch to the device, runs the model and computes the loss, checking batch 0.

    The model is called as ``model(x, device=...)`` when its ``forward`` takes a ``device``
    argument (RPN-style models), else as ``model(x)``. A DistributedDataParallel wrapper is
    called like the module it wraps.
    """

    model: Callable[..., Tensor]
    device: torch.device
    autocast: Callable[[], Any]
    pass_device: bool

    @classmethod
    def of(cls, model: nn.Module, device: torch.device, precision: MixedPrecision) -> _BatchForward:
        module = model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
        try:
            takes_device = "device" in inspect.signature(module.forward).parameters
        except (TypeError, ValueError):
            takes_device = False
        return cls(model, device, precision.autocast_factory(), takes_device)

    def __call__(
        self, batch: Any, step: int, rows: Tensor | None, loss: LossFn | None, loader: str
    ) -> tuple[Tensor, Tensor, LossFn, Tensor]:
        """Return the output, the labels, the loss function and the loss of ``batch``.

        On the first batch (``step == 0``) the batch, output and labels are checked and a
        missing loss function is chosen.
        """
        if step == 0:
            batch = _unpack(batch, loader)
        features, labels = batch
        features = features.to(self.device, non_blocking=True)
        labels = labels.to(self.device, non_blocking=True)
        with self.autocast():
            if self.pass_device:
                output = self.model(features, device=str(self.device))
            else:
                output = self.model(features)
            if rows is not None:
                output, labels = output[rows], labels[rows]
            if loss is None or step == 0:
                loss, value = _first_loss(loss, output, labels)
            else:
                value = loss(output, labels)
        return output, labels, loss, value


def _unpack(batch: object, loader: str) -> tuple[Tensor, Tensor]:
    """Check the first batch of ``loader`` is a ``(features, labels)`` pair of tensors."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = (
            f"a {type(batch).__name__} of {len(batch)}"
            if isinstance(batch, (tuple, list))
            else (f"a {type(batch).__name__}")
        )
        raise ConfigError(f"{loader} must yield (features, labels) pairs, got {got}")
    features, labels = batch
    if not isinstance(features, Tensor) or not isinstance(labels, Tensor):
        raise ConfigError(
            f"{loader} must yield tensors, got ({type(features).__name__}, {type(labels).__name__})"
        )
    return features, labels


def _default_loss(labels: Tensor) -> nn.Module:
    """Cross entropy for integer class labels, mean squared error otherwise."""
    if labels.is_floating_point():
        return nn.MSELoss()
    return nn.CrossEntropyLoss()


def _loss_name(loss: Callable[..., Tensor]) -> str:
    return type(loss).__name__ if isinstance(loss, nn.Module) else getattr(loss, "__name__", "loss")


def _first_loss(loss: LossFn | None, output: Tensor, labels: Tensor) -> tuple[LossFn, Tensor]:
    """Pick the loss if none was given and compute it, naming both shapes if they do not fit."""
    if not isinstance(output, Tensor):
        raise ConfigError(f"the model must return a tensor, got {type(output).__name__}")
    shapes = f"model output shape {tuple(output.shape)} and labels shape {tuple(labels.shape)}"
    if output.ndim == 0 or labels.ndim == 0 or output.shape[0] != labels.shape[0]:
        raise ConfigError(f"{shapes} do not match in the batch dimension")
    if labels.is_floating_point() and output.shape != labels.shape:
        raise ConfigError(
            f"{shapes} differ; floating-point labels need the output's shape (reshape the "
            "labels or the model's output)"
        )
    loss = loss if loss is not None else _default_loss(labels)
    try:
        value = loss(output, labels)
    except (RuntimeError, ValueError, IndexError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise ConfigError(f"{shapes} do not fit loss {_loss_name(loss)}: {reason}") from exc
    if not isinstance(value, Tensor) or value.ndim != 0:
        raise ConfigError(
            f"loss {_loss_name(loss)} must return a 0-dim tensor (reduction='mean'), got "
            f"{'shape ' + str(tuple(value.shape)) if isinstance(value, Tensor) else type(value).__name__}"
        )
    return loss, value


def _lr(optimizer: torch.optim.Optimizer) -> float:
    value = optimizer.param_groups[0]["lr"]
    return value.item() if isinstance(value, Tensor) else float(value)


def _host_dtype(device: torch.device) -> torch.dtype:
    """The dtype values travel to the host in: float64, or float32 on MPS (which lacks it)."""
    return torch.float32 if device.type == "mps" else torch.float64


class _LossSum:
    """Sample-weighted loss sum and sample count, kept on the device.

    Both are tensors, so a distributed run can sum them over processes before dividing.
    """

    def __init__(self, device: torch.device) -> None:
        self.total = torch.zeros((), dtype=_host_dtype(device), device=device)
        self.count = torch.zeros((), dtype=torch.long, device=device)

    def add(self, loss: Tensor, samples: int) -> None:
        self.total += loss.detach() * samples
        self.count += samples

    def sum_over(self, parallel: DataParallel) -> None:
        """Replace the sum and count by their sums over the processes (one collective)."""
        both = parallel.sum_over_processes(
            torch.stack([self.total, self.count.to(self.total.dtype)])
        )
        self.total, self.count = both[0], both[1].to(torch.long)

    def mean(self) -> Tensor:
        return self.total / self.count


def _fresh(metric: Metric) -> Metric:
    """An independent copy of ``metric`` with empty states (same settings and device)."""
    copy = deepcopy(metric)
    copy.reset()
    return copy


@dataclass
class _Evaluation:
    """What a pass over a test loader leaves on the device (``count``: samples evaluated)."""

    mean_loss: Tensor
    count: Tensor
    scores: list[Tensor]
    outputs: list[Tensor]
    targets: list[Tensor]


@dataclass
class _TrainPass:
    """What a training pass gathers per batch: device tensors and host timings."""

    losses: list[Tensor] = field(default_factory=list)
    scores: list[Tensor] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)


@dataclass
class _HostValues:
    """An epoch's numbers after the single device-to-host transfer."""

    batch_losses: list[float]
    batch_scores: list[float] | None
    train_scores: list[float]
    test_loss: float | None
    test_scores: list[float]


def _to_host(
    train: _TrainPass,
    batch_losses: Tensor,
    train_scores: list[Tensor],
    evaluation: _Evaluation | None,
    dtype: torch.dtype,
) -> _HostValues:
    """Move every number of an epoch to the host in one transfer and split them up again."""
    parts = [batch_losses]
    if train.scores:
        parts.append(torch.stack(train.scores))
    parts += [score.reshape(1) for score in train_scores]
    if evaluation is not None:
        parts += [evaluation.mean_loss.reshape(1), *(s.reshape(1) for s in evaluation.scores)]
    values = torch.cat([part.to(dtype) for part in parts]).tolist()
    n, m = len(train.losses), len(train_scores)
    losses, values = values[:n], values[n:]
    scores: list[float] | None = None
    if train.scores:
        scores, values = values[: len(train.scores)], values[len(train.scores) :]
        for i in train.skipped:
            scores.insert(i, math.nan)
    return _HostValues(
        batch_losses=losses,
        batch_scores=scores,
        train_scores=values[:m],
        test_loss=values[m] if evaluation is not None else None,
        test_scores=values[m + 1 :],
    )


def _mean_loss(losses: Sequence[float], sizes: Sequence[int], skipped: Sequence[int]) -> float:
    """The epoch's training loss per sample, leaving out skipped batches."""
    left_out = set(skipped)
    kept = [(v, n) for i, (v, n) in enumerate(zip(losses, sizes, strict=True)) if i not in left_out]
    samples = sum(n for _, n in kept)
    return sum(v * n for v, n in kept) / samples if samples else math.nan


def _cat(parts: Sequence[Tensor]) -> Tensor | None:
    """``torch.cat(parts)``, or ``None`` for no parts (a process with no test batch)."""
    return torch.cat(list(parts)) if parts else None


def _scores(metrics: Sequence[Metric], parallel: DataParallel | None) -> list[Tensor]:
    """Every metric's value, over the states of all processes when training data-parallel."""
    if parallel is None:
        return [metric.compute() for metric in metrics]
    scores = []
    for metric in metrics:
        with metric.synced():
            scores.append(metric.compute())
    return scores


def _global_batch_losses(
    losses: Tensor, sizes: Sequence[int], parallel: DataParallel | None
) -> Tensor:
    """Each step's loss over the samples of all processes (the local losses without DDP)."""
    if parallel is None:
        return losses
    losses = losses.to(_host_dtype(losses.device))
    counts = torch.tensor(sizes, dtype=losses.dtype, device=losses.device)
    sums = parallel.sum_over_processes(torch.stack([losses * counts, counts]))
    return sums[0] / sums[1]


@dataclass
class _Run:
    """The per-run settings the training loop reads, resolved once before the first epoch.

    ``network`` is what trains: the model, or its DistributedDataParallel wrapper, which
    ``forward`` calls; ``evaluate`` calls the model itself, for the test passes.
    """

    network: nn.Module
    forward: _BatchForward
    evaluate: _BatchForward
    parallel: DataParallel | None
    train_rows: Tensor | None
    test_rows: Tensor | None
    step_scheduler: LRScheduler | None
    parameters: list[Tensor]
    display: TrainDisplay


def _check_finite(losses: Sequence[float], epoch: int, first: int = 0) -> None:
    """Raise :class:`TrainingError` at the first NaN or infinite batch loss."""
    for batch, value in enumerate(losses, start=first):
        if not math.isfinite(value):
            raise TrainingError(
                f"the loss became {value} at epoch {epoch}, batch {batch}; lower the learning "
                "rate, set grad_clip_norm, check the data, or pass nan_policy='skip'"
            )


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
    resume
        A checkpoint file or ``checkpoint_dir`` to continue from: :meth:`train` restores
        the model, optimizer, scheduler, history and random states and runs the remaining
        epochs up to ``n_epochs``.
    early_stopping
        Stop when ``monitor`` has not improved for this many epochs; or an
        :class:`~rpnkit.builtin.callbacks.EarlyStopping`, or a dict of its arguments.
    monitor
        The history column watched by ``ReduceLROnPlateau``, early stopping and the summary:
        ``"auto"`` is ``"test_loss"`` when a test pass runs, else ``"train_loss"``.
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
    >>> learner = BackwardLearner(
    ...     n_epochs=10,
    ...     optimizer_configs={"name": "adamw", "parameters": {"lr": 3e-3}},
    ...     early_stopping=3,
    ... )
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
        resume: str | os.PathLike[str] | None = None,
        early_stopping: int | EarlyStopping | Mapping[str, Any] | None = None,
        monitor: str = "auto",
        nan_policy: NanPolicy = "raise",
        seed: int | None = None,
        backend: Backend | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            valid = [p for p in inspect.signature(BackwardLearner).parameters if p != "kwargs"]
            key = sorted(kwargs)[0]
            raise ConfigError(
                f"BackwardLearner got an unknown argument {key!r}{did_you_mean(key, valid)}; "
                f"valid arguments: {', '.join(valid)}"
            )
        self.name = name
        self.n_epochs = _positive_int(n_epochs, "n_epochs")
        self.loss = self._build_loss(loss, loss_configs)
        self.optimizer = _resolve("optimizer", optimizer, optimizer_configs, "optimizer")
        self.lr_scheduler = _resolve(
            "lr_scheduler", lr_scheduler, lr_scheduler_configs, "lr_scheduler"
        )
        self._check_runtime_parameters()
        self.lr_scheduler_interval: Interval | None = _choice(
            lr_scheduler_interval, _INTERVALS, "lr_scheduler_interval", allow_none=True
        )
        if grad_clip_norm is not None and (
            isinstance(grad_clip_norm, bool)
            or not isinstance(grad_clip_norm, (int, float))
            or not grad_clip_norm > 0
        ):
            raise ConfigError(
                f"grad_clip_norm={grad_clip_norm!r} is not valid; expected a number > 0 or None"
            )
        self.grad_clip_norm = grad_clip_norm
        self.precision = check_precision(precision)
        self.verbose = bool(verbose)
        self.progress_every = _positive_int(progress_every, "progress_every")
        self.batch_scores = bool(batch_scores)
        self.checkpoint_dir = (
            Checkpointer(checkpoint_dir).directory if checkpoint_dir is not None else None
        )
        if resume is not None and not isinstance(resume, (str, os.PathLike)):
            raise ConfigError(
                f"resume must be a checkpoint path (str or os.PathLike), got {type(resume).__name__}"
            )
        self.resume = resume
        self.early_stopping = self._build_early_stopping(early_stopping)
        if not isinstance(monitor, str):
            raise ConfigError(f"monitor must be a history column name or 'auto', got {monitor!r}")
        self.monitor = monitor
        self.nan_policy: NanPolicy = _choice(nan_policy, _NAN_POLICIES, "nan_policy", False)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ConfigError(f"seed={seed!r} is not valid; expected an integer or None")
        self.seed = seed
        self.backend = check_backend(backend)

    def __repr__(self) -> str:
        return f"BackwardLearner(name={self.name!r}, n_epochs={self.n_epochs})"

    # -- construction helpers -----------------------------------------------------------------
    @staticmethod
    def _build_loss(loss: Any, configs: Any) -> LossFn | None:
        resolved = _resolve("loss", loss, configs, "loss")
        if isinstance(resolved, ComponentSpec):
            resolved = resolved.build()
        if resolved is not None and not callable(resolved):
            raise ConfigError(
                f"loss must be callable as loss(output, labels), got {type(resolved).__name__}"
            )
        return cast("LossFn | None", resolved)

    def _check_runtime_parameters(self) -> None:
        """Check the parameters of components built later, with what train() will add."""
        for spec, runtime in ((self.optimizer, "params"), (self.lr_scheduler, "optimizer")):
            if isinstance(spec, ComponentSpec):
                label = f"{spec.group} {getattr(spec.target, '__name__', spec.target)!r}"
                check_parameters(spec.target, {**spec.parameters, runtime: None}, label)

    @staticmethod
    def _build_early_stopping(value: object) -> EarlyStopping | None:
        if value is None or isinstance(value, EarlyStopping):
            return value
        if isinstance(value, Mapping):
            return EarlyStopping(**value)
        if isinstance(value, int) and not isinstance(value, bool):
            return EarlyStopping(patience=value)
        raise ConfigError(
            "early_stopping must be a patience (int), an EarlyStopping or a dict of its "
            f"arguments, got {type(value).__name__}"
        )

    # -- components of a run ------------------------------------------------------------------
    def _optimization(
        self, model: nn.Module, steps_per_epoch: int | None
    ) -> tuple[torch.optim.Optimizer, LRSchedulerLike | None, Interval]:
        """Build (or check) the optimizer and scheduler of a run, and the stepping interval."""
        parameters = [p for p in model.parameters() if p.requires_grad]
        if not parameters:
            raise ConfigError(
                "optimizer: the model has no trainable parameters (requires_grad=True), so "
                "there is nothing to optimise"
            )
        scheduler_spec = self.lr_scheduler
        optimizer_spec = self.optimizer
        if optimizer_spec is None and isinstance(scheduler_spec, (LRScheduler, ReduceLROnPlateau)):
            optimizer_spec = scheduler_spec.optimizer
        if optimizer_spec is None:
            optimizer_spec = _resolve("optimizer", DEFAULT_OPTIMIZER, None, "optimizer")
        optimizer = (
            optimizer_spec.build(params=parameters)
            if isinstance(optimizer_spec, ComponentSpec)
            else optimizer_spec
        )
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise ConfigError(
                "optimizer must be a torch.optim.Optimizer, a class, a registry name or a "
                f"config, got {type(optimizer).__name__}"
            )
        owned = {id(p) for p in model.parameters()}
        if not any(id(p) in owned for group in optimizer.param_groups for p in group["params"]):
            raise ConfigError(
                "optimizer holds none of the model's parameters (was it built for another "
                "model?); give its class or name instead to build it for this model"
            )
        scheduler = self._scheduler(scheduler_spec, optimizer, steps_per_epoch)
        interval = self.lr_scheduler_interval or (
            "step" if isinstance(scheduler, _STEP_SCHEDULERS) else "epoch"
        )
        if interval == "step" and isinstance(scheduler, ReduceLROnPlateau):
            raise ConfigError(
                "lr_scheduler_interval='step' does not fit ReduceLROnPlateau, which steps "
                "with the monitored value after every epoch; use 'epoch' or None"
            )
        return optimizer, scheduler, interval

    def _scheduler(
        self, spec: Any, optimizer: torch.optim.Optimizer, steps_per_epoch: int | None
    ) -> LRSchedulerLike | None:
        if spec is None:
            return None
        if isinstance(spec, ComponentSpec):
            runtime: dict[str, Any] = {"optimizer": optimizer}
            per_step = self.lr_scheduler_interval == "step" or (
                self.lr_scheduler_interval is None
                and inspect.isclass(spec.target)
                and issubclass(spec.target, _STEP_SCHEDULERS)
            )
            given = spec.parameters.keys() & {"total_steps", "epochs"}
            if spec.accepts("total_steps") and not given:
                runtime["total_steps"] = self.n_epochs * self._steps(per_step, steps_per_epoch)
            spec = spec.build(**runtime)
        if not isinstance(spec, (LRScheduler, ReduceLROnPlateau)):
            raise ConfigError(
                "lr_scheduler must be a torch lr scheduler, a class, a registry name or a "
                f"config, got {type(spec).__name__}"
            )
        if spec.optimizer is not optimizer:
            raise ConfigError(
                "lr_scheduler is bound to another optimizer than the one training the model; "
                "give the scheduler's class or name so it is built for this run's optimizer"
            )
        return spec

    @staticmethod
    def _steps(per_step: bool, steps_per_epoch: int | None) -> int:
        """Scheduler steps per epoch, for a scheduler built with ``total_steps`` left out."""
        if not per_step:
            return 1
        if steps_per_epoch is None:
            raise ConfigError(
                "lr_scheduler needs total_steps, which the learner cannot infer from a loader "
                "without a length; give it in the scheduler's parameters"
            )
        return steps_per_epoch

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
    ) -> TrainingRecord:
        """Train ``model`` for ``n_epochs`` epochs and return the training record.

        Every argument is checked before any work: a mistake raises a one-line
        :class:`~rpnkit.errors.ConfigError` naming the argument and what is valid.

        Launched by ``torchrun`` on several processes (or called after
        ``torch.distributed.init_process_group``), every process runs ``train`` with the same
        arguments and they train together: the model is wrapped in DistributedDataParallel,
        the training loader's ``batch_size`` is the global batch, split evenly over the
        processes, and the test passes are exact (see :mod:`rpnkit.learner.distributed`).
        Every process returns the same record, and only rank 0 shows progress and writes
        checkpoints.

        Parameters
        ----------
        model
            The model; called as ``model(x, device=device)`` when its ``forward`` takes a
            ``device`` argument (RPN models), else as ``model(x)``.
        data_loader
            ``{"train_loader": ..., "test_loader": ...}`` (a
            :class:`~rpnkit.data.bundle.DataBundle` works), or a single loader (no test
            pass). Loaders yield ``(features, labels)`` batches.
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
        started, clock = time.time(), time.perf_counter()
        context, run, checkpoint = self._prepare(
            model,
            data_loader,
            device,
            metric,
            test_check,
            disable_tqdm,
            display_step,
            train_idx,
            test_idx,
            strategy,
        )
        context.record["preparation"]["preparation_time_cost"] = time.time() - started
        with self._plugins_registered(context.is_main_process):
            try:
                self._run(context, run, checkpoint)
            finally:
                run.display.close()
        run.display.summary(
            context.history,
            time.perf_counter() - clock,
            context.monitor,
            context.mode(context.monitor) == "max",
            context.stop_reason,
        )
        return context.record

    def _prepare(
        self,
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
    ) -> tuple[TrainContext, _Run, dict[str, Any] | None]:
        """Check every argument, then build the run: context, loop settings and checkpoint."""
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        display_step = _positive_int(display_step, "display_step")
        strategy = check_strategy(strategy)
        train_loader, test_loader = _loaders(data_loader, test_check, test_idx)
        metrics = _resolve_metrics(metric)
        target, parallel = data_parallel(strategy, device, self.backend)
        if parallel is not None:
            if train_idx is not None or test_idx is not None:
                raise ConfigError(
                    "train_idx and test_idx (full-batch training) cannot be sharded over "
                    "processes; train them with strategy 'single'"
                )
            train_loader = parallel.shard_train_loader(train_loader, "data_loader['train_loader']")
            if test_loader is not None:
                test_loader = parallel.shard_test_loader(test_loader, "data_loader['test_loader']")
        train_rows = _rows(train_idx, target, "train_idx")
        test_rows = _rows(test_idx, target, "test_idx")
        checkpoint = load_checkpoint(self.resume) if self.resume is not None else None
        if self.seed is not None:
            _seed_everything(self.seed)
        model.to(target)
        for item in metrics:
            item.to(target)
        optimizer, scheduler, interval = self._optimization(model, _length(train_loader))
        precision = MixedPrecision.for_device(self.precision, target)
        monitor = self.monitor
        if monitor == "auto":
            monitor = "test_loss" if test_loader is not None else "train_loss"
        context = TrainContext(
            learner=self,
            model=model,
            optimizer=optimizer,
            lr_scheduler=scheduler,
            loss=self.loss,
            metrics=metrics,
            device=target,
            train_loader=train_loader,
            test_loader=test_loader,
            n_epochs=self.n_epochs,
            start_epoch=0,
            record=TrainingRecord(
                preparation={"preparation_time_cost": 0.0}, training={}, history=[]
            ),
            monitor=monitor,
            grad_scaler=precision.grad_scaler(),
            rank=launch_rank(),
            world_size=1 if parallel is None else parallel.world_size,
        )
        if checkpoint is not None:
            restore_training_state(context, checkpoint)
        # Wrapped after the restore: DDP copies rank 0's parameters to every process.
        network = model if parallel is None else parallel.wrap(model)
        evaluate = _BatchForward.of(model, target, precision)
        shows = self.verbose and context.is_main_process
        run = _Run(
            network=network,
            forward=evaluate if network is model else _BatchForward.of(network, target, precision),
            evaluate=evaluate,
            parallel=parallel,
            train_rows=train_rows,
            test_rows=test_rows,
            step_scheduler=cast(LRScheduler, scheduler) if interval == "step" else None,
            parameters=[p for p in model.parameters() if p.requires_grad],
            display=TrainDisplay(
                n_epochs=self.n_epochs,
                scores=bool(metrics),
                test=test_loader is not None,
                display_step=display_step,
                progress=shows and not disable_tqdm,
                table=shows,
                progress_every=self.progress_every,
            ),
        )
        return context, run, checkpoint

    @contextmanager
    def _plugins_registered(self, main: bool) -> Iterator[None]:
        """Register early stopping, and a checkpointer (from ``checkpoint_dir``) on the main
        process, for one run."""
        manager = get_plugin_manager()
        checkpointer = (
            Checkpointer(self.checkpoint_dir) if self.checkpoint_dir is not None and main else None
        )
        names = [
            manager.register(plugin, name=f"rpnkit.learner.{type(plugin).__name__}.{id(plugin):x}")
            for plugin in (self.early_stopping, checkpointer)
            if plugin is not None and not manager.is_registered(plugin)
        ]
        try:
            yield
        finally:
            for name in names:
                if name is not None:
                    manager.unregister(name=name)

    def _run(self, context: TrainContext, run: _Run, checkpoint: Mapping[str, Any] | None) -> None:
        """The epochs of one run, between the train-start and train-end hooks."""
        hook = get_plugin_manager().hook
        hook.rpnkit_train_start(context=context)
        if checkpoint is not None:
            # Last, so the next epoch draws exactly what it drew in the interrupted run.
            restore_rng_state(checkpoint["rng"], context.loaders)
        for epoch in range(context.start_epoch, self.n_epochs):
            context.epoch = epoch
            row = self._epoch(context, run)
            hook.rpnkit_epoch_end(context=context)
            if run.parallel is not None:
                # Every process stops together, whichever plugin asked for it.
                context.should_stop = run.parallel.any_true(context.should_stop)
            run.display.end_epoch(row, last=context.should_stop or epoch == self.n_epochs - 1)
            if context.should_stop:
                break
        hook.rpnkit_train_end(context=context)

    def _epoch(self, context: TrainContext, run: _Run) -> HistoryRow:
        """One training pass and test pass: record them, then step an epoch-wise scheduler."""
        wall_start, clock_start = time.time(), time.perf_counter()
        lr = _lr(context.optimizer)
        train = self._train_pass(context, run)
        batch_losses = _global_batch_losses(torch.stack(train.losses), train.sizes, run.parallel)
        train_scores = _scores(context.metrics, run.parallel)
        if run.parallel is not None:
            # Rank 0's batch-norm statistics (and other buffers): the model rank 0 saves.
            run.parallel.broadcast_buffers(context.model)
        train_end = time.time()
        evaluation = None
        if context.test_loader is not None:
            evaluation = self._evaluate(
                context.model,
                context.test_loader,
                forward=run.evaluate,
                loss=context.loss,
                metrics=context.metrics,
                rows=run.test_rows,
                collect=False,
                parallel=run.parallel,
            )
        host = _to_host(train, batch_losses, train_scores, evaluation, _host_dtype(context.device))
        if self.nan_policy == "raise":
            _check_finite(host.batch_losses, context.epoch)
        names = [metric.name for metric in context.metrics]
        entry = EpochRecord(
            start_time=wall_start,
            end_time=train_end,
            time_cost=train_end - wall_start,
            batch_records=batch_records(
                wall_start=wall_start,
                clock_start=clock_start,
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
        row = history_row(
            epoch=context.epoch,
            lr=lr,
            seconds=time.perf_counter() - clock_start,
            train_loss=_mean_loss(host.batch_losses, train.sizes, train.skipped),
            train_scores=dict(zip(names, host.train_scores, strict=True)),
            test_loss=host.test_loss,
            test_scores=dict(zip(names, host.test_scores, strict=True)) if evaluation else {},
        )
        context.record["training"][context.epoch] = entry
        context.history.append(row)
        if train.skipped:
            warnings.warn(
                f"nan_policy='skip' skipped {len(train.skipped)} batch(es) with a non-finite "
                f"loss in epoch {context.epoch}: batches {train.skipped}",
                RuntimeWarning,
                stacklevel=2,
            )
        if isinstance(context.lr_scheduler, ReduceLROnPlateau):
            context.lr_scheduler.step(row[context.monitor])
        elif context.lr_scheduler is not None and run.step_scheduler is None:
            context.lr_scheduler.step()
        return row

    def _train_pass(self, context: TrainContext, run: _Run) -> _TrainPass:
        """One pass over the training loader; nothing is read back from the device."""
        forward, rows, display, metrics = run.forward, run.train_rows, run.display, context.metrics
        batch_metric = _fresh(metrics[0]) if self.batch_scores and metrics else None
        skip_nan = self.nan_policy == "skip"
        passed = _TrainPass()
        run.network.train()
        if run.parallel is not None:
            run.parallel.set_epoch(context.train_loader, context.epoch)
        for metric in metrics:
            metric.reset()
        display.start_epoch(context.epoch, _length(context.train_loader))
        for step, batch in enumerate(context.train_loader):
            start = time.perf_counter()
            output, labels, context.loss, loss = forward(
                batch, step, rows, context.loss, "data_loader['train_loader']"
            )
            if skip_nan and not self._finite(loss, run.parallel):
                passed.skipped.append(step)
            else:
                self._optimizer_step(loss, context, run)
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
            if display.wants_refresh(step + 1):
                self._refresh(display, passed.losses, context, run.parallel is None)
        if not passed.losses:
            raise ConfigError(
                "data_loader['train_loader'] is empty: it yielded no batches; give it some data"
            )
        return passed

    @staticmethod
    def _finite(loss: Tensor, parallel: DataParallel | None) -> bool:
        """Whether the loss is finite (on every process under DDP, which skip together)."""
        finite = torch.isfinite(loss)
        return bool(finite.item()) if parallel is None else parallel.all_true(finite)

    def _optimizer_step(self, loss: Tensor, context: TrainContext, run: _Run) -> None:
        """Back-propagate ``loss`` and step the optimizer (scaled, clipped, scheduled)."""
        optimizer, scaler, clip = context.optimizer, context.grad_scaler, self.grad_clip_norm
        optimizer.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(run.parameters, clip)
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            if clip is not None:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(run.parameters, clip)
            scaler.step(optimizer)
            scaler.update()
        if run.step_scheduler is not None:
            run.step_scheduler.step()

    def _refresh(
        self, display: TrainDisplay, losses: list[Tensor], context: TrainContext, check: bool
    ) -> None:
        """Show the mean loss of the last steps on the bar: one small transfer per refresh.

        With ``check``, a non-finite loss raises here already; under DDP only the epoch's end
        checks, where every process sees the same losses and stops together.
        """
        window = torch.stack(losses[-self.progress_every :]).tolist()
        first = len(losses) - len(window)
        if check and self.nan_policy == "raise":
            _check_finite(window, context.epoch, first=first)
        finite = [value for value in window if math.isfinite(value)]
        running = sum(finite) / len(finite) if finite else math.nan
        display.refresh(len(losses), running, _lr(context.optimizer))

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
        start = time.perf_counter()
        if not isinstance(model, nn.Module):
            raise ConfigError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        _check_loader(test_loader, "test_loader")
        metrics = _resolve_metrics(metric)
        target, parallel = data_parallel(check_strategy(strategy), device, self.backend)
        if parallel is not None:
            if test_idx is not None:
                raise ConfigError(
                    "test_idx (full-batch evaluation) cannot be sharded over processes; "
                    "evaluate it with strategy 'single'"
                )
            test_loader = parallel.shard_test_loader(test_loader, "test_loader")
        model.to(target)
        for item in metrics:
            item.to(target)
        evaluation = self._evaluate(
            model,
            test_loader,
            forward=_BatchForward.of(
                model, target, MixedPrecision.for_device(self.precision, target)
            ),
            loss=self.loss,
            metrics=metrics,
            rows=_rows(test_idx, target, "test_idx"),
            collect=return_full_result,
            parallel=parallel,
        )
        parts = [evaluation.mean_loss.reshape(1), *evaluation.scores]
        test_loss, *scores = (
            torch.cat([p.reshape(1) for p in parts]).to(_host_dtype(target)).tolist()
        )
        names = [m.name for m in metrics]
        headline = scores[0] if metrics else None
        if not return_full_result:
            return TestResult(
                test_loss=test_loss, test_score=headline, time_cost=time.perf_counter() - start
            )
        if parallel is None:
            y_score, y_true = torch.cat(evaluation.outputs), torch.cat(evaluation.targets)
        else:
            size = int(evaluation.count)
            y_score = parallel.gather_rows(_cat(evaluation.outputs), size)
            y_true = parallel.gather_rows(_cat(evaluation.targets), size)
        predicts_classes = (
            y_score.is_floating_point() and y_score.ndim == 2 and y_score.shape[1] > 1
        )
        y_pred = y_score.argmax(dim=1) if predicts_classes else y_score
        return FullTestResult(
            y_pred=y_pred.tolist(),
            y_true=y_true.tolist(),
            y_score=y_score.tolist(),
            test_loss=test_loss,
            test_score=headline,
            time_cost=time.perf_counter() - start,
            metric_name=names[0] if names else None,
            test_scores=dict(zip(names, scores, strict=True)),
        )

    @staticmethod
    def _evaluate(
        model: nn.Module,
        loader: Iterable[Any],
        *,
        forward: _BatchForward,
        loss: LossFn | None,
        metrics: list[Metric],
        rows: Tensor | None,
        collect: bool,
        parallel: DataParallel | None,
    ) -> _Evaluation:
        """One pass over ``loader`` in eval mode; everything stays on the device.

        Under DDP the loss sum, the sample count and the metric states are summed over the
        processes, some of which may have had no batch.
        """
        model.eval()
        for item in metrics:
            item.reset()
        total = _LossSum(forward.device)
        outputs: list[Tensor] = []
        targets: list[Tensor] = []
        step = -1
        with torch.inference_mode():
            for step, batch in enumerate(loader):
                output, labels, loss, value = forward(batch, step, rows, loss, "test_loader")
                total.add(value, labels.shape[0])
                for item in metrics:
                    item.update(output, labels)
                if collect:
                    outputs.append(output)
                    targets.append(labels)
        if parallel is not None:
            total.sum_over(parallel)
        elif step < 0:
            raise ConfigError("test_loader is empty: it yielded no batches; give it some data")
        return _Evaluation(
            mean_loss=total.mean(),
            count=total.count,
            scores=_scores(metrics, parallel),
            outputs=outputs,
            targets=targets,
        )


#: tinybig's name for :class:`BackwardLearner`, for code written against the reference.
backward_learner = BackwardLearner
