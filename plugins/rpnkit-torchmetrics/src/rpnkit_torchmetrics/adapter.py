"""Adapters that run a torchmetrics metric behind rpnkit's streaming :class:`~rpnkit.metrics.Metric`.

An adapter owns one ``torchmetrics.Metric`` and forwards rpnkit's calls to it, so the learner
treats it like a builtin metric:

* :meth:`~TorchmetricsMetric.update` reshapes rpnkit's ``(y_score, y_true)`` into the inputs
  torchmetrics expects and updates the wrapped metric;
* :meth:`~TorchmetricsMetric.compute` returns the wrapped metric's value as a 0-dim float64
  tensor (float32 on ``mps``) on the states' device, NaN before any update;
* :meth:`~TorchmetricsMetric.reset`, :meth:`~TorchmetricsMetric.to`,
  :meth:`~TorchmetricsMetric.state_dict` and :meth:`~TorchmetricsMetric.load_state_dict` act on
  the wrapped metric's states;
* :meth:`~TorchmetricsMetric.sync` and :meth:`~TorchmetricsMetric.synced` reduce the states
  over processes with torchmetrics' own reductions (sums, concatenations, ...).

The wrapped metric is built with ``sync_on_compute=False`` and ``compute_with_cache=False``:
``compute`` is always local and fresh, and synchronisation happens only through rpnkit's
``sync``/``synced``, exactly once. torchmetrics' input checks (``validate_args=True``, its
default) read values from the device; pass ``validate_args=False`` to keep updates free of
host synchronisation on an accelerator.
"""

from __future__ import annotations

import inspect
import math
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar, TypeVar

import torch
import torch.distributed as dist
import torchmetrics
from torch import Tensor

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.metrics import Metric
from rpnkit_torchmetrics.catalog import CatalogEntry

__all__ = ["ClassificationAdapter", "RegressionAdapter", "TorchmetricsMetric"]

_AdapterT = TypeVar("_AdapterT", bound="TorchmetricsMetric")

#: torchmetrics options the adapter sets itself: rpnkit decides when states are synchronised.
_RESERVED = ("compute_with_cache", "dist_sync_on_step", "sync_on_compute")


def _one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def _as_tensor(state: Tensor | list[Tensor]) -> Tensor:
    """A torchmetrics state as one tensor: list states (``"cat"`` reductions) concatenated."""
    if isinstance(state, Tensor):
        return state
    return torch.cat(state) if state else torch.empty(0)


class TorchmetricsMetric(Metric):
    """Base of the adapters: an rpnkit metric whose states are a torchmetrics metric's.

    Subclasses say how inputs are prepared (``_prepare``) and which settings the first batch
    implies when the parameters leave them out (``_build_for``); the classes of
    :mod:`rpnkit_torchmetrics.metrics` then bind a catalog ``entry``, its ``name``,
    ``higher_is_better`` and the ``torchmetrics_class`` it names.

    Parameters
    ----------
    **parameters
        Keyword arguments of the torchmetrics class (``rpnkit show tm.NAME`` lists them).

    Raises
    ------
    ConfigError
        If a parameter is one the adapter sets itself (``sync_on_compute``,
        ``compute_with_cache``, ``dist_sync_on_step``), or torchmetrics rejects the parameters.

    Attributes
    ----------
    parameters
        The keyword arguments given, passed on to the torchmetrics class.
    """

    entry: ClassVar[CatalogEntry]
    torchmetrics_class: ClassVar[Callable[..., torchmetrics.Metric]]

    def __init__(self, **parameters: Any) -> None:
        super().__init__()
        reserved = sorted(set(parameters) & set(_RESERVED))
        if reserved:
            raise ConfigError(
                f"{self.name} does not take {', '.join(map(repr, reserved))}: the adapter "
                "computes locally and syncs states only through rpnkit's Metric.sync()/synced()"
            )
        self.parameters = dict(parameters)
        self._metric: torchmetrics.Metric | None = None
        self._seen = False

    # -- the wrapped metric -----------------------------------------------------------------
    def _build(self, **settings: Any) -> torchmetrics.Metric:
        """Build the wrapped metric from the parameters and ``settings`` on the states' device."""
        try:
            metric = self.torchmetrics_class(
                **self.parameters, **settings, sync_on_compute=False, compute_with_cache=False
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{self.name}: {_one_line(exc)}{self._suggestions()}") from exc
        self._metric = metric.to(self.device)
        return metric

    def _suggestions(self) -> str:
        """Close matches among the named parameters for parameters the class does not name."""
        named = [
            p.name
            for p in inspect.signature(type(self)).parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        return "".join(did_you_mean(key, named) for key in self.parameters if key not in named)

    def _named_parameter(self, name: str) -> bool:
        """Whether the torchmetrics class has a parameter ``name``."""
        return name in inspect.signature(type(self)).parameters

    @abstractmethod
    def _build_for(self, y_score: Tensor) -> torchmetrics.Metric:
        """Build the wrapped metric at the first update, with the settings ``y_score`` implies."""

    @abstractmethod
    def _prepare(self, y_score: Tensor, y_true: Tensor) -> tuple[Tensor, Tensor]:
        """Return torchmetrics' ``(preds, target)`` for a batch of rpnkit's inputs."""

    def _reduce(self, value: Tensor) -> Tensor:
        """Turn the wrapped metric's value into a 0-dim tensor, or raise."""
        if value.ndim:
            raise ConfigError(
                f"{self.name} computed a tensor of shape {tuple(value.shape)} but an rpnkit metric "
                "is one number; choose parameters that average it (e.g. average='macro')"
            )
        return value

    # -- rpnkit's Metric interface ------------------------------------------------------------
    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Update the wrapped metric with a batch of scores ``y_score`` and targets ``y_true``.

        Raises
        ------
        ConfigError
            If the batch sizes differ, or torchmetrics rejects the inputs.
        """
        self._check_batch(y_score, y_true)
        y_score, y_true = self._on_state_device(y_score, y_true)
        metric = self._metric if self._metric is not None else self._build_for(y_score)
        preds, target = self._prepare(y_score, y_true)
        try:
            metric.update(preds, target)
        except ValueError as exc:
            raise ConfigError(f"{self.name}.update: {_one_line(exc)}") from exc
        self._seen = True

    def compute(self) -> Tensor:
        """Return the metric as a 0-dim tensor on the states' device (NaN before any update).

        Raises
        ------
        ConfigError
            If the parameters make torchmetrics return several numbers (e.g.
            ``average='none'`` or ``t_test=True``).
        """
        if self._metric is None or not self._seen:
            return torch.full((), torch.nan, dtype=self._float_dtype, device=self.device)
        value = self._metric.compute()
        if not isinstance(value, Tensor):
            raise ConfigError(
                f"{self.name} computed a {type(value).__name__}, not a tensor, but an rpnkit "
                "metric is one number; leave out parameters that add results (e.g. t_test)"
            )
        return self._reduce(value).to(self._float_dtype)

    def reset(self) -> None:
        """Reset the wrapped metric's states, keeping its settings and device."""
        if self._metric is not None:
            self._metric.reset()
        self._seen = False

    def to(self: _AdapterT, device: torch.device | str) -> _AdapterT:
        """Move the wrapped metric to ``device``; later updates accumulate there.

        Returns
        -------
        TorchmetricsMetric
            ``self``.
        """
        super().to(device)
        if self._metric is not None:
            self._metric.to(self.device)
        return self

    def state_dict(self) -> dict[str, Tensor]:
        """Return the wrapped metric's states by name (empty before the metric is built).

        List states (concatenated across processes) are returned concatenated.
        """
        if self._metric is None:
            return {}
        return {name: _as_tensor(value) for name, value in self._metric.metric_state.items()}

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Replace the wrapped metric's states by those of ``state``, on the states' device.

        Raises
        ------
        ConfigError
            If the keys of ``state`` are not exactly the wrapped metric's states.
        """
        current = self._metric.metric_state if self._metric is not None else {}
        if set(state) != set(current):
            raise ConfigError(
                f"state keys {sorted(state)} do not match {self.name}'s states {sorted(current)}"
                + ("" if self._metric is not None else " (its first update has not built it yet)")
            )
        for name, value in state.items():
            value = value.detach().clone().to(self.device)
            if isinstance(current[name], list):
                setattr(self._metric, name, [value] if value.numel() else [])
            else:
                setattr(self._metric, name, value)

    def sync(self, group: dist.ProcessGroup | None = None) -> None:
        """Replace the states by their reduction over all processes of ``group``.

        torchmetrics gathers the states and reduces each one its own way. A no-op unless
        :mod:`torch.distributed` is initialised with more than one process; every process of the
        group must call it.

        Raises
        ------
        ConfigError
            If this process has not built the wrapped metric (no update yet and settings left
            to infer from the first batch).
        """
        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1):
            return
        if self._metric is None:
            raise ConfigError(
                f"{self.name} cannot sync before its first update, which infers its settings; "
                "pass them (task and num_classes, or num_outputs) to build it up front"
            )
        with self._metric.sync_context(process_group=group):
            reduced = self.state_dict()
        self.load_state_dict(reduced)
        self._seen = True

    @contextmanager
    def synced(self: _AdapterT, group: dist.ProcessGroup | None = None) -> Iterator[_AdapterT]:
        """Sync the states for the duration of a ``with`` block, then restore the local ones.

        Parameters
        ----------
        group
            Process group; the default group when ``None``.

        Yields
        ------
        TorchmetricsMetric
            ``self``, holding the synced states.
        """
        local, seen = self.state_dict(), self._seen
        self.sync(group)
        try:
            yield self
        finally:
            self.load_state_dict(local)
            self._seen = seen


class ClassificationAdapter(TorchmetricsMetric):
    """Adapter of a torchmetrics classification metric (``task`` = binary/multiclass/multilabel).

    Inputs, with ``b`` the batch size:

    * multiclass: ``y_score`` of shape ``(b, C)`` holds logits or probabilities (torchmetrics
      takes the arg-max, or applies softmax for ranking metrics such as AUROC), or class labels
      of shape ``(b,)``; ``y_true`` holds labels of shape ``(b,)`` or ``(b, 1)``, or one-hot rows
      of shape ``(b, C)``;
    * binary: ``y_score`` of shape ``(b,)`` or ``(b, 1)`` holds probabilities, or logits, to which
      torchmetrics applies a sigmoid when a value lies outside ``[0, 1]``; ``y_true`` holds 0/1;
    * multilabel: ``y_score`` and ``y_true`` of shape ``(b, L)``.

    The task and the number of classes come from the parameters when given (``num_classes``
    alone implies ``task="multiclass"``, ``num_labels`` alone ``task="multilabel"``); otherwise
    they are inferred from the first batch: floating ``y_score`` of shape ``(b, C)`` with
    ``C > 1`` means ``task="multiclass", num_classes=C``, of shape ``(b,)`` or ``(b, 1)`` means
    ``task="binary"``. Label predictions imply no class count: give ``num_classes`` with them.

    Attributes
    ----------
    task
        ``"binary"``, ``"multiclass"`` or ``"multilabel"``; ``None`` until the first batch
        when it is inferred.
    """

    def __init__(self, **parameters: Any) -> None:
        task = parameters.pop("task", None)
        super().__init__(**parameters)
        if task is None and parameters.get("num_classes") is not None:
            task = "multiclass"
        elif task is None and parameters.get("num_labels") is not None:
            task = "multilabel"
        self.task: str | None = task
        if task is not None and (task != "multiclass" or parameters.get("num_classes") is not None):
            self._build(task=task)

    def _build_for(self, y_score: Tensor) -> torchmetrics.Metric:
        """Build the wrapped metric with the task and class count implied by ``y_score``."""
        columns = y_score.shape[1] if y_score.ndim == 2 else 1
        if y_score.is_floating_point() and columns > 1:
            self.parameters.pop("num_classes", None)
            self.task = "multiclass"
            return self._build(task=self.task, num_classes=columns)
        if y_score.is_floating_point() and self.task is None:
            self.task = "binary"
            return self._build(task=self.task)
        raise ConfigError(
            f"{self.name} cannot infer num_classes from y_score of shape "
            f"{tuple(y_score.shape)} and dtype {y_score.dtype}; pass num_classes, or "
            "task='binary' for two classes"
        )

    def _prepare(self, y_score: Tensor, y_true: Tensor) -> tuple[Tensor, Tensor]:
        if self.task == "multilabel":
            return y_score, y_true.long()
        one_column = y_score.ndim == 2 and y_score.shape[1] == 1
        if self.task == "binary" and y_score.ndim > 1 and not one_column:
            raise ConfigError(
                f"{self.name}(task='binary') takes y_score of shape (b,) or (b, 1); got "
                f"{tuple(y_score.shape)} (use task='multiclass' for scores of shape (b, C))"
            )
        if one_column:
            y_score = y_score.reshape(-1)
        if y_true.ndim == 2 and y_true.shape[1] > 1:
            return y_score, y_true.argmax(dim=1)
        return y_score, y_true.reshape(-1).long()


class RegressionAdapter(TorchmetricsMetric):
    """Adapter of a torchmetrics regression metric.

    ``y_score`` and ``y_true`` have the same shape, ``(b,)`` for one output or ``(b, k)`` for
    ``k`` outputs (``(b, 1)`` and ``(b,)`` are interchangeable; further dimensions are flattened
    into outputs). One output is passed on as ``(b,)``, several as ``(b, k)``. Metrics that
    count outputs (a ``num_outputs`` parameter) take ``num_outputs=k`` from the first batch
    when it is not given. Per-output results are averaged uniformly, as rpnkit's builtin
    regression metrics do.
    """

    def __init__(self, **parameters: Any) -> None:
        super().__init__(**parameters)
        if not self._named_parameter("num_outputs") or parameters.get("num_outputs") is not None:
            self._build()

    def _build_for(self, y_score: Tensor) -> torchmetrics.Metric:
        """Build the wrapped metric with ``num_outputs`` set to the outputs of ``y_score``."""
        self.parameters.pop("num_outputs", None)
        return self._build(num_outputs=math.prod(y_score.shape[1:]))

    def _prepare(self, y_score: Tensor, y_true: Tensor) -> tuple[Tensor, Tensor]:
        batch = y_score.shape[0]
        preds, target = y_score.reshape(batch, -1), y_true.reshape(batch, -1)
        if preds.shape != target.shape:
            raise ConfigError(
                f"{self.name}.update got y_score of shape {tuple(y_score.shape)} and y_true of "
                f"shape {tuple(y_true.shape)}; they must have the same shape"
            )
        if preds.shape[1] == 1:
            preds, target = preds.reshape(-1), target.reshape(-1)
        if not preds.is_floating_point():
            preds = preds.to(torch.get_default_dtype())
        return preds, target.to(preds.dtype)

    def _reduce(self, value: Tensor) -> Tensor:
        return super()._reduce(value.mean() if value.ndim == 1 else value)
