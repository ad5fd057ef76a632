"""Basic expansions that keep ``D = m``: reciprocal and linear."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion.base import Expansion, Processing

#: Magnitude below which :class:`ReciprocalExpansion` replaces an input by ``±_TINY``.
_TINY = 1e-6

#: A constant given in a config: a number, a (nested) list of numbers or a tensor.
Constant = float | Sequence[float] | Sequence[Sequence[float]] | Tensor


class ReciprocalExpansion(Expansion):
    """Reciprocal ``κ(x) = 1 / x`` elementwise (``D = m``), kept finite near zero.

    Inputs in ``[0, 1e-6]`` are replaced by ``1e-6`` and inputs in ``[-1e-6, 0)`` by
    ``-1e-6`` before the division, as in tinybig, so ``|κ(x)| <= 10⁶``. Unlike tinybig, the
    caller's tensor is not modified.
    """

    def calculate_D(self, m: int) -> int:
        """Return ``m``."""
        return positive_int(m, "m")

    def expand(self, x: Tensor) -> Tensor:
        """Return ``1 / x`` with inputs of magnitude below ``1e-6`` pushed to ``±1e-6``."""
        safe = torch.where(x >= 0, x.clamp(min=_TINY), x.clamp(max=-_TINY))
        return torch.reciprocal(safe)


class LinearExpansion(Expansion):
    """Linear ``κ(x) = c x``, ``κ(x) = C_pre x`` or ``κ(x) = x C_post`` (``D = m``).

    At most one of ``c``, ``pre_C`` and ``post_C`` may be given; with none, ``κ(x) = x``.
    ``x`` is a feature vector, so for a batch of rows ``C_pre x`` is ``x C_preᵀ``. tinybig's
    code instead multiplies ``pre_C`` with the batch from the left (it asserts
    ``pre_C.size(-1) == x.size(0)``, mixing samples), which contradicts its own definition
    ``C_pre ∈ R^{m×m}``; this class follows the definition.

    With a matrix ``M`` (``C_post``, or ``C_preᵀ``), :meth:`project` uses
    ``(x M) Wᵀ = x (W Mᵀ)ᵀ`` when the weight has fewer rows than the batch: ``O(r m²)``
    instead of ``O(b m²)`` flops, which is what a low-rank head asks for.

    Parameters
    ----------
    c
        Scalar factor, or a tensor broadcastable to ``(m,)`` (one factor per feature).
    pre_C
        Matrix ``C_pre`` of shape ``(m, m)``.
    post_C
        Matrix ``C_post`` of shape ``(m, m)``.
    preprocess, postprocess
        See :class:`Expansion`.

    Raises
    ------
    ConfigError
        If more than one of ``c``, ``pre_C``, ``post_C`` is given, a value is not numeric or
        a matrix is not square.
    """

    c: Tensor | None
    matrix: Tensor | None

    def __init__(
        self,
        c: Constant | None = None,
        pre_C: Constant | None = None,
        post_C: Constant | None = None,
        *,
        preprocess: Processing = None,
        postprocess: Processing = None,
    ) -> None:
        super().__init__(preprocess=preprocess, postprocess=postprocess)
        given = [
            name for name, v in (("c", c), ("pre_C", pre_C), ("post_C", post_C)) if v is not None
        ]
        if len(given) > 1:
            raise ConfigError(
                f"linear expansion got {' and '.join(given)}; expected at most one of c, pre_C "
                "and post_C"
            )
        self.register_buffer("c", None if c is None else _tensor(c, "linear expansion c", 1))
        # C_pre x = x C_preᵀ: both matrices are stored as the right factor of x.
        matrix = post_C if pre_C is None else pre_C
        field = "linear expansion post_C" if pre_C is None else "linear expansion pre_C"
        right = None if matrix is None else _tensor(matrix, field, 2)
        if right is not None and (right.dim() != 2 or right.shape[0] != right.shape[1]):
            raise ConfigError(
                f"{field} has shape {tuple(right.shape)}; expected a square (m, m) matrix"
            )
        if right is not None and pre_C is not None:
            right = right.T.contiguous()
        self.register_buffer("matrix", right)
        self._field = field

    def calculate_D(self, m: int) -> int:
        """Return ``m`` (checked against the matrix or the per-feature factors)."""
        positive_int(m, "m")
        if self.matrix is not None and self.matrix.shape[0] != m:
            raise ConfigError(
                f"{self._field} has shape {tuple(self.matrix.shape)}, but the input has m={m} "
                f"features; expected ({m}, {m})"
            )
        if self.c is not None and self.c.dim() == 1 and self.c.numel() not in (1, m):
            raise ConfigError(
                f"linear expansion c has {self.c.numel()} factors, but the input has m={m} "
                "features; expected a scalar or one factor per feature"
            )
        return m

    def expand(self, x: Tensor) -> Tensor:
        """Return ``c x``, ``x C_preᵀ``, ``x C_post`` or ``x``."""
        if self.c is not None:
            return self.c.to(x.dtype) * x
        if self.matrix is not None:
            return x @ self.matrix.to(x.dtype)
        return x

    def project(self, x: Tensor, weight: Tensor) -> Tensor:
        """Return ``κ(x) @ weightᵀ``; with a matrix and few weight rows, as ``x (W Mᵀ)ᵀ``."""
        rows = weight.numel() // max(weight.shape[-1], 1)
        if self.matrix is None or len(self.postprocess) or rows >= x.shape[0]:
            return super().project(x, weight)
        folded = torch.matmul(weight, self.matrix.to(weight.dtype).T)
        return torch.matmul(self.preprocess(x), folded.transpose(-1, -2))


def _tensor(value: Constant, field: str, max_dim: int) -> Tensor:
    """Return ``value`` as a floating tensor of at most ``max_dim`` dimensions."""
    if isinstance(value, bool):
        raise ConfigError(f"{field}={value!r} is not valid; expected a number or a tensor")
    try:
        tensor = torch.as_tensor(value)
    except (TypeError, ValueError, RuntimeError):
        raise ConfigError(
            f"{field} of type {type(value).__name__} is not valid; expected numbers or a tensor"
        ) from None
    if tensor.dim() > max_dim or tensor.is_complex() or tensor.dtype == torch.bool:
        raise ConfigError(
            f"{field} has shape {tuple(tensor.shape)} and dtype {tensor.dtype}; expected a real "
            f"tensor of at most {max_dim} dimension(s)"
        )
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    return tensor.clone()
