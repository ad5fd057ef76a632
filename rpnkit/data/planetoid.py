"""Cora-style citation graphs from a ``.content`` / ``.cites`` text pair, and tinybig's names.

``.content``: one line per node, whitespace-separated: the node id, its features, its label
(LINQS's Cora and Citeseer releases; tinybig's ``node`` files have the same form).
``.cites``: one line per edge, two node ids (Cora's ``cited citing`` order, kept as given;
tinybig's ``link`` files). Nodes keep the file's order, so index sets such as tinybig's
(Cora: train the first 140 nodes, test nodes 500-1499) mean the same here.

The ``cora``, ``citeseer`` and ``pubmed`` datasets (``tinybig.data.cora`` … in a tinybig
config) read such a pair from a local ``root`` folder with tinybig's defaults: directed
edges, row-normalised features, tinybig's split. rpnkit downloads nothing; without the files
they say in one line what to download and how to point the config at it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rpnkit.data.downloads import download_hint
from rpnkit.data.files import check_path
from rpnkit.data.graph_files import edge_index_from_ids, encode_labels
from rpnkit.data.graphs import GraphBundle, GraphData, graph_bundle
from rpnkit.data.labels import short
from rpnkit.data.node_splits import choose_splits
from rpnkit.errors import ConfigError

__all__ = ["PlanetoidDataset", "citeseer", "cora", "cora_files", "pubmed", "read_content"]


def read_content(name: str, path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    """Node ids, ``float32`` features and labels of a ``.content`` file.

    Raises
    ------
    ConfigError
        For a ragged line (another number of fields than the first), a non-numeric feature,
        a repeated node id or a file of fewer than 2 nodes.
    """
    ids: list[str] = []
    labels: list[str] = []
    rows: list[list[str]] = []
    width = 0
    with path.open(encoding="utf-8") as stream:
        for line_no, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            width = width or len(fields)
            if len(fields) != width or width < 3:
                raise ConfigError(
                    f"dataset {name!r}: {path.name!r} line {line_no} has {len(fields)} fields, "
                    f"{'the first line has ' + str(width) if width >= 3 else 'at least 3 needed'}"
                    " (id, features, label); every line must be as wide"
                )
            ids.append(fields[0])
            labels.append(fields[-1])
            rows.append(fields[1:-1])
    if len(ids) < 2:
        raise ConfigError(f"dataset {name!r}: {path.name!r} holds {len(ids)} node(s); need 2+")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        repeated = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise ConfigError(f"dataset {name!r}: {path.name!r} lists node {short(repeated)} twice")
    try:
        x = np.array(rows, dtype=np.float32)
    except ValueError:
        line_no = next(i for i, r in enumerate(rows, 1) if not all(_is_number(v) for v in r))
        raise ConfigError(
            f"dataset {name!r}: {path.name!r} line {line_no} has a feature that is not a number"
        ) from None
    return ids, x, labels


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_cites(name: str, path: Path) -> list[tuple[int, str, str]]:
    pairs = []
    with path.open(encoding="utf-8") as stream:
        for line_no, line in enumerate(stream, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ConfigError(
                    f"dataset {name!r}: {path.name!r} line {line_no} has {len(fields)} fields; "
                    "an edge line is two node ids"
                )
            pairs.append((line_no, fields[0], fields[1]))
    return pairs


def cora_files(
    *,
    content: str,
    cites: str,
    directed: bool = True,
    row_normalize: bool = True,
    unknown_nodes: str = "error",
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
    """Read a graph from a Cora-style ``.content`` / ``.cites`` pair.

    Parameters
    ----------
    content, cites
        The two text files.
    directed
        Keep every edge one way, as tinybig does (``False``: both ways).
    row_normalize
        Divide every node's features by their sum (tinybig's default ``row`` normalisation;
        all-zero rows stay zero).
    unknown_nodes
        ``"error"``: an edge naming a node absent from ``content`` is an error naming the
        line; ``"drop"``: such edges are left out (Citeseer's release has some).
    train_size, val_size, test_size, seed, train_idx, val_idx, test_idx, standardize
        The node sets and feature scaling, as for the ``graph_csv`` dataset.
    name
        The dataset's name; ``None``: ``content``'s name without its suffix.

    Raises
    ------
    ConfigError
        For a missing file, a ragged line, a non-numeric feature, an unknown node id in an
        edge (unless dropped), or bad split options.
    """
    content_path = check_path("cora_files", "content", content)
    cites_path = check_path("cora_files", "cites", cites)
    name = content_path.stem if name is None else str(name)
    if unknown_nodes not in ("error", "drop"):
        raise ConfigError(
            f"dataset {name!r}: unknown_nodes={unknown_nodes!r} is not valid; expected 'error' "
            "or 'drop'"
        )
    ids, x, labels = read_content(name, content_path)
    if row_normalize:
        sums = x.sum(axis=1, keepdims=True)
        x = np.divide(x, sums, out=np.zeros_like(x), where=sums != 0)
    y, classes = encode_labels(name, f"the labels of {content_path.name!r}", labels)
    index = {node: i for i, node in enumerate(ids)}
    edges = edge_index_from_ids(name, cites_path.name, _read_cites(name, cites_path), index,
                                unknown_nodes, "or set unknown_nodes: drop")  # fmt: skip
    sets = choose_splits(name, y, train_size=train_size, val_size=val_size,
                         test_size=test_size, seed=seed, train_idx=train_idx,
                         val_idx=val_idx, test_idx=test_idx)  # fmt: skip
    graph = GraphData(name, torch.from_numpy(x), y, edges, *sets, directed=bool(directed),
                      node_ids=tuple(ids), classes=classes)  # fmt: skip
    return graph_bundle(graph, standardize=standardize)


class PlanetoidDataset:
    """tinybig's ``cora`` / ``citeseer`` / ``pubmed``, read from local files.

    Parameters
    ----------
    name
        ``"cora"``, ``"citeseer"`` or ``"pubmed"``.
    train, test
        tinybig's split: the first ``train`` nodes, and the ``test`` range.
    nodes
        The node count of the published files (for the message).
    """

    def __init__(self, name: str, train: int, test: tuple[int, int], nodes: int) -> None:
        self.name = name
        self.train = train
        self.test = test
        self.nodes = nodes
        self.__doc__ = (
            f"{name}: tinybig's citation graph ({nodes} nodes) from local files in root "
            f"({name}.content/{name}.cites or tinybig's node/link); split 'tinybig' trains "
            f"nodes 0-{train - 1}, validates {train}-{test[0] - 1} (nodes tinybig leaves "
            f"unused), tests {test[0]}-{test[1] - 1}."
        )

    def __repr__(self) -> str:
        return f"PlanetoidDataset({self.name!r})"

    def __call__(
        self,
        *,
        root: str | None = None,
        split: str = "tinybig",
        directed: bool = True,
        row_normalize: bool = True,
        unknown_nodes: str = "error",
        val_size: float | int = 0.1,
        test_size: float | int = 0.2,
        seed: int = 0,
        standardize: bool = False,
        batch_size: int | None = None,
        test_batch_size: int | None = None,
    ) -> GraphBundle:
        """Read the graph from ``root``; ``split`` is ``"tinybig"`` or ``"random"``.

        ``batch_size`` and ``test_batch_size`` are accepted for tinybig configs and ignored:
        the whole graph is one batch (tinybig ignores them too in transductive mode).
        """
        name = self.name
        files = [(Path(str(root)) / f"{name}.{e}") for e in ("content", "cites")] if root else []
        if files and not all(f.is_file() for f in files):
            files = [Path(str(root)) / "node", Path(str(root)) / "link"]
        if not files or not all(f.is_file() for f in files):
            raise ConfigError(
                f"dataset {name!r}: no {name}.content/{name}.cites (or node/link) in "
                f"root={root!r}; {download_hint(name)}"
            )
        if split not in ("tinybig", "random"):
            raise ConfigError(
                f"dataset {name!r}: split={split!r} is not valid; expected 'tinybig' or 'random'"
            )
        sets: dict[str, list[int] | None] = {"train_idx": None, "val_idx": None, "test_idx": None}
        if split == "tinybig":
            sets = {
                "train_idx": list(range(self.train)),
                "val_idx": list(range(self.train, self.test[0])),
                "test_idx": list(range(*self.test)),
            }
        bundle = cora_files(content=str(files[0]), cites=str(files[1]), directed=directed,
                            row_normalize=row_normalize, unknown_nodes=unknown_nodes,
                            val_size=val_size, test_size=test_size, seed=seed,
                            standardize=standardize, name=name,
                            train_idx=sets["train_idx"], val_idx=sets["val_idx"],
                            test_idx=sets["test_idx"])  # fmt: skip
        return bundle


cora = PlanetoidDataset("cora", 140, (500, 1500), 2708)
citeseer = PlanetoidDataset("citeseer", 120, (200, 1200), 3327)
pubmed = PlanetoidDataset("pubmed", 60, (6300, 7300), 19717)
