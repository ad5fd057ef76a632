"""The RPN head: ``y = out(fusion_c(A_iᵀ κ(x' A_a) ψ(w_c)ᵀ + b) + π(x'))`` with ``x' = in(x)``.

A head maps ``m`` input features to ``n`` outputs (or to the output size of its channel
fusion). Its expansion κ, reconciliation ψ, remainder π, channel fusion and the optional RPN 2
data interdependence functions (attribute ``A_a``, instance ``A_i``) are given by registry
name, config dict or instance, so third-party components work by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from rpnkit.checks import positive_int
from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component, check_sizes
from rpnkit.rpn.expansion import Expansion
from rpnkit.rpn.fusion import Fusion, MeanFusion
from rpnkit.rpn.head_interdependence import build_interdependence, interdependence_weight
from rpnkit.rpn.initialization import (
    DEFAULT_INIT_METHOD,
    check_init_method,
    init_bias_,
    init_weight_,
)
from rpnkit.rpn.interdependence.base import ATTRIBUTE, INSTANCE
from rpnkit.rpn.processing import ProcessingChain, ProcessingSpec
from rpnkit.rpn.reconciliation import Reconciliation
from rpnkit.rpn.remainder import LinearRemainder, Remainder, ZeroRemainder

__all__ = ["HEAD_KEYS", "RPNHead"]

#: The options of a head besides its sizes; a layer takes them too, and a layer's head
#: configs are mappings of them.
HEAD_KEYS = (
    "expansion",
    "reconciliation",
    "remainder",
    "channels",
    "channel_fusion",
    "postprocess",
    "input_process",
    "output_process",
    "parameters_init_method",
    "attribute_interdependence",
    "instance_interdependence",
    "batch_num",
)


class RPNHead(nn.Module):
    """One RPN head ``R^m -> R^n`` with ``C`` channels.

    For every channel ``c`` the weight is ``W_c = ψ(w_c) ∈ R^{n×D}`` (``w`` has shape
    ``(C, l)``); with ``x' = input_process(x)`` the output is

    ``y = output_process(fusion_c(κ(x') W_cᵀ + b) + π(x'))``,

    where the bias ``b ∈ R^n`` exists when the reconciliation has ``enable_bias`` and is shared
    by all channels, and is added inside every channel, as in tinybig. The channel fusion is
    the mean by default; its output size is :attr:`out_features`.

    When the channel fusion is a fixed linear combination ``Σ_c α_c o_c`` (the mean, the sum,
    a weighted sum: :meth:`Fusion.combination`), the product is computed from the factors
    the reconciliation offers (:meth:`Reconciliation.factorize`, ``W = A B``) and the
    projection the expansion offers (:meth:`Expansion.project`, ``κ(x) Bᵀ``): the channel sum
    is folded into one matrix product, a low-rank weight is never formed, and a Taylor
    expansion of order 2 is never materialised. Other channel fusions get the channel outputs
    one by one (still through the projection).

    With RPN 2's data interdependence functions (tinybig's ``module/base_head.py``) channel
    ``c`` computes ``A_i(x')ᵀ · κ(x' · A_a(x', w_a,c)) · W_cᵀ + b``: the attribute
    interdependence ``A_a ∈ R^{m×m'}`` mixes the features before the expansion (so
    ``D = κ.calculate_D(m')``), the instance interdependence ``A_i ∈ R^{b×b'}`` mixes the rows
    of the batch after it. Both are computed from the batch ``x'`` as it enters the head, and
    each has its own learnable values per channel, ``w_attribute_interdependence`` and
    ``w_instance_interdependence`` of shape ``(C, l)``, when it needs any. ``A_i`` is applied
    after the product with ``W_c`` (``Aᵀ(κ Wᵀ) = (Aᵀκ) Wᵀ``), on ``n`` columns instead of
    ``D``. Any interdependence that reads the data, and every instance interdependence,
    makes a row's output depend on the rest of its batch. Without either function the head
    computes exactly what it computes in RPN 1, through the same fused paths.

    Parameters are initialised by :meth:`reset_parameters` and are deterministic under
    :func:`torch.manual_seed`.

    Parameters
    ----------
    m
        Input size.
    n
        Output size of every channel.
    expansion
        κ: name, config dict or :class:`Expansion` instance (group ``expansion``).
    reconciliation
        ψ: name, config dict or :class:`Reconciliation` instance (group ``reconciliation``);
        built with ``n`` and ``D = κ.calculate_D(m)``.
    remainder
        π: name, config dict or :class:`Remainder` instance (group ``remainder``); built with
        ``m`` and ``n``.
    channels
        Number of channels ``C``, >= 1.
    channel_fusion
        How the channel outputs are fused: name, config dict or :class:`Fusion` instance
        (group ``fusion``), built with ``dims = [n] * C``. Default ``"mean"``.
    postprocess
        Processing steps for the expansion's output (e.g. ``["layer_norm"]``), passed to the
        expansion's constructor; not allowed with an expansion instance.
    input_process
        Processing steps for the head's input, applied before both the expansion and the
        remainder; they must keep the ``m`` features.
    output_process
        Processing steps for the head's output (e.g. ``["relu"]``).
    parameters_init_method
        How :meth:`reset_parameters` draws the parameters: one of
        :data:`~rpnkit.rpn.initialization.INIT_METHODS` (default ``"xavier_uniform"``).
    attribute_interdependence
        ``A_a``: name, config dict or :class:`~rpnkit.rpn.interdependence.Interdependence`
        instance (group ``interdependence``) of attribute type; a name or dict is built with
        ``m``, ``b = batch_num`` and ``interdependence_type="attribute"``. ``None``: none.
    instance_interdependence
        ``A_i``, likewise, of instance type (built with ``interdependence_type="instance"``).
    batch_num
        The batch size ``b`` the interdependence functions are built for (tinybig's
        ``batch_num``); needed by functions of a fixed ``b``, such as a parameterized
        instance interdependence.

    Raises
    ------
    ConfigError
        For invalid sizes, components, processing steps or initialisation method, an
        instance whose sizes do not match the head, or a channel fusion that changes the size
        while the remainder adds ``n`` outputs.
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
        *,
        channel_fusion: Any = "mean",
        input_process: ProcessingSpec | Sequence[ProcessingSpec] | None = None,
        parameters_init_method: str = DEFAULT_INIT_METHOD,
        attribute_interdependence: Any = None,
        instance_interdependence: Any = None,
        batch_num: int | None = None,
    ) -> None:
        super().__init__()
        self.m = positive_int(m, "m")
        self.batch_num = None if batch_num is None else positive_int(batch_num, "batch_num")
        self.n = positive_int(n, "n")
        self.channels = positive_int(channels, "channels")
        self.parameters_init_method = check_init_method(parameters_init_method)
        if postprocess is not None and isinstance(expansion, nn.Module):
            raise ConfigError(
                f"postprocess={postprocess!r} cannot be added to the already built expansion "
                f"{type(expansion).__name__}; pass postprocess to its constructor instead"
            )
        extra = {} if postprocess is None else {"postprocess": postprocess}
        self.input_process = ProcessingChain(input_process, field="input_process", features=self.m)
        self.attribute_interdependence = build_interdependence(
            attribute_interdependence, ATTRIBUTE, self.m, self.batch_num
        )
        self.instance_interdependence = build_interdependence(
            instance_interdependence, INSTANCE, self.m, self.batch_num
        )
        self.m_prime = self.m
        if self.attribute_interdependence is not None:
            m_prime = self.attribute_interdependence.calculate_m_prime(self.m)
            self.m_prime = positive_int(m_prime, "attribute_interdependence m'")
        self.expansion: Expansion = build_component(
            "expansion", expansion, Expansion, "expansion", **extra
        )
        self.D = self.expansion.calculate_D(self.m_prime)
        self.reconciliation: Reconciliation = build_component(
            "reconciliation", reconciliation, Reconciliation, "reconciliation", n=self.n, D=self.D
        )
        check_sizes(self.reconciliation, "reconciliation", "head", n=self.n, D=self.D)
        self.remainder: Remainder = build_component(
            "remainder", remainder, Remainder, "remainder", m=self.m, n=self.n
        )
        check_sizes(self.remainder, "remainder", "head", m=self.m, n=self.n)
        dims = (self.n,) * self.channels
        self.channel_fusion: Fusion = build_component(
            "fusion", channel_fusion, Fusion, "channel_fusion", dims=dims
        )
        check_sizes(self.channel_fusion, "channel_fusion", "head", dims=dims)
        self._out_features = self.channel_fusion.n
        # the plain mean keeps the exact arithmetic of a mean over channels
        self._mean = (
            type(self.channel_fusion) is MeanFusion
            and self.channel_fusion.combination(None) is not None
        )
        self._add_remainder = not isinstance(self.remainder, ZeroRemainder)
        if self._add_remainder and self.out_features != self.n:
            raise ConfigError(
                f"channel_fusion {type(self.channel_fusion).__name__} gives "
                f"{self.out_features} outputs, but the remainder {type(self.remainder).__name__} "
                f"adds n={self.n}; use a fusion that keeps the size, or remainder 'zero'"
            )
        self.w_attribute_interdependence = interdependence_weight(
            self.attribute_interdependence, self.channels
        )
        self.w_instance_interdependence = interdependence_weight(
            self.instance_interdependence, self.channels
        )
        self._interdependent = (
            self.attribute_interdependence is not None or self.instance_interdependence is not None
        )
        self.w = nn.Parameter(torch.empty(self.channels, self.reconciliation.l))
        self.bias = nn.Parameter(torch.empty(self.n)) if self.reconciliation.enable_bias else None
        fusion_l = self.channel_fusion.l
        self.w_channel_fusion = nn.Parameter(torch.empty(1, fusion_l)) if fusion_l else None
        self.output_process = ProcessingChain(
            output_process, field="output_process", features=self.out_features
        )
        self.reset_parameters()

    @property
    def out_features(self) -> int:
        """Output size: the channel fusion's (``n`` unless it changes the size)."""
        return self._out_features

    def reset_parameters(self) -> None:
        """Initialise every tensor with its own fans, by :attr:`parameters_init_method`.

        The tensors are tinybig's, drawn in tinybig's order (so a seeded draw gives tinybig's
        numbers): ``w`` of shape ``(C, l)``, a linear remainder's ``W_r`` ``(n, m)`` and the
        channel-fusion weight ``(1, l_f)`` are weights; the bias (kaiming fan ``l``) and the
        remainder's bias (fan ``m``) are biases; see :mod:`rpnkit.rpn.initialization`. Under
        the default ``xavier_uniform`` (tinybig's rule when it builds a model) ``w`` is drawn
        from U(±√(6/(l+C))) and the bias, as a ``(1, n)`` matrix, from U(±√(6/(1+n))). A
        remainder other than :class:`~rpnkit.rpn.remainder.LinearRemainder` re-initialises its
        own parameters (:meth:`Remainder.reset_parameters`).
        """
        method = self.parameters_init_method
        linear = self.remainder if isinstance(self.remainder, LinearRemainder) else None
        # (tensor, None) is a weight, (tensor, fan_in) a bias
        head: list[tuple[Tensor, int | None]] = [
            (tensor, None)
            for tensor in (self.w_attribute_interdependence, self.w_instance_interdependence)
            if tensor is not None
        ]
        head.append((self.w, None))
        bias: list[tuple[Tensor, int | None]] = []
        if self.bias is not None:
            bias.append((self.bias, self.reconciliation.l))
        remainder: list[tuple[Tensor, int | None]] = []
        remainder_bias: list[tuple[Tensor, int | None]] = []
        if linear is not None:
            remainder.append((linear.weight, None))
            if linear.bias is not None:
                remainder_bias.append((linear.bias, self.m))
        fusion: list[tuple[Tensor, int | None]] = []
        if self.w_channel_fusion is not None:
            fusion.append((self.w_channel_fusion, None))
        if method == "fanout_std_uniform":
            order = [*head, *bias, *remainder, *remainder_bias, *fusion]
        else:
            order = [*head, *remainder, *fusion, *bias, *remainder_bias]
        for tensor, fan_in in order:
            if fan_in is None:
                init_weight_(tensor, method, self.n)
            else:
                init_bias_(tensor, method, self.n, fan_in=fan_in)
        if linear is None:
            self.remainder.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        """Return the head output of shape ``(..., out_features)`` for ``x`` of shape ``(..., m)``."""
        if x.shape[-1] != self.m:
            raise ConfigError(
                f"head input has {x.shape[-1]} features (shape {tuple(x.shape)}); "
                f"expected m={self.m}"
            )
        flat = self.input_process(x.reshape(-1, self.m))
        if self._interdependent:
            return self._forward_interdependent(x, flat)
        if self._mean:
            out = self._combined_channels(flat, None)
        else:
            alpha = self.channel_fusion.combination(self.w_channel_fusion)
            if alpha is None:
                out = self._fused_channels(flat)
            else:
                out = self._combined_channels(flat, alpha.to(self.w.dtype))
        if self._add_remainder:
            out = out + self.remainder(flat)
        return self.output_process(out.reshape(*x.shape[:-1], self.out_features))

    def _combined_channels(self, flat: Tensor, alpha: Tensor | None) -> Tensor:
        """``Σ_c α_c (κ(x) W_cᵀ + b)`` as one product (the fast path); ``None``: the mean."""
        left, right = self.reconciliation.factorize(self.w)
        if left is None:
            if alpha is not None:
                weight = torch.tensordot(alpha, right, dims=1)
            else:
                weight = right.squeeze(0) if self.channels == 1 else right.mean(0)
            out = self.expansion.project(flat, weight)
        else:
            projected = self.expansion.project(flat, right)
            if alpha is not None:
                left = left * alpha.view(-1, 1, 1)
            out = torch.einsum("cbr,cnr->bn", projected, left)
            if alpha is None and self.channels > 1:
                out = out / self.channels
        if self.bias is not None:
            out = out + (self.bias if alpha is None else alpha.sum() * self.bias)
        return out

    def _fused_channels(self, flat: Tensor) -> Tensor:
        """``fusion(κ(x) W_1ᵀ + b, …, κ(x) W_Cᵀ + b)`` for a fusion that is not a sum."""
        left, right = self.reconciliation.factorize(self.w)
        projected = self.expansion.project(flat, right)
        outputs = projected if left is None else torch.einsum("cbr,cnr->cbn", projected, left)
        if self.bias is not None:
            outputs = outputs + self.bias
        return self.channel_fusion(list(outputs.unbind(0)), self.w_channel_fusion)

    def _forward_interdependent(self, x: Tensor, flat: Tensor) -> Tensor:
        """The RPN 2 head: every channel through its own interdependence values."""
        attribute, instance = self.attribute_interdependence, self.instance_interdependence
        w_a, w_i = self.w_attribute_interdependence, self.w_instance_interdependence
        left, right = self.reconciliation.factorize(self.w)
        shared = None
        if attribute is not None and w_a is None:
            shared = attribute(flat)  # the same x' A_a for every channel
        outputs = []
        for c in range(self.channels):
            if attribute is None:
                mixed = flat
            elif shared is not None:
                mixed = shared
            else:
                mixed = attribute(flat, None if w_a is None else w_a[c : c + 1])
            out = self.expansion.project(mixed, right[c])
            if left is not None:
                out = out @ left[c].transpose(0, 1)
            if instance is not None:
                out = instance(flat, None if w_i is None else w_i[c : c + 1], kappa_x=out)
            if self.bias is not None:
                out = out + self.bias
            outputs.append(out)
        if self.channels == 1 and self._mean:
            fused = outputs[0]
        else:
            fused = self.channel_fusion(outputs, self.w_channel_fusion)
        if self._add_remainder:
            if fused.shape[0] != flat.shape[0]:
                raise ConfigError(
                    f"instance_interdependence {type(instance).__name__} gives "
                    f"{fused.shape[0]} rows for a batch of {flat.shape[0]}, but the remainder "
                    f"{type(self.remainder).__name__} adds one per input row; use remainder "
                    "'zero' or an instance interdependence that keeps b"
                )
            fused = fused + self.remainder(flat)
        if fused.shape[0] == flat.shape[0]:
            fused = fused.reshape(*x.shape[:-1], self.out_features)
        return self.output_process(fused)

    def extra_repr(self) -> str:
        """Sizes, channel count and initialisation method."""
        return (
            f"m={self.m}, n={self.n}, D={self.D}, channels={self.channels}, "
            f"parameters_init_method={self.parameters_init_method!r}"
        )
