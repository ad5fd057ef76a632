"""Data expansions: output sizes, tinybig's check values, projections and processing."""

from __future__ import annotations

import pytest
import torch

from rpnkit import build
from rpnkit.errors import ConfigError
from rpnkit.rpn import Expansion, ExtendedExpansion, TaylorExpansion

X = torch.tensor([[0.5, -0.3]], dtype=torch.float64)

# (registry name, parameters, κ([[0.5, -0.3]]) from tinybig 0.2.1)
CHECK_VALUES = [
    ("identity", {}, [0.5, -0.3]),
    ("taylor", {"d": 2}, [0.5, -0.3, 0.25, -0.15, -0.15, 0.09]),
    (
        "taylor",
        {"d": 3},
        [
            *(0.5, -0.3, 0.25, -0.15, -0.15, 0.09),
            *(0.125, -0.075, -0.075, 0.045, -0.075, 0.045, 0.045, -0.027),
        ],
    ),
    ("fourier", {"P": 2, "N": 2}, [0, 0.5878, 1, -0.8090, -1, -0.3090, 0, -0.9511]),
    ("gaussian_rbf", {"num_interval": 3}, [0.1054, 0.7788, 0.7788, 0.6126, 0.9139, 0.1845]),
    ("bspline", {"t": 2, "d": 1}, [0, 0.5, 0.5, 0.3, 0.7, 0]),
    (
        "bspline",
        {},
        [
            *(0, 0, 0, 0.0026, 0.3151, 0.6120, 0.0703, 0),
            *(0, 0.0026, 0.3151, 0.6120, 0.0703, 0, 0, 0),
        ],
    ),
    ("chebyshev", {"d": 3}, [0.5, -0.5, -1, -0.3, -0.82, 0.792]),
    ("legendre", {"d": 3}, [0.5, -0.125, -0.4375, -0.3, -0.365, 0.3825]),
    ("hermite", {"d": 3}, [0.5, -0.75, -1.375, -0.3, -0.91, 0.873]),
    ("naive_normal", {}, [-1.0439, -0.9639]),
    ("hyperbolic", {}, [0.5211, -0.3045, 1.1276, 1.0453, 0.4621, -0.2913]),
    (
        "trigonometric",
        {},
        [0.479426, -0.295520, 0.877583, 0.955336, 0.546302, -0.309336],
    ),
]
SIZE_CASES = [(name, params) for name, params, _ in CHECK_VALUES] + [
    ("extended", {"expansions": [{"name": "taylor", "parameters": {"d": 2}}, "gaussian_rbf"]}),
    ("trigonometric_expansion", {}),
]


def _id(case: tuple[object, ...]) -> str:
    name, params = case[0], case[1]
    assert isinstance(name, str) and isinstance(params, dict)
    return name + "".join(f"-{k}{v}" for k, v in params.items() if not isinstance(v, list))


@pytest.mark.parametrize("case", CHECK_VALUES, ids=_id)
def test_check_values_and_size(case: tuple[str, dict[str, object], list[float]]) -> None:
    name, params, expected = case
    expansion = build("expansion", {"name": name, "parameters": params})
    out = expansion(X)
    assert expansion.calculate_D(2) == len(expected)
    torch.testing.assert_close(out, torch.tensor([expected], dtype=X.dtype), atol=1e-4, rtol=0)


def test_extended_check_values() -> None:
    expansion = ExtendedExpansion(
        ["taylor", {"name": "gaussian_rbf", "parameters": {"num_interval": 2}}]
    )
    expected = [0.5, -0.3, 0.25, -0.15, -0.15, 0.09, 0.1054, 0.7788, 0.6126, 0.1845]
    assert expansion.calculate_D(2) == 10
    torch.testing.assert_close(
        expansion(X), torch.tensor([expected], dtype=X.dtype), atol=1e-4, rtol=0
    )


@pytest.mark.parametrize("case", SIZE_CASES, ids=_id)
def test_size_matches_output_for_other_widths_and_keeps_dtype(
    case: tuple[str, dict[str, object]],
) -> None:
    name, params = case
    expansion = build("expansion", {"name": name, "parameters": params})
    x = torch.rand(3, 5, dtype=torch.float64) * 1.6 - 0.8
    out = expansion(x)
    assert out.shape == (3, expansion.calculate_D(5))
    assert out.dtype == torch.float64
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("postprocess", [None, ["layer_norm"], ["tanh"], ["layer_norm", "relu"]])
@pytest.mark.parametrize("d", [1, 2, 3])
def test_taylor_projection_equals_materialised_product(
    d: int, postprocess: list[str] | None
) -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=d, postprocess=postprocess)
    x = torch.randn(7, 5, dtype=torch.float64)
    weight = torch.randn(3, 2, expansion.calculate_D(5), dtype=torch.float64)
    expected = expansion(x) @ weight.transpose(-1, -2)
    torch.testing.assert_close(expansion.project(x, weight), expected, atol=1e-10, rtol=1e-10)


def test_taylor_projection_uses_preprocess() -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=2, preprocess=["tanh"], postprocess="layer_norm")
    x = torch.randn(4, 3, dtype=torch.float64)
    weight = torch.randn(5, expansion.calculate_D(3), dtype=torch.float64)
    expected = expansion(x) @ weight.T
    torch.testing.assert_close(expansion.project(x, weight), expected, atol=1e-10, rtol=1e-10)


def test_extended_projection_equals_materialised_product() -> None:
    torch.manual_seed(0)
    expansion = ExtendedExpansion(["taylor", "fourier", "identity"])
    x = torch.randn(6, 4, dtype=torch.float64)
    weight = torch.randn(2, 3, expansion.calculate_D(4), dtype=torch.float64)
    expected = expansion(x) @ weight.transpose(-1, -2)
    torch.testing.assert_close(expansion.project(x, weight), expected, atol=1e-10, rtol=1e-10)


def test_fixed_tensors_are_buffers_that_follow_dtype_and_state_dict() -> None:
    rbf = build("expansion", "gaussian_rbf", num_interval=4)
    spline = build("expansion", "bspline", t=3, d=2)
    assert set(rbf.state_dict()) == {"centres"}
    assert set(spline.state_dict()) == {"knots"}
    assert spline.knots.numel() == 3 + 2 * 2 + 1
    assert rbf.double().centres.dtype == torch.float64
    assert list(rbf.parameters()) == []


def test_postprocess_modules_are_registered_and_follow_eval() -> None:
    torch.manual_seed(0)
    expansion = TaylorExpansion(d=2, postprocess=[torch.nn.Dropout(0.5)])
    plain = TaylorExpansion(d=2)
    x = torch.randn(8, 3)
    assert expansion.training
    assert (expansion(x) == 0).any()
    expansion.eval()
    torch.testing.assert_close(expansion(x), plain(x))


def test_layer_norm_postprocess_normalises_last_dimension() -> None:
    expansion = TaylorExpansion(d=2, postprocess=["layer_norm"])
    out = expansion(torch.randn(4, 3, dtype=torch.float64))
    torch.testing.assert_close(out.mean(-1), torch.zeros(4, dtype=torch.float64))
    torch.testing.assert_close(
        out.var(-1, unbiased=False), torch.ones(4, dtype=torch.float64), atol=1e-3, rtol=0
    )


def test_unknown_postprocess_name_suggests_close_match() -> None:
    with pytest.raises(
        ConfigError, match=r"postprocess\[0\].*'layer_nrom'.*did you mean 'layer_norm'"
    ):
        TaylorExpansion(postprocess=["layer_nrom"])


def test_postprocess_module_class_is_rejected() -> None:
    with pytest.raises(ConfigError, match="pass an instance"):
        TaylorExpansion(postprocess=[torch.nn.ReLU])


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        ("taylor", {"d": 0}, "d=0"),
        ("fourier", {"P": 0}, "P=0"),
        ("fourier", {"N": 1.5}, "N=1.5"),
        ("bspline", {"grid_range": (1, -1)}, r"grid_range=\(1, -1\)"),
        ("gaussian_rbf", {"epsilon": -1}, "epsilon=-1"),
        ("chebyshev", {"d": -2}, "d=-2"),
        ("extended", {"expansions": []}, r"expansions=\[\]"),
    ],
)
def test_invalid_hyperparameters_raise_config_error(
    name: str, params: dict[str, object], field: str
) -> None:
    with pytest.raises(ConfigError, match=field):
        build("expansion", name, **params)


def test_extended_rejects_components_that_are_not_expansions() -> None:
    with pytest.raises(ConfigError, match="Linear, which is not a Expansion"):
        ExtendedExpansion([torch.nn.Linear(2, 2)])


def test_third_party_subclass_gets_default_projection() -> None:
    class Square(Expansion):
        def calculate_D(self, m: int) -> int:
            return m

        def expand(self, x: torch.Tensor) -> torch.Tensor:
            return x * x

    x = torch.randn(3, 4, dtype=torch.float64)
    weight = torch.randn(2, 4, dtype=torch.float64)
    torch.testing.assert_close(Square().project(x, weight), (x * x) @ weight.T)


def test_gradients_reach_the_input() -> None:
    x = torch.randn(4, 3, requires_grad=True)
    for name in ("taylor", "fourier", "bspline", "gaussian_rbf", "chebyshev", "hyperbolic"):
        x.grad = None
        build("expansion", name)(x).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0, name
