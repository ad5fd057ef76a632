"""Deterministic compressions: basic, composite, metric and geometric (pooling).

Values are checked on small inputs against hand-computed numbers or torch's pooling ops, and
against tinybig 0.2.1 through the ``tinybig`` fixture.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from rpnkit import build
from rpnkit.errors import ConfigError
from rpnkit.rpn import build_model
from rpnkit.rpn.compression import (
    Compression,
    CuboidCompression,
    CuboidMaxCompression,
    CuboidMeanCompression,
    GeometricCompression,
    MetricCompression,
)

X = torch.tensor([[0.5, -0.3, 2.0, 1.0], [-1.0, 4.0, 0.0, 3.0]])


def _tinybig_compression(tinybig: Any) -> Any:
    return importlib.import_module("tinybig.compression")


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("identity", {}, X),
        ("linear", {"c": 2.0}, 2 * X),
        ("max", {}, torch.tensor([[2.0], [4.0]])),
        ("min", {}, torch.tensor([[-0.3], [-1.0]])),
        ("sum", {}, torch.tensor([[3.2], [6.0]])),
        ("mean", {}, torch.tensor([[0.8], [1.5]])),
        ("prod", {}, torch.tensor([[-0.3], [0.0]])),
        ("median", {}, torch.tensor([[0.5], [0.0]])),
        ("metric", {"metric": "l2_norm"}, X.norm(dim=1, keepdim=True)),
        ("extended_compression", {"expansions": ["max_compression", "min_compression"]},
         torch.tensor([[2.0, -0.3], [4.0, -1.0]])),
        ("nested_compression", {"expansions": ["linear_compression", "sum_compression"]},
         torch.tensor([[3.2], [6.0]])),
    ],
)  # fmt: skip
def test_values_by_hand(name: str, params: dict[str, Any], expected: torch.Tensor) -> None:
    compression = build("compression", name, **params)
    assert isinstance(compression, Compression)
    out = compression(X)
    assert out.shape == (2, compression.calculate_D(4))
    torch.testing.assert_close(out, expected)


def test_reciprocal_and_callable_metric() -> None:
    torch.testing.assert_close(build("compression", "reciprocal")(X[:1, :2]),
                               torch.tensor([[2.0, -1 / 0.3]]))  # fmt: skip
    metric = MetricCompression(lambda rows: rows.abs().max(dim=1).values)
    torch.testing.assert_close(metric(X), torch.tensor([[2.0], [4.0]]))


@pytest.mark.parametrize("name", ["max", "min", "sum", "mean", "prod", "median"])
def test_metric_compressions_match_tinybig(tinybig: Any, name: str) -> None:
    ref = getattr(_tinybig_compression(tinybig), f"{name}_compression")()
    torch.testing.assert_close(build("compression", name)(X), ref(X))


def _grid(b: int, c: int, h: int, w: int, d: int = 1) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(b, c * h * w * d)


@pytest.mark.parametrize("strategy", [None, "complete_square", "sparse_square"])
def test_cuboid_max_and_mean_are_torch_pooling(strategy: str | None) -> None:
    x = _grid(3, 2, 5, 6)
    image = x.view(3, 2, 5, 6)
    stride = {None: 1, "complete_square": 2, "sparse_square": 3}[strategy]
    kw = {"p_h": 1, "p_w": 1, "h": 5, "w": 6, "channel_num": 2, "packing_strategy": strategy}
    padded = F.pad(image, (1, 1, 1, 1))
    expected_max = F.max_pool2d(padded, 3, stride=stride).flatten(1)
    expected_mean = F.avg_pool2d(image, 3, stride, padding=1, count_include_pad=True).flatten(1)
    for cls, expected in ((CuboidMaxCompression, expected_max),
                          (CuboidMeanCompression, expected_mean)):  # fmt: skip
        compression = cls(**kw)
        assert compression.calculate_D(60) == expected.shape[1]
        torch.testing.assert_close(compression(x), expected)


@pytest.mark.parametrize("metric", ["max", "min", "mean", "sum"])
def test_pooling_path_equals_the_gather(metric: str) -> None:
    x = _grid(2, 2, 4, 5, 3)
    kw = {"p_h": 1, "p_w": 0, "p_d": 1, "p_h_prime": 2, "h": 4, "w": 5, "d": 3,
          "channel_num": 2, "cd_h": 2, "cd_w": 1, "cd_d": 2}  # fmt: skip
    pooled = CuboidCompression(metric, **kw)
    gathered = CuboidCompression(metric, **kw)
    gathered._pool_window = None
    torch.testing.assert_close(pooled(x), gathered(x))


def test_callable_metric_gets_rows_and_dim() -> None:
    x = _grid(2, 1, 4, 4)
    named = CuboidCompression("median", p_h=1, p_w=1, h=4, w=4)
    given = CuboidCompression(lambda rows, dim: rows.median(dim=dim).values, p_h=1, p_w=1,
                              h=4, w=4)  # fmt: skip
    torch.testing.assert_close(named(x), given(x))


@pytest.mark.parametrize(
    ("ours", "theirs", "params"),
    [
        ("cuboid_max", "cuboid_max_based_geometric_compression", {"p_h": 1, "p_w": 1, "p_d": 0}),
        ("cuboid_min", "cuboid_min_based_geometric_compression", {"p_h": 1, "p_w": 2, "p_d": 0}),
        ("cuboid_mean", "cuboid_mean_based_geometric_compression",
         {"p_h": 1, "p_w": 1, "p_d": 0, "packing_strategy": "complete_square"}),
        ("cylinder_max", "cylinder_max_based_geometric_compression", {"p_r": 1, "p_d": 0}),
        ("cylinder_mean", "cylinder_mean_based_geometric_compression", {"p_r": 2, "p_d": 0}),
        ("sphere_min", "sphere_min_based_geometric_compression", {"p_r": 1}),
        ("sphere_mean", "sphere_mean_based_geometric_compression",
         {"p_r": 1, "packing_strategy": "dense_simple_cubic"}),
    ],
)  # fmt: skip
def test_geometric_matches_tinybig(
    tinybig: Any, ours: str, theirs: str, params: dict[str, Any]
) -> None:
    x = _grid(2, 1, 5, 4, 2)
    grid = {"h": 5, "w": 4, "d": 2}
    ref = getattr(_tinybig_compression(tinybig), theirs)(**params, **grid)
    compression = build("compression", ours, **params, **grid)
    assert compression.calculate_D(40) == ref.calculate_D(40)
    torch.testing.assert_close(compression(x), ref(x))


def test_geometric_with_a_metric_matches_tinybig(tinybig: Any) -> None:
    from tinybig.koala.linear_algebra import batch_max

    x = _grid(2, 1, 4, 4)
    ref = _tinybig_compression(tinybig).cuboid_patch_based_geometric_compression(
        metric=batch_max, p_h=1, p_w=1, p_d=0, h=4, w=4, d=1
    )
    ours = build("compression", "cuboid_patch_based_geometric_compression", metric=batch_max,
                 p_h=1, p_w=1, h=4, w=4)  # fmt: skip
    assert isinstance(ours, GeometricCompression)
    torch.testing.assert_close(ours(x), ref(x))


def test_a_compression_is_a_layer_expansion() -> None:
    model = build_model([
        {"m": 16, "n": 3, "expansion": {"name": "cuboid_max_based_geometric_compression",
                                        "parameters": {"p_h": 1, "p_w": 1, "h": 4, "w": 4,
                                                       "packing_strategy": "complete_square"}}},
    ])  # fmt: skip
    x = _grid(5, 1, 4, 4)
    out = model(x)
    assert out.shape == (5, 3)
    head = model.layers[0].heads[0]
    assert head.D == 4
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("metric", {"metric": "maks"}, r"metric='maks' is unknown.*expected one of max"),
        ("cuboid_max", {"p_h": -1, "p_w": 1, "h": 4, "w": 4}, r"p_h=-1 is not valid"),
        ("cuboid_max", {"p_h": 1, "p_w": 1, "h": 4, "w": 4, "packing_strategy": "hexagon"},
         r"packing_strategy='hexagon' is unknown"),
        ("cuboid_max", {"p_h": 1, "p_w": 1, "h": 4, "w": 4, "metric": "min"},
         r"fixes metric 'max'"),
        ("cuboid_patch_based_geometric", {"p_h": 1, "p_w": 1, "h": 4, "w": 4},
         r"metric is missing"),
        ("sphere", {"metric": "max", "p_r": 1, "h": 0, "w": 4}, r"h=0 is not valid"),
        ("cylinder_max", {"p_r": 1, "h": 4, "w": 4, "cd_h": 2}, r"given only in part"),
    ],
)  # fmt: skip
def test_bad_parameters_are_one_line_errors(name: str, params: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        build("compression", name, **params)
    assert "\n" not in str(info.value)


def test_grid_size_mismatch_is_a_config_error() -> None:
    compression = build("compression", "sphere_max", p_r=1, h=3, w=3)
    with pytest.raises(ConfigError, match=r"m=10 does not match the grid; expected .* = 9"):
        compression.calculate_D(10)
