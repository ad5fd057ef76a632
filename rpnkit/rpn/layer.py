"""The RPN layer: several independent heads on the same input, fused into one output."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError, RpnkitError, did_you_mean
from rpnkit.rpn._validation import allocation, build_component, check_sizes
from rpnkit.rpn.fusion import ConcatenationFusion, Fusion, MeanFusion, SumFusion
from rpnkit.rpn.head import HEAD_KEYS, RPNHead
from rpnkit.rpn.initialization import DEFAULT_INIT_METHOD, init_weight_
from rpnkit.rpn.processing import ProcessingSpec

__all__ = ["RPNLayer"]

HeadSpec = Mapping[str, Any] | RPNHead
"""One head of a layer: a mapping of :data:`~rpnkit.rpn.head.HEAD_KEYS`, or a built head."""


class RPNLayer(nn.Module):
    """Several independent :class:`RPNHead` modules ``R^m -> R^n`` fused into one output.

    Every head has its own parameters. Without ``heads``, the layer holds ``width`` heads
    built from the layer's head options (component instances are deep-copied for every head
    after the first). With ``heads``, a list of head configs, head ``i`` is built
    ``width_alloc[i]`` times; a config's missing keys take the layer's head options.

    The outputs are fused by ``fusion`` (group ``fusion``, built with the heads' output
    sizes as ``dims``): the elementwise ``"mean"`` by default (tinybig's), or e.g.
    ``"sum"``, ``"concatenation"`` (``"concat"``), ``"max"``, ``"parameterized_concatenation"``.
    Its output size is :attr:`out_features`. A fusion with learnable parameters gets them
    as ``w_head_fusion`` of shape ``(1, l)``, drawn from U(±1/√l) (``kaiming_uniform_`` with
    a = √5), which is what tinybig draws when it builds a model.

    Parameters
    ----------
    m
        Input size.
    n
        Output size of every head.
    expansion, reconciliation, remainder, channels, postprocess, output_process
        Head options, see :class:`RPNHead`.
    width
        Number of heads, >= 1. Default: 1 without ``heads``, else ``sum(width_alloc)``.
    fusion
        How the heads' outputs are fused: name, config dict or :class:`Fusion` instance.
    heads
        Head configs: mappings with keys from :data:`~rpnkit.rpn.head.HEAD_KEYS` (``m`` and
        ``n`` are the layer's), or built :class:`RPNHead` instances.
    width_alloc
        How many heads each entry of ``heads`` gives (tinybig's ``width_alloc``). Default:
        one each, or ``width`` copies of a single config.
    input_process, channel_fusion, parameters_init_method
        Head options, see :class:`RPNHead`.
    attribute_interdependence, instance_interdependence, batch_num
        RPN 2 head options (data interdependence functions), see :class:`RPNHead`; every
        head builds its own functions and learnable values.

    Raises
    ------
    ConfigError
        For an unknown fusion, invalid head options, or ``width``, ``width_alloc`` and
        ``heads`` that do not agree.
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
        width: int | None = None,
        fusion: Any = "mean",
        *,
        heads: Sequence[HeadSpec] | None = None,
        width_alloc: int | Sequence[int] | None = None,
        input_process: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        channel_fusion: Any = "mean",
        parameters_init_method: str = DEFAULT_INIT_METHOD,
        attribute_interdependence: Any = None,
        instance_interdependence: Any = None,
        batch_num: int | None = None,
    ) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.n = positive_int(n, "n")
        options: dict[str, Any] = {
            "expansion": expansion,
            "reconciliation": reconciliation,
            "remainder": remainder,
            "channels": channels,
            "channel_fusion": channel_fusion,
            "postprocess": postprocess,
            "input_process": input_process,
            "output_process": output_process,
            "parameters_init_method": parameters_init_method,
            "attribute_interdependence": attribute_interdependence,
            "instance_interdependence": instance_interdependence,
            "batch_num": batch_num,
        }
        self.heads = nn.ModuleList(self._build_heads(options, width, heads, width_alloc))
        dims = tuple(cast(RPNHead, head).out_features for head in self.heads)
        self.fusion: Fusion = build_component("fusion", fusion, Fusion, "fusion", dims=dims)
        check_sizes(self.fusion, "fusion", "layer", dims=dims)
        self._out_features = self.fusion.n
        fusion_l = self.fusion.l
        self.w_head_fusion = nn.Parameter(torch.empty(1, fusion_l)) if fusion_l else None
        self._single = self.width == 1 and _passes_one_through(self.fusion)
        self.reset_fusion_parameters()

    def _build_heads(
        self,
        options: dict[str, Any],
        width: int | None,
        heads: Sequence[HeadSpec] | None,
        width_alloc: int | Sequence[int] | None,
    ) -> list[RPNHead]:
        """Build the heads from the layer's options or from ``heads`` and ``width_alloc``."""
        if heads is None:
            if width_alloc is not None:
                raise ConfigError(
                    f"width_alloc={width_alloc!r} needs heads, a list of head configs; "
                    "use width alone for identical heads"
                )
            count = 1 if width is None else positive_int(width, "width")
            return [
                RPNHead(self.m, self.n, **(options if i == 0 else copy.deepcopy(options)))
                for i in range(count)
            ]
        if isinstance(heads, (str, bytes, Mapping)) or not isinstance(heads, Sequence):
            raise ConfigError(
                f"heads of type {type(heads).__name__} is not valid; expected a list of head configs"
            )
        counts = allocation(width, width_alloc, len(heads), "width", "width_alloc", "heads")
        built: list[RPNHead] = []
        for i, (spec, count) in enumerate(zip(heads, counts, strict=True)):
            for repeat in range(count):
                built.append(self._head(spec, options, f"heads[{i}]", copy_spec=repeat > 0))
        return built

    def _head(
        self, spec: HeadSpec, options: dict[str, Any], field: str, copy_spec: bool
    ) -> RPNHead:
        """Build one head from a config (missing keys from ``options``) or check an instance."""
        if isinstance(spec, RPNHead):
            if copy_spec:
                raise ConfigError(
                    f"{field} is a built RPNHead, which cannot be repeated by width_alloc; "
                    "give a head config instead"
                )
            if (spec.m, spec.n) != (self.m, self.n):
                raise ConfigError(
                    f"{field} maps m={spec.m} to n={spec.n}; the layer needs m={self.m}, n={self.n}"
                )
            return spec
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{field} is a {type(spec).__name__}; expected a mapping with keys "
                f"{', '.join(HEAD_KEYS)}, or an RPNHead"
            )
        for key in spec:
            if key in ("m", "n"):
                raise ConfigError(f"{field} sets {key!r}; the sizes of a head are the layer's")
            if key not in HEAD_KEYS:
                raise ConfigError(
                    f"{field} has unknown key {key!r}{did_you_mean(str(key), HEAD_KEYS)}; "
                    f"valid keys: {', '.join(HEAD_KEYS)}"
                )
        merged = {**options, **spec}
        try:
            return RPNHead(self.m, self.n, **(copy.deepcopy(merged) if copy_spec else merged))
        except RpnkitError as exc:
            raise type(exc)(f"{field}: {exc}") from exc

    @property
    def width(self) -> int:
        """Number of heads."""
        return len(self.heads)

    @property
    def out_features(self) -> int:
        """Output size: the fusion's, e.g. ``width * n`` for ``"concatenation"``, else ``n``."""
        return self._out_features

    def reset_fusion_parameters(self) -> None:
        """Draw the fusion's parameters, if any, from U(±1/√l)."""
        if self.w_head_fusion is not None:
            init_weight_(self.w_head_fusion, "kaiming_uniform", self.n)

    def reset_parameters(self) -> None:
        """Re-initialise every head (:meth:`RPNHead.reset_parameters`) and the fusion."""
        for head in self.heads:
            cast(RPNHead, head).reset_parameters()
        self.reset_fusion_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Return the fused head outputs, shape ``(..., out_features)``."""
        if self._single:
            return cast(RPNHead, self.heads[0])(x)
        return self.fusion([head(x) for head in self.heads], self.w_head_fusion)

    def extra_repr(self) -> str:
        """Sizes and width."""
        return f"m={self.m}, n={self.n}, width={self.width}, out_features={self.out_features}"


def _passes_one_through(fusion: Fusion) -> bool:
    """Whether ``fusion`` of a single input is that input (plain mean, sum, concatenation)."""
    plain = not len(fusion.preprocess) and not len(fusion.postprocess)
    return plain and type(fusion) in (MeanFusion, SumFusion, ConcatenationFusion)
