"""The RPN layer: several independent heads on the same input, fused into one output."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.rpn._validation import positive_int
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.processing import ProcessingSpec

__all__ = ["FUSIONS", "RPNLayer"]

#: Ways to fuse the heads' outputs: elementwise mean (tinybig's default), sum, concatenation.
FUSIONS = ("mean", "sum", "concat")


class RPNLayer(nn.Module):
    """``width`` independent :class:`RPNHead` modules ``R^m -> R^n`` fused into one output.

    Every head is built from the same options but has its own parameters (component
    instances are deep-copied for every head after the first). The outputs are fused by their
    elementwise ``"mean"`` (tinybig's default), their ``"sum"``, or their ``"concat"``enation,
    which gives ``width * n`` outputs (:attr:`out_features`).

    Parameters
    ----------
    m
        Input size.
    n
        Output size of every head.
    expansion, reconciliation, remainder, channels, postprocess, output_process
        Head options, see :class:`RPNHead`.
    width
        Number of heads, >= 1.
    fusion
        One of :data:`FUSIONS`.

    Raises
    ------
    ConfigError
        For an unknown fusion or invalid head options.
    """

    def __init__(
        self,
        m: int,
        n: int,
        expansion: Any = "identity",
        reconciliation: Any = "identity",
        remainder: Any = "zero",
        channels: int = 1,
        postprocess: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        output_process: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        width: int = 1,
        fusion: str = "mean",
    ) -> None:
        super().__init__()
        width = positive_int(width, "width")
        if fusion not in FUSIONS:
            raise ConfigError(
                f"fusion={fusion!r} is not supported{did_you_mean(str(fusion), FUSIONS)}; "
                f"valid fusions: {', '.join(FUSIONS)}"
            )
        self.m = m
        self.n = n
        self.fusion = fusion
        options: dict[str, Any] = {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": remainder,
            "channels": channels,
            "postprocess": postprocess,
            "output_process": output_process,
        }
        self.heads = nn.ModuleList(
            RPNHead(m, n, **(options if i == 0 else copy.deepcopy(options))) for i in range(width)
        )

    @property
    def width(self) -> int:
        """Number of heads."""
        return len(self.heads)

    @property
    def out_features(self) -> int:
        """Output size: ``width * n`` for ``"concat"``, else ``n``."""
        return self.n * self.width if self.fusion == "concat" else self.n

    def forward(self, x: Tensor) -> Tensor:
        """Return the fused head outputs, shape ``(..., out_features)``."""
        outputs = [head(x) for head in self.heads]
        if len(outputs) == 1:
            return outputs[0]
        if self.fusion == "concat":
            return torch.cat(outputs, dim=-1)
        fused = torch.stack(outputs).sum(0)
        return fused / len(outputs) if self.fusion == "mean" else fused

    def extra_repr(self) -> str:
        """Sizes, width and fusion."""
        return f"m={self.m}, n={self.n}, width={self.width}, fusion={self.fusion!r}"
