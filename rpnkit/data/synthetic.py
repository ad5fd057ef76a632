"""Function-approximation datasets: seeded samples of named functions of 1 to 4 variables.

The functions come from a fixed catalogue of Python callables (:data:`FUNCTIONS`); names are
looked up, never evaluated, so a config cannot run code. Names ignore case and spaces, and
``**`` may be written for ``^``: ``"sin(x1) + cos(x2)"`` finds ``"sin(x1)+cos(x2)"``.
A custom :class:`SyntheticFunction` can be passed instead of a name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TypeGuard

import torch
from torch import Tensor

from rpnkit.data.bundle import DataBundle
from rpnkit.data.memory import check_fits
from rpnkit.errors import ConfigError, did_you_mean

__all__ = [
    "FUNCTIONS",
    "SyntheticFunction",
    "function_names",
    "get_function",
    "synthetic_function",
]


@dataclass(frozen=True)
class SyntheticFunction:
    """A named scalar function of ``n_inputs`` variables, evaluated row-wise on tensors.

    Attributes
    ----------
    name
        Catalogue name, also the formula in plain text with variables ``x1 .. x4``.
    n_inputs
        Number of variables (columns of the input).
    fn
        Maps inputs of shape ``(n, n_inputs)`` to outputs of shape ``(n,)``.
    description
        One-line description.
    """

    name: str
    n_inputs: int
    fn: Callable[[Tensor], Tensor]
    description: str = ""

    def __call__(self, x: Tensor) -> Tensor:
        """Evaluate the function on every row of ``x``.

        Parameters
        ----------
        x
            Inputs of shape ``(n, n_inputs)``.

        Returns
        -------
        Tensor
            Outputs of shape ``(n,)``.

        Raises
        ------
        ConfigError
            If ``x`` does not have ``n_inputs`` columns.
        """
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ConfigError(
                f"function {self.name!r} takes inputs of shape (n, {self.n_inputs}), "
                f"got {tuple(x.shape)}"
            )
        return self.fn(x)


def _sin(x: Tensor) -> Tensor:
    return torch.sin(x[:, 0])


def _cos(x: Tensor) -> Tensor:
    return torch.cos(x[:, 0])


def _exp(x: Tensor) -> Tensor:
    return torch.exp(x[:, 0])


def _tanh(x: Tensor) -> Tensor:
    return torch.tanh(x[:, 0])


def _square(x: Tensor) -> Tensor:
    return x[:, 0] ** 2


def _polynomial(x: Tensor) -> Tensor:
    x1 = x[:, 0]
    return x1**3 - 2 * x1**2 + x1 + 1


def _gaussian(x: Tensor) -> Tensor:
    return torch.exp(-(x[:, 0] ** 2))


def _sinc(x: Tensor) -> Tensor:
    return torch.sinc(x[:, 0])


def _sin_pi(x: Tensor) -> Tensor:
    return torch.sin(math.pi * x[:, 0])


def _product_2(x: Tensor) -> Tensor:
    return x[:, 0] * x[:, 1]


def _squares_2(x: Tensor) -> Tensor:
    return x[:, 0] ** 2 + x[:, 1] ** 2


def _sin_plus_cos(x: Tensor) -> Tensor:
    return torch.sin(x[:, 0]) + torch.cos(x[:, 1])


def _sin_pi_times_cos_pi(x: Tensor) -> Tensor:
    return torch.sin(math.pi * x[:, 0]) * torch.cos(math.pi * x[:, 1])


def _kan_2d(x: Tensor) -> Tensor:
    return torch.exp(torch.sin(math.pi * x[:, 0]) + x[:, 1] ** 2)


def _product_3(x: Tensor) -> Tensor:
    return x[:, 0] * x[:, 1] * x[:, 2]


def _sin_plus_product(x: Tensor) -> Tensor:
    return torch.sin(x[:, 0]) + x[:, 1] * x[:, 2]


def _pairwise_products(x: Tensor) -> Tensor:
    return x[:, 0] * x[:, 1] + x[:, 2] * x[:, 3]


def _kan_4d(x: Tensor) -> Tensor:
    first = torch.sin(math.pi * (x[:, 0] ** 2 + x[:, 1] ** 2))
    second = torch.sin(math.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
    return torch.exp((first + second) / 2)


def _catalogue(*functions: SyntheticFunction) -> MappingProxyType[str, SyntheticFunction]:
    return MappingProxyType({f.name: f for f in functions})


#: The catalogue of named functions, keyed by name (a read-only mapping).
FUNCTIONS: MappingProxyType[str, SyntheticFunction] = _catalogue(
    SyntheticFunction("sin", 1, _sin, "sine of x1"),
    SyntheticFunction("cos", 1, _cos, "cosine of x1"),
    SyntheticFunction("exp", 1, _exp, "exponential of x1"),
    SyntheticFunction("tanh", 1, _tanh, "hyperbolic tangent of x1"),
    SyntheticFunction("x1^2", 1, _square, "square of x1"),
    SyntheticFunction("polynomial", 1, _polynomial, "cubic x1^3 - 2*x1^2 + x1 + 1"),
    SyntheticFunction("gaussian", 1, _gaussian, "bell curve exp(-x1^2)"),
    SyntheticFunction("sinc", 1, _sinc, "normalised sinc sin(pi*x1)/(pi*x1), 1 at x1=0"),
    SyntheticFunction("sin(pi*x1)", 1, _sin_pi, "one full sine period on [-1, 1]"),
    SyntheticFunction("x1*x2", 2, _product_2, "product of two variables"),
    SyntheticFunction("x1^2+x2^2", 2, _squares_2, "squared distance from the origin"),
    SyntheticFunction("sin(x1)+cos(x2)", 2, _sin_plus_cos, "separable sum"),
    SyntheticFunction(
        "sin(pi*x1)*cos(pi*x2)", 2, _sin_pi_times_cos_pi, "separable product of periodic terms"
    ),
    SyntheticFunction(
        "exp(sin(pi*x1)+x2^2)", 2, _kan_2d, "composite example of the KAN paper (Liu et al.)"
    ),
    SyntheticFunction("x1*x2*x3", 3, _product_3, "product of three variables"),
    SyntheticFunction("sin(x1)+x2*x3", 3, _sin_plus_product, "sine plus a product"),
    SyntheticFunction("x1*x2+x3*x4", 4, _pairwise_products, "sum of two products"),
    SyntheticFunction(
        "exp((sin(pi*(x1^2+x2^2))+sin(pi*(x3^2+x4^2)))/2)",
        4,
        _kan_4d,
        "four-variable composite example of the KAN paper (Liu et al.)",
    ),
)


def _key(name: str) -> str:
    return "".join(name.split()).lower().replace("**", "^")


_LOOKUP: dict[str, str] = {_key(name): name for name in FUNCTIONS}


def function_names() -> list[str]:
    """Names in the function catalogue, in catalogue order (by number of variables)."""
    return list(FUNCTIONS)


def get_function(name: str) -> SyntheticFunction:
    """Return the catalogue function called ``name`` (case and spaces ignored, ``**`` = ``^``).

    Parameters
    ----------
    name
        A catalogue name such as ``"sin"`` or ``"sin(x1)+cos(x2)"``.

    Returns
    -------
    SyntheticFunction
        The function.

    Raises
    ------
    ConfigError
        If no catalogue function has that name; the message suggests close matches and lists
        the valid names.
    """
    if not isinstance(name, str):
        raise ConfigError(f"function must be a catalogue name or a SyntheticFunction, got {name!r}")
    key = _key(name)
    if key in _LOOKUP:
        return FUNCTIONS[_LOOKUP[key]]
    raise ConfigError(
        f"function {name!r} is not in the synthetic function catalogue"
        f"{did_you_mean(key, FUNCTIONS)}; "
        f"valid names: {', '.join(map(repr, FUNCTIONS))}"
    )


def synthetic_function(
    *,
    function: str | SyntheticFunction = "sin",
    n_samples: int = 1000,
    noise: float = 0.0,
    input_range: Sequence[float] = (-1.0, 1.0),
    batch_size: int = 64,
    test_batch_size: int | None = None,
    test_size: float = 0.2,
    val_size: float | int = 0,
    seed: int = 0,
    standardize: bool = False,
    shuffle: bool = True,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> DataBundle:
    """Sample a function at seeded uniformly random inputs: a regression dataset.

    Inputs are drawn uniformly from ``input_range`` in every variable, targets are
    ``f(x) + noise * N(0, 1)``, and the samples are split as described in
    :meth:`DataBundle.from_tensors`. The same ``seed`` gives the same samples, split and
    batch order.

    Parameters
    ----------
    function
        A name from :func:`function_names` (e.g. ``"sin"``, ``"x1*x2"``,
        ``"exp(sin(pi*x1)+x2^2)"``) or a :class:`SyntheticFunction`.
    n_samples
        Total number of samples before the split, at least 2.
    noise
        Standard deviation of the Gaussian noise added to the targets, ``>= 0``.
    input_range
        ``(low, high)`` with ``low < high``: the interval every variable is drawn from.
    batch_size
        Training batch size, a positive integer.
    test_batch_size
        Test batch size; ``None`` uses ``batch_size``.
    test_size
        Fraction of the samples held out for testing, strictly between 0 and 1.
    val_size
        Validation samples taken from the training part: a fraction in ``[0, 1)`` or a
        count; ``0`` (the default) makes no validation split.
    seed
        Seeds the sampling, the noise, the split and the training shuffle order (a
        non-negative integer).
    standardize
        Standardise the inputs with the training split's statistics. Off by default: the
        inputs already lie in the known ``input_range`` and the targets are a formula of
        the raw inputs.
    shuffle
        Reshuffle the training split every epoch (seeded); the test split is never shuffled.
    num_workers
        Worker processes per loader; ``0`` loads in the main process.
    drop_last
        Drop the last incomplete training batch.
    pin_memory
        On a machine with CUDA, serve batches in page-locked memory (faster copies to the GPU).

    Returns
    -------
    DataBundle
        ``task="regression"``, ``in_features`` = the function's number of variables,
        ``out_features=1``; named after the function.

    Raises
    ------
    ConfigError
        If the function is unknown, a parameter is out of range, or ``n_samples`` would not
        fit in the machine's memory (checked before anything is allocated).
    """
    target = function if isinstance(function, SyntheticFunction) else get_function(function)
    label = target.name
    if not isinstance(n_samples, int) or isinstance(n_samples, bool) or n_samples < 2:
        raise ConfigError(
            f"dataset {label!r}: n_samples must be an integer >= 2, got {n_samples!r}"
        )
    if not _is_real(noise) or not math.isfinite(noise) or noise < 0:
        raise ConfigError(f"dataset {label!r}: noise must be a finite number >= 0, got {noise!r}")
    low, high = _check_range(label, input_range)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ConfigError(f"dataset {label!r}: seed must be a non-negative integer, got {seed!r}")

    # Sampling, the float64 copy the split standardises and the two float32 splits: about
    # 32 bytes per value at the peak, refused before a single sample is drawn.
    check_fits(
        label,
        f"n_samples={n_samples}",
        32.0 * n_samples * (target.n_inputs + 1),
        "lower n_samples",
    )
    generator = torch.Generator().manual_seed(seed)
    x = low + (high - low) * torch.rand(n_samples, target.n_inputs, generator=generator)
    y = target(x)
    if noise > 0:
        y = y + noise * torch.randn(y.shape, generator=generator)
    return DataBundle.from_tensors(
        x,
        y,
        name=label,
        task="regression",
        batch_size=batch_size,
        test_batch_size=test_batch_size,
        test_size=test_size,
        val_size=val_size,
        seed=seed,
        standardize=standardize,
        shuffle=shuffle,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
    )


def _is_real(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_range(label: str, input_range: object) -> tuple[float, float]:
    """Return ``input_range`` as ``(low, high)`` floats, or raise :class:`ConfigError`."""
    if (
        isinstance(input_range, Sequence)
        and not isinstance(input_range, str)
        and len(input_range) == 2
    ):
        low, high = input_range
        finite = _is_real(low) and _is_real(high) and math.isfinite(low) and math.isfinite(high)
        if finite and low < high:
            return float(low), float(high)
    raise ConfigError(
        f"dataset {label!r}: input_range must be two finite numbers [low, high] with "
        f"low < high, got {input_range!r}"
    )
