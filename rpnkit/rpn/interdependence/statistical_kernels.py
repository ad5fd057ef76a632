"""Statistical-kernel interdependence functions (5): ``A = K(x)`` for a statistical measure
``K`` between the columns of ``x`` (correlation, KL divergence, RV coefficient, mutual
information), computed in closed form by :mod:`.statistical_functions`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rpnkit.checks import choice
from rpnkit.rpn.interdependence import statistical_functions as sf
from rpnkit.rpn.interdependence.kernel_based import Kernel, KernelBasedInterdependence

__all__ = [
    "KLDivergenceInterdependence",
    "MutualInformationInterdependence",
    "PearsonCorrelationInterdependence",
    "RVCoefficientInterdependence",
    "StatisticalKernelBasedInterdependence",
]


class StatisticalKernelBasedInterdependence(KernelBasedInterdependence):
    """``A = kernel(x)`` for any statistical kernel between columns.

    ``kernel`` is a callable ``(n, k) -> (k, k)`` given from Python, or from a config one of
    the names in :data:`~rpnkit.rpn.interdependence.statistical_functions.STATISTICAL_KERNELS`;
    other keywords as for
    :class:`~rpnkit.rpn.interdependence.kernel_based.KernelBasedInterdependence`.
    """

    named_kernels: ClassVar[dict[str, Kernel]] = sf.STATISTICAL_KERNELS


class PearsonCorrelationInterdependence(StatisticalKernelBasedInterdependence):
    """Pearson correlation matrix of the columns (diagonal 1).

    Differences from tinybig
    ------------------------
    A constant column makes tinybig 0.2.1 divide 0 by 0 (NaN in its row and column); here it
    is uncorrelated with the others (0) and correlated with itself (1).
    """

    tinybig_divergence: ClassVar[str | None] = (
        "pearson_correlation: a constant column gives 0 (1 on the diagonal) where tinybig 0.2.1 "
        "gives NaN"
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(sf.pearson_correlation_kernel, **kwargs)


class KLDivergenceInterdependence(StatisticalKernelBasedInterdependence):
    """``A_ij = KL(p_i ‖ p_j)``, each column turned into a distribution by a softmax over the
    rows; computed with ``log_softmax`` and one matrix product (no ``b × m × m`` tensor)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(sf.kl_divergence_kernel, **kwargs)


class RVCoefficientInterdependence(StatisticalKernelBasedInterdependence):
    """RV coefficient of every pair of columns: ``ρ_ij²`` (diagonal 1).

    The RV coefficient ``tr(Σ_XY Σ_YX) / √(tr Σ_X² tr Σ_Y²)`` of two single variables is the
    squared correlation.

    Differences from tinybig
    ------------------------
    tinybig 0.2.1 documents this formula but its code computes ``clamp(ρ, 0, 1)`` with a zero
    diagonal. No published result uses this function, so by the project's rule rpnkit follows
    the definition; ``formula="tinybig"`` gives the code's numbers.

    Parameters
    ----------
    formula
        ``"definition"`` (default, ``ρ²``) or ``"tinybig"`` (``clamp(ρ, 0, 1)``, zero diagonal).
    """

    tinybig_divergence: ClassVar[str | None] = (
        "rv_coefficient: rpnkit computes the documented RV coefficient ρ² (diagonal 1); tinybig "
        "0.2.1's code gives clamp(ρ, 0, 1) with a zero diagonal (formula='tinybig' for that)"
    )

    def __init__(self, formula: str = "definition", **kwargs: Any) -> None:
        self.formula = choice(formula, ("definition", "tinybig"), "formula")
        kernel = (
            sf.rv_coefficient_kernel
            if formula == "definition"
            else sf.tinybig_rv_coefficient_kernel
        )
        super().__init__(kernel, **kwargs)


class MutualInformationInterdependence(StatisticalKernelBasedInterdependence):
    """Gaussian mutual information ``−½ log(1 − ρ_ij²)`` of every pair of columns, zero
    diagonal, with tinybig's clamps; from one covariance matrix (tinybig loops over pairs)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(sf.mutual_information_kernel, **kwargs)
