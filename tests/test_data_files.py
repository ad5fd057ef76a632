"""Tests of the bring-your-own-data datasets: csv, parquet, npz/npy and torch Dataset classes."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor
from torch.utils.data import Dataset, IterableDataset

from rpnkit import build, data
from rpnkit.data import BatchLoader, DataBundle
from rpnkit.data import memory as memory_module
from rpnkit.data.rows import MappedRows
from rpnkit.errors import ConfigError

SPECIES = ("setosa", "versicolor", "virginica")


def table(n: int = 60) -> tuple[np.ndarray, list[str]]:
    """Seeded numeric features and a text label per row."""
    rng = np.random.default_rng(0)
    return np.round(rng.normal(size=(n, 3)), 4), [SPECIES[i % 3] for i in range(n)]


def write_csv(path: Path, x: np.ndarray, labels: list[Any], delimiter: str = ",") -> Path:
    lines = [delimiter.join(["a", "b", "c", "species"])]
    lines += [
        delimiter.join([*map(str, row), str(label)]) for row, label in zip(x, labels, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def all_rows(bundle: DataBundle) -> tuple[Tensor, Tensor]:
    pairs = [t for split in ("train", "test") for t in bundle[f"{split}_loader"]]
    xs, ys = [x for x, _ in pairs], [y for _, y in pairs]
    return torch.cat(xs), torch.cat(ys)


def one_line_error(call: Any, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- csv --------------------------------------------------------------------------------------
def test_csv_keeps_the_files_labels_as_class_names(tmp_path: Path) -> None:
    x, labels = table()
    path = write_csv(tmp_path / "flowers.csv", x, labels)
    bundle = data.csv_dataset(path=str(path), target="species", standardize=False, batch_size=8)
    assert (bundle.name, bundle.task, bundle.in_features, bundle.out_features) == (
        "flowers.csv",
        "classification",
        3,
        3,
    )
    assert bundle.classes == SPECIES
    assert isinstance(bundle.train_loader, BatchLoader)
    features, indices = all_rows(bundle)
    by_row = {tuple(np.float32(row).tolist()): label for row, label in zip(x, labels, strict=True)}
    decoded = bundle.decode(indices)
    assert [by_row[tuple(row)] for row in features.tolist()] == decoded
    assert sorted(decoded) == sorted(labels)


def test_csv_integer_labels_sort_numerically_and_floats_regress(tmp_path: Path) -> None:
    x, _ = table(30)
    path = write_csv(tmp_path / "ints.csv", x, [(10, 2, 7)[i % 3] for i in range(30)])
    bundle = data.csv_dataset(path=str(path), target="species")
    assert bundle.classes == ("2", "7", "10")
    regressed = data.csv_dataset(path=str(path), target="species", task="regression")
    assert regressed.task == "regression" and regressed.classes is None

    values = [round(0.25 * i, 2) for i in range(30)]
    floats = write_csv(tmp_path / "floats.csv", x, values)
    fit = data.csv_dataset(path=str(floats), target="species", standardize=False)
    assert (fit.task, fit.out_features) == ("regression", 1)
    features, targets = all_rows(fit)
    assert fit.target_mean is not None  # a file's regression target is standardised
    assert targets.mean().abs() < 0.5 and fit.target_std is not None
    by_row = {tuple(np.float32(row).tolist()): v for row, v in zip(x, values, strict=True)}
    raw = fit.unscale(targets)[:, 0].tolist()
    assert [by_row[tuple(r)] for r in features.tolist()] == pytest.approx(raw, abs=1e-5)


def test_csv_features_pick_and_order_the_columns(tmp_path: Path) -> None:
    x, labels = table()
    path = write_csv(tmp_path / "f.csv", x, labels)
    bundle = data.csv_dataset(
        path=str(path), target="species", features=["c", "a"], standardize=False
    )
    features, _ = all_rows(bundle)
    expected = {tuple(np.float32(row[[2, 0]]).tolist()) for row in x}
    assert bundle.in_features == 2
    assert {tuple(r) for r in features.tolist()} == expected


def test_csv_takes_the_split_options_of_the_builtins(tmp_path: Path) -> None:
    x, labels = table(90)
    path = str(write_csv(tmp_path / "f.csv", x, labels))
    first = data.csv_dataset(path=path, target="species", seed=4, test_size=0.3, batch_size=16)
    second = data.csv_dataset(path=path, target="species", seed=4, test_size=0.3, batch_size=16)
    assert (first.n_train, first.n_test) == (63, 27)
    for a, b in zip(first.train_loader, second.train_loader, strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    train = first.train_loader.dataset.tensors[0]  # type: ignore[attr-defined]
    assert torch.allclose(train.mean(0), torch.zeros(3), atol=1e-5)
    assert torch.bincount(first.test_loader.dataset.tensors[1]).tolist() == [9, 9, 9]  # type: ignore[attr-defined]
    built = build("dataset", {"name": "csv", "parameters": {"path": path, "target": "species"}})
    assert built.classes == SPECIES


def test_csv_delimiter_byte_order_mark_and_blank_lines(tmp_path: Path) -> None:
    x, labels = table(12)
    path = write_csv(tmp_path / "semi.csv", x, labels, delimiter=";")
    path.write_text("\ufeff" + path.read_text() + "\n\n", encoding="utf-8")
    bundle = data.csv_dataset(path=str(path), target="species", delimiter=";")
    assert bundle.n_train + bundle.n_test == 12 and bundle.in_features == 3


def test_csv_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    x, labels = table(12)
    good = str(write_csv(tmp_path / "good.csv", x, labels))
    bad = tmp_path / "bad.csv"

    def with_text(text: str) -> Any:
        bad.write_text(text)
        return lambda: data.csv_dataset(path=str(bad), target="y")

    one_line_error(
        lambda: data.csv_dataset(path=str(tmp_path / "god.csv"), target="species"),
        "path=", "god.csv' does not exist", "did you mean 'good.csv'",
    )  # fmt: skip
    one_line_error(
        lambda: data.csv_dataset(path=good, target="specis"),
        "target='specis' is not a column", "did you mean 'species'", "'a', 'b', 'c'",
    )  # fmt: skip
    one_line_error(
        lambda: data.csv_dataset(path=good, target="species", features=["a", "d"]),
        "features='d' is not a column",
    )
    one_line_error(
        lambda: data.csv_dataset(path=good, target="species", features=["a", "species"]),
        "features include the target column 'species'",
    )
    one_line_error(
        lambda: data.csv_dataset(path=good, target="species", delimiter=";;"), "delimiter"
    )
    one_line_error(with_text(""), "bad.csv' is an empty file")
    one_line_error(with_text("a,b,y\n"), "has a header line but no rows")
    one_line_error(
        with_text("a,b,y\n1,2,0\n3,,1\n"), "column 'b' has a missing value at row 2 (line 3)"
    )
    one_line_error(with_text("a,b,y\n1,NA,0\n"), "column 'b' has a missing value at row 1")
    one_line_error(
        with_text("a,b,y\n1,2,0\n3,red,1\n"),
        "column 'b' is not numeric: row 2 (line 3) holds 'red'",
    )
    one_line_error(with_text("a,b,y\n1,inf,0\n"), "column 'b' holds the non-finite value 'inf'")
    one_line_error(
        with_text("a,b,y\n1,2,0\n3,4\n"), "bad.csv': line 3 has 2 field(s), the header has 3"
    )
    one_line_error(
        with_text("a,b,y\n1,2,0\n3,4,\n"), "target column 'y' has a missing value at row 2"
    )
    one_line_error(with_text("a,b,y\n1,2,u\n3,4,u\n"), "has a single class ('u')")
    one_line_error(
        lambda: data.csv_dataset(path=good, target="species", task="regression"),
        "holds text, which cannot be a regression target",
    )
    one_line_error(
        lambda: data.csv_dataset(path=good, target="species", task="clasification"),
        "task='clasification' is not valid (did you mean 'classification'?)",
    )
    long = "x" * 500
    message = one_line_error(with_text(f"a,b,y\n1,{long},0\n"), "is not numeric")
    assert long not in message and len(message) < 250


def test_a_file_too_large_for_memory_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, labels = table(12)
    path = str(write_csv(tmp_path / "f.csv", x, labels))
    monkeypatch.setattr(memory_module, "physical_memory", lambda: 1000)
    one_line_error(
        lambda: data.csv_dataset(path=path, target="species"),
        "more than this machine's 1.0 kB", "'npz' dataset reads batch by batch",
    )  # fmt: skip


# -- parquet ----------------------------------------------------------------------------------
def test_parquet_reads_the_same_table_as_csv(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x, labels = table()
    columns = {"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "species": labels}
    pq.write_table(pa.table(columns), tmp_path / "f.parquet")
    from_parquet = data.parquet_dataset(path=str(tmp_path / "f.parquet"), target="species")
    from_csv = data.csv_dataset(
        path=str(write_csv(tmp_path / "f.csv", x, labels)), target="species"
    )
    assert from_parquet.classes == from_csv.classes == SPECIES
    for split in ("train_loader", "test_loader"):
        for a, b in zip(from_parquet[split], from_csv[split], strict=True):
            assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    regression = data.parquet_dataset(
        path=str(tmp_path / "f.parquet"), target="c", features=["a", "b"]
    )
    assert (regression.task, regression.in_features) == ("regression", 2)


def test_parquet_mistakes_name_the_column_and_row(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(
        pa.table({"a": [1.0, None, 3.0], "t": ["u", "v", "w"], "y": [0, 1, 0]}),
        tmp_path / "n.parquet",
    )
    path = str(tmp_path / "n.parquet")
    one_line_error(
        lambda: data.parquet_dataset(path=path, target="y", features=["a"]),
        "column 'a' has a missing value at row 2",
    )
    one_line_error(
        lambda: data.parquet_dataset(path=path, target="y", features=["t"]),
        "column 't' is not numeric (string)",
    )
    one_line_error(
        lambda: data.parquet_dataset(path=path, target="z"), "target='z' is not a column"
    )
    (tmp_path / "x.parquet").write_text("not parquet")
    one_line_error(
        lambda: data.parquet_dataset(path=str(tmp_path / "x.parquet"), target="y"),
        "is not a readable Parquet file",
    )


def test_parquet_without_pyarrow_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    one_line_error(
        lambda: data.parquet_dataset(path=str(tmp_path / "f.parquet"), target="y"),
        "needs pyarrow", "pip install 'rpnkit[parquet]'",
    )  # fmt: skip


# -- npz / npy --------------------------------------------------------------------------------
def arrays(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 2, 3)).astype(np.float32)
    x[:, 0, 0] = 0.1  # a constant feature
    return x, rng.integers(0, 3, n)


def batches(loader: Any) -> list[tuple[Tensor, Tensor]]:
    return [(x, y) for x, y in loader]


def test_npz_streamed_and_in_memory_serve_the_same_batches(tmp_path: Path) -> None:
    x, y = arrays()
    np.savez(tmp_path / "a.npz", x=x, y=y)
    np.savez_compressed(tmp_path / "c.npz", x=x, y=y)
    (tmp_path / "dir").mkdir()
    np.save(tmp_path / "dir" / "x.npy", x)
    np.save(tmp_path / "dir" / "labels.npy", y)
    common: dict[str, Any] = {"batch_size": 16, "seed": 5}
    streamed = data.npz_dataset(path=str(tmp_path / "a.npz"), stream=True, **common)
    loaded = data.npz_dataset(path=str(tmp_path / "a.npz"), stream=False, **common)
    compressed = data.npz_dataset(path=str(tmp_path / "c.npz"), **common)
    folder = data.npz_dataset(
        path=str(tmp_path / "dir"), labels="labels.npy", stream=True, **common
    )
    assert isinstance(streamed.train_loader.dataset, MappedRows)
    assert (streamed.in_features, streamed.out_features) == (6, 3)
    assert streamed.classes == ("0", "1", "2")
    assert torch.allclose(streamed.feature_mean, loaded.feature_mean)  # type: ignore[arg-type]
    for _ in range(2):  # two epochs
        for split in ("train_loader", "test_loader"):
            reference = batches(loaded[split])
            for other in (streamed, compressed, folder):
                for (a, b), (c, d) in zip(reference, batches(other[split]), strict=True):
                    assert torch.allclose(a, c, atol=1e-6) and torch.equal(b, d)
    x_train = torch.cat([a for a, _ in streamed.train_loader])
    assert torch.allclose(x_train.mean(0), torch.zeros(6), atol=1e-5)
    assert torch.equal(x_train[:, 0], torch.zeros(len(x_train)))  # constant: centred only


def test_npz_streams_a_file_too_large_for_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = arrays()
    np.savez(tmp_path / "a.npz", x=x, y=y)
    # Pretend the machine has 16 kB: the features (in memory 32 bytes a value) do not fit.
    monkeypatch.setattr(memory_module, "physical_memory", lambda: 16_000)
    monkeypatch.setattr("rpnkit.data.arrays.physical_memory", lambda: 16_000)
    bundle = data.npz_dataset(path=str(tmp_path / "a.npz"), batch_size=8)
    source = bundle.train_loader.dataset
    assert isinstance(source, MappedRows)
    assert isinstance(source._mapped(), np.memmap)
    assert len(pickle.dumps(source)) < x.nbytes  # workers get the file's place, not its data
    assert sum(len(b) for _, b in bundle.train_loader) == bundle.n_train
    one_line_error(
        lambda: data.npz_dataset(path=str(tmp_path / "a.npz"), stream=False),
        "features array 'x' of shape (120, 2, 3)", "set stream: true",
    )  # fmt: skip
    shard = bundle.train_loader.shard(1, 2)  # type: ignore[attr-defined]
    assert sum(len(b) for _, b in shard) == bundle.n_train // 2


def test_npz_regression_labels_and_fortran_order(tmp_path: Path) -> None:
    x, _ = arrays(40)
    targets = np.linspace(0, 1, 40 * 2).reshape(40, 2)
    np.save(tmp_path / "x.npy", np.asfortranarray(x[:, 0, :]))
    np.save(tmp_path / "y.npy", targets)
    for stream in (True, False):
        bundle = data.npz_dataset(path=str(tmp_path), stream=stream, standardize=False)
        assert (bundle.task, bundle.in_features, bundle.out_features) == ("regression", 3, 2)
        features, scaled = all_rows(bundle)
        assert bundle.target_std is not None and bundle.target_std.shape == (2,)
        values = bundle.unscale(scaled)
        lookup = {
            tuple(np.float32(r).tolist()): t for r, t in zip(x[:, 0, :], targets, strict=True)
        }
        for row, value in zip(features.tolist(), values.tolist(), strict=True):
            assert lookup[tuple(row)] == pytest.approx(value, abs=1e-6)


def test_npz_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    x, y = arrays(20)
    np.savez(tmp_path / "a.npz", features=x, y=y, short=y[:5])
    np.savez_compressed(tmp_path / "c.npz", x=x, y=y)
    path = str(tmp_path / "a.npz")
    one_line_error(
        lambda: data.npz_dataset(path=path, features="feature"),
        "features='feature' is not an array", "did you mean 'features'", "'y', 'short'",
    )  # fmt: skip
    one_line_error(
        lambda: data.npz_dataset(path=path, features="features", labels="short"),
        "labels array 'short' must have shape (20,)",
    )
    one_line_error(
        lambda: data.npz_dataset(path=str(tmp_path / "c.npz"), stream=True),
        "is compressed (np.savez_compressed) and cannot be streamed",
    )
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", y)
    one_line_error(
        lambda: data.npz_dataset(path=str(tmp_path), features="objects"), "holds Python objects"
    )
    bad = x.copy()
    bad[7, 1, 1] = np.nan
    np.save(tmp_path / "bad.npy", bad)
    for stream in (True, False):
        one_line_error(
            lambda s=stream: data.npz_dataset(path=str(tmp_path), features="bad", stream=s),  # type: ignore[misc]
            "has a missing or non-finite value in row 8",
        )
    (tmp_path / "z.npz").write_text("zip?")
    one_line_error(lambda: data.npz_dataset(path=str(tmp_path / "z.npz")), "is not an .npz archive")


# -- torch datasets by dotted path ------------------------------------------------------------
class Cubes(Dataset[tuple[Tensor, int]]):
    """A user's dataset: random points, labelled by the sign of their first coordinate."""

    classes: ClassVar[list[str]] = ["negative", "positive"]

    def __init__(self, n: int = 40, scale: float = 1.0) -> None:
        generator = torch.Generator().manual_seed(0)
        self.points = scale * torch.randn(n, 2, 2, generator=generator)

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return self.points[index], int(self.points[index, 0, 0] > 0)


class Heights(Dataset[tuple[np.ndarray, float]]):
    def __len__(self) -> int:
        return 30

    def __getitem__(self, index: int) -> tuple[np.ndarray, float]:
        return np.array([index, 2.0 * index]), 0.5 * index


class Stream(IterableDataset[tuple[Tensor, int]]):
    def __iter__(self) -> Any:
        yield torch.zeros(2), 0


def test_a_dataset_class_by_dotted_path_is_split_into_a_bundle() -> None:
    spec = {
        "name": f"{__name__}.Cubes",
        "parameters": {"n": 50, "scale": 2.0, "batch_size": 10, "standardize": False},
    }
    bundle = build("dataset", spec)
    assert isinstance(bundle, DataBundle) and bundle.name == "Cubes"
    assert (bundle.in_features, bundle.classes) == (4, ("negative", "positive"))
    assert bundle.train_loader.batch_size == 10
    features, labels = all_rows(bundle)
    points = Cubes(50, 2.0).points.reshape(50, 4)
    assert sorted(map(tuple, features.tolist())) == sorted(map(tuple, points.tolist()))
    assert torch.equal(labels, (features[:, 0] > 0).long())
    same = data.torch_dataset(
        dataset=Cubes, parameters={"n": 50, "scale": 2.0}, batch_size=10, standardize=False
    )
    assert torch.equal(all_rows(same)[0], features)


def test_a_dataset_of_float_targets_is_a_regression_set() -> None:
    bundle = build("dataset", "torch_dataset", dataset=f"{__name__}.Heights", standardize=False)
    assert (bundle.task, bundle.in_features, bundle.out_features) == ("regression", 2, 1)
    features, targets = all_rows(bundle)
    assert torch.allclose(targets[:, 0], 0.5 * features[:, 0])


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("os.getcwd", "dataset 'os.getcwd' names getcwd, which is not a registered dataset"),
        (f"{__name__}.one_line_error", "accepts subclasses of torch.utils.data.Dataset"),
        (f"{__name__}.Stream", "is an IterableDataset"),
        ({"name": f"{__name__}.Cubes", "parameters": {"sise": 3}}, "has no parameter 'sise'"),
        ({"name": f"{__name__}.Cubes", "parameters": {"test_size": 2}}, "test_size must be a fraction"),
    ],
)  # fmt: skip
def test_only_dataset_classes_are_built_from_a_dotted_path(spec: Any, fragment: str) -> None:
    one_line_error(lambda: build("dataset", spec), fragment)


# -- torchvision ------------------------------------------------------------------------------
def _torchvision_or_skip() -> None:
    try:
        import torchvision.datasets  # noqa: F401
    except Exception as exc:  # not installed, or built for another torch
        pytest.skip(f"torchvision cannot be imported here: {type(exc).__name__}")


def write_mnist(root: Path) -> np.ndarray:
    """The four raw IDX files MNIST reads, with 40 training and 20 test images."""
    import struct

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    train = np.empty(0)
    for prefix, n in (("train", 40), ("t10k", 20)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        header = struct.pack(">IIII", 2051, n, 28, 28)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, n) + labels.tobytes()
        )
        train = images if prefix == "train" else train
    return train


def test_torchvision_reads_mnist_from_a_local_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _torchvision_or_skip()
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the torchvision dataset tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    images = write_mnist(tmp_path)
    bundle = build(
        "dataset",
        {"name": "torchvision", "parameters": {"dataset": "mnist", "root": str(tmp_path), "standardize": False}},
    )  # fmt: skip
    assert (bundle.name, bundle.in_features, bundle.out_features) == ("MNIST", 784, 10)
    assert bundle.n_train + bundle.n_test == 40
    assert bundle.classes is not None and bundle.classes[0].startswith("0")
    features, labels = all_rows(bundle)
    pixels = {tuple(row): i for i, row in enumerate(images.reshape(40, -1).astype(float).tolist())}
    assert all(int(labels[k]) == pixels[tuple(row)] % 10 for k, row in enumerate(features.tolist()))
    test = data.torchvision_dataset(
        dataset="MNIST", root=str(tmp_path), parameters={"train": False}
    )
    assert test.n_train + test.n_test == 20
    one_line_error(
        lambda: data.torchvision_dataset(dataset="MNST", root=str(tmp_path)), "did you mean 'MNIST'"
    )
    one_line_error(
        lambda: data.torchvision_dataset(dataset="CIFAR10", root=str(tmp_path)),
        "no usable files under root=", "set download: true",
    )  # fmt: skip


def test_torchvision_without_the_extra_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", None)
    one_line_error(
        lambda: data.torchvision_dataset(dataset="MNIST", root=str(tmp_path)),
        "needs torchvision", 'pip install "torch==', '"torchvision==0.',
    )  # fmt: skip
