"""Tests of the bundled scikit-learn sets read directly from their files, class names, sizes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from sklearn import datasets as sk_datasets

from rpnkit import data
from rpnkit.data.tabular import read
from rpnkit.errors import ConfigError

# file -> (scikit-learn loader, rpnkit factory)
SETS: dict[str, tuple[Callable[..., Any], Callable[..., data.DataBundle]]] = {
    "digits.csv.gz": (sk_datasets.load_digits, data.digits),
    "iris.csv": (sk_datasets.load_iris, data.iris),
    "wine_data.csv": (sk_datasets.load_wine, data.wine),
    "breast_cancer.csv": (sk_datasets.load_breast_cancer, data.breast_cancer),
}


@pytest.mark.parametrize("file", sorted(SETS))
def test_reading_the_file_gives_scikit_learns_arrays(file: str) -> None:
    loader, _ = SETS[file]
    features, labels, classes = read(file)
    expected_x, expected_y = loader(return_X_y=True)
    assert features.dtype == expected_x.dtype and labels.dtype == expected_y.dtype
    np.testing.assert_array_equal(features, expected_x)
    np.testing.assert_array_equal(labels, expected_y)
    assert classes == tuple(str(name) for name in loader().target_names)


@pytest.mark.parametrize("file", sorted(SETS))
def test_bundles_carry_the_class_names(file: str) -> None:
    loader, factory = SETS[file]
    bundle = factory(batch_size=8)
    assert bundle.classes == tuple(str(name) for name in loader().target_names)
    assert len(bundle.classes) == bundle.out_features


def test_reading_digits_imports_neither_sklearn_nor_scipy() -> None:
    code = (
        "import sys, rpnkit.data.tabular as t; b = t.digits(); "
        "print(b.n_train + b.n_test, 'sklearn' in sys.modules, 'scipy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["1797", "False", "False"]


def test_decode_reads_predictions_back_in_the_class_names() -> None:
    bundle = data.iris(batch_size=150)
    _, labels = next(iter(bundle.test_loader))
    names = bundle.decode(labels)
    assert names == [bundle.classes[i] for i in labels.tolist()]  # type: ignore[index]
    scores = torch.nn.functional.one_hot(labels, 3).float()
    assert bundle.decode(scores) == names
    with pytest.raises(ConfigError, match=r"class indices must lie in 0\.\.2"):
        bundle.decode(torch.tensor([3]))
    with pytest.raises(ConfigError, match="regression set"):
        data.synthetic_function(n_samples=20).decode(torch.tensor([0]))


def test_a_bundle_without_names_decodes_to_the_indices() -> None:
    x = torch.randn(20, 2)
    y = torch.arange(20) % 2
    bundle = data.DataBundle.from_tensors(x, y, name="t", task="classification")
    assert bundle.classes is None
    assert bundle.decode(torch.tensor([1, 0])) == ["1", "0"]


def test_class_names_must_fit_the_classes() -> None:
    x, y = torch.randn(20, 2), torch.arange(20) % 3
    with pytest.raises(ConfigError, match="2 class names for class indices up to 2"):
        data.DataBundle.from_tensors(x, y, name="t", task="classification", classes=["a", "b"])
    loader = data.iris().train_loader
    with pytest.raises(ConfigError, match="only given for task 'classification'"):
        data.DataBundle("t", "regression", 4, 1, loader, loader, classes=("a",))


def test_an_absurd_number_of_samples_is_refused_before_allocating() -> None:
    with pytest.raises(ConfigError) as info:
        data.synthetic_function(function="x1*x2", n_samples=10**12)
    message = str(info.value)
    assert "n_samples=1000000000000" in message and "TB of memory" in message
    assert "lower n_samples" in message and "\n" not in message
