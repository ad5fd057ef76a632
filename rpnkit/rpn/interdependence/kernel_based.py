"""The :class:`KernelBasedInterdependence` base: ``A = kernel(x)``, a kernel between columns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from torch import Tensor

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn.interdependence.base import Interdependence

__all__ = ["Kernel", "KernelBasedInterdependence", "resolve_kernel"]

#: A kernel between the columns of a matrix: ``(n, k) -> (k, k)``.
Kernel = Callable[[Tensor], Tensor]


def resolve_kernel(value: object, names: Mapping[str, Kernel], field: str) -> Kernel:
    """Return ``value`` if it is a callable, or the kernel a registered name stands for.

    A string is only ever looked up in ``names``; it is never imported, so a config cannot
    run arbitrary code through a kernel.

    Raises
    ------
    ConfigError
        If ``value`` is neither a callable nor one of ``names``.
    """
    if isinstance(value, str):
        if value in names:
            return names[value]
        raise ConfigError(
            f"{field}={short_repr(value)} is not a known kernel{did_you_mean(value, names)}; "
            f"expected one of {', '.join(sorted(names))} (or a callable, from Python)"
        )
    if callable(value) and not isinstance(value, type):
        return value
    raise ConfigError(
        f"{field}={short_repr(value)} is not valid; expected a callable (from Python) or one of "
        f"{', '.join(sorted(names))}"
    )


class KernelBasedInterdependence(Interdependence):
    """Base of kernel interdependence functions: ``A[i, j] = kernel(x[:, i], x[:, j])``.

    For attribute type ``A`` is ``m × m`` (a kernel between the attributes, each a ``b``-vector
    over the batch); for instance type it is ``b × b`` (a kernel between the instances). ``A``
    follows the batch: its size is the batch's, not the ``b``/``m`` given at construction.

    Parameters
    ----------
    kernel
        A callable taking ``x`` of shape ``(n, k)`` and returning ``(k, k)`` (from Python), or
        the name of one of :attr:`named_kernels` (from a config).
    b, m, interdependence_type, require_data, require_parameters, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`.
    """

    #: Kernels a config may name.
    named_kernels: ClassVar[Mapping[str, Kernel]] = {}

    def __init__(
        self,
        kernel: object = None,
        *,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        require_data: bool | None = None,
        require_parameters: bool | None = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b,
            m=m,
            interdependence_type=interdependence_type,
            require_data=require_data,
            require_parameters=require_parameters,
            name=name,
            device=device,
        )
        self.kernel = resolve_kernel(kernel, self.named_kernels, "kernel")

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Return ``kernel(x)``, checking that it is ``k × k`` for ``k`` columns of ``x``."""
        x = self.check_x(x)
        A = self.kernel(x)
        k = x.shape[1]
        if not isinstance(A, Tensor) or A.ndim != 2 or A.shape[0] != k:
            shape = tuple(A.shape) if isinstance(A, Tensor) else type(A).__name__
            raise ConfigError(
                f"kernel={short_repr(self.kernel)} returned {shape} for x of shape "
                f"{tuple(x.shape)}; expected a ({k}, {k}) tensor"
            )
        return A
