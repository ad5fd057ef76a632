"""Reconciliation families and remainders added after the core set: constant, zero, one,
constant eye, masking, duplicated (diagonal) padding, random matrices; constant remainders.

Every component is checked for its parameter count, for hand-computed weights, for its
factorisation and the head's fast path against the materialised weight, and against tinybig
0.2.1 itself with the same parameters, ``w`` and random seed.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch

from rpnkit import build, get_registry
from rpnkit.errors import ConfigError
from rpnkit.rpn import (
    ConstantRemainder,
    DuplicatedPaddingReconciliation,
    IdentityRemainder,
    LowRankReconciliation,
    MaskingReconciliation,
    RandomMatrixAdaptionReconciliation,
    RandomMatrixHypernetReconciliation,
    Reconciliation,
    RPNHead,
)

N, D = 4, 6
F64 = torch.float64


def _weight(
    name: str, n: int = N, d: int = D, **params: Any
) -> tuple[Reconciliation, torch.Tensor]:
    """Build ``name`` for ``(n, d)`` and return it with ``ψ([1, 2, ..., l])`` in float64."""
    reconciliation = build("reconciliation", name, n=n, D=d, **params).double()
    w = torch.arange(1, reconciliation.l + 1, dtype=F64)
    return reconciliation, reconciliation(w)


def _tensor(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=F64)


# --- hand-computed weights ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "value"),
    [("constant", {"c": 2.5}, 2.5), ("constant", {}, 1.0), ("zero", {}, 0.0), ("one", {}, 1.0)],
)
def test_constant_weights_have_no_parameters(
    name: str, params: dict[str, Any], value: float
) -> None:
    reconciliation, weight = _weight(name, **params)
    assert reconciliation.l == 0
    torch.testing.assert_close(weight, torch.full((N, D), value, dtype=F64))


@pytest.mark.parametrize(("n", "d"), [(4, 6), (6, 4)])
def test_constant_eye_is_the_rectangular_identity(n: int, d: int) -> None:
    reconciliation, weight = _weight("constant_eye", n=n, d=d)
    assert reconciliation.l == 0
    expected = [[1.0 if i == j else 0.0 for j in range(d)] for i in range(n)]
    torch.testing.assert_close(weight, _tensor(expected))


def test_duplicated_padding_check_values() -> None:
    reconciliation, weight = _weight("duplicated_padding", p=2, q=3)
    assert (reconciliation.s, reconciliation.t, reconciliation.l) == (2, 2, 4)
    rows = [[1, 2, 3, 4, 1, 2], [3, 4, 1, 2, 3, 4]]
    torch.testing.assert_close(weight, _tensor(rows + rows))


def test_duplicated_padding_defaults_to_p_2_and_q_equal_to_p() -> None:
    reconciliation, weight = _weight("duplicated_padding")
    assert (reconciliation.p, reconciliation.q, reconciliation.l) == (2, 2, 6)
    torch.testing.assert_close(weight, _tensor([[1, 2, 3, 4, 5, 6]] * 4))


def test_duplicated_diagonal_padding_check_values() -> None:
    reconciliation, weight = _weight("duplicated_diagonal_padding", p=2)
    assert reconciliation.l == 6
    expected = [
        [1, 2, 3, 0, 0, 0],
        [4, 5, 6, 0, 0, 0],
        [0, 0, 0, 1, 2, 3],
        [0, 0, 0, 4, 5, 6],
    ]
    torch.testing.assert_close(weight, _tensor(expected))


def test_duplicated_diagonal_padding_with_fewer_column_blocks() -> None:
    reconciliation, weight = _weight("duplicated_diagonal_padding", p=2, q=1)
    assert reconciliation.l == 12
    expected = [list(range(1, 7)), list(range(7, 13)), [0] * 6, [0] * 6]
    torch.testing.assert_close(weight, _tensor(expected))


def test_masking_keeps_the_entries_of_a_seeded_mask() -> None:
    torch.manual_seed(3)
    expected_mask = torch.rand(N, D) < 0.3
    torch.manual_seed(3)
    reconciliation, weight = _weight("masking", p=0.3)
    assert reconciliation.l == N * D
    values = torch.arange(1, N * D + 1, dtype=F64).view(N, D)
    torch.testing.assert_close(weight, torch.where(expected_mask, values, 0.0))
    assert torch.equal(reconciliation(torch.ones(N * D)), expected_mask.float())


@pytest.mark.parametrize(("p", "kept"), [(1.0, True), (0.0, False)])
def test_masking_extremes_keep_everything_or_nothing(p: float, kept: bool) -> None:
    _, weight = _weight("masking", p=p)
    values = torch.arange(1, N * D + 1, dtype=F64).view(N, D)
    torch.testing.assert_close(weight, values if kept else torch.zeros_like(values))


def test_unfixed_mask_is_drawn_at_every_call_for_every_channel() -> None:
    torch.manual_seed(0)
    reconciliation = MaskingReconciliation(N, D, fixed_mask=False)
    assert "mask" not in reconciliation.state_dict()
    ones = torch.ones(2, N * D)
    first, second = reconciliation(ones), reconciliation(ones)
    assert not torch.equal(first, second)
    assert not torch.equal(first[0], first[1])
    torch.manual_seed(5)
    again = reconciliation(ones)
    torch.manual_seed(5)
    torch.testing.assert_close(reconciliation(ones), again)


def test_random_matrix_adaption_check_values() -> None:
    reconciliation = RandomMatrixAdaptionReconciliation(n=2, D=3, r=2).double()
    assert reconciliation.l == 4
    reconciliation.A.copy_(_tensor([[1, 2], [3, 4]]))
    reconciliation.B.copy_(_tensor([[1, 0], [0, 1], [1, 1]]))
    # diag(1, 2) A diag(3, 4) = [[3, 8], [18, 32]], times Bᵀ = [[1, 0, 1], [0, 1, 1]]
    weight = reconciliation(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=F64))
    torch.testing.assert_close(weight, _tensor([[3, 8, 11], [18, 32, 50]]))


def test_random_matrix_hypernet_check_values() -> None:
    reconciliation = RandomMatrixHypernetReconciliation(n=1, D=2, r=1, l=2, h=1).double()
    assert reconciliation.l == 2
    reconciliation.P.copy_(_tensor([[1], [1]]))
    reconciliation.Q.copy_(_tensor([[1]]))
    reconciliation.S.copy_(_tensor([[2]]))
    reconciliation.T.copy_(_tensor([[1], [-1]]))
    # σ(ln 3 + 0) = 0.75, times S = 1.5, times Tᵀ = [1.5, -1.5]
    weight = reconciliation(torch.tensor([math.log(3.0), 0.0], dtype=F64))
    torch.testing.assert_close(weight, _tensor([[1.5, -1.5]]))


@pytest.mark.parametrize(
    ("name", "params", "n", "d", "expected"),
    [
        ("constant", {"c": -2.0}, 5, 7, 0),
        ("constant_eye", {}, 5, 7, 0),
        ("masking", {"p": 0.25}, 5, 7, 35),
        ("duplicated_padding", {"p": 5, "q": 7}, 10, 14, 4),
        ("duplicated_diagonal_padding", {"p": 3, "q": 2}, 6, 8, 8),
        ("random_matrix_adaption", {"r": 3}, 5, 7, 8),
        ("random_matrix_hypernet", {"r": 3, "l": 11, "h": 4}, 5, 7, 11),
    ],
)
def test_parameter_count(name: str, params: dict[str, Any], n: int, d: int, expected: int) -> None:
    reconciliation = build("reconciliation", name, n=n, D=d, **params)
    assert reconciliation.l == expected
    assert reconciliation(torch.randn(reconciliation.l)).shape == (n, d)


# --- factorisations and the head's fast path -----------------------------------------------

#: (name, params, (n, D), rank of the factors the head gets, or None for the formed weight)
FAMILIES: list[tuple[str, dict[str, Any], tuple[int, int], int | None]] = [
    ("constant", {"c": 1.5}, (4, 20), 1),
    ("zero", {}, (4, 20), 1),
    ("one", {}, (4, 20), 1),
    ("constant_eye", {}, (4, 20), None),
    ("masking", {"p": 0.5}, (4, 20), None),
    ("duplicated_padding", {"p": 2, "q": 4}, (4, 20), 2),
    ("duplicated_padding", {"p": 2, "q": 1}, (2, 2), None),
    ("duplicated_diagonal_padding", {"p": 2, "q": 2}, (4, 20), None),
    ("random_matrix_adaption", {"r": 2}, (4, 20), 2),
    ("random_matrix_hypernet", {"r": 2, "l": 6, "h": 5}, (4, 20), None),
]
FAMILY_IDS = [f"{name}-{n}x{d}" for name, _, (n, d), _ in FAMILIES]


@pytest.mark.parametrize(("name", "params", "shape", "rank"), FAMILIES, ids=FAMILY_IDS)
def test_factors_multiply_to_the_weight_for_every_channel(
    name: str, params: dict[str, Any], shape: tuple[int, int], rank: int | None
) -> None:
    torch.manual_seed(0)
    n, d = shape
    reconciliation = build("reconciliation", name, n=n, D=d, **params).double()
    w = torch.randn(3, reconciliation.l, dtype=F64)
    weight = reconciliation(w)
    assert weight.shape == (3, n, d)
    left, right = reconciliation.factorize(w)
    if rank is None:
        assert left is None
        torch.testing.assert_close(right, weight)
    else:
        assert left is not None
        assert left.shape == (3, n, rank) and right.shape == (3, rank, d)
        torch.testing.assert_close(left @ right, weight)
    for c in range(3):
        torch.testing.assert_close(reconciliation(w[c]), weight[c])


def _materialised_output(head: RPNHead, x: torch.Tensor) -> torch.Tensor:
    """The head's function with κ(x) and every ψ(w_c) formed, channel mean."""
    weights = head.reconciliation(head.w)
    out = torch.stack([head.expansion(x) @ weights[c].T for c in range(head.channels)]).mean(0)
    if head.bias is not None:
        out = out + head.bias
    return head.output_process(out + head.remainder(x))


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("expansion", ["identity", "taylor", "fourier"])  # D = 4, 20, 40
@pytest.mark.parametrize(("name", "params", "shape", "rank"), FAMILIES, ids=FAMILY_IDS)
def test_head_fast_path_matches_materialised_weight(
    name: str,
    params: dict[str, Any],
    shape: tuple[int, int],
    rank: int | None,
    expansion: str,
    channels: int,
) -> None:
    torch.manual_seed(0)
    n = shape[0]
    reconciliation = {"name": name, "parameters": {**params, "enable_bias": True}}
    head = RPNHead(4, n, expansion, reconciliation, "linear", channels=channels).double()
    with torch.no_grad():
        head.w.normal_()
    x = torch.randn(7, 4, dtype=F64)
    fast = head(x)
    reference = _materialised_output(head, x)
    torch.testing.assert_close(fast, reference, atol=1e-10, rtol=1e-10)
    if head.reconciliation.l:
        (fast_grad,) = torch.autograd.grad(fast.square().sum(), head.w)
        (reference_grad,) = torch.autograd.grad(reference.square().sum(), head.w)
        torch.testing.assert_close(fast_grad, reference_grad, atol=1e-10, rtol=1e-10)


def test_head_with_a_constant_reconciliation_sums_the_expansion() -> None:
    head = RPNHead(3, 2, "taylor", {"name": "constant", "parameters": {"c": 0.5}}).double()
    assert head.w.shape == (1, 0) and head.bias is None
    x = torch.tensor([[1.0, 2.0, -1.0]], dtype=F64)
    # κ(x) = [1, 2, -1] and x⊗x, whose sum is (1 + 2 - 1)² = 4: 0.5 (2 + 4) = 3
    torch.testing.assert_close(head(x), _tensor([[3.0, 3.0]]))


def test_duplicated_padding_factors_only_when_cheaper() -> None:
    cheap = DuplicatedPaddingReconciliation(8, 64, p=4, q=2)
    left, right = cheap.factorize(torch.randn(cheap.l))
    assert left is not None and right.shape == (2, 64)
    dear = DuplicatedPaddingReconciliation(8, 2, p=2, q=1)
    left, right = dear.factorize(torch.randn(dear.l))
    assert left is None and right.shape == (8, 2)


# --- fixed random tensors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "buffers"),
    [
        ("masking", {}, {"mask"}),
        ("random_matrix_adaption", {"r": 3}, {"A", "B"}),
        ("random_matrix_hypernet", {"r": 2, "l": 5, "h": 3}, {"P", "Q", "S", "T"}),
    ],
)
def test_fixed_random_tensors_are_seeded_saved_and_frozen(
    name: str, params: dict[str, Any], buffers: set[str]
) -> None:
    torch.manual_seed(0)
    source = build("reconciliation", name, n=N, D=D, **params)
    torch.manual_seed(0)
    same = build("reconciliation", name, n=N, D=D, **params)
    torch.manual_seed(1)
    other = build("reconciliation", name, n=N, D=D, **params)
    assert set(source.state_dict()) == buffers
    assert list(source.parameters()) == []
    w = torch.randn(source.l)
    torch.testing.assert_close(same(w), source(w))
    assert not torch.equal(other(w), source(w))
    other.load_state_dict(source.state_dict())
    torch.testing.assert_close(other(w), source(w))


# --- tinybig reference ----------------------------------------------------------------------

#: (rpnkit name, tinybig class, parameters, n, D): tinybig's parameter names throughout.
TINYBIG_CASES: list[tuple[str, str, dict[str, Any], int, int]] = [
    ("constant", "constant_reconciliation", {"c": 2.5}, 4, 6),
    ("zero_reconciliation", "zero_reconciliation", {}, 4, 6),
    ("one_reconciliation", "one_reconciliation", {}, 4, 6),
    ("constant_eye", "constant_eye_reconciliation", {}, 4, 6),
    ("constant_eye", "constant_eye_reconciliation", {}, 6, 4),
    ("masking", "masking_reconciliation", {}, 4, 6),
    ("masking_reconciliation", "masking_reconciliation", {"p": 0.2}, 5, 7),
    ("duplicated_padding", "duplicated_padding_reconciliation", {}, 4, 6),
    ("duplicated_padding", "duplicated_padding_reconciliation", {"p": 2, "q": 3}, 4, 6),
    ("duplicated_padding", "duplicated_padding_reconciliation", {"p": 3, "q": 5}, 6, 20),
    ("duplicated_diagonal_padding", "duplicated_diagonal_padding_reconciliation", {}, 2, 6),
    (
        "duplicated_diagonal_padding_reconciliation",
        "duplicated_diagonal_padding_reconciliation",
        {"p": 4, "q": 4},
        4,
        12,
    ),
    ("random_matrix_adaption", "random_matrix_adaption_reconciliation", {}, 4, 6),
    ("random_matrix_adaption", "random_matrix_adaption_reconciliation", {"r": 3}, 5, 9),
    ("random_matrix_hypernet", "random_matrix_hypernet_reconciliation", {}, 4, 6),
    (
        "random_matrix_hypernet",
        "random_matrix_hypernet_reconciliation",
        {"r": 3, "l": 7, "hidden_dim": 5},
        3,
        5,
    ),
    ("lowrank_reconciliation", "lorr_reconciliation", {"r": 3}, 4, 6),
]


@pytest.mark.parametrize(
    ("name", "tinybig_class", "params", "n", "d"),
    TINYBIG_CASES,
    ids=[f"{case[1]}-{case[3]}x{case[4]}-{i}" for i, case in enumerate(TINYBIG_CASES)],
)
def test_weights_match_tinybig(
    tinybig: Any, name: str, tinybig_class: str, params: dict[str, Any], n: int, d: int
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = getattr(tinybig.reconciliation, tinybig_class)(**params)
    ours_params = {("h" if k == "hidden_dim" else k): v for k, v in params.items()}
    torch.manual_seed(11)
    ours = build("reconciliation", name, n=n, D=d, **ours_params)
    assert ours.l == theirs.calculate_l(n=n, D=d)
    w = torch.randn(1, ours.l)
    torch.manual_seed(11)  # tinybig draws its random tensors at the first call
    expected = theirs.forward(n=n, D=d, w=w if ours.l else None)
    if expected.is_sparse:
        expected = expected.to_dense()
    torch.testing.assert_close(ours(w[0]), expected)
    torch.testing.assert_close(ours(w), expected.unsqueeze(0))


@pytest.mark.parametrize(
    ("name", "tinybig_class", "params", "activation"),
    [
        ("constant", "constant_remainder", {"c": -1.5}, None),
        ("constant_remainder", "constant_remainder", {}, "sigmoid"),
        ("one_remainder", "one_remainder", {}, "silu"),
        ("identity_remainder", "identity_remainder", {}, "tanh"),
    ],
)
def test_remainders_match_tinybig(
    tinybig: Any, name: str, tinybig_class: str, params: dict[str, Any], activation: str | None
) -> None:
    extra = {} if activation is None else {"activation_functions": [activation]}
    theirs = getattr(tinybig.remainder.basic_remainder, tinybig_class)(**params, **extra)
    ours_extra = {} if activation is None else {"activation": [activation]}
    ours = build("remainder", name, m=3, n=3, **params, **ours_extra)
    x = torch.randn(5, 3)
    expected = theirs(x=x, w=None, b=None, m=3, n=3)
    torch.testing.assert_close(ours(x), expected.expand(5, 3))


# --- remainders -----------------------------------------------------------------------------


def test_constant_remainder_broadcasts_over_the_batch_for_any_sizes() -> None:
    remainder = ConstantRemainder(m=3, n=2, c=2.0, activation="sigmoid")
    out = remainder(torch.randn(4, 5, 3))
    sigmoid_two = 1 / (1 + math.exp(-2.0))
    torch.testing.assert_close(out, torch.full((4, 5, 2), sigmoid_two))
    assert list(remainder.parameters()) == []


def test_head_adds_the_constant_remainder() -> None:
    torch.manual_seed(0)
    plain = RPNHead(3, 2, "taylor", "low_rank")
    torch.manual_seed(0)
    shifted = RPNHead(3, 2, "taylor", "low_rank", {"name": "one", "parameters": {}})
    x = torch.randn(6, 3)
    torch.testing.assert_close(shifted(x), plain(x) + 1.0)


# --- errors and registry --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "name", "params", "message"),
    [
        (
            "reconciliation",
            "duplicated_padding",
            {"p": 3},
            r"^duplicated_padding reconciliation p=3 does not divide n=4; valid values: 1, 2, 4$",
        ),
        (
            "reconciliation",
            "duplicated_diagonal_padding",
            {"q": 4},
            r"^duplicated_diagonal_padding reconciliation q=4 does not divide D=6; "
            r"valid values: 1, 2, 3, 6$",
        ),
        (
            "reconciliation",
            "duplicated_padding",
            {"p": 0},
            r"p=0 is not valid; expected an integer",
        ),
        ("reconciliation", "masking", {"p": 1.5}, r"masking reconciliation p=1.5 is not valid"),
        (
            "reconciliation",
            "constant",
            {"c": "one"},
            r"constant reconciliation c='one' is not valid",
        ),
        ("reconciliation", "random_matrix_adaption", {"r": 0}, r"adaption reconciliation r=0"),
        ("reconciliation", "random_matrix_hypernet", {"h": 0}, r"hypernet reconciliation h=0"),
        ("remainder", "constant", {"c": float("nan")}, r"constant remainder c=nan is not valid"),
    ],
)
def test_invalid_parameters_raise_config_error(
    group: str, name: str, params: dict[str, Any], message: str
) -> None:
    sizes = {"n": N, "D": D} if group == "reconciliation" else {"m": N, "n": D}
    with pytest.raises(ConfigError, match=message):
        build(group, name, **sizes, **params)


def test_registry_resolves_tinybig_class_names() -> None:
    registry = get_registry()
    reconciliations = {
        "constant", "zero", "one", "constant_eye", "masking", "duplicated_padding",
        "duplicated_diagonal_padding", "random_matrix_adaption", "random_matrix_hypernet",
    }  # fmt: skip
    assert reconciliations <= set(registry.names("reconciliation"))
    for name in reconciliations:
        assert registry.get("reconciliation", f"{name}_reconciliation") is registry.get(
            "reconciliation", name
        )
    assert registry.get("reconciliation", "lowrank_reconciliation") is LowRankReconciliation
    assert registry.get("remainder", "identity_remainder") is IdentityRemainder
    assert registry.get("remainder", "constant_remainder") is ConstantRemainder
