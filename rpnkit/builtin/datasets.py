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
    # Data with structure: images, graphs (one transductive batch), sequences.
    ("digits_images", "rpnkit.data.images:digits_images", (),
     "scikit-learn's digits as 1x8x8 images (layout flat (b, 64) or image (b, 1, 8, 8))"),
    ("mnist", "rpnkit.data.idx:mnist", (),
     "MNIST from local IDX files (root), read with numpy; layout flat or image"),
    ("cifar10", "rpnkit.data.cifar:cifar10", ("cifar_10",),
     "CIFAR-10 from its local binary batch files (root), read with numpy; never unpickled"),
    ("karate_club", "rpnkit.data.karate:karate_club", ("karate",),
     "Zachary's karate club: 34 nodes, 78 edges, 2 factions (shipped), node splits"),
    ("sbm", "rpnkit.data.sbm:sbm", ("stochastic_block_model",),
     "A seeded stochastic block model graph with planted classes and noisy features"),
    ("graph_csv", "rpnkit.data.graph_files:graph_csv", (),
     "A graph from a nodes CSV (id, label, features) and an edges CSV, with node splits"),
    ("graph_npz", "rpnkit.data.graph_files:graph_npz", (),
     "A graph from a .npz archive (x, y, edge_index, optional node splits)"),
    ("cora_files", "rpnkit.data.planetoid:cora_files", ("content_cites",),
     "A graph from a Cora-style .content / .cites text pair, with node splits"),
    ("cora", "rpnkit.data.planetoid:cora", (),
     "tinybig's Cora (2708 nodes) from local node/link or .content/.cites files (root)"),
    ("citeseer", "rpnkit.data.planetoid:citeseer", (),
     "tinybig's Citeseer (3327 nodes) from local node/link or .content/.cites files (root)"),
    ("pubmed", "rpnkit.data.planetoid:pubmed", (),
     "tinybig's Pubmed (19717 nodes) from local node/link or .content/.cites files (root)"),
    ("series_csv", "rpnkit.data.sequences:series_csv", ("time_series",),
     "Forecasting windows (x_len, y_len, xy_gap) over CSV columns, train-period statistics"),
    ("synthetic_series", "rpnkit.data.sequence_tasks:synthetic_series", (),
     "A seeded forecasting series (two sines or AR(2) plus noise), windowed"),
    ("sequence_classification", "rpnkit.data.sequence_tasks:sequence_classification", (),
     "Seeded sequence classification: parity, majority, trend or frequency"),
    ("etf", "rpnkit.data.tinybig_series:etf", ("etfs",),
     "tinybig's ETF series from a local CSV (path), windowed"),
    ("stock", "rpnkit.data.tinybig_series:stock", ("stocks",),
     "tinybig's stock series from a local CSV (path), windowed"),
    ("traffic_la", "rpnkit.data.tinybig_series:traffic_la", (),
     "tinybig's Los Angeles traffic series from a local CSV (path), windowed"),
    ("traffic_bay", "rpnkit.data.tinybig_series:traffic_bay", (),
     "tinybig's Bay Area traffic series from a local CSV (path), windowed"),
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
