"""Hypernetwork reconciliation: the weight is the output of a small MLP of the parameters."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.rpn.reconciliation.base import Reconciliation

__all__ = ["HypernetReconciliation"]


class HypernetReconciliation(Reconciliation):
    """Hypernetwork reconciliation: ``ψ(w) = MLP(w).view(n, D)`` with ``l`` free parameters.

    The MLP is ``Linear(l, h) -> sigmoid -> Linear(h, n D)``, with weights and biases drawn from
    ``N(0, 1)`` at construction. With ``static=True`` they are frozen buffers (in the
    ``state_dict``, moved by ``.to()``, never trained); otherwise they are parameters.

    Parameters
    ----------
    n, D, enable_bias
        See :class:`Reconciliation`.
    l
        Number of parameters per channel (the MLP input size), >= 1.
    h
        Hidden size, >= 1.
    static
        Freeze the MLP.
    """

    hidden_weight: Tensor
    hidden_bias: Tensor
    output_weight: Tensor
    output_bias: Tensor

    def __init__(
        self,
        n: int,
        D: int,
        l: int = 64,  # noqa: E741
        h: int = 128,
        static: bool = True,
        *,
        enable_bias: bool = False,
    ) -> None:
        super().__init__(n, D, enable_bias=enable_bias)
        self.size = positive_int(l, "hypernet reconciliation l")
        self.h = positive_int(h, "hypernet reconciliation h")
        self.static = bool(static)
        tensors = {
            "hidden_weight": torch.randn(self.h, self.size),
            "hidden_bias": torch.randn(self.h),
            "output_weight": torch.randn(self.n * self.D, self.h),
            "output_bias": torch.randn(self.n * self.D),
        }
        for name, tensor in tensors.items():
            if self.static:
                self.register_buffer(name, tensor)
            else:
                self.register_parameter(name, nn.Parameter(tensor))

    @property
    def l(self) -> int:  # noqa: E743
        """The ``l`` given at construction."""
        return self.size

    def forward(self, w: Tensor) -> Tensor:
        """Return ``MLP(w)`` viewed as ``(..., n, D)``."""
        hidden = torch.sigmoid(nn.functional.linear(w, self.hidden_weight, self.hidden_bias))
        out = nn.functional.linear(hidden, self.output_weight, self.output_bias)
        return out.unflatten(-1, (self.n, self.D))

    def extra_repr(self) -> str:
        """Shape, hidden size and whether the MLP is frozen."""
        return f"{super().extra_repr()}, h={self.h}, static={self.static}"
