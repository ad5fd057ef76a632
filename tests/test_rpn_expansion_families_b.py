"""Probabilistic, combinatorial, wavelet and geometric expansions: sizes, check values,
tinybig 0.2.1 reference values, factorised projections and argument errors."""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any

import pytest
import torch

from rpnkit import build
from rpnkit.cli import main
from rpnkit.errors import ConfigError
from rpnkit.rpn import (
    BetaWaveletExpansion,
    CombinatorialExpansion,
    CuboidExpansion,
    Expansion,
    MeyerWaveletExpansion,
    RPNHead,
    ShannonWaveletExpansion,
)
from rpnkit.rpn.expansion.combinatorial import lexicographic_subsets

X = torch.tensor([[0.5, -0.3]], dtype=torch.float64)
X3 = torch.tensor([[0.5, -0.3, 1.0]], dtype=torch.float64)
GRID = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)  # 2 × 2 grid, (i, j) -> 2i + j
GRID2 = torch.arange(1.0, 9.0, dtype=torch.float64).unsqueeze(0)  # 2 channels of a 2 × 2 grid
SQUARE = {"h": 2, "w": 2}

# (name, parameters, input, expected κ). Probabilistic and wavelet values were computed by
# hand from the densities' and wavelets' closed forms (scipy.stats for the densities);
# the patch values are worked out cell by cell in the comments.
CHECK_VALUES: list[tuple[str, dict[str, Any], torch.Tensor, list[float]]] = [
    ("normal", {}, X, [-1.0439, -0.9639, -1.0439, -1.7639, -2.0439, -1.1639,
                       -11.1164, -3.1164, -11.1164, -83.1164, -111.1164, -23.1164]),
    ("cauchy", {}, X, [-1.3679, -1.2309, -1.1447, -0.7591, -1.3679, -2.1343,
                       -1.1447, -2.5006, -2.3234, -1.5435, -2.7542, -1.5368]),
    ("laplace", {}, X, [-1.1931, -0.9931, -1.6363, -1.5363, -1.1931, -1.9931,
                        -1.6363, -2.0363, -2.1931, -1.3931, -2.1363, -1.7363]),
    ("gamma", {}, X, [-0.9483, -0.5636, -1.2190, -0.6394, -0.6172, -0.4223,
                      -0.5413, -0.1515, -1.0997, -1.2843, -0.3307, -0.3203]),
    ("chi2", {}, X, [-0.9944, -0.7062, -1.0049, -0.9064]),
    ("exponential", {}, X, [-1.0018, -0.9043, -0.7506, -0.6044, -0.6172, -0.4223,
                            -0.5413, -0.1515, -0.7531, -0.1683, -1.4767, -0.5021]),
    ("hybrid_probabilistic", {}, X, [-1.0439, -0.9639, -1.3679, -1.2309, -0.9863, -0.6991,
                                     -0.9483, -0.5636, -1.1931, -0.9931, -0.6172, -0.4223]),
    ("naive_normal", {}, X, [-1.0439, -0.9639]),
    ("naive_cauchy", {}, X, [-1.3679, -1.2309]),
    ("naive_laplace", {}, X, [-1.1931, -0.9931]),
    ("naive_gamma", {}, X, [-0.9483, -0.5636]),
    ("naive_chi2", {}, X, [-0.9944, -0.7062]),
    ("naive_exponential", {}, X, [-1.0018, -0.9043]),
    # subsets {1}, {2}, {3}, {1,2}, {1,3}, {2,3}
    ("combinatorial", {}, X3, [0.5, -0.3, 1.0, 0.5, -0.3, 0.5, 1.0, -0.3, 1.0]),
    ("combinatorial", {"d": 1}, X3, [0.5, -0.3, 1.0]),
    ("combinatorial", {"d": 2, "with_replacement": True}, X,
     [0.5, -0.3, 0.5, 0.5, 0.5, -0.3, -0.3, -0.3]),
    ("combinatorial_normal", {"d": 2}, X3, [-1.0439, -0.9639, -1.4189,
                                            -2.0079, -2.4629, -2.3829]),
    ("combinatorial_normal", {}, X3, [-1.0439, -0.9639, -1.4189]),
    ("harr", {}, torch.tensor([[0.2, 0.7, 1.0, -0.1]], dtype=torch.float64), [1, -1, 0, 0]),
    # τ = x - 0.5 t for t = 0, 1, feature-major: 0.5 -> (-1, 1), -0.3 -> (0, 0)
    ("harr", {"t": 2, "b": 0.5}, X, [-1, 1, 0, 0]),
    ("ricker", {}, X, [0.5741, 0.7545]),
    # dilations 1 and 2 with the a^{-s/2} factor, feature-major
    ("ricker", {"a": 2.0, "s": 2}, X, [0.5741, 0.5573, 0.7545, 0.5928]),
    ("dog", {}, X, [0.1587, 0.1841]),
    ("meyer", {}, X, [0.6104, 0.8986]),
    ("shannon", {}, X, [-0.6366, 0.1507]),
    # w = ψ(x), then [w, w⊗w]
    ("shannon", {"d": 2}, X, [-0.6366, 0.1507, 0.4053, -0.0959, -0.0959, 0.0227]),
    ("beta", {}, X, [1.0, 1.0]),
    # -0.3 is outside [0, 1], so the sample is squashed: Beta(2, 3) density at σ(x)
    ("beta", {"alpha": 2.0, "beta": 3.0}, X, [1.0647, 1.6851]),
    # 3 × 3 patch, offsets (-1,-1), (-1,0), ..., (1,1); centres (0,0), (0,1), (1,0), (1,1)
    ("cuboid", {"p_h": 1, "p_w": 1, **SQUARE}, GRID,
     [0, 0, 0, 1,  0, 0, 1, 2,  0, 0, 2, 0,  0, 1, 0, 3,  1, 2, 3, 4,
      2, 0, 4, 0,  0, 3, 0, 0,  3, 4, 0, 0,  4, 0, 0, 0]),
    # sparse_square: centre distances (3, 1, 1) -> centres (0,0), (0,1); offsets -1, 0, 1 in i
    ("cuboid", {"p_h": 1, "p_w": 0, "packing_strategy": "sparse_square", "channel_num": 2,
                **SQUARE}, GRID2, [0, 0, 1, 2, 3, 4,  0, 0, 5, 6, 7, 8]),
    # disc of radius 1: (-1,0), (0,-1), (0,0), (0,1), (1,0)
    ("cylinder", {"p_r": 1, **SQUARE}, GRID,
     [0, 0, 1, 2,  0, 1, 0, 3,  1, 2, 3, 4,  2, 0, 4, 0,  3, 4, 0, 0]),
    # ball of radius 1; the depth offsets ±1 are off a depth-1 grid
    ("sphere", {"p_r": 1, **SQUARE}, GRID,
     [0, 0, 1, 2,  0, 1, 0, 3,  0, 0, 0, 0,  1, 2, 3, 4,  0, 0, 0, 0,
      2, 0, 4, 0,  3, 4, 0, 0]),
]  # fmt: skip


def _id(case: tuple[Any, ...]) -> str:
    name, params = case[0], case[1]
    return name + "".join(f"-{k}{v}" for k, v in params.items() if k not in SQUARE)


@pytest.mark.parametrize("case", CHECK_VALUES, ids=_id)
def test_check_values_and_size(case: tuple[str, dict[str, Any], torch.Tensor, list[float]]) -> None:
    name, params, x, expected = case
    expansion = build("expansion", {"name": name, "parameters": params})
    assert expansion.calculate_D(x.shape[-1]) == len(expected)
    torch.testing.assert_close(
        expansion(x), torch.tensor([expected], dtype=x.dtype), atol=1e-4, rtol=0
    )


# -- tinybig 0.2.1 ---------------------------------------------------------------------------
PROBABILISTIC = ["normal", "cauchy", "laplace", "gamma", "chi2", "exponential",
                 "hybrid_probabilistic", "naive_normal", "naive_cauchy", "naive_laplace",
                 "naive_gamma", "naive_chi2", "naive_exponential"]  # fmt: skip
WAVELETS = {
    "harr": {},
    "ricker": {"sigma": 1.5},
    "dog": {"sigma_1": 0.5, "sigma_2": 1.5},
    "meyer": {},
    "shannon": {},
    "beta": {"alpha": 2.0, "beta": 1.5},
}
WAVELET_SHAPES = [{}, {"a": 2.0, "b": 0.5, "s": 2, "t": 3}, {"a": 1.5, "s": 2, "d": 2}, {"d": 3}]
GEOMETRIC: list[tuple[str, str, dict[str, Any], tuple[int, int, int, int]]] = [
    ("cuboid", "cuboid_patch_based_geometric_expansion", {"p_h": 1, "p_w": 1, "p_d": 0},
     (5, 4, 1, 1)),
    ("cuboid", "cuboid_patch_based_geometric_expansion",
     {"p_h": 1, "p_w": 2, "p_d": 1, "p_h_prime": 0, "p_w_prime": 1,
      "packing_strategy": "complete_square"}, (5, 4, 3, 1)),
    ("cuboid", "cuboid_patch_based_geometric_expansion",
     {"p_h": 1, "p_w": 1, "p_d": 0, "cd_h": 2, "cd_w": 3, "cd_d": 1}, (6, 5, 2, 1)),
    ("cuboid", "cuboid_patch_based_geometric_expansion",
     {"p_h": 1, "p_w": 1, "p_d": 0, "packing_strategy": "dense_square"}, (4, 4, 1, 3)),
    *(("cylinder", "cylinder_patch_based_geometric_expansion",
       {"p_r": 2, "p_d": 1, "packing_strategy": s}, (7, 6, 3, 1))
      for s in (None, "sparse_square", "complete_square", "sparse_hexagonal",
                "complete_hexagonal", "dense_hexagonal", "denser_hexagonal")),
    *(("sphere", "sphere_patch_based_geometric_expansion",
       {"p_r": 2, "packing_strategy": s}, (7, 6, 5, 1))
      for s in (None, "sparse_simple_cubic", "complete_simple_cubic", "dense_simple_cubic",
                "sparse_face_centered_cubic", "complete_face_centered_cubic",
                "dense_face_centered_cubic", "sparse_hexagonal", "complete_hexagonal",
                "dense_hexagonal")),
    ("sphere", "sphere_patch_based_geometric_expansion",
     {"p_r": 3, "packing_strategy": "complete_simple_cubic"}, (4, 4, 2, 2)),
]  # fmt: skip


def _inputs(m: int) -> torch.Tensor:
    return torch.randn(6, m, generator=torch.Generator().manual_seed(0)) * 2


@pytest.mark.parametrize("name", PROBABILISTIC)
def test_probabilistic_matches_tinybig(name: str, tinybig: Any) -> None:
    reference = getattr(tinybig.expansion, f"{name}_expansion")()
    ours = build("expansion", f"{name}_expansion")
    x = _inputs(5)
    assert ours.calculate_D(5) == reference.calculate_D(5)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_combinatorial_matches_tinybig_flattened(d: int, tinybig: Any) -> None:
    reference = tinybig.expansion.combinatorial_expansion(d=d)
    x = _inputs(5)
    subsets = reference(x)  # a list per order of per-sample (count, r) tensors
    flat = torch.cat([torch.stack(order).flatten(1) for order in subsets], dim=1)
    ours = build("expansion", "combinatorial_expansion", d=d)
    assert ours.calculate_D(5) == reference.calculate_D(5) == flat.shape[1]
    torch.testing.assert_close(ours(x), flat, rtol=0, atol=0)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_combinatorial_normal_matches_tinybig(d: int, tinybig: Any) -> None:
    reference = tinybig.expansion.combinatorial_normal_expansion(d=d)
    ours = build("expansion", "combinatorial_normal_expansion", d=d)
    x = _inputs(5)
    assert ours.calculate_D(5) == reference.calculate_D(5)
    torch.testing.assert_close(ours(x), reference(x), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("shape", WAVELET_SHAPES, ids=lambda p: "-".join(map(str, p.items())))
@pytest.mark.parametrize("name", list(WAVELETS))
def test_wavelets_match_tinybig(name: str, shape: dict[str, Any], tinybig: Any) -> None:
    params = {**shape, **WAVELETS[name]}
    reference = getattr(tinybig.expansion, f"{name}_wavelet_expansion")(**params)
    ours = build("expansion", f"{name}_wavelet_expansion", **params)
    x = _inputs(3)
    assert ours.calculate_D(3) == int(reference.calculate_D(3))
    # tinybig's beta wavelet squashes the whole batch or none of it; one sample at a time
    # is the per-sample function (see BetaWaveletExpansion).
    expected = torch.cat([reference(row) for row in x.split(1)]) if name == "beta" else reference(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)


def test_beta_wavelet_matches_tinybig_on_a_whole_batch_when_all_samples_agree(
    tinybig: Any,
) -> None:
    reference = tinybig.expansion.beta_wavelet_expansion(alpha=2.0, beta=3.0)
    ours = BetaWaveletExpansion(alpha=2.0, beta=3.0)
    inside = torch.rand(5, 4, generator=torch.Generator().manual_seed(1))
    for x in (inside, inside + 2):  # all in [0, 1]; all outside
        torch.testing.assert_close(ours(x), reference(x))


@pytest.mark.parametrize("case", GEOMETRIC, ids=lambda c: f"{c[0]}-{c[2].get('packing_strategy')}")
def test_geometric_matches_tinybig(
    case: tuple[str, str, dict[str, Any], tuple[int, int, int, int]], tinybig: Any
) -> None:
    name, tinybig_name, params, (h, w, d, channels) = case
    grid = {"grid_parameters": {"h": h, "w": w, "d": d, "universe_num": channels}}
    ours = build("expansion", name, **params, h=h, w=w, d=d, channel_num=channels)
    m = channels * h * w * d
    x = _inputs(m)
    # tinybig warns that packing_strategy=None is unknown, and about its sparse matrix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = getattr(tinybig.expansion, tinybig_name)(
            **params, grid_configs={"grid_class": "tinybig.koala.geometry.grid", **grid}
        )
        expected = reference(x)
    assert ours.calculate_D(m) == reference.calculate_D(m)
    torch.testing.assert_close(ours(x), expected, rtol=0, atol=0)


# -- factorised projections ------------------------------------------------------------------
PROJECTION_CASES: list[tuple[str, dict[str, Any], int]] = [
    *((name, {}, 4) for name in PROBABILISTIC),
    ("combinatorial", {"d": 3}, 5),
    ("combinatorial", {"d": 2, "with_replacement": True}, 4),
    ("combinatorial_normal", {"d": 2}, 5),
    ("combinatorial_normal", {"d": 3, "with_replacement": True}, 4),
    *((name, {"d": 2, "s": 2, "a": 1.5, **extra}, 3) for name, extra in WAVELETS.items()),
    ("ricker", {"t": 2, "b": 0.5}, 3),
    ("cuboid", {"p_h": 1, "p_w": 1, "h": 3, "w": 2, "channel_num": 2}, 12),
    ("cylinder", {"p_r": 1, "p_d": 1, "h": 3, "w": 3, "d": 2}, 18),
    ("sphere", {"p_r": 1, "h": 2, "w": 3, "d": 2, "packing_strategy": "dense_hexagonal"}, 12),
]


@pytest.mark.parametrize("postprocess", [None, ["layer_norm"], ["tanh"]])
@pytest.mark.parametrize("case", PROJECTION_CASES, ids=_id)
def test_projection_equals_materialised_product(
    case: tuple[str, dict[str, Any], int], postprocess: list[str] | None
) -> None:
    name, params, m = case
    expansion = build("expansion", name, **params, postprocess=postprocess).double()
    x = _inputs(m).double()
    weight = torch.randn(3, 2, expansion.calculate_D(m), dtype=torch.float64)
    expected = expansion(x) @ weight.transpose(-1, -2)
    torch.testing.assert_close(expansion.project(x, weight), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    ("name", "params", "m"),
    [("gamma", {}, 4), ("combinatorial", {}, 5), ("shannon", {"d": 2}, 3),
     ("cuboid", {"p_h": 1, "p_w": 1, "h": 2, "w": 3}, 6)],
)  # fmt: skip
def test_low_rank_head_equals_materialised_head(name: str, params: dict[str, Any], m: int) -> None:
    torch.manual_seed(0)
    head = RPNHead(
        m, 3, expansion={"name": name, "parameters": params}, reconciliation="low_rank",
        channels=2,
    ).double()  # fmt: skip
    x = _inputs(m).double()
    weights = torch.stack([head.reconciliation(w) for w in head.w])
    expected = (head.expansion(x) @ weights.transpose(-1, -2)).mean(0)
    torch.testing.assert_close(head(x), expected, rtol=1e-10, atol=1e-10)


# -- behaviour -------------------------------------------------------------------------------
ALL_CASES = [(name, params, m) for name, params, m in PROJECTION_CASES] + [
    ("beta", {}, 3),
    ("meyer", {}, 3),
]


@pytest.mark.parametrize("case", ALL_CASES, ids=_id)
def test_no_learnable_parameters_and_constants_follow_dtype(
    case: tuple[str, dict[str, Any], int],
) -> None:
    name, params, m = case
    expansion = build("expansion", name, **params)
    assert list(expansion.parameters()) == []
    assert expansion.state_dict() == {}
    for dtype in (torch.float32, torch.float64):
        x = _inputs(m).to(dtype)
        out = expansion(x)
        assert out.dtype == dtype and out.shape == (6, expansion.calculate_D(m))
        assert torch.isfinite(out).all()


SMOOTH_CASES = [c for c in ALL_CASES if c[0] != "harr" and c[:2] != ("beta", {})]


@pytest.mark.parametrize("case", SMOOTH_CASES, ids=_id)
def test_gradients_reach_the_input_and_are_finite(case: tuple[str, dict[str, Any], int]) -> None:
    name, params, m = case
    expansion = build("expansion", name, **params)
    x = _inputs(m).requires_grad_()
    expansion(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["harr", "beta"])
def test_piecewise_constant_wavelet_heads_still_train_their_weights(name: str) -> None:
    # Haar is piecewise constant and the default beta wavelet (α = β = 1) is constant 1.
    head = RPNHead(3, 2, expansion=name, reconciliation="low_rank")
    x = torch.rand(4, 3)
    head(x).square().sum().backward()
    assert head.w.grad is not None and head.w.grad.abs().sum() > 0


def test_meyer_and_shannon_use_their_limits_at_removable_singularities() -> None:
    tau = torch.tensor([[0.0, 0.75, -0.75]], dtype=torch.float64, requires_grad=True)
    meyer = MeyerWaveletExpansion()(tau)
    torch.testing.assert_close(
        meyer,
        torch.tensor([[2 / 3 + 4 / (3 * math.pi), 2 / (3 * math.pi), 2 / (3 * math.pi)]]).double(),
    )
    near = MeyerWaveletExpansion()(torch.tensor([[1e-6, 0.75 + 1e-6]], dtype=torch.float64))
    torch.testing.assert_close(near, meyer.detach()[:, :2], atol=1e-5, rtol=0)
    shannon = ShannonWaveletExpansion()(tau)
    assert shannon[0, 0].item() == 1.0
    (meyer.sum() + shannon.sum()).backward()
    assert tau.grad is not None and torch.isfinite(tau.grad).all()


def test_beta_wavelet_sample_does_not_depend_on_the_rest_of_the_batch() -> None:
    expansion = BetaWaveletExpansion(alpha=2.0, beta=3.0)
    inside = torch.tensor([[0.2, 0.6]])
    alone = expansion(inside)
    with_outside_sample = expansion(torch.cat([inside, torch.tensor([[-1.0, 3.0]])]))
    torch.testing.assert_close(with_outside_sample[:1], alone)
    assert (alone - 12 * 0.2 * 0.8**2).abs()[0, 0] < 1e-6  # Beta(2, 3) density 12 τ (1-τ)²


@pytest.mark.parametrize("with_replacement", [False, True])
def test_subsets_are_itertools_order(with_replacement: bool) -> None:
    enumerate_ = (
        itertools.combinations_with_replacement if with_replacement else itertools.combinations
    )
    for m, r in itertools.product(range(1, 6), range(1, 5)):
        got = lexicographic_subsets(m, r, with_replacement).tolist()
        assert [tuple(s) for s in got] == list(enumerate_(range(m), r)), (m, r)


def test_combinatorial_subsets_are_cached_per_width_and_device() -> None:
    expansion = CombinatorialExpansion(d=2)
    first = expansion.subsets(4, torch.device("cpu"))
    assert expansion.subsets(4, torch.device("cpu")) is first
    assert [block.shape for block in first] == [(1, 4), (2, 6)]
    assert expansion.subsets(3, torch.device("cpu"))[1].shape == (2, 3)


def test_geometric_index_is_a_non_persistent_buffer_that_follows_to() -> None:
    expansion = CuboidExpansion(1, 1, h=3, w=3)
    assert "index" in dict(expansion.named_buffers()) and expansion.state_dict() == {}
    assert expansion.index.dtype == torch.long and expansion.index.numel() == 81


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("combinatorial", {"d": 0}, "combinatorial expansion d=0"),
        ("combinatorial_normal", {"with_replacement": "yes"}, "with_replacement='yes'"),
        ("harr", {"a": 0.5}, r"harr expansion a=0\.5 .*>= 1"),
        ("meyer", {"b": -1}, r"meyer expansion b=-1 .*>= 0"),
        ("ricker", {"sigma": 0}, "ricker expansion sigma=0"),
        ("dog", {"sigma_2": -2.0}, "dog expansion sigma_2=-2.0"),
        ("beta", {"alpha": 0.5}, r"beta expansion alpha=0\.5"),
        ("shannon", {"s": 0}, "shannon expansion s=0"),
        ("cuboid", {"p_h": -1, "p_w": 1, **SQUARE}, "cuboid expansion p_h=-1"),
        ("cuboid", {"p_h": 1, "p_w": 1, "h": 0, "w": 2}, "cuboid expansion h=0"),
        ("cuboid", {"p_h": 1, "p_w": 1, "packing_strategy": "dense_sqare", **SQUARE},
         "packing_strategy='dense_sqare' is unknown.*did you mean 'dense_square'"),
        ("cylinder", {"p_r": 1, "cd_h": 2, **SQUARE}, r"only in part \(cd_w, cd_d missing\)"),
        ("sphere", {"p_r": 1, "packing_strategy": "sparse_square", **SQUARE},
         "sphere expansion packing_strategy='sparse_square' is unknown"),
    ],
)  # fmt: skip
def test_invalid_arguments_raise_config_error(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build("expansion", name, **params)


def test_geometric_input_size_must_match_the_grid() -> None:
    expansion = CuboidExpansion(1, 1, h=2, w=3, channel_num=2)
    with pytest.raises(ConfigError, match=r"m=5 does not match the grid.*2·2·3·1 = 12"):
        expansion.calculate_D(5)
    with pytest.raises(ConfigError, match="m=6 does not match"):
        expansion(torch.zeros(1, 6))
    with pytest.raises(ConfigError, match="m=13"):
        RPNHead(13, 2, expansion=expansion)


TINYBIG_NAMES = {
    **{f"{name}_expansion": name for name in PROBABILISTIC},
    "combinatorial_expansion": "combinatorial",
    "combinatorial_normal_expansion": "combinatorial_normal",
    **{f"{name}_wavelet_expansion": name for name in WAVELETS},
    "haar": "harr",
}


@pytest.mark.parametrize(("alias", "name"), sorted(TINYBIG_NAMES.items()))
def test_tinybig_class_names_are_aliases(alias: str, name: str) -> None:
    assert type(build("expansion", alias)) is type(build("expansion", name))
    assert isinstance(build("expansion", name), Expansion)


@pytest.mark.parametrize("shape", ["cuboid", "cylinder", "sphere"])
def test_geometric_tinybig_class_names_are_aliases(shape: str) -> None:
    params = {"p_r": 1} if shape != "cuboid" else {"p_h": 1, "p_w": 1}
    alias = f"{shape}_patch_based_geometric_expansion"
    built = build("expansion", alias, **params, **SQUARE)
    assert type(built) is type(build("expansion", shape, **params, **SQUARE))


def test_cli_lists_and_shows_the_new_expansions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "expansion"]) == 0
    listed = capsys.readouterr().out
    for name in [*PROBABILISTIC, "combinatorial_normal", *WAVELETS, "cuboid", "sphere"]:
        assert f"expansion\t{name}\t" in listed, name
    assert main(["show", "gamma"]) == 0
    shown = capsys.readouterr().out
    assert "rpnkit.rpn.expansion:GammaExpansion" in shown and "gamma_expansion" in shown
    assert main(["show", "expansion/dog"]) == 0
    rows = _parameter_rows(capsys.readouterr().out)
    assert "2.0" in rows["sigma_2"] and "1.0" in rows["a"] and "1" in rows["d"]
    assert main(["show", "cuboid"]) == 0
    rows = _parameter_rows(capsys.readouterr().out)
    assert "required" in rows["p_h"] and "required" in rows["h"] and "None" in rows["cd_h"]


def _parameter_rows(shown: str) -> dict[str, str]:
    """The ``parameter:`` lines of ``rpnkit show`` in a pipe, by parameter name."""
    return {
        line.split("\t")[0].removeprefix("parameter: "): line
        for line in shown.splitlines()
        if line.startswith("parameter: ")
    }
