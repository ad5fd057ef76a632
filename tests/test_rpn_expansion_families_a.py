"""Basic, arc, inverse quadratic RBF, orthogonal, recursive and nested expansions.

Each component is checked three ways: its output size ``D``, its values on
``x = [[0.5, -0.3]]`` against values worked out by hand from the closed forms, and its values
against tinybig 0.2.1 on the same input and parameters (``tinybig`` fixture).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from torch import Tensor

from rpnkit import build
from rpnkit.cli import main
from rpnkit.errors import ComponentNotFoundError, ConfigError
from rpnkit.rpn import (
    Expansion,
    ExtendedExpansion,
    LaguerreExpansion,
    LinearExpansion,
    NestedExpansion,
    RPNHead,
)

X = torch.tensor([[0.5, -0.3]], dtype=torch.float64)


def _sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


Z = (_sigmoid(0.5), _sigmoid(-0.3))
CHEBYSHEV_2 = [0.5, -0.5, -0.3, -0.82]  # T1, T2 of 0.5, then of -0.3

# (registry name, parameters, κ([[0.5, -0.3]]) worked out from the closed forms)
CHECK_VALUES: list[tuple[str, dict[str, Any], list[float]]] = [
    ("reciprocal", {}, [2.0, -1 / 0.3]),
    ("linear", {}, [0.5, -0.3]),
    ("linear", {"c": 2.0}, [1.0, -0.6]),
    ("linear", {"c": [2.0, -1.0]}, [1.0, 0.3]),
    # x C_post with C = [[1, 2], [3, 4]]: [0.5 - 0.9, 1.0 - 1.2]
    ("linear", {"post_C": [[1.0, 2.0], [3.0, 4.0]]}, [-0.4, -0.2]),
    # C_pre x with the same C: [0.5 - 0.6, 1.5 - 1.2]
    ("linear", {"pre_C": [[1.0, 2.0], [3.0, 4.0]]}, [-0.1, 0.3]),
    (
        "arc_hyperbolic",
        {},
        [
            *(math.asinh(z) for z in Z),
            *(math.acosh(z + 1.01) for z in Z),
            *(math.atanh(0.99 * z) for z in Z),
        ],
    ),
    (
        "arc_trigonometric",
        {},
        [
            *(math.asin(0.99 * z) for z in Z),
            *(math.acos(0.99 * z) for z in Z),
            *(math.atan(z) for z in Z),
        ],
    ),
    # centres -1, 0, 1: 1 / (1 + 4 (x - c)²)
    ("inverse_quadratic_rbf", {"num_interval": 3, "epsilon": 2.0},
     [0.1, 0.5, 0.5, 1 / 2.96, 1 / 1.36, 1 / 7.76]),
    # α = β = 1: P1 = 2x, P2 = 3(5x² - 1)/4, P3 = 7x³ - 3x
    ("jacobi", {"d": 3}, [1.0, 0.1875, -0.625, -0.6, -0.4125, 0.711]),
    # α = 2, β = 0: P1 = 1 + 2x, P2 = 6 + 10(x - 1) + 3.75(x - 1)²
    ("jacobi", {"d": 2, "alpha": 2.0, "beta": 0.0}, [2.0, 1.9375, 0.4, -0.6625]),
    # α = β = 0 is Legendre
    ("jacobi", {"d": 3, "alpha": 0.0, "beta": 0.0}, [0.5, -0.125, -0.4375, -0.3, -0.365, 0.3825]),
    # α = 1: L1 = 2 - x, L2 = x²/2 - 3x + 3
    ("laguerre", {}, [1.5, 1.625, 2.3, 3.945]),
    # α = 0: L1 = 1 - x, L2 = (x² - 4x + 2)/2, L3 = (-x³ + 9x² - 18x + 6)/6
    ("laguerre", {"d": 3, "alpha": 0.0}, [0.5, 0.125, -0.875 / 6, 1.3, 1.645, 12.237 / 6]),
    # α = 1 is Chebyshev U: 2x, 4x² - 1, 8x³ - 4x
    ("gegenbauer", {"d": 3}, [1.0, 0.0, -1.0, -0.6, -0.64, 0.984]),
    # α = 1/2 is Legendre
    ("gegenbauer", {"d": 3, "alpha": 0.5}, [0.5, -0.125, -0.4375, -0.3, -0.365, 0.3825]),
    # x + 1, 3x² + 3x + 1, 15x³ + 15x² + 6x + 1
    ("bessel", {"d": 3}, [1.5, 3.25, 9.625, 0.7, 0.37, 0.145]),
    # x + 1, x² + 3x + 3, x³ + 6x² + 15x + 15
    ("reverse_bessel", {"d": 3}, [1.5, 4.75, 24.125, 0.7, 2.19, 11.013]),
    # 1, x, x² + 1, x³ + 2x
    ("fibonacci", {"d": 4}, [1.0, 0.5, 1.25, 1.125, 1.0, -0.3, 1.09, -0.627]),
    # x, x² + 2, x³ + 3x, x⁴ + 4x² + 2
    ("lucas", {"d": 4}, [0.5, 2.25, 1.625, 3.0625, -0.3, 2.09, -0.927, 2.3681]),
    ("nested", {"expansions": [{"name": "linear", "parameters": {"c": 2.0}}, "reciprocal"]},
     [1.0, -1 / 0.6]),
    (
        "nested",
        {"expansions": ["chebyshev", "taylor"]},
        [*CHEBYSHEV_2, *(a * b for a in CHEBYSHEV_2 for b in CHEBYSHEV_2)],
    ),
]  # fmt: skip


def _id(case: tuple[Any, ...]) -> str:
    name, params = case[0], case[1]
    shown = "".join(f"-{k}{v}" for k, v in params.items() if not isinstance(v, list))
    return name + shown + ("-list" if any(isinstance(v, list) for v in params.values()) else "")


@pytest.mark.parametrize("case", CHECK_VALUES, ids=_id)
def test_check_values_and_size(case: tuple[str, dict[str, Any], list[float]]) -> None:
    name, params, expected = case
    expansion = build("expansion", {"name": name, "parameters": params})
    assert expansion.calculate_D(2) == len(expected)
    torch.testing.assert_close(
        expansion(X), torch.tensor([expected], dtype=X.dtype), atol=1e-9, rtol=1e-9
    )


MATRIX = [[1.0, 2.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 3.0, 0.0], [0.5, 0.0, 1.0, 0.0, 0.0],
          [0.0, 0.0, 0.0, 1.0, 2.0], [1.0, 0.0, -1.0, 0.0, 1.0]]  # fmt: skip

# (rpnkit name, rpnkit parameters, tinybig class, tinybig parameters)
REFERENCE: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    ("reciprocal", {}, "reciprocal_expansion", {}),
    ("reciprocal_expansion", {"preprocess": "tanh"}, "reciprocal_expansion",
     {"preprocess_functions": torch.tanh}),
    ("linear", {}, "linear_expansion", {}),
    ("linear", {"c": 1.5}, "linear_expansion", {"c": 1.5}),
    ("linear", {"post_C": MATRIX}, "linear_expansion", {"post_C": torch.tensor(MATRIX)}),
    ("arc_hyperbolic", {}, "arc_hyperbolic_expansion", {}),
    ("arc_trigonometric", {}, "arc_trigonometric_expansion", {}),
    ("arc_trigonometric", {"preprocess": ["tanh"], "postprocess": ["sigmoid"]},
     "arc_trigonometric_expansion",
     {"preprocess_functions": torch.tanh, "postprocess_functions": torch.sigmoid}),
    ("inverse_quadratic_rbf", {}, "inverse_quadratic_rbf_expansion", {}),
    ("inverse_quadratic_rbf_expansion",
     {"base_range": (-2.0, 1.0), "num_interval": 4, "epsilon": 1.5},
     "inverse_quadratic_rbf_expansion",
     {"base_range": (-2.0, 1.0), "num_interval": 4, "epsilon": 1.5}),
    ("jacobi", {}, "jacobi_expansion", {}),
    ("jacobi", {"d": 5, "alpha": 0.5, "beta": 2.0}, "jacobi_expansion",
     {"d": 5, "alpha": 0.5, "beta": 2.0}),
    ("jacobi", {"d": 3, "postprocess": ["layer_norm"]}, "jacobi_expansion",
     {"d": 3, "postprocess_functions": torch.nn.LayerNorm(15, elementwise_affine=False)}),
    ("gegenbauer", {}, "gegenbauer_expansion", {}),
    ("gegenbauer_expansion", {"d": 5, "alpha": 0.7}, "gegenbauer_expansion",
     {"d": 5, "alpha": 0.7}),
    ("bessel", {"d": 5}, "bessel_expansion", {"d": 5}),
    ("reverse_bessel", {"d": 5}, "reverse_bessel_expansion", {"d": 5}),
    ("fibonacci", {"d": 6}, "fibonacci_expansion", {"d": 6}),
    ("lucas", {"d": 6}, "lucas_expansion", {"d": 6}),
    ("nested", {"expansions": ["arc_trigonometric", {"name": "jacobi", "parameters": {"d": 3}}]},
     "nested_expansion",
     {"composition_function_configs": [
         {"function_class": "tinybig.expansion.arc_trigonometric_expansion",
          "function_parameters": {}},
         {"function_class": "tinybig.expansion.jacobi_expansion",
          "function_parameters": {"d": 3}}]}),
]  # fmt: skip

# The nested expansion of tinybig's published composite-function config, verbatim.
PUBLISHED_NESTED = [
    {
        "function_class": "tinybig.expansion.bspline_expansion",
        "function_parameters": {"name": "bspline_expansion", "t": 10, "d": 4},
    },
    {
        "function_class": "tinybig.expansion.taylor_expansion",
        "function_parameters": {"name": "taylor_expansion", "d": 2},
    },
]


def _batch(m: int = 5) -> Tensor:
    """Float32 inputs in (-0.9, 0.9), with entries at and next to zero."""
    torch.manual_seed(0)
    x = torch.rand(6, m) * 1.8 - 0.9
    x[0, :3] = torch.tensor([0.0, 5e-7, -5e-7])
    return x


@pytest.mark.parametrize("case", REFERENCE, ids=_id)
def test_matches_tinybig(
    tinybig: Any, case: tuple[str, dict[str, Any], str, dict[str, Any]]
) -> None:
    name, params, tinybig_class, tinybig_params = case
    ours = build("expansion", {"name": name, "parameters": params})
    theirs = getattr(tinybig.expansion, tinybig_class)(**tinybig_params)
    x = _batch()
    for m in (5,) if "post_C" in params else (1, 5, 7):  # a matrix fixes m
        assert ours.calculate_D(m) == theirs.calculate_D(m=m)
    expected = theirs(x.clone())  # tinybig's reciprocal writes into its input
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-5)


def test_nested_published_tinybig_config_matches_tinybig(tinybig: Any) -> None:
    ours = build("expansion", "nested", composition_function_configs=PUBLISHED_NESTED)
    theirs = tinybig.expansion.nested_expansion(composition_function_configs=PUBLISHED_NESTED)
    x = _batch(3)
    assert ours.calculate_D(3) == theirs.calculate_D(m=3) == 42 + 42 * 42
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-6)


def test_linear_pre_matrix_is_tinybigs_post_matrix_transposed(tinybig: Any) -> None:
    """``C_pre x`` per sample (the definition) is ``x C_preᵀ``; tinybig's code mixes samples."""
    torch.manual_seed(1)
    matrix = torch.randn(5, 5)
    x = _batch()
    theirs = tinybig.expansion.linear_expansion(post_C=matrix.T)(x)
    torch.testing.assert_close(LinearExpansion(pre_C=matrix)(x), theirs, rtol=1e-5, atol=1e-5)


class _LaguerreFromTinybigsFirstTerm(LaguerreExpansion):
    """Laguerre with tinybig's first term ``1 + α + x`` (the only step where tinybig differs)."""

    def first(self, x: Tensor) -> Tensor:
        return (1 + self.alpha) + x


@pytest.mark.parametrize("alpha", [1.0, 0.0, 2.5])
def test_laguerre_differs_from_tinybig_only_in_its_first_term(tinybig: Any, alpha: float) -> None:
    x = _batch()
    theirs = tinybig.expansion.laguerre_expansion(d=5, alpha=alpha)
    torch.testing.assert_close(
        _LaguerreFromTinybigsFirstTerm(d=5, alpha=alpha)(x), theirs(x), rtol=1e-5, atol=1e-5
    )
    assert not torch.allclose(LaguerreExpansion(d=5, alpha=alpha)(x), theirs(x))


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.5, -0.5])
def test_laguerre_equals_the_explicit_sum(alpha: float) -> None:
    """``L_k^(α)(x) = Σ_i (-1)^i binom(k+α, k-i) x^i / i!``, with real binomials."""

    def binom(top: float, k: int) -> float:
        return math.gamma(top + 1) / (math.gamma(k + 1) * math.gamma(top - k + 1))

    x = torch.linspace(-2, 5, 11, dtype=torch.float64).unsqueeze(0)
    d = 5
    expected = torch.stack(
        [
            sum(
                (-1) ** i * binom(k + alpha, k - i) * x**i / math.factorial(i) for i in range(k + 1)
            )
            for k in range(1, d + 1)
        ],
        dim=-1,
    ).flatten(-2)
    torch.testing.assert_close(LaguerreExpansion(d=d, alpha=alpha)(x), expected)
    if alpha == 0:
        special = torch.stack(
            [torch.special.laguerre_polynomial_l(x, k) for k in range(1, d + 1)], dim=-1
        )
        torch.testing.assert_close(LaguerreExpansion(d=d, alpha=0.0)(x), special.flatten(-2))


@pytest.mark.parametrize(
    ("name", "params"),
    [("jacobi", {"alpha": 0.0, "beta": 0.0}), ("gegenbauer", {"alpha": 0.5})],
)
def test_jacobi_and_gegenbauer_reduce_to_legendre(name: str, params: dict[str, Any]) -> None:
    x = torch.linspace(-1, 1, 9, dtype=torch.float64).unsqueeze(0)
    expansion = build("expansion", name, d=6, **params)
    torch.testing.assert_close(expansion(x), build("expansion", "legendre", d=6)(x))


NEW = [
    ("reciprocal", {}),
    ("linear", {"c": 0.5}),
    ("linear", {"post_C": torch.eye(5).tolist()}),
    ("arc_hyperbolic", {}),
    ("arc_trigonometric", {}),
    ("inverse_quadratic_rbf", {}),
    ("jacobi", {}),
    ("laguerre", {}),
    ("gegenbauer", {}),
    ("bessel", {}),
    ("reverse_bessel", {}),
    ("fibonacci", {"d": 3}),
    ("lucas", {}),
    ("nested", {"expansions": ["arc_trigonometric", "taylor"]}),
]


@pytest.mark.parametrize("case", NEW, ids=_id)
def test_keeps_dtype_and_gradients_reach_the_input(case: tuple[str, dict[str, Any]]) -> None:
    name, params = case
    expansion = build("expansion", {"name": name, "parameters": params})
    x = (torch.rand(3, 5, dtype=torch.float64) * 1.6 - 0.8).requires_grad_()
    out = expansion(x)
    assert out.shape == (3, expansion.calculate_D(5)) and out.dtype == torch.float64
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_reciprocal_keeps_the_input_and_stays_finite_at_zero() -> None:
    x = torch.tensor([[0.0, 1e-7, -1e-7, -0.0, 2.0]])
    before = x.clone()
    out = build("expansion", "reciprocal")(x)
    torch.testing.assert_close(x, before)
    torch.testing.assert_close(out, torch.tensor([[1e6, 1e6, -1e6, 1e6, 0.5]]))


def _materialised(expansion: Expansion, x: Tensor, weight: Tensor) -> Tensor:
    return expansion(x) @ weight.transpose(-1, -2)


@pytest.mark.parametrize("rows", [2, 40])
@pytest.mark.parametrize("which", ["pre_C", "post_C"])
@pytest.mark.parametrize("postprocess", [None, ["tanh"]])
def test_linear_projection_equals_materialised_product(
    rows: int, which: str, postprocess: list[str] | None
) -> None:
    torch.manual_seed(0)
    matrix = torch.randn(6, 6, dtype=torch.float64)
    expansion = LinearExpansion(**{which: matrix}, preprocess=torch.sin, postprocess=postprocess)
    x = torch.randn(9, 6, dtype=torch.float64)
    weight = torch.randn(3, rows, 6, dtype=torch.float64)
    torch.testing.assert_close(
        expansion.project(x, weight), _materialised(expansion, x, weight), atol=1e-10, rtol=1e-10
    )


@pytest.mark.parametrize(
    ("parts", "preprocess", "postprocess"),
    [
        (["arc_trigonometric", "taylor"], None, None),
        (["arc_trigonometric", "taylor"], "tanh", None),
        (["chebyshev", "taylor"], None, ["layer_norm"]),
        (["taylor", "fibonacci"], None, None),
        (["jacobi", {"name": "extended", "parameters": {"expansions": ["taylor", "lucas"]}}],
         None, None),
    ],
)  # fmt: skip
def test_nested_projection_equals_materialised_product(
    parts: list[Any], preprocess: str | None, postprocess: list[str] | None
) -> None:
    torch.manual_seed(0)
    expansion = NestedExpansion(parts, preprocess=preprocess, postprocess=postprocess)
    x = torch.rand(7, 4, dtype=torch.float64) - 0.5
    weight = torch.randn(2, 3, expansion.calculate_D(4), dtype=torch.float64)
    torch.testing.assert_close(
        expansion.project(x, weight), _materialised(expansion, x, weight), atol=1e-10, rtol=1e-10
    )


def test_low_rank_head_with_nested_expansion_computes_its_function() -> None:
    torch.manual_seed(0)
    head = RPNHead(
        4,
        3,
        expansion={"name": "nested", "parameters": {"expansions": ["arc_hyperbolic", "taylor"]}},
        reconciliation={"name": "low_rank", "parameters": {"r": 2}},
    ).double()
    x = torch.randn(5, 4, dtype=torch.float64)
    weight = head.reconciliation(head.w)[0]
    assert head.D == 12 + 144
    torch.testing.assert_close(head(x), head.expansion(x) @ weight.T)


def test_extended_takes_tinybigs_parameter_names() -> None:
    configs = [
        {"function_class": "tinybig.expansion.taylor_expansion",
         "function_parameters": {"name": "taylor_expansion", "d": 2}},
        {"function_class": "tinybig.expansion.gaussian_rbf_expansion",
         "function_parameters": {"num_interval": 2, "device": "cpu"}},
    ]  # fmt: skip
    expected = [0.5, -0.3, 0.25, -0.15, -0.15, 0.09, 0.1054, 0.7788, 0.6126, 0.1845]
    for expansion in (
        ExtendedExpansion(composition_function_configs=configs),
        ExtendedExpansion(composition_functions=[build("expansion", "taylor"), configs[1]]),
    ):
        assert expansion.calculate_D(2) == 10
        torch.testing.assert_close(
            expansion(X), torch.tensor([expected], dtype=X.dtype), atol=1e-4, rtol=0
        )


def test_fixed_tensors_are_buffers() -> None:
    linear = build("expansion", "linear", post_C=[[1.0, 0.0], [2.0, 1.0]])
    rbf = build("expansion", "inverse_quadratic_rbf", base=[-0.5, 0.5, 2.5], num_interval=3)
    assert set(linear.state_dict()) == {"matrix"} and set(rbf.state_dict()) == {"centres"}
    assert linear.double().matrix.dtype == torch.float64
    assert list(linear.parameters()) == [] and list(rbf.parameters()) == []
    torch.testing.assert_close(rbf(torch.tensor([[0.5]])), torch.tensor([[0.5, 1.0, 0.2]]))


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("linear", {"c": 2.0, "pre_C": [[1.0]]}, "got c and pre_C; expected at most one"),
        ("linear", {"post_C": [[1.0, 2.0]]}, r"post_C has shape \(1, 2\); expected a square"),
        ("linear", {"c": "two"}, "linear expansion c of type str is not valid"),
        ("linear", {"c": True}, "c=True is not valid"),
        ("jacobi", {"alpha": -1},
         r"jacobi expansion alpha=-1 is not valid; expected a finite number > -1"),
        ("jacobi", {"beta": float("nan")}, "jacobi expansion beta=nan is not valid"),
        ("laguerre", {"alpha": "1"}, "laguerre expansion alpha='1' is not valid"),
        ("gegenbauer", {"alpha": -0.5}, r"alpha=-0.5 is not valid; expected a finite number > -0.5"),
        ("bessel", {"d": 0}, "BesselExpansion d=0 is not valid"),
        ("fibonacci", {"d": 2.0}, "FibonacciExpansion d=2.0 is not valid"),
        ("inverse_quadratic_rbf", {"epsilon": 0}, "inverse_quadratic_rbf expansion epsilon=0"),
        ("inverse_quadratic_rbf", {"base": [0.0, 1.0]}, r"base has shape \(2,\); expected 10"),
        ("nested", {}, "nested expansion needs its parts"),
        ("nested", {"expansions": []}, r"nested expansion expansions=\[\] is not valid"),
        ("nested", {"expansions": "taylor"}, "expansions='taylor' is not valid"),
        ("nested", {"expansions": ["taylor"], "composition_functions": ["taylor"]},
         "got expansions and composition_functions"),
    ],
)  # fmt: skip
def test_invalid_parameters_raise_config_error(
    name: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build("expansion", name, **params)


def test_unknown_tinybig_class_in_a_nested_config_suggests_a_close_match() -> None:
    configs = [{"function_class": "tinybig.expansion.taylr_expansion"}]
    with pytest.raises(ComponentNotFoundError, match="did you mean 'taylor_expansion'"):
        NestedExpansion(composition_function_configs=configs)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "linear", "parameters": {"pre_C": torch.eye(3)}},
         r"pre_C has shape \(3, 3\), but the input has m=4"),
        ({"name": "linear", "parameters": {"c": [1.0, 2.0]}},
         "c has 2 factors, but the input has m=4"),
    ],
)  # fmt: skip
def test_linear_sizes_are_checked_against_the_input(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RPNHead(4, 2, expansion=spec)


def test_cli_lists_and_shows_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["list", "expansion"]) == 0
    listed = capsys.readouterr().out
    for name, _ in NEW:
        assert f"{name}_expansion" in listed
    assert main(["show", "jacobi"]) == 0
    shown = capsys.readouterr().out
    assert "JacobiExpansion(d=2, alpha=1.0, beta=1.0, *, preprocess=None" in shown
    rows = {
        line.split("\t")[0].removeprefix("parameter: "): line
        for line in shown.splitlines()
        if line.startswith("parameter: ")
    }
    assert "int" in rows["d"] and "2" in rows["d"]
    assert "float" in rows["alpha"] and "1.0" in rows["alpha"] and "1.0" in rows["beta"]
