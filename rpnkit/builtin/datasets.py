"""Builtin plugin: the offline datasets of :mod:`rpnkit.data`, in the ``dataset`` group.

Targets are ``"module:attr"`` strings, so listing them imports neither torch nor
scikit-learn. Every entry is a factory returning a :class:`rpnkit.data.DataBundle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.registry import Registry

# (canonical name, target, aliases, summary)
DATASETS: tuple[tuple[str, str, tuple[str, ...], str], ...] = (
    ("digits", "rpnkit.data.tabular:digits", (),
     "Handwritten digits (scikit-learn): 1797 samples, 64 features, 10 classes"),
    ("iris", "rpnkit.data.tabular:iris", (),
     "Iris flowers (scikit-learn): 150 samples, 4 features, 3 classes"),
    ("wine", "rpnkit.data.tabular:wine", (),
     "Wine recognition (scikit-learn): 178 samples, 13 features, 3 classes"),
    ("breast_cancer", "rpnkit.data.tabular:breast_cancer", ("breast_cancer_wisconsin",),
     "Breast cancer Wisconsin (scikit-learn): 569 samples, 30 features, 2 classes"),
    ("function", "rpnkit.data.synthetic:synthetic_function", ("synthetic_function",),
     "Seeded samples of a named function of 1-4 variables (regression)"),
    ("elementary", "rpnkit.data.tinybig_functions:elementary", ("elementary_function",),
     "tinybig's 17 elementary functions of x + y, one per equation_index (regression)"),
    ("composite", "rpnkit.data.tinybig_functions:composite", ("composite_function",),
     "tinybig's 17 composite functions of x + y, one per equation_index (regression)"),
    ("feynman", "rpnkit.data.tinybig_functions:feynman", ("feynman_function",),
     "The 100 Feynman database equations, one per equation_index (regression)"),
    ("dimensionless_feynman", "rpnkit.data.tinybig_functions:dimensionless_feynman",
     ("dimensionless_feynman_function",),
     "27 dimensionless Feynman equations, one per equation_index (regression)"),
    ("label_regression", "rpnkit.tinybig.labels:label_regression", (),
     "A classification set whose labels are one float target (tinybig's tabular loaders)"),
)  # fmt: skip


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``dataset`` group."""
    registry.add_group("dataset", summary="Offline datasets returning train/test loaders")


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register every dataset of :data:`DATASETS`."""
    for name, target, aliases, summary in DATASETS:
        registry.register("dataset", name, target, summary=summary, aliases=aliases)
