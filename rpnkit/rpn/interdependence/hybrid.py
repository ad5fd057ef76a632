"""The hybrid interdependence function: several interdependence functions fused into one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from torch import Tensor, nn

from rpnkit.checks import short_repr
from rpnkit.errors import ConfigError
from rpnkit.rpn._validation import build_component
from rpnkit.rpn.fusion import Fusion
from rpnkit.rpn.interdependence.base import Interdependence

__all__ = ["HybridInterdependence"]


class HybridInterdependence(Interdependence):
    """``A = fusion(A_1(x, w_1), …, A_k(x, w_k))``, each part of the same type and sizes.

    ``w`` is split into one segment per part (of its :meth:`calculate_l`, 0 for data-only parts)
    and a last one for the fusion when it has parameters. Sparse parts (graphs) are made dense
    before fusing.

    Differences from tinybig
    ------------------------
    For attribute type tinybig 0.2.1's ``calculate_m_prime`` raises ``TypeError``; here ``m'``
    is the fusion's output size for the parts' ``m'``.

    Parameters
    ----------
    interdependence_functions
        The parts as :class:`Interdependence` objects (from Python); they must have this
        function's type.
    interdependence_function_configs
        Or the parts as specs of the ``interdependence`` group (names or config dicts), built
        here with this function's ``b``, ``m`` and type.
    fusion_function
        The fusion: a :class:`~rpnkit.rpn.fusion.Fusion` built for the parts' ``d'``, or a spec of
        the ``fusion`` group (``"mean"``, ``"prod"``, a config dict).
    fusion_function_config
        Or the fusion as a spec (tinybig's keyword).
    b, m, interdependence_type, name, device
        As for :class:`~rpnkit.rpn.interdependence.base.Interdependence`.
    """

    tinybig_divergence: ClassVar[str | None] = (
        "hybrid_interdependence: attribute type works (tinybig 0.2.1's calculate_m_prime raises "
        "TypeError)"
    )

    def __init__(
        self,
        *,
        b: int | None = None,
        m: int | None = None,
        interdependence_type: str | None = None,
        interdependence_functions: Sequence[Interdependence] | None = None,
        interdependence_function_configs: Sequence[Any] | None = None,
        fusion_function: Any = None,
        fusion_function_config: Any = None,
        name: str | None = None,
        device: object = None,
    ) -> None:
        super().__init__(
            b=b, m=m, interdependence_type=interdependence_type, name=name, device=device
        )
        parts = self._parts(interdependence_functions, interdependence_function_configs)
        self.parts = nn.ModuleList(parts)
        self.functions: list[Interdependence] = parts
        self.require_data = any(p.require_data for p in parts)
        dims = [self._prime(p) for p in parts]
        spec = fusion_function if fusion_function is not None else fusion_function_config
        if spec is None:
            raise ConfigError(
                "fusion_function=None is not valid; expected a fusion (e.g. 'mean', 'prod', "
                "'sum') or a config dict of the fusion group"
            )
        self.fusion: Fusion = build_component("fusion", spec, Fusion, "fusion_function", dims=dims)
        if list(self.fusion.dims) != dims:
            raise ConfigError(
                f"fusion_function was built for dims={list(self.fusion.dims)}; the parts need "
                f"dims={dims}"
            )
        self.require_parameters = bool(self.calculate_l())

    def _parts(
        self, objects: Sequence[Interdependence] | None, configs: Sequence[Any] | None
    ) -> list[Interdependence]:
        if objects is not None:
            parts = list(objects)
            for i, part in enumerate(parts):
                if not isinstance(part, Interdependence):
                    raise ConfigError(
                        f"interdependence_functions[{i}]={short_repr(part)} is not valid; "
                        "expected an Interdependence"
                    )
                if part.interdependence_type != self.interdependence_type:
                    raise ConfigError(
                        f"interdependence_functions[{i}] is of {part.interdependence_type} type; "
                        f"expected {self.interdependence_type} type like the hybrid"
                    )
        elif configs is not None:
            parts = [
                build_component(
                    "interdependence",
                    spec,
                    Interdependence,
                    f"interdependence_function_configs[{i}]",
                    b=self.b,
                    m=self.m,
                    interdependence_type=self.interdependence_type,
                )
                for i, spec in enumerate(configs)
            ]
        else:
            parts = []
        if not parts:
            raise ConfigError(
                "interdependence_functions=None is not valid; expected a non-empty list of "
                "interdependence functions (or interdependence_function_configs)"
            )
        return parts

    def _prime(self, part: Interdependence) -> int:
        size = part.calculate_b_prime() if self.is_instance else part.calculate_m_prime()
        if size is None:
            field = "b" if self.is_instance else "m"
            raise ConfigError(
                f"{field}=None is not valid for {type(self).__name__}; expected an integer >= 1"
            )
        return size

    def segments(self) -> list[int]:
        """The parameter count of every part, then of the fusion."""
        return [part.calculate_l() for part in self.functions] + [self.fusion.l]

    def calculate_l(self) -> int:
        """Sum of the parts' and the fusion's parameter counts."""
        return sum(self.segments())

    def calculate_b_prime(self, b: int | None = None) -> int | None:
        """The fusion's output size for the parts' ``b'`` (instance type)."""
        if self.is_instance:
            return self.fusion.n
        return super().calculate_b_prime(b)

    def calculate_m_prime(self, m: int | None = None) -> int | None:
        """The fusion's output size for the parts' ``m'`` (attribute type)."""
        if self.is_attribute:
            return self.fusion.n
        return super().calculate_m_prime(m)

    def calculate_A(self, x: Tensor | None = None, w: Tensor | None = None) -> Tensor:
        """Fuse the parts' matrices, each computed with its segment of ``w``."""
        sizes = self.segments()
        pieces: list[Tensor | None] = [None] * len(sizes)
        if sum(sizes):
            pieces = list(self.check_w(w).split(sizes))
        matrices = []
        for part, piece in zip(self.functions, pieces, strict=False):
            A = part.calculate_A(x, piece if piece is not None and piece.numel() else None)
            matrices.append(A.to_dense() if A.is_sparse else A)
        fusion_w = pieces[-1]
        return self.fusion(
            matrices, fusion_w.unsqueeze(0) if self.fusion.l and fusion_w is not None else None
        )
