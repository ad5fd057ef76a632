"""Random compressions (naive probabilistic, combinatorial): seeded draws equal tinybig's,
shapes, sampling laws and one-line errors."""

from __future__ import annotations

import importlib
import math
from typing import Any

import pytest
import torch

from rpnkit import build
from rpnkit.errors import ConfigError
from rpnkit.rpn.compression import (
    CombinatorialCompression,
    CombinatorialProbabilisticCompression,
    NaiveProbabilisticCompression,
)


def _x(b: int = 4, m: int = 6) -> torch.Tensor:
    torch.manual_seed(3)
    return torch.randn(b, m)


def _seeded(module: Any, x: torch.Tensor, seed: int = 7) -> torch.Tensor:
    torch.manual_seed(seed)
    return module(x)


@pytest.mark.parametrize(
    "name",
    ["naive_uniform", "naive_normal", "naive_cauchy", "naive_chi2", "naive_exponential",
     "naive_gamma", "naive_laplace"],
)  # fmt: skip
def test_naive_probabilistic_matches_tinybig_under_a_seed(tinybig: Any, name: str) -> None:
    compression_module = importlib.import_module("tinybig.compression")
    ref = getattr(compression_module, f"{name}_probabilistic_compression")(k=3)
    ours = build("compression", f"{name}_probabilistic_compression", k=3)
    x = _x()
    assert ours.calculate_D(6) == 3
    torch.testing.assert_close(_seeded(ours, x), _seeded(ref, x))


def test_naive_probabilistic_log_prob_matches_tinybig(tinybig: Any) -> None:
    module = importlib.import_module("tinybig.compression")
    ref = module.naive_normal_probabilistic_compression(k=4, simply_sampling=False, log_prob=True)
    ours = build("compression", "naive_normal_probabilistic", k=4, simply_sampling=False,
                 log_prob=True)  # fmt: skip
    x = _x()
    torch.testing.assert_close(_seeded(ours, x), _seeded(ref, x))


def test_sampled_features_are_sorted_distinct_inputs_and_reproducible() -> None:
    x = torch.arange(20.0).reshape(2, 10)
    compression = NaiveProbabilisticCompression(k=4)
    out = _seeded(compression, x)
    assert out.shape == (2, 4)
    for row, source in zip(out, x, strict=True):
        assert bool((row[1:] > row[:-1]).all())  # sorted and without repetition
        assert set(row.tolist()) <= set(source.tolist())
    torch.testing.assert_close(_seeded(compression, x), out)
    assert not torch.equal(_seeded(compression, x, seed=8), out)


def test_uniform_weights_give_every_feature_the_same_chance() -> None:
    torch.manual_seed(0)
    x = torch.randn(1, 5).expand(4000, 5)
    picked = NaiveProbabilisticCompression(k=1)(torch.arange(5.0).expand(4000, 5) + 0 * x)
    counts = torch.bincount(picked.long().flatten(), minlength=5).double() / 4000
    torch.testing.assert_close(counts, torch.full((5,), 0.2, dtype=torch.float64), atol=0.03,
                               rtol=0)  # fmt: skip


def test_normal_weights_follow_the_density() -> None:
    # one feature squashed near 0.001, one near 0.991: weights ∝ φ(z)
    x = torch.tensor([[-20.0, 20.0]]).expand(6000, 2)
    torch.manual_seed(0)
    picked = build("compression", "naive_normal_probabilistic", k=1)(x)
    share = float((picked == -20.0).double().mean())
    lo, hi = 0.001, 0.991
    expected = math.exp(-(lo**2) / 2) / (math.exp(-(lo**2) / 2) + math.exp(-(hi**2) / 2))
    assert abs(share - expected) < 0.03


@pytest.mark.parametrize(
    ("params", "D"),
    [({"d": 1, "k": 2}, 2), ({"d": 2, "k": 2}, 6), ({"d": 3, "k": 1}, 6),
     ({"d": 2, "k": 3, "with_replacement": True}, 9)],
)  # fmt: skip
def test_combinatorial_matches_tinybig_under_a_seed(
    tinybig: Any, params: dict[str, Any], D: int
) -> None:
    from tinybig.compression.combinatorial_compression import combinatorial_compression

    ref = combinatorial_compression(**params)
    ours = build("compression", "combinatorial_compression", **params)
    x = _x(3, 5)
    assert ours.calculate_D(5) == ref.calculate_D(5) == D
    torch.testing.assert_close(_seeded(ours, x), _seeded(ref, x))


def test_combinatorial_probabilistic_matches_tinybig(tinybig: Any) -> None:
    from tinybig.compression.combinatorial_compression import (
        combinatorial_probabilistic_compression,
    )

    ref = combinatorial_probabilistic_compression(d=2, k=3)
    ours = build("compression", "combinatorial_probabilistic", d=2, k=3)
    assert isinstance(ours, CombinatorialProbabilisticCompression)
    x = _x(3, 5)
    assert ours.calculate_D(5) == 6
    torch.testing.assert_close(_seeded(ours, x), _seeded(ref, x))


def test_combinatorial_subsets_are_subsets_of_the_sample() -> None:
    x = torch.arange(12.0).reshape(2, 6)
    out = _seeded(CombinatorialCompression(d=2, k=3), x).reshape(2, 3, 3)
    for sample, source in zip(out, x, strict=True):
        pairs = sample[:, 1:]
        assert bool((pairs[:, 0] < pairs[:, 1]).all())
        assert set(sample.flatten().tolist()) <= set(source.tolist())


@pytest.mark.parametrize(
    ("name", "params", "m", "match"),
    [
        ("naive_probabilistic", {"k": 7}, 6, r"k=7 is not valid for m=6"),
        ("naive_probabilistic", {"k": -1}, 6, r"k=-1 is not valid"),
        ("naive_probabilistic", {"k": 1, "metric": "max"}, 6, r"metric='max' is not valid"),
        ("naive_probabilistic", {"k": 1, "distribution_function_configs":
                                 {"function_class": "os.system"}}, 6, r"torch.distributions"),
        ("naive_normal_probabilistic", {"k": 1, "std": 0.0}, 6, r"std=0.0 is not valid"),
        ("naive_normal_probabilistic", {"k": 1, "sd": 1.0}, 6, r"unknown parameter"),
        ("combinatorial", {"d": 0}, 6, r"d=0 is not valid"),
        ("combinatorial", {"d": 3, "k": 2}, 3, r"k=2 is not valid for m=3 and d=3"),
        ("combinatorial", {"d": 2, "simply_sampling": False}, 6, r"log_prob=False"),
    ],
)  # fmt: skip
def test_bad_parameters_are_one_line_errors(
    name: str, params: dict[str, Any], m: int, match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        build("compression", name, **params).calculate_D(m)
    assert "\n" not in str(info.value)
