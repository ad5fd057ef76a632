"""Tests of rpnkit.data: the offline datasets and the DataBundle they return."""

from __future__ import annotations

import dataclasses
import math
import socket
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from sklearn import datasets as sk_datasets
from torch import Tensor

from rpnkit import build, data, get_registry
from rpnkit.data import DataBundle, SyntheticFunction
from rpnkit.errors import ConfigError

# name -> (factory, in_features, out_features, task, number of samples)
EXPECTED: dict[str, tuple[Callable[..., DataBundle], int, int, str, int]] = {
    "digits": (data.digits, 64, 10, "classification", 1797),
    "iris": (data.iris, 4, 3, "classification", 150),
    "wine": (data.wine, 13, 3, "classification", 178),
    "breast_cancer": (data.breast_cancer, 30, 2, "classification", 569),
    "function": (data.synthetic_function, 1, 1, "regression", 1000),
}

SKLEARN_LOADERS: dict[str, Callable[..., Any]] = {
    "digits": sk_datasets.load_digits,
    "iris": sk_datasets.load_iris,
    "wine": sk_datasets.load_wine,
    "breast_cancer": sk_datasets.load_breast_cancer,
}

# Independent float64 numpy versions of every catalogue formula.
FORMULAS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sin": lambda x: np.sin(x[:, 0]),
    "cos": lambda x: np.cos(x[:, 0]),
    "exp": lambda x: np.exp(x[:, 0]),
    "tanh": lambda x: np.tanh(x[:, 0]),
    "x1^2": lambda x: x[:, 0] ** 2,
    "polynomial": lambda x: x[:, 0] ** 3 - 2 * x[:, 0] ** 2 + x[:, 0] + 1,
    "gaussian": lambda x: np.exp(-(x[:, 0] ** 2)),
    "sinc": lambda x: np.sinc(x[:, 0]),
    "sin(pi*x1)": lambda x: np.sin(np.pi * x[:, 0]),
    "x1*x2": lambda x: x[:, 0] * x[:, 1],
    "x1^2+x2^2": lambda x: x[:, 0] ** 2 + x[:, 1] ** 2,
    "sin(x1)+cos(x2)": lambda x: np.sin(x[:, 0]) + np.cos(x[:, 1]),
    "sin(pi*x1)*cos(pi*x2)": lambda x: np.sin(np.pi * x[:, 0]) * np.cos(np.pi * x[:, 1]),
    "exp(sin(pi*x1)+x2^2)": lambda x: np.exp(np.sin(np.pi * x[:, 0]) + x[:, 1] ** 2),
    "x1*x2*x3": lambda x: x[:, 0] * x[:, 1] * x[:, 2],
    "sin(x1)+x2*x3": lambda x: np.sin(x[:, 0]) + x[:, 1] * x[:, 2],
    "x1*x2+x3*x4": lambda x: x[:, 0] * x[:, 1] + x[:, 2] * x[:, 3],
    "exp((sin(pi*(x1^2+x2^2))+sin(pi*(x3^2+x4^2)))/2)": lambda x: np.exp(
        (
            np.sin(np.pi * (x[:, 0] ** 2 + x[:, 1] ** 2))
            + np.sin(np.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
        )
        / 2
    ),
}


def split_tensors(bundle: DataBundle, split: str) -> tuple[Tensor, Tensor]:
    """All (features, targets) of one split, in dataset order."""
    features, targets = bundle[f"{split}_loader"].dataset.tensors  # type: ignore[attr-defined]
    return features, targets


def batches(bundle: DataBundle, split: str) -> tuple[Tensor, Tensor]:
    """All (features, targets) of one split, in the order the loader yields them."""
    pairs = list(bundle[f"{split}_loader"])
    return torch.cat([x for x, _ in pairs]), torch.cat([y for _, y in pairs])


def test_registry_lists_every_dataset() -> None:
    names = get_registry().names("dataset")
    assert set(EXPECTED) <= set(names)
    assert get_registry().get("dataset", "synthetic_function") is data.synthetic_function


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_registry_builds_dataset(name: str) -> None:
    _, in_features, out_features, task, n_samples = EXPECTED[name]
    bundle = build("dataset", name, batch_size=32)
    assert isinstance(bundle, DataBundle)
    assert bundle.name == ("sin" if name == "function" else name)
    assert bundle.task == task
    assert (bundle.in_features, bundle.out_features) == (in_features, out_features)
    assert bundle.n_train + bundle.n_test == n_samples
    x, y = next(iter(bundle["train_loader"]))
    assert x.shape == (32, in_features) and x.dtype == torch.float32
    if task == "classification":
        assert y.shape == (32,) and y.dtype == torch.int64
        assert int(y.min()) >= 0 and int(y.max()) < out_features
    else:
        assert y.shape == (32, out_features) and y.dtype == torch.float32


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_factory_matches_registry_build(name: str) -> None:
    factory = EXPECTED[name][0]
    direct = factory(batch_size=16, seed=3)
    built = build("dataset", {"name": name, "parameters": {"batch_size": 16, "seed": 3}})
    for split in ("train", "test"):
        for a, b in zip(split_tensors(direct, split), split_tensors(built, split), strict=True):
            assert torch.equal(a, b)


def test_bundle_is_a_read_only_mapping_of_the_two_loaders() -> None:
    bundle = data.iris(batch_size=8)
    assert isinstance(bundle, Mapping)
    assert list(bundle) == ["train_loader", "test_loader"]
    assert len(bundle) == 2
    assert bundle["train_loader"] is bundle.train_loader
    assert dict(bundle) == {"train_loader": bundle.train_loader, "test_loader": bundle.test_loader}
    assert "model" not in bundle
    with pytest.raises(KeyError):
        bundle["model"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.batch_size = 4  # type: ignore[attr-defined]
    assert "n_train=120" in repr(bundle) and "n_test=30" in repr(bundle)


def test_bundle_rejects_unknown_task() -> None:
    loader = data.iris().train_loader
    with pytest.raises(ConfigError, match="task"):
        DataBundle("x", "clustering", 4, 3, loader, loader)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(SKLEARN_LOADERS))
def test_split_partitions_the_sklearn_data(name: str) -> None:
    raw_x, raw_y = SKLEARN_LOADERS[name](return_X_y=True)
    bundle = EXPECTED[name][0](standardize=False)
    train_x, train_y = split_tensors(bundle, "train")
    test_x, test_y = split_tensors(bundle, "test")
    assert bundle.n_test == math.ceil(0.2 * len(raw_x))
    rows = torch.cat([torch.cat([train_x, test_x]), torch.cat([train_y, test_y])[:, None]], 1)
    expected = np.concatenate([raw_x, raw_y[:, None]], axis=1).astype(np.float32)
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, expected.tolist()))


def test_test_size_sets_the_split_fraction() -> None:
    bundle = data.digits(test_size=0.5)
    assert bundle.n_test == math.ceil(0.5 * 1797)
    assert bundle.n_train == 1797 - bundle.n_test


def test_same_seed_gives_same_split_and_batches() -> None:
    first, second = data.digits(seed=7), data.digits(seed=7)
    for split in ("train", "test"):
        for a, b in zip(split_tensors(first, split), split_tensors(second, split), strict=True):
            assert torch.equal(a, b)
    for a, b in zip(batches(first, "train"), batches(second, "train"), strict=True):
        assert torch.equal(a, b)


def test_different_seeds_give_different_splits() -> None:
    a = split_tensors(data.wine(seed=0, standardize=False), "test")[0]
    b = split_tensors(data.wine(seed=1, standardize=False), "test")[0]
    assert a.shape == b.shape
    assert not torch.equal(a, b)


def test_train_loader_reshuffles_each_epoch_and_test_loader_keeps_order() -> None:
    bundle = data.iris(batch_size=150)
    epoch_1, epoch_2 = batches(bundle, "train")[1], batches(bundle, "train")[1]
    assert not torch.equal(epoch_1, epoch_2)
    assert torch.equal(batches(bundle, "test")[1], split_tensors(bundle, "test")[1])
    assert torch.equal(batches(bundle, "test")[1], batches(bundle, "test")[1])


def test_shuffle_false_yields_the_training_split_in_order() -> None:
    bundle = data.iris(batch_size=16, shuffle=False)
    assert torch.equal(batches(bundle, "train")[0], split_tensors(bundle, "train")[0])


def test_standardize_uses_training_statistics_only() -> None:
    raw = data.digits(standardize=False, seed=2)
    scaled = data.digits(standardize=True, seed=2)
    raw_train, raw_test = split_tensors(raw, "train")[0], split_tensors(raw, "test")[0]
    train, test = split_tensors(scaled, "train")[0], split_tensors(scaled, "test")[0]
    assert raw.feature_mean is None and raw.feature_std is None
    assert scaled.feature_mean is not None and scaled.feature_std is not None

    assert torch.allclose(train.mean(0), torch.zeros(64), atol=1e-5)
    varying = raw_train.std(0) > 0
    assert bool((~varying).any())  # digits has constant border pixels
    assert torch.allclose(
        train.std(0, correction=0)[varying], torch.ones(int(varying.sum())), atol=1e-4
    )
    assert torch.isfinite(train).all() and torch.isfinite(test).all()

    assert torch.allclose(scaled.feature_mean, raw_train.mean(0), atol=1e-5)
    expected_test = (raw_test - scaled.feature_mean) / scaled.feature_std
    assert torch.allclose(test, expected_test, atol=1e-5)
    assert not torch.allclose(test.mean(0), torch.zeros(64), atol=1e-3)


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "wine"])
def test_classification_split_is_stratified(name: str) -> None:
    bundle = EXPECTED[name][0](test_size=0.25, seed=5)
    train_y = split_tensors(bundle, "train")[1]
    test_y = split_tensors(bundle, "test")[1]
    totals = torch.bincount(torch.cat([train_y, test_y]))
    test_counts = torch.bincount(test_y, minlength=len(totals))
    assert torch.all((test_counts - 0.25 * totals).abs() <= 1)


def test_batch_size_options() -> None:
    bundle = data.iris(batch_size=50, test_batch_size=7)
    assert [len(y) for _, y in bundle["train_loader"]] == [50, 50, 20]
    assert [len(y) for _, y in bundle["test_loader"]] == [7, 7, 7, 7, 2]
    dropped = data.iris(batch_size=50, drop_last=True)
    assert [len(y) for _, y in dropped["train_loader"]] == [50, 50]
    default = data.iris(batch_size=8)
    assert default.test_loader.batch_size == 8


@pytest.mark.parametrize("name", data.function_names())
def test_synthetic_function_matches_its_formula(name: str) -> None:
    bundle = data.synthetic_function(function=name, n_samples=200, input_range=(-1.5, 1.5))
    fn = data.get_function(name)
    assert (bundle.name, bundle.in_features, bundle.out_features) == (name, fn.n_inputs, 1)
    for split in ("train", "test"):
        x, y = split_tensors(bundle, split)
        assert x.dtype == torch.float32 and y.dtype == torch.float32
        assert y.shape == (len(x), 1)
        assert float(x.min()) >= -1.5 and float(x.max()) <= 1.5
        expected = FORMULAS[name](x.double().numpy())
        np.testing.assert_allclose(y[:, 0].numpy(), expected, rtol=1e-5, atol=1e-5)


def test_every_catalogue_function_has_a_reference_formula() -> None:
    assert set(data.function_names()) == set(FORMULAS)
    assert {data.get_function(n).n_inputs for n in data.function_names()} == {1, 2, 3, 4}


def test_synthetic_function_is_deterministic_given_seed() -> None:
    kwargs: dict[str, Any] = {"function": "x1*x2", "n_samples": 100, "noise": 0.1}
    a, b = data.synthetic_function(seed=4, **kwargs), data.synthetic_function(seed=4, **kwargs)
    c = data.synthetic_function(seed=5, **kwargs)
    for split in ("train", "test"):
        assert torch.equal(split_tensors(a, split)[1], split_tensors(b, split)[1])
        assert torch.equal(split_tensors(a, split)[0], split_tensors(b, split)[0])
    assert not torch.equal(split_tensors(a, "train")[0], split_tensors(c, "train")[0])


def test_synthetic_noise_has_the_requested_scale() -> None:
    bundle = data.synthetic_function(function="sin", n_samples=4000, noise=0.1, seed=1)
    x, y = split_tensors(bundle, "train")
    residual = y[:, 0] - torch.sin(x[:, 0])
    assert abs(float(residual.mean())) < 0.01
    assert 0.09 < float(residual.std()) < 0.11


def test_synthetic_inputs_follow_input_range() -> None:
    bundle = data.synthetic_function(function="x1*x2*x3", n_samples=500, input_range=[0.5, 2.0])
    x = torch.cat([split_tensors(bundle, s)[0] for s in ("train", "test")])
    assert float(x.min()) >= 0.5 and float(x.max()) <= 2.0
    assert float(x.min()) < 0.6 and float(x.max()) > 1.9


def test_synthetic_standardize_is_optional() -> None:
    bundle = data.synthetic_function(function="exp", input_range=(2.0, 4.0), standardize=True)
    x, y = split_tensors(bundle, "train")
    assert torch.allclose(x.mean(0), torch.zeros(1), atol=1e-5)
    assert bundle.feature_mean is not None and bundle.feature_std is not None
    raw_x = x * bundle.feature_std + bundle.feature_mean
    assert torch.allclose(y[:, 0], torch.exp(raw_x[:, 0]), rtol=1e-4)


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("SIN", "sin"),
        ("sin(x1) + cos(x2)", "sin(x1)+cos(x2)"),
        ("x1**2 + x2**2", "x1^2+x2^2"),
        ("exp(sin(pi*x1) + x2**2)", "exp(sin(pi*x1)+x2^2)"),
    ],
)
def test_function_names_ignore_case_spaces_and_power_spelling(spelling: str, name: str) -> None:
    assert data.get_function(spelling) is data.FUNCTIONS[name]


def test_custom_synthetic_function() -> None:
    cube = SyntheticFunction("x1^3+x2", 2, lambda x: x[:, 0] ** 3 + x[:, 1])
    bundle = data.synthetic_function(function=cube, n_samples=50)
    x, y = split_tensors(bundle, "train")
    assert bundle.in_features == 2
    assert torch.allclose(y[:, 0], x[:, 0] ** 3 + x[:, 1])
    with pytest.raises(ConfigError, match=r"shape \(n, 2\)"):
        cube(torch.zeros(3, 4))


def test_unknown_function_suggests_close_names() -> None:
    with pytest.raises(ConfigError) as info:
        data.synthetic_function(function="sinn")
    message = str(info.value)
    assert "'sinn'" in message and "did you mean 'sin'" in message and "\n" not in message


@pytest.mark.parametrize(
    ("factory", "kwargs", "field"),
    [
        (data.digits, {"test_size": 1.5}, "test_size"),
        (data.digits, {"test_size": 0}, "test_size"),
        (data.iris, {"batch_size": 0}, "batch_size"),
        (data.iris, {"batch_size": 2.5}, "batch_size"),
        (data.iris, {"test_batch_size": -1}, "test_batch_size"),
        (data.wine, {"seed": -1}, "seed"),
        (data.wine, {"num_workers": -2}, "num_workers"),
        (data.wine, {"shuffle": "yes"}, "shuffle"),
        (data.breast_cancer, {"standardize": 1}, "standardize"),
        (data.iris, {"batch_size": 500, "drop_last": True}, "drop_last"),
        (data.synthetic_function, {"function": "cosh"}, "function"),
        (data.synthetic_function, {"n_samples": 1}, "n_samples"),
        (data.synthetic_function, {"noise": -0.1}, "noise"),
        (data.synthetic_function, {"noise": float("nan")}, "noise"),
        (data.synthetic_function, {"input_range": (1.0, -1.0)}, "input_range"),
        (data.synthetic_function, {"input_range": (0.0, 1.0, 2.0)}, "input_range"),
        (data.synthetic_function, {"input_range": "ab"}, "input_range"),
        (data.synthetic_function, {"seed": 1.5}, "seed"),
        (data.synthetic_function, {"test_size": -0.2}, "test_size"),
    ],
)
def test_bad_parameters_raise_one_line_config_errors(
    factory: Callable[..., DataBundle], kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as info:
        factory(**kwargs)
    message = str(info.value)
    assert field in message and repr(kwargs[field]) in message
    assert "\n" not in message


def test_registry_build_reports_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="test_size"):
        build("dataset", "digits", test_size=1.5)
    with pytest.raises(ConfigError, match="batch_size"):
        build("dataset", "iris", batch_sise=8)


#: Structured datasets reading local files (tests/test_data_{images,graphs,sequences}.py).
LOCAL_READERS = ("mnist", "cifar10", "cora", "citeseer", "pubmed", "etf", "stock", "traffic_la",
                 "traffic_bay", "graph_csv", "graph_npz", "cora_files", "series_csv")  # fmt: skip


def test_datasets_never_use_the_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("rpnkit.data tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rows = "".join(f"{i},{i % 7},{'ab'[i % 2]}\n" for i in range(40))
    (tmp_path / "t.csv").write_text("u,v,label\n" + rows)
    np.savez(tmp_path / "a.npz", x=np.arange(80.0).reshape(40, 2), y=np.arange(40) % 2)
    # the file datasets need their files; the optional readers are covered where installed
    needs: dict[str, dict[str, Any]] = {
        "csv": {"path": str(tmp_path / "t.csv"), "target": "label"},
        "npz": {"path": str(tmp_path / "a.npz")},
        "parquet": {},
        "torchvision": {},
        "torch_dataset": {},
        # structured readers of local files: tests/test_data_{images,graphs,sequences}.py
        **{name: {} for name in LOCAL_READERS},
    }
    one_batch = {"karate_club", "sbm"}  # graphs: the whole graph is one batch
    names = get_registry().names("dataset")
    assert set(needs) <= set(names)
    for name in names:
        if name in needs and not needs[name]:
            continue
        options = {} if name in one_batch else {"batch_size": 32}
        bundle = build("dataset", name, **options, **needs.get(name, {}))
        assert bundle.n_train > 0 and bundle.n_test > 0
