"""Compressions that keep ``D = m``: identity, reciprocal and linear (RPN 1's expansions)."""

from __future__ import annotations

from rpnkit.rpn.compression.base import Compression
from rpnkit.rpn.expansion.basic import LinearExpansion, ReciprocalExpansion
from rpnkit.rpn.expansion.polynomial import IdentityExpansion

__all__ = ["IdentityCompression", "LinearCompression", "ReciprocalCompression"]


class IdentityCompression(Compression, IdentityExpansion):
    """Identity ``κ(x) = x`` (``D = m``), tinybig's ``identity_compression``.

    The same function as :class:`~rpnkit.rpn.expansion.IdentityExpansion` under the name
    tinybig gives it among the compressions.
    """


class ReciprocalCompression(Compression, ReciprocalExpansion):
    """Reciprocal ``κ(x) = 1 / x`` (``D = m``), tinybig's ``reciprocal_compression``.

    See :class:`~rpnkit.rpn.expansion.ReciprocalExpansion` (inputs of magnitude below
    ``1e-6`` are pushed to ``±1e-6`` first, as in tinybig).
    """


class LinearCompression(Compression, LinearExpansion):
    """Linear ``κ(x) = c x``, ``C_pre x`` or ``x C_post`` (``D = m``), tinybig's
    ``linear_compression``.

    See :class:`~rpnkit.rpn.expansion.LinearExpansion`.

    Differences from tinybig
    ------------------------
    tinybig multiplies ``pre_C`` with the batch from the left (mixing samples), against its
    own definition ``C_pre ∈ R^{m×m}``; this class applies ``C_pre`` to every sample.
    """

    tinybig_divergence = "pre_C is applied to each sample (C_pre x), not to the batch from the left"
