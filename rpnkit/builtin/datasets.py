"""Builtin plugin: the offline datasets of :mod:`rpnkit.data`, in the ``dataset`` group.

Targets are ``"module:attr"`` strings, so listing them imports neither torch nor
scikit-learn (nor pyarrow or torchvision). Every entry is a factory returning a
:class:`rpnkit.data.DataBundle`. An unregistered dotted path in this group must name a
``torch.utils.data.Dataset`` subclass (:func:`rpnkit.data.torch_datasets.from_path`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rpnkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rpnkit.components.registry import Registry

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
    ("csv", "rpnkit.data.csv_file:csv_dataset", (),
     "A CSV file with a header: a target column and numeric feature columns"),
    ("parquet", "rpnkit.data.parquet_file:parquet_dataset", (),
     "A Parquet file: a target column and numeric feature columns (extra: parquet)"),
    ("npz", "rpnkit.data.arrays:npz_dataset", ("npy",),
     "NumPy feature and label arrays (.npz or .npy files), memory-mapped"),
    ("torchvision", "rpnkit.data.vision:torchvision_dataset", (),
     "A torchvision.datasets class read from a local root, images flattened (extra: torchvision)"),
    ("torch_dataset", "rpnkit.data.torch_datasets:torch_dataset", (),
     "A torch.utils.data.Dataset class of your own, by dotted path"),
)  # fmt: skip


@hookimpl(tryfirst=True)
def rpnkit_add_groups(registry: Registry) -> None:
    """Declare the ``dataset`` group."""
    registry.add_group(
        "dataset",
        summary="Offline datasets returning train/test loaders",
        kinds=("torch.utils.data:Dataset",),
        path_adapter="rpnkit.data.torch_datasets:from_path",
    )


@hookimpl(tryfirst=True)
def rpnkit_add_components(registry: Registry) -> None:
    """Register every dataset of :data:`DATASETS`."""
    for name, target, aliases, summary in DATASETS:
        registry.register("dataset", name, target, summary=summary, aliases=aliases)
