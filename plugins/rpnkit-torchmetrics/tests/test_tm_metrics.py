"""The adapters behave like rpnkit's builtin metrics and agree with them where both exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch import Tensor

from rpnkit import build
from rpnkit.errors import ConfigError
from rpnkit.metrics import Metric

pytestmark = pytest.mark.filterwarnings("ignore:Metric `SpearmanCorrcoef` will save")

CLASSES = 4


def _class_batches(count: int = 5, size: int = 16) -> Iterator[tuple[Tensor, Tensor]]:
    """Logits of shape (size, CLASSES) and labels of shape (size,)."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(count):
        logits = torch.randn(size, CLASSES, generator=generator)
        yield logits, torch.randint(0, CLASSES, (size,), generator=generator)


def _regression_batches(
    outputs: int, count: int = 5, size: int = 16
) -> Iterator[tuple[Tensor, Tensor]]:
    """Predictions of shape (size, outputs) and correlated targets (shape (size,) for one)."""
    generator = torch.Generator().manual_seed(0)
    for _ in range(count):
        target = torch.randn(size, outputs, generator=generator)
        prediction = target + 0.5 * torch.randn(size, outputs, generator=generator)
        yield prediction, target.squeeze(1) if outputs == 1 else target


def _fed(metric: Metric, batches: Iterator[tuple[Tensor, Tensor]]) -> Metric:
    for y_score, y_true in batches:
        metric.update(y_score, y_true)
    return metric


def _assert_same(ours: Metric, builtin: Metric) -> None:
    torch.testing.assert_close(ours.compute(), builtin.compute(), atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    ("name", "builtin", "parameters"),
    [
        ("tm.accuracy", "accuracy", {}),
        ("tm.precision", "precision", {"average": "macro"}),
        ("tm.recall", "recall", {"average": "macro"}),
        ("tm.f1_score", "f1", {"average": "macro"}),
        ("tm.f1_score", "f1", {"average": "weighted"}),
    ],
)
def test_classification_on_logits_matches_builtin(
    name: str, builtin: str, parameters: dict[str, Any]
) -> None:
    ours = _fed(build("metric", name, **parameters), _class_batches())
    _assert_same(ours, _fed(build("metric", builtin, **parameters), _class_batches()))


@pytest.mark.parametrize("name", ["tm.precision", "tm.recall", "tm.f1_score"])
def test_binary_probabilities_infer_the_binary_task(name: str) -> None:
    generator = torch.Generator().manual_seed(1)
    probabilities = torch.rand(40, 1, generator=generator)
    labels = torch.randint(0, 2, (40,), generator=generator)
    ours = build("metric", name)
    builtin = build("metric", name.removeprefix("tm.").replace("f1_score", "f1"), average="binary")
    for rows in (slice(0, 25), slice(25, 40)):
        ours.update(probabilities[rows], labels[rows])
        builtin.update(probabilities[rows], labels[rows])
    assert ours.task == "binary"
    _assert_same(ours, builtin)


def test_label_predictions_with_num_classes_match_builtin() -> None:
    ours = build("metric", "tm.accuracy", num_classes=CLASSES)
    builtin = build("metric", "accuracy")
    for logits, labels in _class_batches():
        ours.update(logits.argmax(dim=1), labels)
        builtin.update(logits.argmax(dim=1), labels)
    _assert_same(ours, builtin)


def test_one_hot_targets_count_like_labels() -> None:
    one_hot = build("metric", "tm.f1_score", average="macro")
    for logits, labels in _class_batches():
        one_hot.update(logits, torch.nn.functional.one_hot(labels, CLASSES).float())
    _assert_same(one_hot, _fed(build("metric", "tm.f1_score", average="macro"), _class_batches()))


def test_auroc_streams_to_scikit_learns_value() -> None:
    batches = list(_class_batches())
    metric = build("metric", "tm.auroc")
    for logits, labels in batches:
        metric.update(logits.softmax(dim=1), labels)
    all_scores = torch.cat([logits.softmax(dim=1) for logits, _ in batches]).numpy()
    all_labels = torch.cat([labels for _, labels in batches]).numpy()
    expected = roc_auc_score(all_labels, all_scores, multi_class="ovr", average="macro")
    assert float(metric.compute()) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("outputs", [1, 3])
@pytest.mark.parametrize(
    ("name", "builtin"),
    [("tm.mean_squared_error", "mse"), ("tm.mean_absolute_error", "mae"), ("tm.r2_score", "r2")],
)
def test_regression_matches_builtin(name: str, builtin: str, outputs: int) -> None:
    ours = _fed(build("metric", name), _regression_batches(outputs))
    _assert_same(ours, _fed(build("metric", builtin), _regression_batches(outputs)))


def test_num_outputs_is_inferred_and_outputs_averaged() -> None:
    batches = list(_regression_batches(3))
    ours = _fed(build("metric", "tm.pearson_corr_coef"), iter(batches))
    per_output = []
    for output in range(3):
        single = build("metric", "tm.pearson_corr_coef")
        for y_score, y_true in batches:
            single.update(y_score[:, output], y_true[:, output])
        per_output.append(single.compute())
    torch.testing.assert_close(ours.compute(), torch.stack(per_output).mean(), atol=1e-6, rtol=0)


def test_per_output_results_are_averaged_like_builtins() -> None:
    ours = _fed(build("metric", "tm.r2_score", multioutput="raw_values"), _regression_batches(3))
    _assert_same(ours, _fed(build("metric", "r2"), _regression_batches(3)))


def test_results_are_0_dim_float64_and_nan_before_updates() -> None:
    metric = build("metric", "tm.mae")
    assert torch.isnan(metric.compute())
    _fed(metric, _regression_batches(1))
    value = metric.compute()
    assert (value.shape, value.dtype, value.device) == ((), torch.float64, torch.device("cpu"))
    metric.reset()
    assert torch.isnan(metric.compute())
    _fed(metric, _regression_batches(1))
    assert metric.compute() == value


def test_evaluate_leaves_the_states_alone() -> None:
    metric = _fed(build("metric", "tm.accuracy"), _class_batches())
    before = metric.compute()
    y_pred = [[0.9, 0.1, 0.0, 0.0], [0.2, 0.8, 0.0, 0.0], [0.1, 0.2, 0.3, 0.4]]
    assert metric.evaluate(y_true=[0, 1, 2], y_pred=y_pred) == pytest.approx(2 / 3)
    assert metric.compute() == before


@pytest.mark.parametrize(
    ("name", "parameters"),
    [("tm.auroc", {}), ("tm.accuracy", {}), ("tm.spearman_corr_coef", {})],
)
def test_state_dict_round_trip_continues_accumulating(
    name: str, parameters: dict[str, Any]
) -> None:
    regression = name == "tm.spearman_corr_coef"
    batches = list(_regression_batches(1) if regression else _class_batches())
    source = _fed(build("metric", name, **parameters), iter(batches[:3]))
    copy = build("metric", name, **parameters)
    copy.update(*batches[0])  # builds the wrapped metric, inferring its settings
    copy.load_state_dict(source.state_dict())
    _fed(copy, iter(batches[3:]))
    _assert_same(copy, _fed(build("metric", name, **parameters), iter(batches)))


def test_load_state_dict_rejects_other_states() -> None:
    metric = build("metric", "tm.mse")
    with pytest.raises(ConfigError, match=r"states \[\] \(its first update has not built it yet\)"):
        metric.load_state_dict({"tp": torch.zeros(1)})
    metric.update(torch.randn(4), torch.randn(4))
    with pytest.raises(
        ConfigError,
        match=r"state keys \['tp'\] do not match tm.mean_squared_error's states \['sum_squared",
    ):
        metric.load_state_dict({"tp": torch.zeros(1)})


@pytest.mark.parametrize(
    ("build_args", "batch", "message"),
    [
        (
            {"task": "multiclass"},
            (torch.tensor([0, 2]), torch.tensor([0, 1])),
            r"tm.accuracy cannot infer num_classes from y_score of shape \(2,\) and dtype "
            r"torch.int64; pass num_classes",
        ),
        (
            {"num_classes": 3, "average": "none"},
            (torch.randn(4, 3), torch.tensor([0, 1, 2, 0])),
            r"tm.accuracy computed a tensor of shape \(3,\) .* average='macro'",
        ),
        (
            {"task": "binary"},
            (torch.rand(4, 3), torch.tensor([0, 1, 1, 0])),
            r"tm.accuracy\(task='binary'\) takes y_score of shape \(b,\) or \(b, 1\); got \(4, 3\)",
        ),
    ],
)
def test_input_and_result_mistakes_raise_one_line(
    build_args: dict[str, Any], batch: tuple[Tensor, Tensor], message: str
) -> None:
    metric = build("metric", "tm.accuracy", **build_args)
    with pytest.raises(ConfigError, match=message) as raised:
        metric.update(*batch)
        metric.compute()
    assert "\n" not in str(raised.value)


def test_regression_shapes_must_agree() -> None:
    metric = build("metric", "tm.r2_score")
    with pytest.raises(ConfigError, match=r"y_score of shape \(4, 2\) and y_true of shape \(4,\)"):
        metric.update(torch.randn(4, 2), torch.randn(4))


def test_results_that_are_not_one_number_are_refused() -> None:
    metric = build("metric", "tm.kendall_rank_corr_coef", t_test=True)
    metric.update(torch.randn(8), torch.randn(8))
    with pytest.raises(ConfigError, match="computed a tuple, not a tensor"):
        metric.compute()


@pytest.mark.parametrize(
    ("name", "parameters", "message"),
    [
        (
            "tm.accuracy",
            {"num_classes": 3, "averge": "macro"},
            r"`averge` \(did you mean 'average'",
        ),
        ("tm.minkowski_distance", {}, r"missing required parameter\(s\) 'p'"),
        ("tm.cohen_kappa", {"task": "multilabel", "num_labels": 3}, "tm.cohen_kappa: "),
        ("tm.accuracy", {"sync_on_compute": True}, "does not take 'sync_on_compute'"),
    ],
)
def test_parameter_mistakes_raise_when_built(
    name: str, parameters: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build("metric", name, **parameters)
