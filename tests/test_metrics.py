"""Streaming metrics against scikit-learn, their state handling and their distributed sync."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn import metrics as skm
from torch import Tensor

from rpnkit.errors import ConfigError
from rpnkit.metrics import F1, MAE, MSE, R2, RMSE, Accuracy, Metric, Precision, Recall

PER_CLASS: dict[type[Metric], Callable[..., float]] = {
    Precision: skm.precision_score,
    Recall: skm.recall_score,
    F1: skm.f1_score,
}
REGRESSION: dict[type[Metric], Callable[..., float]] = {
    MSE: skm.mean_squared_error,
    RMSE: skm.root_mean_squared_error,
    MAE: skm.mean_absolute_error,
    R2: skm.r2_score,
}
ALL_METRICS: list[type[Metric]] = [Accuracy, *PER_CLASS, *REGRESSION]
MULTICLASS_KINDS = ("logits", "labels", "one_hot_targets")
BINARY_KINDS = ("probabilities", "probability_column", "two_logits")
BATCH_SIZES = (17, 40, 1, 23)


def classification_batch(kind: str, batch: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random (y_score, y_true) of one input kind.

    Multiclass kinds leave class 2 out of the targets; ``labels`` also never predicts it, so
    the macro average must skip it as scikit-learn does.
    """
    if kind == "logits":
        return torch.randn(batch, 5, generator=gen), torch.tensor([0, 1, 3, 4])[
            torch.randint(0, 4, (batch,), generator=gen)
        ]
    if kind == "labels":
        present = torch.tensor([0, 1, 3, 4])
        pick = torch.randint(0, 4, (2, batch), generator=gen)
        return present[pick[0]], present[pick[1]]
    if kind == "one_hot_targets":
        labels = torch.randint(0, 3, (batch,), generator=gen)
        return torch.randn(batch, 3, generator=gen), torch.nn.functional.one_hot(labels, 3)
    target = torch.randint(0, 2, (batch,), generator=gen)
    if kind == "probabilities":
        return torch.rand(batch, generator=gen), target
    if kind == "probability_column":
        return torch.rand(batch, 1, generator=gen), target.unsqueeze(1)
    assert kind == "two_logits"
    return torch.randn(batch, 2, generator=gen), target


def as_labels(y_score: Tensor, y_true: Tensor) -> tuple[np.ndarray, np.ndarray]:
    """The predicted and true labels scikit-learn sees for a batch."""
    if y_score.is_floating_point() and y_score.ndim == 2 and y_score.shape[1] > 1:
        pred = y_score.argmax(dim=1)
    elif y_score.is_floating_point():
        pred = (y_score.reshape(-1) > 0.5).long()
    else:
        pred = y_score
    true = y_true.argmax(dim=1) if y_true.ndim == 2 and y_true.shape[1] > 1 else y_true
    return pred.numpy(), true.reshape(-1).numpy()


def stream(metric: Metric, batches: list[tuple[Tensor, Tensor]]) -> Tensor:
    for y_score, y_true in batches:
        metric.update(y_score, y_true)
    return metric.compute()


def batches_for(cls: type[Metric], seed: int = 0) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(seed)
    if cls in REGRESSION:
        return [
            (torch.randn(b, 2, generator=gen), torch.randn(b, 2, generator=gen))
            for b in BATCH_SIZES
        ]
    return [classification_batch("logits", b, gen) for b in BATCH_SIZES]


@pytest.mark.parametrize("cls", list(PER_CLASS))
@pytest.mark.parametrize(
    ("kind", "average"),
    [(k, a) for k in MULTICLASS_KINDS for a in ("micro", "macro", "weighted")]
    + [(k, a) for k in BINARY_KINDS for a in ("binary", "micro", "macro", "weighted")],
)
def test_per_class_metrics_match_sklearn(cls: type[Metric], kind: str, average: str) -> None:
    gen = torch.Generator().manual_seed(0)
    batches = [classification_batch(kind, b, gen) for b in BATCH_SIZES]
    pred, true = (
        np.concatenate(parts) for parts in zip(*(as_labels(*b) for b in batches), strict=True)
    )

    value = stream(cls(average=average), batches)

    expected = PER_CLASS[cls](true, pred, average=average, zero_division=0)
    assert value.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("kind", MULTICLASS_KINDS + BINARY_KINDS)
def test_accuracy_matches_sklearn(kind: str) -> None:
    gen = torch.Generator().manual_seed(7)
    batches = [classification_batch(kind, b, gen) for b in BATCH_SIZES]
    pred, true = (
        np.concatenate(parts) for parts in zip(*(as_labels(*b) for b in batches), strict=True)
    )

    assert stream(Accuracy(), batches).item() == pytest.approx(skm.accuracy_score(true, pred))


@pytest.mark.parametrize("cls", list(PER_CLASS))
def test_binary_pos_label_zero_scores_the_negative_class(cls: type[Metric]) -> None:
    gen = torch.Generator().manual_seed(3)
    batches = [classification_batch("probabilities", b, gen) for b in BATCH_SIZES]
    pred, true = (
        np.concatenate(parts) for parts in zip(*(as_labels(*b) for b in batches), strict=True)
    )

    value = stream(cls(average="binary", pos_label=0), batches)

    assert value.item() == pytest.approx(PER_CLASS[cls](true, pred, pos_label=0, zero_division=0))


@pytest.mark.parametrize("cls", list(PER_CLASS))
def test_threshold_applies_to_binary_scores(cls: type[Metric]) -> None:
    logits = torch.tensor([-2.0, -0.1, 0.2, 3.0, -1.0, 0.4])
    true = torch.tensor([0, 1, 1, 1, 0, 0])

    value = stream(cls(average="binary", threshold=0.0), [(logits, true)])

    expected = PER_CLASS[cls](true.numpy(), (logits > 0).long().numpy(), zero_division=0)
    assert value.item() == pytest.approx(expected)


def test_zero_division_counts_as_zero() -> None:
    # Class 1 is never predicted (precision 0/0) and class 2 never occurs (recall 0/0).
    y_score, y_true = torch.tensor([0, 0, 2]), torch.tensor([0, 1, 1])
    for cls, sk_score in PER_CLASS.items():
        value = stream(cls(average="macro", num_classes=3), [(y_score, y_true)])
        assert value.item() == pytest.approx(
            sk_score(y_true, y_score, average="macro", zero_division=0)
        )


@pytest.mark.parametrize("cls", list(REGRESSION))
@pytest.mark.parametrize(("score_shape", "true_shape"), [((), ()), ((1,), ()), ((3,), (3,))])
def test_regression_metrics_match_sklearn(
    cls: type[Metric], score_shape: tuple[int, ...], true_shape: tuple[int, ...]
) -> None:
    gen = torch.Generator().manual_seed(11)
    batches = []
    for b in BATCH_SIZES:
        true = 100 + torch.randn(b, *true_shape, generator=gen, dtype=torch.float64)
        noise = 0.5 * torch.randn(b, *true_shape, generator=gen, dtype=torch.float64)
        batches.append(((true + noise).reshape(b, *score_shape).float(), true.float()))
    pred = np.concatenate([p.reshape(p.shape[0], -1).numpy() for p, _ in batches]).astype(float)
    true = np.concatenate([t.reshape(t.shape[0], -1).numpy() for _, t in batches]).astype(float)

    value = stream(cls(), batches)

    assert value.item() == pytest.approx(REGRESSION[cls](true, pred), rel=1e-9)


@pytest.mark.parametrize(("offset", "expected"), [(0.0, 1.0), (0.25, 0.0)])
def test_r2_of_constant_targets_is_one_if_exact_else_zero(offset: float, expected: float) -> None:
    # scikit-learn's force_finite rule; its own r2_score turns this SST into rounding noise.
    true = torch.full((12,), 1234.5678, dtype=torch.float64)
    pred = true + offset

    value = stream(R2(), [(pred[:5], true[:5]), (pred[5:], true[5:])])

    assert value.item() == expected


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_streamed_updates_equal_one_update(cls: type[Metric]) -> None:
    batches = batches_for(cls)
    whole = (torch.cat([s for s, _ in batches]), torch.cat([t for _, t in batches]))

    torch.testing.assert_close(stream(cls(), batches), stream(cls(), [whole]))


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_reset_forgets_earlier_batches(cls: type[Metric]) -> None:
    metric = cls()
    stream(metric, batches_for(cls, seed=1))

    metric.reset()

    later = batches_for(cls, seed=2)
    torch.testing.assert_close(stream(metric, later), stream(cls(), later))


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_compute_before_any_sample_is_nan(cls: type[Metric]) -> None:
    assert math.isnan(cls().compute().item())


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_states_and_result_stay_on_the_update_device(cls: type[Metric]) -> None:
    metric = cls()
    value = stream(metric, batches_for(cls))

    assert value.shape == ()
    assert metric.device == value.device == torch.device("cpu")
    assert all(state.device == torch.device("cpu") for state in metric.state_dict().values())


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_update_and_compute_never_read_values_on_the_host(cls: type[Metric]) -> None:
    # Meta tensors have no values: any .item(), tolist() or data-dependent shape would raise.
    metric = cls().to("meta")

    value = stream(metric, batches_for(cls))

    assert value.device == torch.device("meta")
    assert value.shape == ()
    assert all(state.is_meta for state in metric.state_dict().values())


def test_state_dict_round_trip_restores_the_value() -> None:
    batches = batches_for(F1)
    metric = F1()
    expected = stream(metric, batches)
    saved = {name: state.clone() for name, state in metric.state_dict().items()}

    restored = F1()
    restored.load_state_dict(saved)

    torch.testing.assert_close(restored.compute(), expected)
    with pytest.raises(ConfigError, match="state keys"):
        restored.load_state_dict({"tp": saved["tp"]})


def test_evaluate_takes_lists_like_tinybig() -> None:
    y_true, y_pred = [0, 1, 2, 2, 1, 0, 2], [0, 2, 2, 2, 1, 1, 0]

    assert Accuracy().evaluate(y_true=y_true, y_pred=y_pred) == pytest.approx(
        skm.accuracy_score(y_true, y_pred)
    )
    assert F1(average="weighted").evaluate(y_true, y_pred) == pytest.approx(
        skm.f1_score(y_true, y_pred, average="weighted")
    )
    scores = [0.9, 0.2, 0.6, 0.4]
    assert Recall(average="binary").evaluate(y_true=[1, 0, 0, 1], y_score=scores) == 0.5
    assert MSE().evaluate(y_true=[1.0, 2.0, 3.5], y_pred=[1.5, 2.0, 3.0]) == pytest.approx(
        skm.mean_squared_error([1.0, 2.0, 3.5], [1.5, 2.0, 3.0])
    )


def test_evaluate_leaves_the_streaming_states_alone() -> None:
    metric = Accuracy()
    metric.update(torch.tensor([1, 1]), torch.tensor([1, 0]))

    assert metric.evaluate(y_true=np.array([0, 0]), y_pred=np.array([0, 0])) == 1.0
    assert metric.compute().item() == 0.5


def test_evaluate_needs_numeric_predictions() -> None:
    with pytest.raises(ConfigError, match="needs y_pred or y_score"):
        Accuracy().evaluate(y_true=[0, 1])
    with pytest.raises(ConfigError, match="y_true must hold numbers"):
        Accuracy().evaluate(y_true=["cat", "dog"], y_pred=[0, 1])


@pytest.mark.parametrize("cls", list(PER_CLASS))
def test_bad_average_names_the_valid_ones(cls: type[Metric]) -> None:
    with pytest.raises(ConfigError, match=r"average='macr'.*did you mean 'macro'.*'weighted'"):
        cls(average="macr")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_classes": 1}, "num_classes=1"),
        ({"average": "binary", "num_classes": 3}, "average='binary'"),
        ({"average": "binary", "pos_label": 2}, "pos_label=2"),
    ],
)
def test_bad_class_settings_raise(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        F1(**kwargs)


@pytest.mark.parametrize("cls", ALL_METRICS)
def test_batch_size_mismatch_names_both_shapes(cls: type[Metric]) -> None:
    with pytest.raises(ConfigError, match=r"\(4, 3\).*\(5,\)"):
        cls().update(torch.randn(4, 3), torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize("cls", list(REGRESSION))
def test_regression_shape_and_output_mismatches_raise(cls: type[Metric]) -> None:
    with pytest.raises(ConfigError, match=r"\(4, 2\).*\(4, 3\)"):
        cls().update(torch.randn(4, 2), torch.randn(4, 3))
    metric = cls()
    metric.update(torch.randn(4, 2), torch.randn(4, 2))
    with pytest.raises(ConfigError, match="3 outputs"):
        metric.update(torch.randn(4, 3), torch.randn(4, 3))


def test_scores_with_more_classes_than_counted_raise() -> None:
    with pytest.raises(ConfigError, match="implies 3 classes"):
        Precision(average="binary").update(torch.randn(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ConfigError, match="implies 5 classes"):
        Recall(num_classes=4).update(torch.randn(4, 5), torch.zeros(4, dtype=torch.long))


def test_labels_outside_the_classes_raise_on_cpu() -> None:
    with pytest.raises(ConfigError, match="y_true holds class index 3"):
        F1(num_classes=3).update(torch.randn(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ConfigError, match="y_score holds class index -1"):
        F1().update(torch.tensor([-1, 0]), torch.tensor([0, 1]))


def test_integer_scores_must_be_labels() -> None:
    with pytest.raises(ConfigError, match="integer y_score"):
        Accuracy().update(torch.zeros(4, 3, dtype=torch.long), torch.zeros(4, dtype=torch.long))


class Extremes(Metric):
    """Largest and smallest absolute error and the median of all of them: a ``max``, a ``min``
    and a ``cat`` state."""

    name = "extremes"
    higher_is_better = False
    largest: Tensor
    smallest: Tensor
    errors: Tensor

    def __init__(self) -> None:
        super().__init__()
        self.add_state("largest", torch.tensor(-math.inf), reduce="max")
        self.add_state("smallest", torch.tensor(math.inf), reduce="min")
        self.add_state("errors", torch.zeros(0), reduce="cat")

    def update(self, y_score: Tensor, y_true: Tensor) -> None:
        y_score, y_true = self._on_state_device(y_score, y_true)
        error = (y_score - y_true).abs()
        self.largest = torch.maximum(self.largest, error.max())
        self.smallest = torch.minimum(self.smallest, error.min())
        self.errors = torch.cat([self.errors, error])

    def compute(self) -> Tensor:
        return self.errors.median()


def test_add_state_rejects_unknown_reductions() -> None:
    metric = Extremes()
    with pytest.raises(ConfigError, match=r"reduce='mean'.*'sum', 'max', 'min', 'cat'"):
        metric.add_state("average", torch.zeros(()), reduce="mean")  # type: ignore[arg-type]


def test_reset_restores_max_min_and_cat_defaults() -> None:
    metric = Extremes()
    metric.update(torch.tensor([1.0, 5.0]), torch.tensor([0.0, 0.0]))

    metric.reset()

    assert metric.largest.item() == -math.inf
    assert metric.smallest.item() == math.inf
    assert metric.errors.shape == (0,)


def test_sync_without_process_group_keeps_local_states() -> None:
    metric = Extremes()
    metric.update(torch.tensor([1.0, 5.0]), torch.tensor([0.0, 0.0]))

    with metric.synced() as synced:
        assert synced.compute().item() == 1.0
        assert synced.errors.tolist() == [1.0, 5.0]


def _sync_worker(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    try:
        labels = torch.tensor([[0, 1, 2, 1], [3, 4, 4, 0]])[rank]
        preds = torch.tensor([[0, 2, 2, 1], [3, 4, 1, 0]])[rank]
        f1, extremes = F1(), Extremes()
        f1.update(preds, labels)
        extremes.update(torch.tensor([[0.5, 3.0], [2.0, 1.0, 7.0]][rank]), torch.tensor(0.0))
        with f1.synced() as global_f1, extremes.synced() as global_extremes:
            result = {
                "f1": global_f1.compute(),
                "largest": global_extremes.largest,
                "smallest": global_extremes.smallest,
                "errors": global_extremes.errors,
            }
        result["local_f1"] = f1.compute()
        result["local_errors"] = extremes.errors
        torch.save(result, f"{out}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.mark.e2e
@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed is unavailable")
def test_synced_reduces_states_over_processes(tmp_path: Path) -> None:
    mp.spawn(_sync_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    results = [torch.load(tmp_path / f"rank{rank}.pt") for rank in range(2)]

    all_true, all_pred = [0, 1, 2, 1, 3, 4, 4, 0], [0, 2, 2, 1, 3, 4, 1, 0]
    expected_f1 = skm.f1_score(all_true, all_pred, average="macro")
    for rank, result in enumerate(results):
        assert result["f1"].item() == pytest.approx(expected_f1)
        assert result["largest"].item() == 7.0
        assert result["smallest"].item() == 0.5
        assert result["errors"].tolist() == [0.5, 3.0, 2.0, 1.0, 7.0]
        local_true, local_pred = (
            all_true[4 * rank : 4 * rank + 4],
            all_pred[4 * rank : 4 * rank + 4],
        )
        assert result["local_f1"].item() == pytest.approx(
            skm.f1_score(local_true, local_pred, average="macro")
        )
        assert result["local_errors"].tolist() == [[0.5, 3.0], [2.0, 1.0, 7.0]][rank]


def test_builtin_plugin_registers_every_metric_by_name_and_alias() -> None:
    from rpnkit import build, get_registry

    registry = get_registry()
    for cls in ALL_METRICS:
        assert registry.get("metric", cls.name) is cls
    aliases = {
        "acc": Accuracy,
        "f1_score": F1,
        "mean_squared_error": MSE,
        "mean_absolute_error": MAE,
        "r2_score": R2,
    }
    for alias, cls in aliases.items():
        assert registry.get("metric", alias) is cls
    built = build("metric", {"name": "f1_score", "parameters": {"average": "micro"}})
    assert isinstance(built, F1)
    assert built.average == "micro"
