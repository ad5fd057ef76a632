"""Image datasets: digits as 1x8x8 grids, MNIST from IDX files, CIFAR-10 from binary batches."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from rpnkit import build
from rpnkit.data.cifar import cifar10, read_cifar_binary
from rpnkit.data.idx import mnist, read_idx
from rpnkit.data.images import ImageBundle, digits_images
from rpnkit.data.tabular import read
from rpnkit.errors import ConfigError
from rpnkit.tinybig.run import translate_tinybig
from tests.test_tinybig_translation import _config as tinybig_config


def one_line_error(call: Any, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def write_idx(path: Path, array: np.ndarray, code: int = 0x08, magic: bytes | None = None) -> Path:
    dtype = {0x08: ">u1", 0x0B: ">i2", 0x0D: ">f4"}[code]
    header = magic if magic is not None else bytes([0, 0, code, array.ndim])
    body = header + b"".join(struct.pack(">I", s) for s in array.shape)
    data = body + array.astype(dtype).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as stream:
            stream.write(data)
    else:
        path.write_bytes(data)
    return path


def write_mnist(root: Path, n_train: int = 40, n_test: int = 20, gz: bool = False) -> dict:
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, array in arrays.items():
        write_idx(root / (name + (".gz" if gz else "")), array)
    return arrays


# -- digits ------------------------------------------------------------------------------------
def test_digits_images_are_one_channel_8x8_grids_in_both_layouts() -> None:
    grid = digits_images(layout="image", batch_size=32)
    flat = digits_images(batch_size=32)
    assert isinstance(grid, ImageBundle) and grid.image_shape == (1, 8, 8)
    assert (grid.in_features, grid.out_features, grid.n_train + grid.n_test) == (64, 10, 1797)
    x_grid, y_grid = next(iter(grid.train_loader))
    x_flat, y_flat = next(iter(flat.train_loader))
    assert x_grid.shape == (32, 1, 8, 8) and x_flat.shape == (32, 64)
    # the same seeded split, the flat layout being the grid read row by row
    assert torch.equal(y_grid, y_flat) and torch.equal(x_grid.reshape(32, 64), x_flat)
    # one channel standardised with the training images' statistics
    train = grid.train_loader.dataset.tensors[0]  # type: ignore[attr-defined]
    assert abs(float(train.mean())) < 1e-5 and abs(float(train.std(correction=0)) - 1) < 1e-4


def test_digits_images_pixels_are_the_digits_pixels_over_16() -> None:
    bundle = digits_images(layout="image", standardize=False, test_size=0.5)
    features, labels, _ = read("digits.csv.gz")
    x, y = bundle.test_loader.dataset.tensors  # type: ignore[attr-defined]
    row = x[0].reshape(64).double() * 16
    matches = np.flatnonzero((np.abs(features - row.numpy()) < 1e-5).all(axis=1))
    assert len(matches) >= 1 and labels[matches[0]] == int(y[0])
    assert float(x.max()) <= 1.0 and float(x.min()) >= 0.0


def test_digits_images_is_registered_and_checks_its_layout() -> None:
    assert build("dataset", "digits_images", layout="image").image_shape == (1, 8, 8)
    one_line_error(lambda: digits_images(layout="grid"), "layout='grid'", "'flat'", "'image'")


# -- IDX / MNIST -------------------------------------------------------------------------------
@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_the_four_idx_files(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist(tmp_path, gz=gz)
    bundle = mnist(root=str(tmp_path), layout="image", standardize=False, shuffle=False,
                   batch_size=40)  # fmt: skip
    assert (bundle.n_train, bundle.n_test, bundle.image_shape) == (40, 20, (1, 28, 28))
    x, y = next(iter(bundle.train_loader))
    expected = arrays["train-images-idx3-ubyte"] / 255.0
    assert np.allclose(x[:, 0].numpy(), expected, atol=1e-6)
    assert y.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    flat = mnist(root=str(tmp_path), n_train=10, n_test=5, batch_size=10)
    assert flat.n_train == 10 and next(iter(flat.test_loader))[0].shape == (5, 784)


def test_mnist_finds_torchvisions_raw_folder(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_mnist(raw)
    assert mnist(root=str(tmp_path)).n_test == 20


def test_read_idx_reads_other_types_and_shapes(tmp_path: Path) -> None:
    values = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    assert np.array_equal(read_idx("t", write_idx(tmp_path / "f", values, 0x0D), 3), values)
    shorts = np.array([-3, 0, 300])
    assert read_idx("t", write_idx(tmp_path / "s", shorts, 0x0B)).tolist() == [-3, 0, 300]


def test_idx_files_with_a_wrong_magic_number_or_truncated_are_one_line_errors(
    tmp_path: Path,
) -> None:
    labels = np.arange(10)
    bad = write_idx(tmp_path / "bad", labels, magic=b"\x1f\x8b\x08\x01")
    one_line_error(lambda: read_idx("mnist", bad, 1), "'bad'", "magic number 0x1f8b0801")
    images = write_idx(tmp_path / "images", np.zeros((2, 3, 3)))
    one_line_error(lambda: read_idx("mnist", images, 1), "3 dimension(s), expected 1")
    full = write_idx(tmp_path / "full", np.zeros((4, 5, 5))).read_bytes()
    (tmp_path / "cut").write_bytes(full[:-7])
    one_line_error(lambda: read_idx("mnist", tmp_path / "cut", 3), "is truncated", "(4, 5, 5)")
    (tmp_path / "long").write_bytes(full + b"\0")
    one_line_error(lambda: read_idx("mnist", tmp_path / "long", 3), "has trailing bytes")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b not really gzip")
    one_line_error(lambda: read_idx("mnist", tmp_path / "broken.gz", 3), "cannot be read")


def test_mnist_errors_say_what_to_download(tmp_path: Path) -> None:
    one_line_error(lambda: mnist(), "root=None", "rpnkit downloads nothing",
                   "train-images-idx3-ubyte.gz", "{root: <that folder>}")  # fmt: skip
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    one_line_error(lambda: mnist(root=str(tmp_path)), "no t10k-labels-idx1-ubyte[.gz]")
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.arange(3))
    one_line_error(lambda: mnist(root=str(tmp_path)), "holds 20 images but", "holds 3 labels")


# -- CIFAR-10 binary ---------------------------------------------------------------------------
def cifar_records(n: int, seed: int = 0) -> np.ndarray:
    records = np.random.default_rng(seed).integers(0, 256, (n, 3073)).astype(np.uint8)
    records[:, 0] = np.arange(n) % 10
    return records


def test_cifar_records_are_a_label_byte_then_three_channel_planes(tmp_path: Path) -> None:
    records = cifar_records(5)
    records.tofile(tmp_path / "test_batch.bin")
    images, labels = read_cifar_binary("cifar10", tmp_path / "test_batch.bin")
    assert images.shape == (5, 3, 32, 32) and labels.tolist() == [0, 1, 2, 3, 4]
    assert np.array_equal(images[2, 1, 0], records[2, 1 + 1024 : 1 + 1024 + 32])  # green, row 0
    assert np.array_equal(images[4, 2, 31], records[4, 3073 - 32 :])  # blue, last row


def test_cifar10_reads_the_binary_batches_with_their_class_names(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for i in range(1, 6):
        cifar_records(6, seed=i).tofile(folder / f"data_batch_{i}.bin")
    cifar_records(4, seed=9).tofile(folder / "test_batch.bin")
    names = [f"class{i}" for i in range(10)]
    (folder / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    bundle = cifar10(root=str(tmp_path), layout="image", standardize=False, shuffle=False,
                     batch_size=30)  # fmt: skip
    assert (bundle.n_train, bundle.n_test, bundle.classes) == (30, 4, tuple(names))
    x, _ = next(iter(bundle.train_loader))
    assert np.allclose(x[6].numpy() * 255, cifar_records(6, seed=2)[0, 1:].reshape(3, 32, 32),
                       atol=1e-3)  # fmt: skip
    flat = cifar10(root=str(folder), n_train=8, batch_size=8)
    train = flat.train_loader.dataset.tensors[0]  # type: ignore[attr-defined]
    assert train.shape == (8, 3072) and flat.feature_mean is not None
    means = train.reshape(8, 3, 1024).mean(dim=(0, 2))
    assert torch.allclose(means, torch.zeros(3), atol=1e-5)  # per-channel, training statistics


def test_cifar_malformed_files_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "test_batch.bin").write_bytes(cifar_records(3).tobytes()[:-100])
    one_line_error(lambda: read_cifar_binary("cifar10", tmp_path / "test_batch.bin"),
                   "'test_batch.bin' holds 9119 bytes", "truncated")  # fmt: skip
    records = cifar_records(3)
    records[1, 0] = 57
    records.tofile(tmp_path / "test_batch.bin")
    one_line_error(lambda: read_cifar_binary("cifar10", tmp_path / "test_batch.bin"),
                   "record 1 has label 57")  # fmt: skip
    one_line_error(lambda: cifar10(root=str(tmp_path)), "'data_batch_1.bin' is missing")
    one_line_error(lambda: cifar10(), "rpnkit downloads nothing", "binary version")


def test_cifar10_refuses_the_pickled_python_version(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    (folder / "data_batch_1").write_bytes(b"\x80\x04 a pickle")
    one_line_error(lambda: cifar10(root=str(tmp_path)), "python (pickled) version",
                   "does not read")  # fmt: skip


def _tinybig_data(cls: str, **parameters: Any) -> dict:
    raw = tinybig_config()
    raw["configurations"]["data_configs"] = {
        "data_class": cls,
        "data_parameters": {"name": cls.rsplit(".", 1)[1], **parameters},
    }
    return translate_tinybig(raw)["data"]


def test_tinybigs_image_classes_map_to_the_readers_given_a_local_root(tmp_path: Path) -> None:
    data = _tinybig_data("tinybig.data.mnist", train_batch_size=16, root=str(tmp_path))
    assert data["name"] == "mnist" and data["parameters"]["batch_size"] == 16
    write_mnist(tmp_path)
    assert build("dataset", data["name"], **data["parameters"]).n_train == 40
    with pytest.raises(ConfigError) as info:
        _tinybig_data("tinybig.data.cifar10", train_batch_size=16)
    assert "\n" not in str(info.value)
    assert "rpnkit downloads nothing" in str(info.value) and "root" in str(info.value)


# -- validation split ----------------------------------------------------------------------------
def _rows(loader: Any) -> list[bytes]:
    return sorted(row.numpy().tobytes() for batch in loader for row in batch[0])


def _labels(loader: Any) -> torch.Tensor:
    return torch.cat([batch[1] for batch in loader])


def test_digits_images_val_size_takes_a_stratified_part_of_the_training_images() -> None:
    base = digits_images(standardize=False, shuffle=False, seed=1)
    with_val = digits_images(standardize=False, shuffle=False, seed=1, val_size=0.25)
    assert base.val_loader is None and "val_loader" not in base
    assert with_val.val_loader is not None and with_val["val_loader"] is with_val.val_loader
    assert with_val.n_val == int(np.ceil(0.25 * base.n_train))
    assert with_val.n_train + with_val.n_val == base.n_train
    # the test split is today's; train and validation partition today's training images
    assert _rows(with_val.test_loader) == _rows(base.test_loader)
    assert sorted(_rows(with_val.train_loader) + _rows(with_val.val_loader)) == _rows(
        base.train_loader
    )
    train_counts = torch.bincount(_labels(base.train_loader), minlength=10).double()
    val_counts = torch.bincount(_labels(with_val.val_loader), minlength=10).double()
    assert bool(((val_counts - 0.25 * train_counts).abs() <= 1).all())  # stratified by digit
    # standardised with the remaining training images only
    scaled = digits_images(layout="image", val_size=0.25, seed=1)
    train = scaled.train_loader.dataset.tensors[0]  # type: ignore[attr-defined]
    assert abs(float(train.mean())) < 1e-5 and abs(float(train.std(correction=0)) - 1) < 1e-4
    assert scaled.val_loader.dataset.tensors[0].shape[1:] == (1, 8, 8)  # type: ignore[union-attr]


def test_digits_images_without_val_size_split_exactly_as_before() -> None:
    from rpnkit.data.split import split_indices

    features, labels, _ = read("digits.csv.gz")
    images = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32) / 16.0)
    y = torch.from_numpy(labels).long()
    train, test = split_indices("digits_images", len(y), 0.2, y, torch.Generator().manual_seed(4))
    for bundle in (digits_images(seed=4, standardize=False, shuffle=False),
                   digits_images(seed=4, standardize=False, shuffle=False, val_size=0)):  # fmt: skip
        assert bundle.val_loader is None
        x_train, y_train = bundle.train_loader.dataset.tensors  # type: ignore[attr-defined]
        x_test, _ = bundle.test_loader.dataset.tensors  # type: ignore[attr-defined]
        assert torch.equal(x_train, images[train]) and torch.equal(y_train, y[train])
        assert torch.equal(x_test, images[test])


def test_mnist_and_cifar10_validate_on_part_of_their_official_training_set(
    tmp_path: Path,
) -> None:
    write_mnist(tmp_path, n_train=60, n_test=20)
    for cifar_file in [f"data_batch_{i}.bin" for i in range(1, 6)]:
        cifar_records(10, seed=len(cifar_file)).tofile(tmp_path / cifar_file)
    cifar_records(8, seed=7).tofile(tmp_path / "test_batch.bin")
    for factory in (mnist, cifar10):
        base = factory(root=str(tmp_path), standardize=False, shuffle=False)
        counted = factory(root=str(tmp_path), standardize=False, shuffle=False, val_size=10)
        assert base.val_loader is None
        assert (counted.n_train, counted.n_val, counted.n_test) == (
            base.n_train - 10, 10, base.n_test
        )  # fmt: skip
        assert _rows(counted.test_loader) == _rows(base.test_loader)  # official test untouched
        assert sorted(_rows(counted.train_loader) + _rows(counted.val_loader)) == _rows(
            base.train_loader
        )
        assert sorted(_labels(counted.val_loader).tolist()) == list(range(10))  # stratified
        fraction = factory(root=str(tmp_path), val_size=0.5)
        assert fraction.n_val == base.n_train // 2


@pytest.mark.parametrize("name", ["digits_images", "mnist", "cifar10"])
def test_an_image_val_size_out_of_range_is_one_line(name: str, tmp_path: Path) -> None:
    one_line_error(lambda: build("dataset", name, root=str(tmp_path), val_size=1.5)
                   if name != "digits_images" else build("dataset", name, val_size=1.5),
                   "val_size", "1.5", "[0, 1)")  # fmt: skip
    one_line_error(lambda: digits_images(val_size=5000), "val_size=5000", "lower val_size")
