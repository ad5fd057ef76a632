"""Parameterized, parameterized bilinear, parameterized RPN and hybrid interdependence
functions: values against their definitions, the factored paths against the formed matrices,
tinybig 0.2.1 on the same inputs and weights, and one-line errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.interdependence import (
    HybridInterdependence,
    Interdependence,
    ParameterizedBilinearInterdependence,
)

B, M = 4, 6

#: (short name, tinybig class, parameters, l for attribute type, l for instance type)
PARAMETERIZED = [
    ("parameterized", "parameterized_interdependence", {}, 36, 16),
    ("lowrank_parameterized", "lowrank_parameterized_interdependence", {"r": 2}, 24, 16),
    ("hm_parameterized", "hm_parameterized_interdependence", {"p": 2}, 13, 8),
    ("lphm_parameterized", "lphm_parameterized_interdependence", {"r": 1, "p": 2}, 10, 8),
    ("dual_lphm_parameterized", "dual_lphm_parameterized_interdependence",
     {"r": 1, "p": 2}, 10, 8),
    ("random_matrix_adaption_parameterized",
     "random_matrix_adaption_parameterized_interdependence", {"r": 2}, 8, 6),
]  # fmt: skip
BILINEAR = [(f"{short}_bilinear" if short != "parameterized" else "parameterized_bilinear",
             cls.replace("_interdependence", "_bilinear_interdependence"), params)
            for short, cls, params, _, _ in PARAMETERIZED]  # fmt: skip


def _x(b: int = B, m: int = M, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, m, generator=torch.Generator().manual_seed(seed))


def _build(name: str, kind: str, **params: Any) -> Interdependence:
    obj = rpnkit.build("interdependence", name, b=B, m=M, interdependence_type=kind, **params)
    assert isinstance(obj, Interdependence)
    return obj


@pytest.mark.parametrize(("name", "cls", "params", "l_attr", "l_inst"), PARAMETERIZED)
def test_parameterized_counts_and_applies_psi_of_w(
    name: str, cls: str, params: dict, l_attr: int, l_inst: int
) -> None:
    x = _x()
    for kind, count, d in (("attribute", l_attr, M), ("instance", l_inst, B)):
        obj = rpnkit.build("interdependence", cls, b=B, m=M, interdependence_type=kind, **params)
        assert obj.calculate_l() == count and obj.require_parameters and not obj.require_data
        w = torch.randn(1, count)
        A = obj.calculate_A(None, w)
        assert A.shape == (d, d)
        torch.testing.assert_close(A, obj.fabrication(w.view(-1)))
        expected = x @ A if kind == "attribute" else A.T @ x
        torch.testing.assert_close(obj(x, w), expected)  # factored path == formed matrix


def test_dense_parameterized_is_w_viewed_and_primes_change_the_shape() -> None:
    obj = _build("parameterized", "attribute", m_prime=2)
    assert obj.calculate_l() == 12 and obj.calculate_m_prime() == 2
    w = torch.arange(12.0)
    torch.testing.assert_close(obj.calculate_A(None, w), w.view(M, 2))
    assert obj(_x(), w).shape == (B, 2)


@pytest.mark.parametrize(("name", "cls", "params"), BILINEAR)
@pytest.mark.parametrize("kind", ["instance", "attribute"])
def test_bilinear_is_x_w_xt_with_the_formed_w(name: str, cls: str, params: dict, kind: str) -> None:
    x = _x()
    obj = _build(name, kind, **params)
    assert rpnkit.build("interdependence", cls, b=B, m=M, interdependence_type=kind,
                        **params).calculate_l() == obj.calculate_l()  # fmt: skip
    assert isinstance(obj, ParameterizedBilinearInterdependence)
    w = torch.randn(obj.calculate_l())
    W = obj.calculate_W(w)
    oriented = x.T if kind == "instance" else x
    expected = oriented.T @ W @ oriented
    torch.testing.assert_close(obj.calculate_A(oriented, w), expected, rtol=1e-5, atol=1e-5)
    assert expected.shape == ((B, B) if kind == "instance" else (M, M))


def test_bilinear_defaults_to_instance_and_low_rank_has_2rd_parameters() -> None:
    obj = rpnkit.build("interdependence", "lowrank_parameterized_bilinear", b=B, m=M, r=3)
    assert obj.interdependence_type == "instance" and obj.calculate_l() == 2 * 3 * M


def test_parameterized_rpn_is_kappa_of_xt_times_psi_transposed() -> None:
    x = _x()
    obj = _build("parameterized_rpn", "attribute", data_transformation="taylor",
                 parameter_fabrication={"name": "low_rank", "parameters": {"r": 1}}, m_prime=3)  # fmt: skip
    D = B + B * B  # taylor of order 2 on each attribute's b-vector
    assert obj.calculate_l() == 1 * (3 + D)
    w = torch.randn(obj.calculate_l())
    kappa = torch.cat([x.T, (x.T.unsqueeze(2) * x.T.unsqueeze(1)).flatten(1)], 1)
    psi = w[:3].view(3, 1) @ w[3:].view(1, D)
    torch.testing.assert_close(obj.calculate_A(x, w), kappa @ psi.T)
    assert obj(x, w).shape == (B, 3)


def test_hybrid_fuses_the_parts_and_splits_w() -> None:
    x = _x()
    parts = ["linear_kernel", {"name": "lowrank_parameterized_bilinear", "parameters": {"r": 1}}]
    hybrid = _build("hybrid", "instance", interdependence_function_configs=parts,
                    fusion_function="prod")  # fmt: skip
    assert hybrid.calculate_l() == 2 * M and hybrid.require_data and hybrid.require_parameters
    w = torch.randn(2 * M)
    assert isinstance(hybrid, HybridInterdependence)
    kernel, bilinear = hybrid.functions
    expected = kernel.calculate_A(x.T) * bilinear.calculate_A(x.T, w)
    torch.testing.assert_close(hybrid.calculate_A(x.T, w), expected)
    attribute = _build("hybrid", "attribute", fusion_function="mean", interdependence_functions=[
        _build("identity", "attribute"), _build("one", "attribute")])  # fmt: skip
    assert attribute.calculate_m_prime() == M and attribute.calculate_l() == 0
    torch.testing.assert_close(attribute.calculate_A(), (torch.eye(M) + 1) / 2)


@pytest.mark.parametrize(
    ("name", "kind", "params", "message"),
    [("hm_parameterized", "attribute", {"p": 4}, r"^p=4 does not divide m=6"),
     ("lowrank_parameterized", "attribute", {"r": 0}, r"^r=0 is not valid"),
     ("hybrid", "instance", {"fusion_function": "mean"}, r"^interdependence_functions=None"),
     ("parameterized_rpn", "attribute", {"parameter_fabrication": "identity"},
      r"^data_transformation=None is not valid")],
)  # fmt: skip
def test_bad_parameters_are_one_line_errors(
    name: str, kind: str, params: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        _build(name, kind, **params)
    assert "\n" not in str(err.value)


def test_missing_or_wrong_sized_w_is_a_one_line_error() -> None:
    obj = _build("lowrank_parameterized", "attribute")
    with pytest.raises(ConfigError, match=r"^w=\(3,\) is not valid .* shape \(24,\) or \(1, 24\)"):
        obj(_x(), torch.zeros(3))


def test_random_factors_are_buffers_drawn_from_the_global_generator() -> None:
    torch.manual_seed(7)
    first = _build("random_matrix_adaption_parameterized", "attribute")
    torch.manual_seed(7)
    second = _build("random_matrix_adaption_parameterized", "attribute")
    assert {name for name, _ in first.named_buffers()} == {"fabrication.A", "fabrication.B"}
    torch.testing.assert_close(dict(first.named_buffers()), dict(second.named_buffers()))


# -- against tinybig 0.2.1 --------------------------------------------------------------------


def _same_as_tinybig(ours: Interdependence, theirs: Any, x: torch.Tensor, w: torch.Tensor) -> None:
    oriented = x if ours.is_attribute else x.T
    torch.testing.assert_close(ours.calculate_A(oriented, w), theirs.calculate_A(oriented, w),
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    torch.testing.assert_close(ours(x, w), theirs(x, w), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["attribute", "instance"])
@pytest.mark.parametrize(
    ("cls", "params"),
    [(c, p) for _, c, p, _, _ in PARAMETERIZED] + [(c, p) for _, c, p in BILINEAR],
)
def test_same_numbers_as_tinybig(tinybig: Any, cls: str, params: dict, kind: str) -> None:
    torch.manual_seed(1)  # random matrix adaption: both draw A then B from the same state
    ours = rpnkit.build("interdependence", cls, b=B, m=M, interdependence_type=kind, **params)
    theirs = getattr(tinybig.interdependence, cls)(b=B, m=M, interdependence_type=kind, **params)
    assert ours.calculate_l() == theirs.calculate_l()
    w = torch.randn(1, ours.calculate_l())
    torch.manual_seed(1)
    _same_as_tinybig(ours, theirs, _x(), w)


@pytest.mark.parametrize("kind", ["attribute", "instance"])
def test_parameterized_rpn_same_numbers_as_tinybig(tinybig: Any, kind: str) -> None:
    from tinybig.expansion import taylor_expansion
    from tinybig.reconciliation import lorr_reconciliation

    sizes = {"b": B, "m": M, "interdependence_type": kind, "m_prime": 3, "b_prime": 2}
    ours = rpnkit.build("interdependence", "parameterized_rpn_interdependence", **sizes,
                        data_transformation="taylor", parameter_fabrication="low_rank")  # fmt: skip
    theirs = tinybig.interdependence.parameterized_rpn_interdependence(
        **sizes, data_transformation=taylor_expansion(d=2),
        parameter_fabrication=lorr_reconciliation(r=2),
    )  # fmt: skip
    assert ours.calculate_l() == theirs.calculate_l()
    _same_as_tinybig(ours, theirs, _x(), torch.randn(1, ours.calculate_l()))


def test_hybrid_same_numbers_as_tinybig(tinybig: Any) -> None:
    from tinybig.fusion import prod_fusion

    parts = ["linear_kernel", {"name": "lowrank_parameterized_bilinear", "parameters": {"r": 1}}]
    ours = _build("hybrid_interdependence", "instance", interdependence_function_configs=parts,
                  fusion_function="prod")  # fmt: skip
    tb = tinybig.interdependence
    theirs = tb.hybrid_interdependence(
        b=B, m=M, interdependence_type="instance", fusion_function=prod_fusion(dims=[B, B]),
        interdependence_functions=[
            tb.linear_kernel_interdependence(b=B, m=M, interdependence_type="instance"),
            tb.lowrank_parameterized_bilinear_interdependence(
                b=B, m=M, interdependence_type="instance", r=1),
        ],
    )  # fmt: skip
    assert ours.calculate_l() == theirs.calculate_l()
    _same_as_tinybig(ours, theirs, _x(), torch.randn(1, ours.calculate_l()))
