"""RPN 2 sequence and attention models: rnn / regression_rnn against tinybig 0.2.1, chain mixing
against its dense definition, the transformer against its definition (tinybig's crashes)."""

from __future__ import annotations

import contextlib
import io
import math
from typing import Any

import pytest
import torch

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.attention import BilinearAttentionInterdependence
from rpnkit.rpn.attention.bilinear import masked_column_softmax
from rpnkit.rpn.chain import CHAIN_KINDS, SequenceChainInterdependence, chain_interdependence_layer
from rpnkit.rpn.chain.mixing import PREFIX_SUM_MATMUL_MAX
from rpnkit.rpn.presets.attention import transformer
from rpnkit.rpn.presets.sequence import regression_rnn, rnn


def _quiet(build: Any) -> Any:
    with contextlib.redirect_stdout(io.StringIO()):
        return build()


def _copy_from(reference: torch.nn.Module, ours: torch.nn.Module) -> None:
    """tinybig's ``layers.i.heads.0.{w,b,w_remainder}`` into ours (steps…, then output)."""
    names = {"w": "w", "b": "bias", "w_remainder": "remainder.weight"}
    targets = [f"steps.{i}" for i in range(len(ours.steps))] + ["output"]
    state = ours.state_dict()  # keeps our buffers (a B-spline's knots)
    for key, value in reference.state_dict().items():
        layer, rest = key.split(".heads.0.")
        state[f"{targets[int(layer.split('.')[1])]}.heads.0.{names[rest]}"] = value
    ours.load_state_dict(state)


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [("rnn", {"chain_length": 4, "dims": [3, 5, 2]}),
     ("rnn", {"chain_length": 4, "dims": [3, 5, 6, 2], "with_residual": True,
              "enable_bias": True}),
     ("rnn", {"chain_length": 3, "dims": [2, 4, 3], "with_inverse_approx": True}),
     ("rnn", {"chain_length": 5, "dims": [2, 4, 3], "with_exponential_approx": True,
              "bi_directional": True}),
     ("rnn", {"chain_length": 4, "dims": [2, 4, 3], "with_multihop": True, "h": 2}),
     ("regression_rnn", {"chain_length": 4, "dims": [1, 5, 1], "with_softmax": False}),
     ("regression_rnn", {"chain_length": 6, "dims": [2, 3, 4, 2], "with_lorr": True, "r": 2}),
     # κ of the perceptron layers only (tinybig's chain layers keep the identity)
     ("rnn", {"chain_length": 4, "dims": [3, 5, 2], "with_bspline": True}),
     ("rnn", {"chain_length": 4, "dims": [3, 5, 6, 2], "with_bspline": True, "d": 3,
              "with_residual": True}),
     ("rnn", {"chain_length": 4, "dims": [3, 5, 2], "with_taylor": True}),
     ("rnn", {"chain_length": 4, "dims": [3, 5, 2], "with_taylor": True, "with_bspline": True}),
     ("rnn", {"chain_length": 4, "dims": [3, 5, 2], "with_hybrid_expansion": True}),
     ("regression_rnn", {"chain_length": 3, "dims": [2, 4, 1], "with_bspline": True,
                         "with_hybrid_expansion": True, "with_softmax": False})],
)  # fmt: skip
def test_sequence_models_match_tinybig(tinybig: Any, factory: str, kwargs: dict) -> None:
    reference = _quiet(lambda: getattr(tinybig.model, factory)(**kwargs))
    ours = {"rnn": rnn, "regression_rnn": regression_rnn}[factory](**kwargs)
    count = sum(p.numel() for p in reference.parameters())
    assert sum(p.numel() for p in ours.parameters()) == count
    _copy_from(reference, ours)
    x = torch.randn(3, ours.in_features)
    with contextlib.redirect_stdout(io.StringIO()):
        expected = reference(x)
    torch.testing.assert_close(ours(x), expected, rtol=1e-5, atol=1e-6)
    assert ours(x.reshape(3, kwargs["chain_length"], -1)).shape == expected.shape


@pytest.mark.parametrize("kind", list(CHAIN_KINDS))
@pytest.mark.parametrize("bi_directional", [False, True])
def test_sequence_chain_equals_the_dense_mixing_per_sequence(
    kind: str, bi_directional: bool
) -> None:
    L, b, n = 5, 3, 2
    f = SequenceChainInterdependence(chain_length=L, kind=kind, bi_directional=bi_directional, h=2)
    A = f.calculate_A()
    z = torch.randn(b * L, n)
    expected = torch.einsum("st,bsn->btn", A, z.view(b, L, n)).reshape(b * L, n)
    torch.testing.assert_close(f(kappa_x=z), expected)


@pytest.mark.parametrize("length", [6, PREFIX_SUM_MATMUL_MAX, PREFIX_SUM_MATMUL_MAX + 1])
def test_directed_inverse_approx_is_a_cumulative_sum_on_both_paths(length: int) -> None:
    f = SequenceChainInterdependence(chain_length=length, kind="inverse_approx")
    z = torch.randn(2 * length, 3, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(2 * length, 3, dtype=torch.float64)
    out = f(kappa_x=z)
    expected = torch.einsum("st,bsn->btn", f.calculate_A().double(), z.view(2, length, 3)).reshape(
        2 * length, 3
    )
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out, z.view(2, length, 3).cumsum(1).reshape(2 * length, 3))
    torch.testing.assert_close(
        torch.autograd.grad(out, z, grad)[0], torch.autograd.grad(expected, z, grad)[0]
    )


def test_chain_layer_shapes_softmax_and_errors() -> None:
    layer = chain_interdependence_layer(3, 4, chain_length=5)
    out = layer(torch.randn(2, 15))
    assert out.shape == (2, 20)
    torch.testing.assert_close(out.sum(1), torch.ones(2))  # tinybig's softmax over L·n
    with pytest.raises(ConfigError, match=r"expected \(b, 15\)") as caught:
        layer(torch.randn(2, 14))
    assert "\n" not in str(caught.value)
    with pytest.raises(ConfigError, match="chain_length"):
        SequenceChainInterdependence(chain_length=3)(kappa_x=torch.randn(4, 2))


def test_rnn_refuses_the_flags_tinybig_ignores() -> None:
    with pytest.raises(ConfigError, match="with_lorr_interdependence=True"):
        rnn(4, [2, 3, 2], with_lorr_interdependence=True)
    with pytest.raises(ConfigError, match="dims"):
        rnn(4, [2])


def test_transformer_matches_its_definition() -> None:
    torch.manual_seed(0)
    model = transformer([6, 4], [3], with_dropout=False)
    # parameters: attention layer (fusion n·n, W low rank 2·3·6, w n·m, bias, remainder,
    # batch norm 2n), perceptron n → n (w, bias, remainder, batch norm), output 4 → 3
    expected = (16 + 36 + 24 + 4 + 24 + 8) + (16 + 4 + 16 + 8) + (12 + 3 + 12)
    assert sum(p.numel() for p in model.parameters()) == expected
    model.eval()
    x = torch.randn(5, 6)
    head = model.layers[0].heads[0]
    w_i = head.w_instance_interdependence
    L, R = head.instance_interdependence.scores.fabrication.factorize(w_i[0])
    A = masked_column_softmax(math.sqrt(4) * (x @ L) @ (x @ R.T).T)
    inner = A.T @ (x @ head.w.view(4, 6).T) + head.bias + head.remainder(x)
    norm = next(m for m in head.output_process.modules() if isinstance(m, torch.nn.BatchNorm1d))
    h = torch.softmax(torch.relu(norm(inner)), dim=-1)
    fusion = model.layers[0].w_head_fusion.view(4, 4)
    h = h @ fusion.T
    torch.testing.assert_close(model.layers[0](x), h)
    out = model(x)
    assert out.shape == (5, 3)
    torch.testing.assert_close(out.sum(1), torch.ones(5))
    # attention is across the batch: a row's output depends on the other rows
    assert not torch.allclose(model(x[:3])[0], out[0])


def test_attention_interdependence_masks_zero_scores() -> None:
    f = BilinearAttentionInterdependence(m=3, bilinear="identity", scale=2.0)
    x = torch.randn(4, 3)
    w = torch.randn(9)
    W = w.view(3, 3)
    torch.testing.assert_close(f.calculate_A(x.T, w), masked_column_softmax(2.0 * x @ W @ x.T))
    A = masked_column_softmax(torch.tensor([[0.0, 1.0], [2.0, 0.0]]))
    torch.testing.assert_close(A, torch.tensor([[0.0, 1.0], [1.0, 0.0]]))


def test_sequence_models_through_the_registry() -> None:
    for name in ("rnn", "tinybig.model.rpn_rnn", "tinybig.model.regression_rnn"):
        model = rpnkit.build("model", name, chain_length=3, dims=[2, 4, 2])
        assert model(torch.randn(2, 6)).shape[0] == 2
    model = rpnkit.build("model", "tinybig.model.transformer", dims=[4, 4], fc_dims=[2])
    assert model(torch.randn(3, 4)).shape == (3, 2)


@pytest.mark.parametrize("bi_directional", [False, True])
@pytest.mark.parametrize(("self_dependence", "self_scaling"), [(True, 0.5), (False, 1.0)])
def test_plain_chain_shift_add_equals_the_dense_mixing_with_its_gradient(
    bi_directional: bool, self_dependence: bool, self_scaling: float
) -> None:
    L, b, n = 4, 3, 2
    f = SequenceChainInterdependence(
        chain_length=L, bi_directional=bi_directional, self_dependence=self_dependence,
        self_scaling=self_scaling,
    )  # fmt: skip
    A = f.calculate_A()
    z = torch.randn(b * L, n, requires_grad=True)
    grad = torch.randn(b * L, n)
    out = f(kappa_x=z)
    expected = torch.einsum("st,bsn->btn", A, z.view(b, L, n)).reshape(b * L, n)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(
        torch.autograd.grad(out, z, grad)[0], torch.autograd.grad(expected, z, grad)[0]
    )
