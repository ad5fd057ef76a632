"""Model presets: tinybig's parameter counts and functions, registry names, training on iris.

Some presets use expansions that are registered by other parts of rpnkit
(``inverse_quadratic_rbf``, the ``naive_*`` family besides ``naive_normal``,
``combinatorial_normal``); their tests skip when the registry does not have them.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import torch

from rpnkit import build, data, get_registry
from rpnkit.errors import ComponentNotFoundError, ConfigError
from rpnkit.learner import BackwardLearner
from rpnkit.rpn import RPN, LinearRemainder, RPNHead, presets

DIMS = [4, 5, 3]

# (preset, options, expansions it needs that may be missing)
CASES: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("perceptron", {}, ()),
    ("perceptron", {"with_taylor": True, "with_lorr": True, "with_residual": True}, ()),
    ("perceptron", {"with_bspline": True, "with_dual_lphm": True, "with_batch_norm": True}, ()),
    ("mlp", {}, ()),
    ("mlp", {"with_taylor": True, "d": 3, "with_lorr": True, "r": 2, "enable_bias": True,
             "channel_num": 2}, ()),
    ("kan", {}, ()),
    ("kan", {"with_lorr": True, "enable_bias": True, "t": 4, "d": 2}, ()),
    ("svm", {}, ()),
    ("svm", {"kernel": "gaussian_rbf", "num_interval": 4, "with_residual": True}, ()),
    ("svm", {"kernel": "inverse_quadratic_rbf", "epsilon": 2.0}, ("inverse_quadratic_rbf",)),
    ("naive_bayes", {}, ()),
    ("naive_bayes", {"with_lorr": True, "with_residual": True}, ()),
    *[("naive_bayes", {"distribution": name}, (f"naive_{name}",))
      for name in ("exponential", "cauchy", "gamma", "chi2", "laplace")],
    ("pgm", {}, ("combinatorial_normal",)),
    ("pgm", {"d": 1, "with_lorr": True}, ("combinatorial_normal",)),
]  # fmt: skip
IDS = [
    f"{name}-{'-'.join(options) or 'defaults'}-{i}" for i, (name, options, _) in enumerate(CASES)
]


def _require(expansions: tuple[str, ...]) -> None:
    """Skip when an expansion the preset needs is not registered in this build."""
    for name in expansions:
        try:
            get_registry().get_info("expansion", name)
        except ComponentNotFoundError:
            pytest.skip(f"expansion {name!r} is not registered in this build")


def _tinybig_model(name: str, options: dict[str, Any]) -> Any:
    """tinybig's model for a preset (``perceptron``: a stack of its perceptron layers)."""
    import tinybig.model
    from tinybig.layer import perceptron_layer

    if name == "perceptron":
        layers = [perceptron_layer(m=m, n=n, **options) for m, n in itertools.pairwise(DIMS)]
        return tinybig.model.rpn(layers=layers)
    return getattr(tinybig.model, name)(dims=DIMS, **options)


def _count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.filterwarnings("ignore:Regular SVMs")
@pytest.mark.parametrize(("name", "options", "needs"), CASES, ids=IDS)
def test_preset_parameter_count_matches_tinybig(
    tinybig: Any, name: str, options: dict[str, Any], needs: tuple[str, ...]
) -> None:
    _require(needs)
    reference = _tinybig_model(name, options)
    model = getattr(presets, name)(DIMS, **options)
    assert isinstance(model, RPN) and len(model.layers) == len(reference.layers)
    # tinybig keeps output-processing modules in a plain list: its BatchNorm1d weights are not
    # parameters of the model, rpnkit's are
    batch_norm = sum(
        p.numel()
        for module in model.modules()
        if isinstance(module, torch.nn.BatchNorm1d)
        for p in module.parameters()
    )
    assert _count(model) - batch_norm == _count(reference)


def _copy_head(reference: Any, head: RPNHead) -> None:
    """Copy a tinybig head's parameters into an rpnkit head."""
    with torch.no_grad():
        head.w.copy_(reference.w)
        if head.bias is not None:
            head.bias.copy_(reference.b)
        if isinstance(head.remainder, LinearRemainder):
            head.remainder.weight.copy_(reference.w_remainder)
            if head.remainder.bias is not None:
                head.remainder.bias.copy_(reference.b_remainder)


@pytest.mark.filterwarnings("ignore:Regular SVMs")
@pytest.mark.parametrize(("name", "options", "needs"), CASES, ids=IDS)
def test_preset_computes_tinybig_function(
    tinybig: Any, name: str, options: dict[str, Any], needs: tuple[str, ...]
) -> None:
    _require(needs)
    torch.manual_seed(0)
    reference = _tinybig_model(name, options)
    model = getattr(presets, name)(DIMS, **options)
    for ours, theirs in zip(model.layers, reference.layers, strict=True):
        tinybig_head = theirs.heads[0]
        _copy_head(tinybig_head, ours.heads[0])
        # tinybig's output modules are not registered, so eval() does not reach them
        for function in tinybig_head.output_process_functions or []:
            if isinstance(function, torch.nn.Module):
                function.eval()
    model.eval()
    x = torch.rand(8, DIMS[0]) * 1.8 - 0.9
    expected = reference(x)
    torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)


PRESETS_ON_IRIS: list[tuple[str, dict[str, Any], tuple[str, ...]]] = [
    ("perceptron", {}, ()),
    ("mlp", {}, ()),
    ("kan", {}, ()),
    ("svm", {}, ()),
    ("svm", {"kernel": "gaussian_rbf"}, ()),
    ("svm", {"kernel": "inverse_quadratic_rbf"}, ("inverse_quadratic_rbf",)),
    ("naive_bayes", {}, ()),
    *[("naive_bayes", {"distribution": name}, (f"naive_{name}",))
      for name in ("exponential", "cauchy", "gamma", "chi2", "laplace")],
    ("pgm", {}, ("combinatorial_normal",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "options", "needs"),
    PRESETS_ON_IRIS,
    ids=[f"{name}-{'-'.join(map(str, options.values())) or 'defaults'}"
         for name, options, _ in PRESETS_ON_IRIS],
)  # fmt: skip
@pytest.mark.e2e
def test_preset_learns_iris(name: str, options: dict[str, Any], needs: tuple[str, ...]) -> None:
    _require(needs)
    torch.manual_seed(0)
    model = build("model", {"name": name, "parameters": {"dims": [4, 3], **options}})
    learner = BackwardLearner(
        n_epochs=8,
        verbose=False,
        seed=0,
        loss="cross_entropy",
        optimizer={"name": "adam", "parameters": {"lr": 0.05}},
    )
    record = learner.train(model, data.iris(batch_size=16, seed=0), metric="accuracy")
    # three balanced classes: chance is 1/3
    assert record["history"][-1]["test_score"] > 0.55


def test_presets_answer_to_tinybig_model_names() -> None:
    for alias, canonical in [
        ("rpn_mlp", "mlp"),
        ("rpn_kan", "kan"),
        ("rpn_bayesian_network", "pgm"),
    ]:
        assert get_registry().get_info("model", alias).name == canonical
    model = build("model", {"name": "rpn_svm", "parameters": {"dims": [4, 2]}})
    assert isinstance(model, RPN) and (model.in_features, model.out_features) == (4, 2)


def test_preset_defaults_are_tinybigs() -> None:
    model = presets.mlp([4, 6, 3])
    head = model.layers[0].heads[0]
    assert head.parameters_init_method == "xavier_normal"
    assert head.bias is None and presets.perceptron([4, 3]).layers[0].heads[0].bias is not None
    steps = [type(step).__name__ for step in head.output_process]
    assert steps == ["Functional", "Dropout", "Functional"]
    assert [getattr(step, "name", None) for step in head.output_process] == [
        "relu", None, "softmax",
    ]  # fmt: skip
    kan = presets.kan([2, 1]).layers[0].heads[0]
    assert (kan.expansion.t, kan.expansion.d, kan.D) == (5, 3, 16)
    assert isinstance(kan.remainder, LinearRemainder) and kan.remainder.bias is None


def test_head_output_options_of_kan_and_svm() -> None:
    # tinybig's kan and svm models accept these and drop them; their heads have them
    x = torch.randn(6, 4)
    for model in (
        presets.kan([4, 3], with_batch_norm=True, with_softmax=True),
        presets.svm([4, 3], kernel="gaussian_rbf", with_batch_norm=True, with_softmax=True),
    ):
        steps = list(model.layers[0].heads[0].output_process)
        assert isinstance(steps[0], torch.nn.BatchNorm1d)
        torch.testing.assert_close(model(x).sum(-1), torch.ones(6))


def test_preset_width_gives_independent_heads_and_eval_is_deterministic() -> None:
    torch.manual_seed(0)
    model = presets.mlp([4, 3], width=2)
    first, second = model.layers[0].heads
    assert not torch.equal(first.w, second.w)
    model.eval()
    x = torch.randn(5, 4)
    torch.testing.assert_close(model(x), model(x))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: presets.kan([4]), r"dims=\[4\] is not valid; expected at least two layer sizes"),
        (lambda: presets.svm([4, 2], kernel="gausian_rbf"),
         r"svm kernel='gausian_rbf' is unknown \(did you mean 'gaussian_rbf'"),
        (lambda: presets.naive_bayes([4, 2], distribution="poisson"),
         r"naive_bayes distribution='poisson' is unknown; valid: normal, exponential"),
        (lambda: presets.pgm([4, 2], distribution="cauchy"),
         r"pgm distribution='cauchy' is unknown; valid: normal"),
        (lambda: presets.mlp([4, 0]), r"dims\[1\]=0 is not valid"),
    ],
)  # fmt: skip
def test_preset_errors(call: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()
