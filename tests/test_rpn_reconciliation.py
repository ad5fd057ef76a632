"""Parameter reconciliations: parameter counts, tinybig's check values and factorisations."""

from __future__ import annotations

import pytest
import torch

from rpnkit import build, get_registry
from rpnkit.errors import ConfigError
from rpnkit.rpn import (
    HMReconciliation,
    HypernetReconciliation,
    LowRankReconciliation,
    Reconciliation,
)

N, D = 4, 6


def _reconcile(name: str, **params: object) -> tuple[Reconciliation, torch.Tensor]:
    """Build ``name`` for (n, D) = (4, 6) and return it with ψ([1, 2, ..., l])."""
    reconciliation = build("reconciliation", name, n=N, D=D, **params)
    w = torch.arange(1, reconciliation.l + 1, dtype=torch.float64)
    return reconciliation, reconciliation(w)


def test_identity_reshapes_row_major() -> None:
    reconciliation, weight = _reconcile("identity")
    assert reconciliation.l == N * D
    torch.testing.assert_close(weight, torch.arange(1, 25, dtype=torch.float64).view(N, D))


def test_low_rank_check_values() -> None:
    reconciliation, weight = _reconcile("lorr", r=1)
    assert reconciliation.l == 10
    row = torch.arange(5, 11, dtype=torch.float64)
    expected = torch.stack([(i + 1) * row for i in range(N)])
    torch.testing.assert_close(weight, expected)


def test_hm_check_values() -> None:
    reconciliation, weight = _reconcile("hm", p=2, q=3)
    assert reconciliation.l == 10
    expected = [
        [7, 8, 9, 10, 14, 16],
        [18, 20, 21, 24, 27, 30],
        [28, 32, 36, 40, 35, 40],
        [45, 50, 42, 48, 54, 60],
    ]
    torch.testing.assert_close(weight, torch.tensor(expected, dtype=torch.float64))


def test_lphm_check_values() -> None:
    reconciliation, weight = _reconcile("lphm", p=2, q=3, r=1)
    assert reconciliation.l == 10
    torch.testing.assert_close(
        weight[0], torch.tensor([63, 70, 72, 80, 126, 140], dtype=torch.float64)
    )


def test_dual_lphm_check_values() -> None:
    reconciliation, weight = _reconcile("dual_lphm", p=2, q=3, r=1)
    assert reconciliation.l == 9
    torch.testing.assert_close(
        weight[0], torch.tensor([144, 162, 168, 189, 192, 216], dtype=torch.float64)
    )


def test_hm_default_blocks_are_largest_divisors_below_square_root() -> None:
    reconciliation = HMReconciliation(n=N, D=D)
    assert (reconciliation.p, reconciliation.q) == (2, 2)
    assert reconciliation.l == 10
    wide = HMReconciliation(n=12, D=30)
    assert (wide.p, wide.q) == (3, 5)
    assert wide.l == 3 * 5 + 4 * 6


@pytest.mark.parametrize(
    ("name", "params", "n", "d", "expected"),
    [
        ("identity", {}, 3, 7, 21),
        ("low_rank", {"r": 3}, 5, 20, 75),
        ("hm", {"p": 2, "q": 4}, 6, 20, 8 + 15),
        ("lphm", {"p": 2, "q": 4, "r": 2}, 6, 20, 8 + 2 * (3 + 5)),
        ("dual_lphm", {"p": 2, "q": 4, "r": 3}, 6, 20, 3 * (2 + 4 + 3 + 5)),
        ("hypernet", {"l": 11, "h": 5}, 3, 7, 11),
    ],
)
def test_parameter_count(
    name: str, params: dict[str, object], n: int, d: int, expected: int
) -> None:
    reconciliation = build("reconciliation", name, n=n, D=d, **params)
    assert reconciliation.l == expected
    assert reconciliation(torch.randn(reconciliation.l)).shape == (n, d)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("identity", {}),
        ("low_rank", {"r": 2}),
        ("hm", {}),
        ("lphm", {"r": 2}),
        ("dual_lphm", {"r": 2}),
        ("hypernet", {"l": 8, "h": 4}),
    ],
)
def test_factors_multiply_to_weight_for_every_channel(name: str, params: dict[str, object]) -> None:
    torch.manual_seed(0)
    reconciliation = build("reconciliation", name, n=N, D=D, **params).double()
    w = torch.randn(3, reconciliation.l, dtype=torch.float64)
    weight = reconciliation(w)
    left, right = reconciliation.factorize(w)
    product = right if left is None else left @ right
    assert weight.shape == (3, N, D)
    torch.testing.assert_close(product, weight)
    for c in range(3):
        torch.testing.assert_close(reconciliation(w[c]), weight[c])


def test_low_rank_factors_are_views_of_the_parameters() -> None:
    reconciliation = LowRankReconciliation(n=N, D=D, r=2)
    w = torch.randn(2, reconciliation.l)
    left, right = reconciliation.factorize(w)
    assert left.shape == (2, N, 2)
    assert right.shape == (2, 2, D)
    assert left.untyped_storage().data_ptr() == w.untyped_storage().data_ptr()
    assert right.untyped_storage().data_ptr() == w.untyped_storage().data_ptr()


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("hm", {"p": 3}, r"hm reconciliation p=3 does not divide n=4; valid values: 1, 2, 4"),
        (
            "lphm",
            {"q": 4},
            r"lphm reconciliation q=4 does not divide D=6; valid values: 1, 2, 3, 6",
        ),
        ("low_rank", {"r": 0}, r"low_rank reconciliation r=0 is not valid"),
        ("hypernet", {"h": 0}, r"hypernet reconciliation h=0 is not valid"),
    ],
)
def test_invalid_hyperparameters_raise_config_error(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build("reconciliation", name, n=N, D=D, **params)


def test_static_hypernet_is_frozen_and_saved() -> None:
    torch.manual_seed(0)
    frozen = HypernetReconciliation(n=N, D=D, l=5, h=3)
    assert list(frozen.parameters()) == []
    assert set(frozen.state_dict()) == {
        "hidden_weight",
        "hidden_bias",
        "output_weight",
        "output_bias",
    }
    torch.manual_seed(1)
    other = HypernetReconciliation(n=N, D=D, l=5, h=3)
    w = torch.randn(5)
    assert not torch.equal(other(w), frozen(w))
    other.load_state_dict(frozen.state_dict())
    torch.testing.assert_close(other(w), frozen(w))


def test_trainable_hypernet_receives_gradients() -> None:
    reconciliation = HypernetReconciliation(n=N, D=D, l=5, h=3, static=False)
    reconciliation(torch.randn(2, 5)).square().sum().backward()
    grads = [p.grad for p in reconciliation.parameters()]
    assert len(grads) == 4
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_registry_lists_names_and_tinybig_aliases() -> None:
    registry = get_registry()
    assert {"identity", "low_rank", "hm", "lphm", "dual_lphm", "hypernet"} <= set(
        registry.names("reconciliation")
    )
    assert registry.get("reconciliation", "lorr_reconciliation") is LowRankReconciliation
