"""Tests of the validation split every dataset source takes (``val_size``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor
from torch.utils.data import Dataset

from rpnkit import build, data
from rpnkit.data import DataBundle
from rpnkit.data import tinybig_functions as tf
from rpnkit.data.loader import Loader
from rpnkit.errors import ConfigError


def rows(loader: Loader) -> tuple[Tensor, Tensor]:
    pairs = list(loader)
    return torch.cat([x for x, _ in pairs]), torch.cat([y for _, y in pairs])


def keyset(x: Tensor) -> set[tuple[float, ...]]:
    return {tuple(r) for r in x.tolist()}


def one_line_error(call: Any, *fragments: str) -> str:
    with pytest.raises(ConfigError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_val_size_zero_leaves_the_split_and_batches_unchanged() -> None:
    plain = data.digits(batch_size=128)
    zero = data.digits(batch_size=128, val_size=0)
    assert zero.val_loader is None and list(zero) == ["train_loader", "test_loader"]
    for key in ("train_loader", "test_loader"):
        for (xa, ya), (xb, yb) in zip(plain[key], zero[key], strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_validation_comes_from_the_training_part_stratified() -> None:
    plain = data.digits(standardize=False)
    bundle = data.digits(standardize=False, val_size=0.2)
    assert list(bundle) == ["train_loader", "val_loader", "test_loader"]
    assert bundle["val_loader"] is bundle.val_loader
    x_train, _ = rows(plain.train_loader)
    x_test_before, _ = rows(plain.test_loader)
    x_fit, _ = rows(bundle.train_loader)
    assert bundle.val_loader is not None
    x_val, y_val = rows(bundle.val_loader)
    x_test, _ = rows(bundle.test_loader)
    assert torch.equal(x_test, x_test_before)  # the test split is untouched
    assert bundle.n_val == len(x_val) == int(np.ceil(0.2 * len(x_train)))
    assert bundle.n_train + bundle.n_val == plain.n_train
    assert keyset(x_fit) | keyset(x_val) == keyset(x_train)
    assert not keyset(x_fit) & keyset(x_val)
    counts = torch.bincount(y_val, minlength=10)
    assert counts.min() >= 25 and counts.max() <= 31  # every class, in proportion
    assert "n_val=" in repr(bundle)


def test_val_size_as_a_count_and_statistics_from_training_rows_only() -> None:
    bundle = data.iris(val_size=12)
    assert bundle.n_val == 12
    x_fit, _ = rows(bundle.train_loader)
    assert x_fit.mean(dim=0).abs().max() < 1e-5  # standardised with the fitting rows only


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(1.5, "val_size must be a fraction"), (-1, "got -1"), (True, "got True"), ("a", "'a'")],
)
def test_bad_val_size_is_one_line(value: Any, fragment: str) -> None:
    one_line_error(lambda: data.iris(val_size=value), "'iris'", fragment)


def test_val_size_that_takes_every_training_row_is_refused() -> None:
    one_line_error(lambda: data.iris(val_size=500), "val_size=500", "leaves none to train on")


def test_val_size_leaving_a_class_without_training_rows_is_refused() -> None:
    x = torch.arange(20.0).reshape(10, 2)
    y = torch.tensor([0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    one_line_error(
        lambda: DataBundle.from_tensors(
            x, y, name="tiny", task="classification", test_size=0.3, val_size=0.1
        ),
        "'tiny'",
        "class 1",
        "val_size",
    )


def test_synthetic_and_tinybig_functions_take_val_size() -> None:
    bundle = data.synthetic_function(function="sin", n_samples=200, val_size=0.25)
    assert (bundle.n_train, bundle.n_val, bundle.n_test) == (120, 40, 40)
    table = tf.elementary(equation_index=0, n_samples=100, val_size=10)
    plain = tf.elementary(equation_index=0, n_samples=100)
    assert (table.n_train, table.n_val, table.n_test) == (40, 10, 50)
    x_all, _ = rows(plain.train_loader)
    x_val, _ = rows(table.val_loader)  # type: ignore[arg-type]
    x_fit, _ = rows(table.train_loader)
    assert keyset(x_val) == keyset(x_all) - keyset(x_fit)
    one_line_error(lambda: tf.elementary(n_samples=100, val_size=1.5), "val_size")


def test_files_take_val_size_streamed_or_not(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(60) % 3)
    seen = []
    for stream in (True, False):
        bundle = data.npz_dataset(path=str(tmp_path), stream=stream, val_size=0.25)
        x_val, y_val = rows(bundle.val_loader)  # type: ignore[arg-type]
        assert bundle.n_val == 12 and torch.bincount(y_val).tolist() == [4, 4, 4]
        seen.append(x_val)
    torch.testing.assert_close(seen[0], seen[1])  # streamed or in memory: the same rows
    csv = tmp_path / "t.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(40)))
    assert build("dataset", "csv", path=str(csv), target="y", val_size=4).n_val == 4


class Squares(Dataset[tuple[Tensor, Tensor]]):
    def __len__(self) -> int:
        return 50

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return torch.tensor([float(i)]), torch.tensor(float(i * i))


def test_a_user_dataset_takes_val_size() -> None:
    bundle = data.torch_dataset(dataset=Squares, val_size=0.1)
    assert (bundle.n_train, bundle.n_val, bundle.n_test) == (36, 4, 10)
