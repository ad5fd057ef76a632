"""The streaming :class:`Metric` base class: declared states, reset, device moves and sync.

A metric accumulates *states* (tensors) batch by batch with :meth:`Metric.update` and turns
them into a number with :meth:`Metric.compute`. Subclasses declare their states once with
:meth:`Metric.add_state`, naming how each one combines across processes; resetting, moving to
a device, checkpointing and distributed synchronisation then loop over that record, so a
subclass writes only ``update`` and ``compute``.

Both ``update`` and ``compute`` stay on the device: they never call ``.item()``, branch on a
tensor's value or index with a boolean mask, so a training loop can update metrics every batch
without waiting for the accelerator, and read the 0-dim results once per epoch.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import ClassVar, Literal, TypeVar, get_args

import numpy as np
import numpy.typing as npt
import torch
import torch.distributed as dist
from torch import Tensor

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["Metric", "Reduction"]

#: How a state combines across processes: summed, element-wise max or min, or concatenated
#: along its first dimension.
Reduction = Literal["sum", "max", "min", "cat"]
_REDUCTIONS: tuple[str, ...] = get_args(Reduction)
_MetricT = TypeVar("_MetricT", bound="Metric")


class Metric(ABC):
    """Base class of streaming metrics whose states are declared with :meth:`add_state`.

    States live on the device of the first :meth:`update` (inputs of later updates are moved
    there), or on the device given to :meth:`to`.

    Attributes
    ----------
    name
        Registry name of the metric, e.g. ``"accuracy"``.
    higher_is_better
        Whether a larger value means a better model (used by early stopping and checkpoints).

    Examples
    --------
    A metric counting samples::

        class Count(Metric):
            name = "count"
            higher_is_better = True
            total: Tensor

            def __init__(self) -> None:
                super().__init__()
                self.add_state("total", torch.zeros((), dtype=torch.long), reduce="sum")

            def update(self, y_score: Tensor, y_true: Tensor) -> None:
                (y_true,) = self._on_state_device(y_true)
                self.total += y_true.shape[0]

            def compute(self) -> Tensor:
                return self.total.float()
    """

    name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    #: Whether :meth:`compute` gives one number (a history column); the confusion matrix
    #: does not.
    scalar: ClassVar[bool] = True

    def __init__(self) -> None:
        self._defaults: dict[str, Tensor] = {}
        self._reductions: dict[str, Reduction] = {}
        self._device: torch.device | None = None

    # -- states ------------------------------------------------------------------------------
    def add_state(self, name: str, default: Tensor, reduce: Reduction) -> None:
        """Declare a state tensor, set it to ``default`` and record how it reduces.

        Parameters
        ----------
        name
            Attribute name of the state.
        default
            Value the state takes now and after every :meth:`reset`.
        reduce
            How the state combines across processes in :meth:`sync`: ``"sum"``, ``"max"``,
            ``"min"`` (element-wise) or ``"cat"`` (concatenated along dimension 0).

        Raises
        ------
        ConfigError
            If ``reduce`` is not one of the four reductions.
        """
        if reduce not in _REDUCTIONS:
            raise ConfigError(
                f"reduce={reduce!r} for state {name!r} is not valid"
                f"{did_you_mean(str(reduce), _REDUCTIONS)}; expected one of "
                f"{', '.join(map(repr, _REDUCTIONS))}"
            )
        self._defaults[name] = default.detach().clone()
        self._reductions[name] = reduce
        setattr(self, name, self._placed(default.detach().clone()))

    @property
    def device(self) -> torch.device:
        """The device the states live on (CPU until the first update or :meth:`to`)."""
        return torch.device("cpu") if self._device is None else self._device

    @property
    def _float_dtype(self) -> torch.dtype:
        """Dtype of floating states and results: float64, or float32 on ``mps``, which lacks it."""
        return torch.float32 if self.device.type == "mps" else torch.float64

    def reset(self) -> None:
        """Set every state back to its default, keeping the states' device."""
        for name, default in self._defaults.items():
            setattr(self, name, self._placed(default.clone()))

    def to(self: _MetricT, device: torch.device | str) -> _MetricT:
        """Move the states to ``device``; later updates accumulate there.

        Float64 states become float32 on Apple's ``mps`` device, which has no float64.

        Parameters
        ----------
        device
            Target device.

        Returns
        -------
        Metric
            ``self``.
        """
        self._device = torch.device(device)
        for name in self._reductions:
            setattr(self, name, self._placed(getattr(self, name)))
        return self

    def state_dict(self) -> dict[str, Tensor]:
        """Return the current states by name (the tensors themselves, not copies)."""
        return {name: getattr(self, name) for name in self._reductions}

    def load_state_dict(self, state: Mapping[str, Tensor]) -> None:
        """Replace the states with those of ``state``, moved to the states' device.

        Parameters
        ----------
        state
            A mapping as returned by :meth:`state_dict`.

        Raises
        ------
        ConfigError
            If the keys of ``state`` are not exactly this metric's states.
        """
        if set(state) != set(self._reductions):
            raise ConfigError(
                f"state keys {sorted(state)} do not match {type(self).__name__}'s states "
                f"{sorted(self._reductions)}"
            )
        for name, value in state.items():
            setattr(self, name, self._placed(value.detach().clone()))

    # -- the metric itself ---------------------------------------------------------------------
    @abstractmethod
    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        """Accumulate one batch of predictions ``y_score`` against targets ``y_true``."""

    @abstractmethod
    def compute(self) -> Tensor:
        """Return the metric over everything seen since the last reset.

        Returns
        -------
        Tensor
            A 0-dim float64 tensor (float32 on ``mps``) on the states' device; NaN when no
            sample was seen.
        """

    def evaluate(
        self,
        y_true: npt.ArrayLike | Tensor,
        y_pred: npt.ArrayLike | Tensor | None = None,
        *,
        y_score: npt.ArrayLike | Tensor | None = None,
    ) -> float:
        """Compute the metric on whole arrays at once, leaving this metric's states untouched.

        This is the tinybig-style API (``metric.evaluate(y_true=..., y_pred=...)``).

        Parameters
        ----------
        y_true
            Targets: a tensor, a NumPy array or nested Python lists.
        y_pred
            Predictions, in any form :meth:`update` accepts as ``y_score``.
        y_score
            Used when ``y_pred`` is not given.

        Returns
        -------
        float
            The metric value.

        Raises
        ------
        ConfigError
            If neither ``y_pred`` nor ``y_score`` is given, or an input is not numeric.
        """
        prediction = y_pred if y_pred is not None else y_score
        if prediction is None:
            raise ConfigError(
                f"{type(self).__name__}.evaluate() needs y_pred or y_score; got neither"
            )
        fresh = copy.deepcopy(self)
        fresh.reset()
        fresh.update(_as_tensor(prediction, "y_pred"), _as_tensor(y_true, "y_true"))
        return float(fresh.compute())

    # -- distributed ---------------------------------------------------------------------------
    def sync(self, group: dist.ProcessGroup | None = None) -> None:
        """Replace every state by its reduction over all processes of ``group``.

        A no-op unless :mod:`torch.distributed` is initialised with more than one process.
        Every process of the group must call it; it communicates and waits, so call it once per
        epoch, not per batch. States sized lazily by the data may differ in length between
        processes; they are padded with the reduction's identity first. With the NCCL backend
        the states must be on the process's GPU: call :meth:`to` first if a process may have
        seen no batch.

        Parameters
        ----------
        group
            Process group; the default group when ``None``.
        """
        if not (dist.is_available() and dist.is_initialized() and dist.get_world_size(group) > 1):
            return
        names = list(self._reductions)
        states = [getattr(self, name) for name in names]
        lengths = torch.tensor([s.shape[0] if s.ndim else 0 for s in states], device=self.device)
        dist.all_reduce(lengths, op=dist.ReduceOp.MAX, group=group)
        for name, state, length in zip(names, states, lengths.tolist(), strict=True):
            reduce = self._reductions[name]
            if reduce == "cat":
                setattr(self, name, _all_gather_cat(state, group))
                continue
            if state.ndim:
                state = _pad_rows(state, length, _identity(reduce, state.dtype))
            reduced = state.clone()
            dist.all_reduce(reduced, op=getattr(dist.ReduceOp, reduce.upper()), group=group)
            setattr(self, name, reduced)

    @contextmanager
    def synced(self: _MetricT, group: dist.ProcessGroup | None = None) -> Iterator[_MetricT]:
        """Sync the states for the duration of a ``with`` block, then restore the local ones.

        Use it to compute the global value while each process keeps accumulating its own
        states afterwards::

            with metric.synced():
                value = metric.compute()

        Parameters
        ----------
        group
            Process group; the default group when ``None``.

        Yields
        ------
        Metric
            ``self``, holding the synced states.
        """
        local = self.state_dict()
        self.sync(group)
        try:
            yield self
        finally:
            for name, value in local.items():
                setattr(self, name, value)

    # -- helpers for subclasses ----------------------------------------------------------------
    def _check_batch(self, y_score: Tensor, y_true: Tensor) -> None:
        """Raise unless ``y_score`` and ``y_true`` are at least 1-D with the same batch size."""
        if y_score.ndim == 0 or y_true.ndim == 0 or y_score.shape[0] != y_true.shape[0]:
            raise ConfigError(
                f"{type(self).__name__}.update got y_score of shape {tuple(y_score.shape)} and "
                f"y_true of shape {tuple(y_true.shape)}; both need the same batch size "
                "(first dimension)"
            )

    def _on_state_device(self, *tensors: Tensor) -> tuple[Tensor, ...]:
        """Adopt the device of ``tensors[0]`` if none is set yet; move ``tensors`` there."""
        if self._device is None:
            self.to(tensors[0].device)
        return tuple(t.detach().to(self.device) for t in tensors)

    def _grow(self, names: Iterable[str], length: int) -> None:
        """Zero-pad the ``"sum"`` states ``names`` along dimension 0 to at least ``length``."""
        for name in names:
            setattr(self, name, _pad_rows(getattr(self, name), length, 0))

    def _placed(self, tensor: Tensor) -> Tensor:
        """``tensor`` on the states' device, float64 becoming :attr:`_float_dtype`."""
        if self._device is None:
            return tensor
        if tensor.dtype == torch.float64:
            return tensor.to(self._device, self._float_dtype)
        return tensor.to(self._device)


def _identity(reduce: Reduction, dtype: torch.dtype) -> float | int:
    """The value that leaves ``reduce`` unchanged, used to pad states of unequal length."""
    if reduce == "sum":
        return 0
    if dtype.is_floating_point:
        return -math.inf if reduce == "max" else math.inf
    info = torch.iinfo(dtype)
    return info.min if reduce == "max" else info.max


def _pad_rows(state: Tensor, length: int, value: float | int) -> Tensor:
    """Return ``state`` padded with ``value`` along dimension 0 to at least ``length`` rows."""
    missing = length - state.shape[0]
    if missing <= 0:
        return state
    padding = state.new_full((missing, *state.shape[1:]), value)
    return torch.cat([state, padding])


def _all_gather_cat(state: Tensor, group: dist.ProcessGroup | None) -> Tensor:
    """Concatenate ``state`` of every process along dimension 0 (lengths may differ)."""
    world = dist.get_world_size(group)
    length = torch.tensor([state.shape[0]], device=state.device)
    lengths = [torch.empty_like(length) for _ in range(world)]
    dist.all_gather(lengths, length, group=group)
    sizes = [int(n) for n in torch.cat(lengths).tolist()]
    padded = _pad_rows(state, max(sizes), 0)
    gathered = [torch.empty_like(padded) for _ in range(world)]
    dist.all_gather(gathered, padded.contiguous(), group=group)
    return torch.cat([part[:size] for part, size in zip(gathered, sizes, strict=True)])


def _as_tensor(values: npt.ArrayLike | Tensor, argument: str) -> Tensor:
    """Turn a tensor, array or nested lists into a tensor, keeping NumPy's dtype choice."""
    if isinstance(values, Tensor):
        return values.detach()
    array = np.asarray(values)
    if array.dtype.kind not in "biuf":
        raise ConfigError(
            f"{argument} must hold numbers (bool, int or float); got a {array.dtype} array"
        )
    return torch.as_tensor(array)
