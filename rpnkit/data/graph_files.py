"""Graphs from local files: a node table and an edge list as CSV, or NumPy arrays (``.npz``).

``graph_csv`` reads a nodes file (a header; an id column, a label column, numeric feature
columns) and an edges file (a header; a source and a target column naming node ids).
``graph_npz`` reads an archive with ``x`` (features), ``y`` (labels) and ``edge_index``
(``(2, E)`` or ``(E, 2)`` node indices), and, when present, the node sets ``train_idx`` /
``val_idx`` / ``test_idx`` (indices or boolean masks). Archives are opened with
``allow_pickle=False``: rpnkit never unpickles data. Every problem in a file is one line
naming the file, the line and the value: a ragged row, a non-numeric feature, an edge naming
an unknown node id, a missing column.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rpnkit.data.csv_rows import read_header, rows_as_wide
from rpnkit.data.files import check_path, list_names, select_columns
from rpnkit.data.graphs import GraphBundle, GraphData, graph_bundle
from rpnkit.data.labels import encode_targets, short
from rpnkit.data.node_splits import choose_splits
from rpnkit.errors import ConfigError, did_you_mean

__all__ = [
    "column_at",
    "edge_index_from_ids",
    "encode_labels",
    "graph_csv",
    "graph_npz",
    "read_table",
]


def read_table(name: str, path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the ``(line number, cells)`` rows of a CSV file, every row as wide.

    Raises
    ------
    ConfigError
        For a file without rows, or a row with another number of cells than the header.
    """
    where = f"dataset {name!r}: {path.name!r}"
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = read_header(reader, where)
        rows = [
            (reader.line_num, [cell.strip() for cell in row])
            for row in rows_as_wide(reader, where, len(header))
        ]
    if not rows:
        raise ConfigError(f"{where} has a header line but no rows")
    return header, rows


def column_at(name: str, file: str, header: list[str], field: str, column: object) -> int:
    """The position of ``column`` in ``header``, or a one-line error with close matches."""
    if not isinstance(column, str) or column not in header:
        raise ConfigError(
            f"dataset {name!r}: {field}={column!r} is not a column of {file!r}"
            f"{did_you_mean(str(column), header)}; columns: {list_names(header)}"
        )
    return header.index(column)


def encode_labels(name: str, source: str, labels: Sequence[str]) -> tuple[Tensor, tuple[str, ...]]:
    """Class indices and class names of text ``labels`` (numbers sorted numerically)."""
    try:
        values: np.ndarray = np.array([int(v) for v in labels])
    except ValueError:
        values = np.array(labels, dtype=str)
    _, targets, classes = encode_targets(name, source, values, "classification")
    assert classes is not None
    return targets, classes


def edge_index_from_ids(
    name: str,
    file: str,
    pairs: Sequence[tuple[int, str, str]],
    index: dict[str, int],
    unknown: str = "error",
    hint: str = "or the nodes file",
) -> Tensor:
    """The ``(2, E)`` node indices of ``(line, source id, target id)`` pairs.

    Parameters
    ----------
    unknown
        ``"error"``: an id not in ``index`` is a :class:`ConfigError` naming the line;
        ``"drop"``: such edges are left out.
    hint
        How to fix an unknown id, ending the message ("fix the edge " + hint).
    """
    sources: list[int] = []
    targets: list[int] = []
    for line, a, b in pairs:
        for node in (a, b):
            if node not in index:
                if unknown == "drop":
                    break
                raise ConfigError(
                    f"dataset {name!r}: {file!r} line {line} names node {short(node)}, which is "
                    f"not among the {len(index)} nodes; fix the edge {hint}"
                )
        else:
            sources.append(index[a])
            targets.append(index[b])
    return torch.tensor([sources, targets], dtype=torch.long).reshape(2, -1)


def graph_csv(
    *,
    nodes: str,
    edges: str,
    id_column: str = "id",
    label: str = "label",
    features: list[str] | str | None = None,
    source: str = "source",
    target: str = "target",
    directed: bool = False,
    train_size: float | int | None = None,
    val_size: float | int = 0.1,
    test_size: float | int = 0.2,
    seed: int = 0,
    train_idx: list[int] | None = None,
    val_idx: list[int] | None = None,
    test_idx: list[int] | None = None,
    standardize: bool = False,
    name: str | None = None,
) -> GraphBundle:
    """Read a graph from a nodes CSV and an edges CSV, with train/val/test node sets.

    Parameters
    ----------
    nodes
        Nodes file: a header, then one row per node (nodes keep the file's order).
    edges
        Edges file: a header, then one row per edge.
    id_column
        The nodes file's id column, matched (as text) by the edges file's ids.
    label
        The nodes file's label column (classes sorted, numerically for integers).
    features
        Feature columns; ``None``: every column but the id and the label; ``"identity"``:
        a one-hot vector per node (for a graph without features).
    source, target
        The edges file's two id columns.
    directed
        ``False``: every edge stands for both directions.
    train_size, val_size, test_size, seed, train_idx, val_idx, test_idx
        The node sets: drawn, stratified by class, with ``seed`` (sizes are fractions of
        the nodes or node counts; ``train_size=None`` takes every node left), or given.
    standardize
        Standardise the features with the training nodes' statistics.
    name
        The dataset's name; ``None``: the nodes file's name without its suffix.

    Raises
    ------
    ConfigError
        For a missing file or column, a ragged row, a non-numeric feature, a repeated node
        id, an edge naming an unknown node id, or bad split options.
    """
    node_path = check_path("graph_csv", "nodes", nodes)
    edge_path = check_path("graph_csv", "edges", edges)
    name = node_path.stem if name is None else str(name)
    header, rows = read_table(name, node_path)
    id_at = column_at(name, node_path.name, header, "id_column", id_column)
    label_at = column_at(name, node_path.name, header, "label", label)
    if features in (None, "identity"):
        feature_at = [i for i in range(len(header)) if i not in (id_at, label_at)]
    else:
        _, feature_at = select_columns(name, header, label, features)
    ids = [cells[id_at] for _, cells in rows]
    index = {node: i for i, node in enumerate(ids)}
    if len(index) != len(ids):
        repeated = next(node for node in ids if ids.count(node) > 1)
        raise ConfigError(
            f"dataset {name!r}: node id {short(repeated)} appears twice in column {id_column!r}"
        )
    if features == "identity":
        x = torch.eye(len(ids))
    else:
        if not feature_at or id_at in feature_at:
            raise ConfigError(
                f"dataset {name!r}: {node_path.name!r} needs feature columns other than "
                f"{id_column!r} and {label!r}; name them, or set features: identity for one-hot node features"
            )
        x = torch.from_numpy(_numbers(name, node_path.name, header, rows, feature_at))
    y, classes = encode_labels(name, f"label column {label!r}", [c[label_at] for _, c in rows])
    edge_header, edge_rows = read_table(name, edge_path)
    src_at = column_at(name, edge_path.name, edge_header, "source", source)
    dst_at = column_at(name, edge_path.name, edge_header, "target", target)
    pairs = [(line, cells[src_at], cells[dst_at]) for line, cells in edge_rows]
    edge_index = edge_index_from_ids(name, edge_path.name, pairs, index)
    sets = choose_splits(name, y, train_size=train_size, val_size=val_size,
                         test_size=test_size, seed=seed, train_idx=train_idx,
                         val_idx=val_idx, test_idx=test_idx)  # fmt: skip
    graph = GraphData(name, x, y, edge_index, *sets, directed=bool(directed),
                      node_ids=tuple(ids), classes=classes)  # fmt: skip
    return graph_bundle(graph, standardize=standardize)


def _numbers(
    name: str, file: str, header: list[str], rows: list[tuple[int, list[str]]], at: list[int]
) -> np.ndarray:
    """The columns ``at`` of ``rows`` as ``float32``, or a one-line error naming the cell."""
    out = np.empty((len(rows), len(at)), dtype=np.float32)
    for r, (line, cells) in enumerate(rows):
        for c, column in enumerate(at):
            try:
                out[r, c] = float(cells[column])
            except ValueError:
                raise ConfigError(
                    f"dataset {name!r}: {file!r} line {line}, column {header[column]!r}: "
                    f"{short(cells[column])} is not a number"
                ) from None
    if not np.isfinite(out).all():
        r = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
        raise ConfigError(f"dataset {name!r}: {file!r} line {rows[r][0]} has a non-finite feature")
    return out


def graph_npz(
    *,
    path: str,
    features: str = "x",
    labels: str = "y",
    edges: str = "edge_index",
    directed: bool = False,
    train_size: float | int | None = None,
    val_size: float | int = 0.1,
    test_size: float | int = 0.2,
    seed: int = 0,
    standardize: bool = False,
) -> GraphBundle:
    """Read a graph from a NumPy ``.npz`` archive.

    Parameters
    ----------
    path
        The archive.
    features, labels, edges
        Names of its feature ``(n, f)``, label ``(n,)`` and edge arrays (``(2, E)`` or
        ``(E, 2)`` node indices).
    directed
        ``False``: every edge stands for both directions.
    train_size, val_size, test_size, seed
        Draw the node sets, as for ``graph_csv``, when the archive has no ``train_idx`` and
        ``test_idx`` (or ``train_mask`` and ``test_mask``) arrays of its own.
    standardize
        Standardise the features with the training nodes' statistics.

    Raises
    ------
    ConfigError
        For a missing or unreadable archive, a missing array, arrays of wrong shapes or
        lengths, an edge naming a node index outside ``0 .. n-1``.
    """
    file = check_path("graph_npz", "path", path)
    name = file.stem
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError) as exc:
        reason = (str(exc).splitlines() or [""])[0][:100]
        raise ConfigError(
            f"dataset {name!r}: {file.name!r} is not a readable .npz ({reason})"
        ) from None
    for key in (features, labels, edges):
        if key not in arrays:
            raise ConfigError(
                f"dataset {name!r}: {file.name!r} has no array {key!r}; arrays: "
                f"{', '.join(map(repr, sorted(arrays)))}"
            )
    x, y, e = arrays[features], arrays[labels], arrays[edges]
    if x.ndim != 2 or x.dtype.kind not in "biuf" or y.shape != (len(x),):
        raise ConfigError(
            f"dataset {name!r}: {file.name!r} needs numeric {features!r} of shape (n, f) and "
            f"{labels!r} of shape (n,), got {x.shape} and {y.shape}"
        )
    if e.ndim == 2 and e.shape[0] != 2 and e.shape[1] == 2:
        e = e.T
    if e.ndim != 2 or e.shape[0] != 2 or e.dtype.kind not in "iu":
        raise ConfigError(
            f"dataset {name!r}: {file.name!r} array {edges!r} must be integer node indices of "
            f"shape (2, E) or (E, 2), got {e.dtype} of shape {e.shape}"
        )
    targets, classes = encode_labels(name, f"labels array {labels!r}", y.tolist())
    given = [_node_set(arrays, split) for split in ("train", "val", "test")]
    sets = choose_splits(name, targets, train_size=train_size, val_size=val_size,
                         test_size=test_size, seed=seed, train_idx=given[0],
                         val_idx=given[1], test_idx=given[2])  # fmt: skip
    graph = GraphData(name, torch.from_numpy(x.astype(np.float32)), targets,
                      torch.from_numpy(e.astype(np.int64)), *sets, directed=bool(directed),
                      classes=classes)  # fmt: skip
    return graph_bundle(graph, standardize=standardize)


def _node_set(arrays: dict[str, np.ndarray], split: str) -> np.ndarray | None:
    """``{split}_idx``, or the indices of ``{split}_mask``, or ``None``."""
    if f"{split}_idx" in arrays:
        return arrays[f"{split}_idx"].astype(np.int64)
    if f"{split}_mask" in arrays:
        return np.flatnonzero(arrays[f"{split}_mask"].astype(bool))
    return None
