"""Processing steps: small tensor-to-tensor functions applied before or after an RPN stage.

A processing specification is a list whose entries are

* the name of a function in :mod:`torch.nn.functional` (``"relu"``, ``"layer_norm"``, ...),
* an :class:`torch.nn.Module` instance (``torch.nn.Dropout(0.1)``), registered as a submodule so
  that it is trained, moved by ``.to()`` and switched by ``.eval()``,
* or any other callable mapping a tensor to a tensor.

Functions that need a shape or a dimension are applied over the last (feature) dimension:
``layer_norm`` normalises it without affine parameters (``eps=1e-5``), and ``softmax``,
``log_softmax`` and ``softmin`` reduce over it. Functions with a ``training`` argument
(``dropout``, ``alpha_dropout``, ``rrelu``, ...) follow the module's mode: they are active after
``.train()`` and inactive after ``.eval()``, like their :mod:`torch.nn` modules.

The name ``"batch_norm"`` is a :class:`torch.nn.BatchNorm1d` over the features (with running
statistics and a learnable scale and shift, normalising with the batch's statistics after
``.train()`` and with the running ones after ``.eval()``); it needs the number of features,
which heads give their chains.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import torch.nn.functional as F
from torch import Tensor, nn

from rpnkit.errors import ConfigError, did_you_mean

__all__ = ["Functional", "ProcessingChain", "ProcessingSpec"]

ProcessingSpec = str | nn.Module | Callable[[Tensor], Tensor]
"""One processing step: a :mod:`torch.nn.functional` name, a module or a callable."""

_LAST_DIM_REDUCTIONS = frozenset({"softmax", "log_softmax", "softmin"})


def _functional_names() -> list[str]:
    """Public function names of :mod:`torch.nn.functional`."""
    return sorted(
        name
        for name, value in vars(F).items()
        if not name.startswith("_") and callable(value) and not inspect.isclass(value)
    )


class Functional(nn.Module):
    """A function of :mod:`torch.nn.functional`, or another plain callable, as a module.

    Parameters
    ----------
    function
        The callable to apply.
    name
        The :mod:`torch.nn.functional` name of ``function``, or ``None`` for other callables.
        Named functions that need a normalised shape or a dimension get the last dimension.
    """

    def __init__(self, function: Callable[..., Tensor], name: str | None = None) -> None:
        super().__init__()
        self.function = function
        self.name = name
        self.follows_mode = name is not None and _takes_training(function)

    def forward(self, x: Tensor) -> Tensor:
        """Apply the function to ``x`` (with ``training=self.training`` if it takes it)."""
        if self.name == "layer_norm":
            return F.layer_norm(x, x.shape[-1:])
        if self.name in _LAST_DIM_REDUCTIONS:
            if _few_columns(x):  # the same reduction over the transposed rows (see there)
                return self.function(x.t(), dim=0).t()
            return self.function(x, dim=-1)
        if self.follows_mode:
            return self.function(x, training=self.training)
        return self.function(x)

    def extra_repr(self) -> str:
        """Name of the wrapped function."""
        return self.name or str(getattr(self.function, "__qualname__", repr(self.function)))


#: A last dimension this short is reduced faster across the transposed rows on CPU.
_NARROW = 16
#: ... when the tensor holds at least this many values.
_NARROW_MIN_NUMEL = 4096


def _few_columns(x: Tensor) -> bool:
    """Whether ``x`` is a CPU matrix of many rows and fewer than 16 columns.

    torch's CPU softmax kernels vectorise along the reduced dimension, which fewer columns
    than a vector register cannot fill (``log_softmax`` of ``(2000, 4)``: ~5x slower than
    over dim 0 of its transpose, whose kernel vectorises across the rows). The result is
    the same reduction, returned as a transposed view.
    """
    return (
        x.ndim == 2
        and x.device.type == "cpu"
        and x.shape[1] < _NARROW
        and x.numel() >= _NARROW_MIN_NUMEL
    )


def _takes_training(function: Callable[..., Tensor]) -> bool:
    """Whether ``function`` has a ``training`` argument (dropout and its kind)."""
    try:
        return "training" in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


#: Step names that are :mod:`torch.nn` modules with state, built for the chain's features.
BATCH_NORM = "batch_norm"


def _to_module(spec: ProcessingSpec, field: str, features: int | None = None) -> nn.Module:
    """Turn one processing specification into a module."""
    if isinstance(spec, nn.Module):
        return spec
    if spec == BATCH_NORM:
        if features is None:
            raise ConfigError(
                f"{field}: {BATCH_NORM!r} needs the number of features it normalises, which "
                "only a head's input_process and output_process know; pass a "
                "torch.nn.BatchNorm1d(num_features) instance here"
            )
        return nn.BatchNorm1d(features)
    if isinstance(spec, str):
        function = getattr(F, spec, None)
        if (
            spec.startswith("_")
            or not callable(function)
            or inspect.isclass(function)
            or inspect.ismodule(function)
        ):
            raise ConfigError(
                f"{field}: unknown function {spec!r}; expected a torch.nn.functional name such as "
                f"'relu' or 'layer_norm'{did_you_mean(spec, _functional_names())}"
            )
        return Functional(function, spec)
    if isinstance(spec, type):
        raise ConfigError(
            f"{field}: got the class {spec.__qualname__}; pass an instance such as "
            f"{spec.__qualname__}(...) so that it is created once and registered"
        )
    if callable(spec):
        name = getattr(spec, "__name__", None)
        is_functional = name is not None and getattr(F, name, None) is spec
        return Functional(spec, name if is_functional else None)
    raise ConfigError(
        f"{field}: {spec!r} is not a processing step; expected a torch.nn.functional name, "
        "a torch.nn.Module or a callable"
    )


class ProcessingChain(nn.Sequential):
    """An ordered list of processing steps applied one after the other.

    Parameters
    ----------
    steps
        Processing specifications (see the module documentation); ``None`` or an empty list
        gives the identity. A single specification is accepted in place of a list.
    field
        Name of the configuration field the steps come from, used in error messages.
    features
        The number of features the steps see (the last dimension), for steps built with it
        (``"batch_norm"``); ``None`` when unknown.

    Raises
    ------
    ConfigError
        If a name is not a :mod:`torch.nn.functional` function or an entry is not callable.
    """

    def __init__(
        self,
        steps: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        field: str = "process",
        features: int | None = None,
    ) -> None:
        if steps is None:
            specs: list[ProcessingSpec] = []
        elif isinstance(steps, (str, nn.Module)) or not isinstance(steps, Sequence):
            specs = [steps]
        else:
            specs = list(steps)
        super().__init__(
            *(_to_module(spec, f"{field}[{i}]", features) for i, spec in enumerate(specs))
        )

    def is_layer_norm(self) -> bool:
        """Whether the chain is exactly one ``layer_norm`` over the last dimension."""
        return len(self) == 1 and isinstance(self[0], Functional) and self[0].name == "layer_norm"
