"""The RPN 2 head: data interdependence functions in rpnkit's head, checked against tinybig 0.2.1.

Every RPN-1 head keeps computing exactly what it computed (bit for bit, through the fused
Taylor kernel); a head with an attribute and/or an instance interdependence computes what
tinybig's ``module/base_head.py`` computes from the same weights; output processing that
tinybig keeps outside the model is a real, ``eval()``-correct submodule here.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import pytest
import torch
from torch import nn

import rpnkit
from rpnkit.errors import ConfigError
from rpnkit.rpn.expansion import polynomial
from rpnkit.rpn.head import RPNHead
from rpnkit.rpn.layer import RPNLayer
from rpnkit.rpn.model import build_model

B, M, N = 6, 4, 3


def _x(rows: int = B, m: int = M, seed: int = 0) -> torch.Tensor:
    return torch.rand(rows, m, generator=torch.Generator().manual_seed(seed)) - 0.5


# -- RPN-1 heads are unchanged --------------------------------------------------------------


RPN1_HEADS: list[dict[str, Any]] = [
    {"expansion": "taylor", "reconciliation": "low_rank", "channels": 2},
    {"expansion": "taylor", "reconciliation": "identity", "postprocess": ["layer_norm"]},
    {"expansion": "bspline", "reconciliation": "dual_lphm", "remainder": "linear"},
    {"expansion": "identity", "reconciliation": "lphm", "channels": 3, "channel_fusion": "max"},
]


def _reference_forward(head: RPNHead, x: torch.Tensor) -> torch.Tensor:
    """The RPN-1 computation, written out: what the head computed before RPN 2."""
    flat = head.input_process(x.reshape(-1, head.m))
    if head._mean:
        out = head._combined_channels(flat, None)
    else:
        alpha = head.channel_fusion.combination(head.w_channel_fusion)
        if alpha is None:
            out = head._fused_channels(flat)
        else:
            out = head._combined_channels(flat, alpha.to(head.w.dtype))
    if head._add_remainder:
        out = out + head.remainder(flat)
    return head.output_process(out.reshape(*x.shape[:-1], head.out_features))


@pytest.mark.parametrize(
    "options", RPN1_HEADS, ids=lambda o: f"{o['expansion']}-{o['reconciliation']}"
)
def test_rpn1_heads_are_bitwise_unchanged_in_outputs_and_gradients(options: dict[str, Any]) -> None:
    torch.manual_seed(0)
    head = RPNHead(M, N, **options)
    assert head.attribute_interdependence is None and head.instance_interdependence is None
    assert [name for name, _ in head.named_parameters() if "interdependence" in name] == []
    x = _x().requires_grad_(True)
    got = head(x)
    (grad_x, *grad_w) = torch.autograd.grad(got.square().sum(), [x, *head.parameters()])
    x2 = x.detach().clone().requires_grad_(True)
    expected = _reference_forward(head, x2)
    (ref_x, *ref_w) = torch.autograd.grad(expected.square().sum(), [x2, *head.parameters()])
    assert torch.equal(got, expected)
    assert torch.equal(grad_x, ref_x)
    assert all(torch.equal(a, b) for a, b in zip(grad_w, ref_w, strict=True))


def test_rpn1_taylor_head_still_takes_the_fused_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = polynomial.taylor2_project

    def counting(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(polynomial, "taylor2_project", counting)
    head = RPNHead(M, N, expansion="taylor", reconciliation="identity")
    head(_x())
    assert calls, "the RPN-1 Taylor head no longer takes the fused kernel"


# -- the RPN 2 head against tinybig's -----------------------------------------------------


#: (attribute spec, instance spec): each kind of interdependence, alone and together, with
#: and without learnable values.
CASES: list[tuple[str, Any, Any]] = [
    ("attribute-kernel", {"name": "linear_kernel", "parameters": {}}, None),
    ("attribute-parameterized", {"name": "lowrank_parameterized", "parameters": {"r": 1}}, None),
    ("instance-kernel", None, {"name": "pearson_correlation", "parameters": {}}),
    ("instance-bilinear", None, {"name": "lowrank_parameterized_bilinear", "parameters": {}}),
    ("instance-chain", None, {"name": "chain", "parameters": {"chain_length": B}}),
    (
        "both",
        {"name": "parameterized", "parameters": {}},
        {"name": "cosine_similarity", "parameters": {}},
    ),
]

_TINYBIG_CLASSES = {
    "linear_kernel": "linear_kernel_interdependence",
    "lowrank_parameterized": "lowrank_parameterized_interdependence",
    "pearson_correlation": "pearson_correlation_interdependence",
    "lowrank_parameterized_bilinear": "lowrank_parameterized_bilinear_interdependence",
    "chain": "chain_interdependence",
    "parameterized": "parameterized_interdependence",
    "cosine_similarity": "cosine_similarity_interdependence",
}


def _tinybig_function(tinybig: Any, spec: Any, kind: str) -> Any:
    import tinybig.interdependence as ti

    if spec is None:
        return None
    cls = getattr(ti, _TINYBIG_CLASSES[spec["name"]])
    return cls(b=B, m=M, interdependence_type=kind, device="cpu", **spec["parameters"])


def _tinybig_head(
    tinybig: Any, attribute: Any, instance: Any, channels: int, remainder: bool
) -> nn.Module:
    from tinybig.expansion import taylor_expansion
    from tinybig.module.base_head import head
    from tinybig.reconciliation import lorr_reconciliation
    from tinybig.remainder import linear_remainder, zero_remainder

    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return head(
            m=M,
            n=N,
            batch_num=B,
            channel_num=channels,
            data_transformation=taylor_expansion(d=2),
            parameter_fabrication=lorr_reconciliation(r=2),
            remainder=linear_remainder() if remainder else zero_remainder(),
            attribute_interdependence=_tinybig_function(tinybig, attribute, "attribute"),
            instance_interdependence=_tinybig_function(tinybig, instance, "instance"),
            device="cpu",
        )


_NAMES = {"b": "bias", "w_remainder": "remainder.weight", "b_remainder": "remainder.bias"}


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize(("case", "attribute", "instance"), CASES, ids=[c[0] for c in CASES])
def test_head_with_interdependence_matches_tinybigs_head(
    tinybig: Any, case: str, attribute: Any, instance: Any, channels: int
) -> None:
    remainder = instance is None or case == "instance-chain"
    theirs = _tinybig_head(tinybig, attribute, instance, channels, remainder)
    torch.manual_seed(0)
    ours = RPNHead(
        M,
        N,
        expansion="taylor",
        reconciliation={"name": "low_rank", "parameters": {"r": 2}},
        remainder="linear" if remainder else "zero",
        channels=channels,
        attribute_interdependence=attribute,
        instance_interdependence=instance,
        batch_num=B,
    )
    mine = dict(ours.named_parameters())
    reference = dict(theirs.named_parameters())
    assert {_NAMES.get(name, name) for name in reference} == set(mine)
    with torch.no_grad():
        for name, value in reference.items():
            value.uniform_(-0.5, 0.5)
            mine[_NAMES.get(name, name)].copy_(value)
    x = _x()
    with contextlib.redirect_stdout(io.StringIO()):
        expected = theirs(x, device="cpu")
    got = ours(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    got.sum().backward()  # every learnable value gets a gradient
    assert all(p.grad is not None for p in ours.parameters())


def test_interdependence_values_are_drawn_per_channel_before_the_weight() -> None:
    torch.manual_seed(1)
    head = RPNHead(
        M, N, channels=3, attribute_interdependence="parameterized",
        instance_interdependence="lowrank_parameterized_bilinear", batch_num=B,
    )  # fmt: skip
    assert head.w_attribute_interdependence is not None
    assert head.w_instance_interdependence is not None
    assert head.w_attribute_interdependence.shape == (3, M * M)
    assert head.instance_interdependence is not None
    l_instance = head.instance_interdependence.calculate_l()
    assert head.w_instance_interdependence.shape == (3, l_instance)
    torch.manual_seed(1)
    expected = [torch.empty(3, M * M), torch.empty(*head.w_instance_interdependence.shape)]
    for tensor in expected:
        nn.init.xavier_uniform_(tensor)
    assert torch.equal(head.w_attribute_interdependence.detach(), expected[0])
    assert torch.equal(head.w_instance_interdependence.detach(), expected[1])


def test_attribute_interdependence_that_changes_m_sets_the_expansion_size() -> None:
    function = rpnkit.build(
        "interdependence", "lowrank_parameterized", b=B, m=M, interdependence_type="attribute",
        r=1,
    )  # fmt: skip
    head = RPNHead(M, N, expansion="taylor", attribute_interdependence=function)
    assert head.m_prime == function.calculate_m_prime(M)
    assert head.expansion.calculate_D(head.m_prime) == head.D


def test_an_instance_function_in_the_attribute_slot_is_refused() -> None:
    function = rpnkit.build("interdependence", "linear_kernel", interdependence_type="instance")
    with pytest.raises(ConfigError, match=r"attribute_interdependence .* instance type"):
        RPNHead(M, N, attribute_interdependence=function)


def test_layers_and_model_configs_take_the_interdependence_keys() -> None:
    model = build_model(
        [
            {"m": M, "n": 5, "expansion": "taylor", "attribute_interdependence": "linear_kernel"},
            {"m": "auto", "n": N, "width": 2, "batch_num": B,
             "instance_interdependence": {"name": "chain", "parameters": {"chain_length": B}}},
        ]
    )  # fmt: skip
    first, second = model.layers
    assert isinstance(first, RPNLayer) and isinstance(second, RPNLayer)
    heads = list(second.heads)
    assert heads[0].instance_interdependence is not heads[1].instance_interdependence
    assert model(_x()).shape == (B, N)


# -- output processing: BatchNorm and Dropout are real submodules ---------------------------


def test_batch_norm_output_process_is_an_eval_correct_registered_submodule() -> None:
    torch.manual_seed(0)
    head = RPNHead(M, N, expansion="taylor", output_process=["batch_norm", "relu", "dropout"])
    norm = head.output_process[0]
    assert isinstance(norm, nn.BatchNorm1d) and norm.num_features == N
    assert {"output_process.0.weight", "output_process.0.bias"} <= set(
        dict(head.named_parameters())
    )
    assert "output_process.0.running_mean" in head.state_dict()
    head.train()
    head(_x(32))
    assert norm.running_mean is not None
    assert not torch.equal(norm.running_mean, torch.zeros(N))
    head.eval()
    first, second = head(_x(seed=1)), head(_x(seed=1))
    assert torch.equal(first, second)  # dropout off, running statistics
    # in evaluation a row's output does not depend on the rest of its batch
    torch.testing.assert_close(head(_x(seed=1)[:2]), first[:2])


def test_batch_norm_needs_a_size() -> None:
    from rpnkit.rpn.processing import ProcessingChain

    with pytest.raises(ConfigError, match="batch_norm"):
        ProcessingChain(["batch_norm"], field="postprocess")
