"""Basic, numerical-kernel and statistical-kernel interdependence functions: values against
straightforward definitions, the fast paths against the materialised ones, tinybig 0.2.1 on the
same inputs, and one-line errors."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence import Interdependence
from rpnkit.rpn.interdependence import kernel_functions as kf
from rpnkit.rpn.interdependence import statistical_functions as sf

B, M = 5, 4


def _x(b: int = B, m: int = M, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, m, generator=torch.Generator().manual_seed(seed))


def _build(name: str, kind: str = "attribute", **params: Any) -> Interdependence:
    obj = rpnkit.build("interdependence", name, b=B, m=M, interdependence_type=kind, **params)
    assert isinstance(obj, Interdependence)
    return obj


def _diff(x: torch.Tensor) -> torch.Tensor:
    """``x[r, i] − x[r, j]`` for every row and pair of columns (the materialised definition)."""
    return x.unsqueeze(2) - x.unsqueeze(1)


# -- the base: types, application -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [("row", "instance"), ("left", "instance"), ("instance_interdependence", "instance"),
     ("column", "attribute"), ("right", "attribute"), ("attribute_interdependence", "attribute")],
)  # fmt: skip
def test_every_tinybig_spelling_of_the_type_is_accepted(spelling: str, canonical: str) -> None:
    assert _build("linear_kernel", spelling).interdependence_type == canonical


def test_attribute_applies_x_a_and_instance_applies_a_transpose_x() -> None:
    x = _x()
    attribute = _build("linear_kernel", "attribute")
    torch.testing.assert_close(attribute(x), x @ (x.T @ x))
    instance = _build("linear_kernel", "instance")
    A = instance.calculate_A(x.T)
    assert A.shape == (B, B)
    torch.testing.assert_close(instance(x), A.T @ x)
    kappa = torch.randn(B, 7)
    torch.testing.assert_close(instance(x, kappa_x=kappa), A.T @ kappa)


def test_a_bad_type_and_a_missing_batch_are_one_line_errors() -> None:
    with pytest.raises(ConfigError, match=r"^interdependence_type='diagonal' is not valid") as err:
        _build("linear_kernel", "diagonal")
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match=r"^x=None is not valid for LinearKernel"):
        _build("linear_kernel")(None)


# -- basic ------------------------------------------------------------------------------------


def test_basic_matrices_and_their_output_sizes() -> None:
    x = _x()
    one = _build("one", m_prime=3)
    assert one.calculate_m_prime() == 3 and one.calculate_l() == 0 and not one.require_data
    torch.testing.assert_close(one(x), x.sum(1, keepdim=True).expand(B, 3))
    zero = _build("zero_interdependence", "instance", b_prime=2)
    assert zero.calculate_b_prime() == 2
    torch.testing.assert_close(zero(x), torch.zeros(2, M))
    c = _build("constant_c", c=2.5)
    torch.testing.assert_close(c.calculate_A(), torch.full((M, M), 2.5))
    constant = _build("constant", A=torch.arange(8.0).view(M, 2))
    torch.testing.assert_close(constant(x), x @ torch.arange(8.0).view(M, 2))
    assert constant.calculate_m_prime() == 2


def test_identity_is_silent_when_square_and_warns_one_line_otherwise() -> None:
    x = _x()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        torch.testing.assert_close(_build("identity", "instance")(x), x)
    with pytest.warns(UserWarning, match=r"m=4 and m_prime=2 is eye\(4, 2\)") as record:
        identity = _build("identity", m_prime=2)
    assert "\n" not in str(record[0].message)
    torch.testing.assert_close(identity(x), x[:, :2])


def test_constant_rejects_a_matrix_of_the_wrong_height() -> None:
    with pytest.raises(ConfigError, match=r"^A of shape \(3, 3\) does not fit m=4"):
        _build("constant", A=torch.ones(3, 3))


# -- numerical kernels ------------------------------------------------------------------------

DISTANCES = [(1.0, "manhattan_distance"), (2.0, "euclidean_distance"),
             (math.inf, "chebyshev_distance")]  # fmt: skip


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, math.inf])
def test_exact_cdist_equals_the_norm_of_the_difference_tensor(p: float) -> None:
    x = _x(16, 9)
    reference = torch.linalg.vector_norm(_diff(x), ord=p, dim=0)
    torch.testing.assert_close(kf.column_distance(x, p), reference, rtol=0, atol=1e-6)


@pytest.mark.parametrize(("p", "name"), DISTANCES)
@pytest.mark.parametrize("kind", ["attribute", "instance"])
def test_distance_kernels_are_exp_of_minus_the_distance(p: float, name: str, kind: str) -> None:
    x = _x()
    oriented = x if kind == "attribute" else x.T
    expected = torch.exp(-torch.linalg.vector_norm(_diff(oriented), ord=p, dim=0))
    torch.testing.assert_close(_build(name, kind).calculate_A(oriented), expected)
    torch.testing.assert_close(
        _build("minkowski_distance", kind, p=p).calculate_A(oriented), expected
    )


def test_the_other_numerical_kernels_match_their_definitions() -> None:
    x = _x()
    gram = x.T @ x
    sq = (_diff(x) ** 2).sum(0)
    l1 = _diff(x).abs().sum(0)
    cases = {
        ("polynomial_kernel", (("c", 1.0), ("d", 2))): (gram + 1) ** 2,
        ("hyperbolic_tangent_kernel", (("c", 0.5), ("alpha", 0.3))): torch.tanh(0.3 * gram + 0.5),
        ("exponential_kernel", (("gamma", 0.7),)): torch.exp(-0.7 * sq),
        ("gaussian_rbf_kernel", (("sigma", 2.0),)): torch.exp(-sq / 8),
        ("laplacian_kernel", (("sigma", 2.0),)): torch.exp(-l1 / 2),
    }
    for (name, params), expected in cases.items():
        torch.testing.assert_close(
            _build(name, "attribute", **dict(params)).calculate_A(x), expected
        )
    unit = x / x.norm(dim=0, keepdim=True)
    torch.testing.assert_close(_build("cosine_similarity").calculate_A(x), unit.T @ unit)
    zero_column = torch.cat([x[:, :2], torch.zeros(B, 1)], 1)
    assert _build("cosine_similarity").calculate_A(zero_column)[2].abs().sum() == 0


def test_canberra_in_blocks_equals_the_full_difference_tensor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    x = _x(11, 6)
    d = _diff(x)
    expected = (d.abs() / (x.unsqueeze(2).abs() + x.unsqueeze(1).abs() + 1e-10)).sum(0)
    monkeypatch.setattr(kf, "_BLOCK_ELEMENTS", 2 * 36)  # two rows per block
    torch.testing.assert_close(kf.canberra_distance(x), expected)
    torch.testing.assert_close(_build("canberra_distance").calculate_A(x), torch.exp(-expected))


def test_anisotropic_rbf_weights_the_rows() -> None:
    x = _x()
    a = torch.tensor([0.5, 1.0, 2.0, 0.0, 3.0])
    expected = torch.exp(-torch.einsum("r,rij->ij", a, _diff(x) ** 2))
    torch.testing.assert_close(
        _build("anisotropic_rbf_kernel", a_vector=a).calculate_A(x), expected
    )
    negative = torch.tensor([0.5, -1.0, 2.0, 0.0, 3.0])
    expected = torch.exp(-torch.einsum("r,rij->ij", negative, _diff(x) ** 2))
    torch.testing.assert_close(kf.anisotropic_rbf_kernel(x, negative), expected)
    with pytest.raises(ConfigError, match=r"^a_vector=.* expected 5 weights"):
        _build("anisotropic_rbf_kernel", a_vector=[1.0, 2.0])


def test_custom_hybrid_and_kernel_based_take_callables_or_registered_names_only() -> None:
    x = _x()
    hybrid = _build("custom_hybrid_kernel", kernels=["linear", kf.euclidean_distance_kernel],
                    weights=[0.25, 0.75])  # fmt: skip
    expected = 0.25 * (x.T @ x) + 0.75 * kf.euclidean_distance_kernel(x)
    torch.testing.assert_close(hybrid.calculate_A(x), expected)
    equal = _build("custom_hybrid_kernel", kernels=["linear", "cosine_similarity"])
    torch.testing.assert_close(
        equal.calculate_A(x), 0.5 * (x.T @ x) + 0.5 * kf.cosine_similarity_kernel(x)
    )
    torch.testing.assert_close(_build("kernel_based", kernel=lambda v: v.T @ v)(x), x @ x.T @ x)
    with pytest.raises(ConfigError, match=r"^kernel='os:system' is not a known kernel"):
        _build("numerical_kernel_based", kernel="os:system")
    with pytest.raises(ConfigError, match=r"^weights=\[1.0\] is not valid; expected 2 numbers"):
        _build("custom_hybrid_kernel", kernels=["linear", "linear"], weights=[1.0])


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [("minkowski_distance", {"p": "nuc"}, r"^p='nuc' is not valid"),
     ("minkowski_distance", {}, r"^p=None is not valid"),
     ("gaussian_rbf_kernel", {"sigma": 0}, r"^sigma=0 is not valid; expected a finite number > 0"),
     ("polynomial_kernel", {"d": 1.5}, r"^d=1.5 is not valid")],
)  # fmt: skip
def test_bad_kernel_parameters_are_one_line_errors(name: str, params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        _build(name, **params)
    assert "\n" not in str(err.value)


# -- statistical kernels ----------------------------------------------------------------------


def test_statistical_kernels_match_their_definitions() -> None:
    x = _x(9, 5)
    corr = torch.corrcoef(x.T)
    torch.testing.assert_close(_build("pearson_correlation").calculate_A(x), corr)
    torch.testing.assert_close(_build("rv_coefficient").calculate_A(x), corr**2)
    tinybig_rv = corr.clamp(0, 1) * (1 - torch.eye(5))
    torch.testing.assert_close(
        _build("rv_coefficient", formula="tinybig").calculate_A(x), tinybig_rv
    )
    mi = -0.5 * torch.log(1 - corr**2)
    mi.fill_diagonal_(0)
    torch.testing.assert_close(
        _build("mutual_information").calculate_A(x), mi, rtol=1e-4, atol=1e-5
    )
    p = torch.softmax(x, 0)
    kl = (p.unsqueeze(2) * (p.log().unsqueeze(2) - p.log().unsqueeze(1))).sum(0)
    torch.testing.assert_close(_build("kl_divergence").calculate_A(x), kl)


def test_a_constant_column_is_uncorrelated_instead_of_nan() -> None:
    x = _x(6, 3)
    x[:, 1] = 2.0
    A = sf.pearson_correlation_kernel(x)
    assert torch.isfinite(A).all() and A[1, 1] == 1 and A[1, 0] == 0 and A[0, 1] == 0


def test_divergent_classes_say_so_in_one_line() -> None:
    for name in ("rv_coefficient", "pearson_correlation"):
        line = type(_build(name)).tinybig_divergence
        assert line and "\n" not in line
    assert type(_build("mutual_information")).tinybig_divergence is None


# -- against tinybig 0.2.1 --------------------------------------------------------------------

TINYBIG_SAME = [
    ("linear_kernel_interdependence", {}),
    ("cosine_similarity_interdependence", {}),
    ("minkowski_distance_interdependence", {"p": 3}),
    ("manhattan_distance_interdependence", {}),
    ("euclidean_distance_interdependence", {}),
    ("chebyshev_distance_interdependence", {}),
    ("canberra_distance_interdependence", {}),
    ("polynomial_kernel_interdependence", {"c": 1.0, "d": 2}),
    ("hyperbolic_tangent_kernel_interdependence", {"c": 0.1, "alpha": 0.5}),
    ("exponential_kernel_interdependence", {"gamma": 0.5}),
    ("gaussian_rbf_kernel_interdependence", {"sigma": 1.5}),
    ("laplacian_kernel_interdependence", {"sigma": 2.0}),
    ("anisotropic_rbf_kernel_interdependence", {"a_scalar": 0.3}),
    ("pearson_correlation_interdependence", {}),
    ("kl_divergence_interdependence", {}),
    ("mutual_information_interdependence", {}),
]


@pytest.mark.parametrize(("name", "params"), TINYBIG_SAME)
@pytest.mark.parametrize("kind", ["attribute", "instance"])
def test_same_numbers_as_tinybig(tinybig: Any, name: str, params: dict, kind: str) -> None:
    x = _x(6, 4, seed=3)
    theirs = getattr(tinybig.interdependence, name)(b=6, m=4, interdependence_type=kind, **params)
    ours = rpnkit.build("interdependence", name, b=6, m=4, interdependence_type=kind, **params)
    oriented = x if kind == "attribute" else x.T
    torch.testing.assert_close(ours.calculate_A(oriented), theirs.calculate_A(oriented),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    torch.testing.assert_close(ours(x), theirs(x), rtol=1e-5, atol=1e-5)


def test_rv_coefficient_formula_tinybig_reproduces_its_code(tinybig: Any) -> None:
    x = _x(8, 5, seed=4)
    theirs = tinybig.interdependence.rv_coefficient_interdependence(b=8, m=5)
    ours = _build("rv_coefficient", formula="tinybig")
    torch.testing.assert_close(ours.calculate_A(x), theirs.calculate_A(x))


def test_anisotropic_vector_and_hybrid_match_tinybig(tinybig: Any) -> None:
    x = _x(5, 4, seed=5)
    a = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0])
    theirs = tinybig.interdependence.anisotropic_rbf_kernel_interdependence(b=5, m=4, a_vector=a)
    torch.testing.assert_close(_build("anisotropic_rbf_kernel", a_vector=a).calculate_A(x),
                               theirs.calculate_A(x))  # fmt: skip
    from tinybig.koala.linear_algebra import euclidean_distance_kernel, linear_kernel

    theirs = tinybig.interdependence.custom_hybrid_kernel_interdependence(
        b=5, m=4, kernels=[linear_kernel, euclidean_distance_kernel], weights=[0.2, 0.8]
    )
    ours = _build("custom_hybrid_kernel", kernels=["linear_kernel", "euclidean_distance_kernel"],
                  weights=[0.2, 0.8])  # fmt: skip
    torch.testing.assert_close(ours.calculate_A(x), theirs.calculate_A(x))
