"""The backward learner: tinybig's contract, components, metrics, hooks, display and speed."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

import rpnkit
from rpnkit import hookimpl
from rpnkit.errors import TrainingError
from rpnkit.learner import BackwardLearner, EarlyStopping, TrainContext, backward_learner
from rpnkit.learner.record import HISTORY_KEYS
from rpnkit.metrics import Accuracy
from rpnkit.plugins.state import get_plugin_manager, get_registry

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mse", "mae", "rmse", "r2")


def classification(n: int = 48, batch_size: int = 8, shuffle: bool = False) -> dict[str, Any]:
    """A tiny three-class problem split 2:1 into train and test loaders."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=generator)
    y = (x[:, :3] + 0.3 * torch.randn(n, 3, generator=generator)).argmax(dim=1)
    cut = 2 * n // 3
    return {
        "train_loader": DataLoader(
            TensorDataset(x[:cut], y[:cut]), batch_size=batch_size, shuffle=shuffle
        ),
        "test_loader": DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=batch_size),
    }


def regression(n: int = 48, batch_size: int = 8) -> dict[str, Any]:
    """A tiny two-output regression problem."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=generator)
    y = torch.stack([x[:, 0] - x[:, 1], 0.5 * x[:, 2]], dim=1)
    cut = 2 * n // 3
    return {
        "train_loader": DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=batch_size),
        "test_loader": DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=batch_size),
    }


def mlp(inputs: int = 5, outputs: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inputs, 16), nn.ReLU(), nn.Linear(16, outputs))


def quiet(**kwargs: Any) -> BackwardLearner:
    """A learner that prints nothing, for tests about what it computes."""
    kwargs.setdefault("n_epochs", 2)
    return BackwardLearner(verbose=False, **kwargs)


class Recorder:
    """A plugin that records the training events it sees."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int, int]] = []
        self.contexts: list[TrainContext] = []

    @hookimpl
    def rpnkit_train_start(self, context: TrainContext) -> None:
        self.events.append(("start", context.epoch, len(context.history)))
        self.contexts.append(context)

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        self.events.append(("epoch", context.epoch, len(context.history)))

    @hookimpl
    def rpnkit_train_end(self, context: TrainContext) -> None:
        self.events.append(("end", context.epoch, len(context.history)))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    plugin = Recorder()
    manager = get_plugin_manager()
    manager.register(plugin, name="test-recorder")
    yield plugin
    manager.unregister(plugin)


# -- the contract ------------------------------------------------------------------------------
def test_defaults_and_aliases_match_the_reference() -> None:
    learner = BackwardLearner()
    assert learner.name == "error_backward_propagation_algorithm"
    assert learner.n_epochs == 100
    assert backward_learner is BackwardLearner
    assert rpnkit.BackwardLearner is BackwardLearner


def test_train_returns_the_reference_record_plus_history() -> None:
    data = classification()
    record = quiet(loss="cross_entropy").train(mlp(), data, metric="accuracy")
    assert record["preparation"]["preparation_time_cost"] >= 0
    assert sorted(record["training"]) == [0, 1]
    epoch = record["training"][1]
    assert epoch["start_time"] <= epoch["end_time"]
    assert epoch["time_cost"] == pytest.approx(epoch["end_time"] - epoch["start_time"])
    batches = epoch["batch_records"]
    assert sorted(batches) == list(range(len(data["train_loader"])))
    for batch in batches.values():
        assert set(batch) == {"time", "time_cost", "loss", "score", "metric_name"}
        assert batch["metric_name"] == "accuracy"
        assert batch["score"] is None
        assert epoch["start_time"] <= batch["time"] <= epoch["end_time"]
        assert math.isfinite(batch["loss"])
    assert set(epoch["test_result"]) == {"test_loss", "test_score", "time_cost"}
    assert [row["epoch"] for row in record["history"]] == [0, 1]
    assert all(list(row) == list(HISTORY_KEYS) for row in record["history"])


def test_history_is_consistent_with_the_batch_records_and_test_results() -> None:
    data = classification(n=45)  # 30 training samples: batches of 8, 8, 8 and 6
    record = quiet(loss="cross_entropy").train(mlp(), data, metric="accuracy")
    for epoch, row in enumerate(record["history"]):
        batches = record["training"][epoch]["batch_records"].values()
        sizes = [8, 8, 8, 6]
        mean = sum(b["loss"] * n for b, n in zip(batches, sizes, strict=True)) / sum(sizes)
        assert row["train_loss"] == pytest.approx(mean)
        test = record["training"][epoch]["test_result"]
        assert (row["test_loss"], row["test_score"]) == (test["test_loss"], test["test_score"])
        assert row["lr"] == pytest.approx(1e-3)
        assert row["seconds"] > 0


def test_train_scores_and_test_scores_match_a_separate_evaluation() -> None:
    data = classification()
    model = mlp()
    learner = quiet(n_epochs=1, optimizer_configs={"name": "sgd", "parameters": {"lr": 0.0}})
    record = learner.train(model, data, metric="accuracy")
    train_check = learner.test(model, data["train_loader"], metric="accuracy")
    test_check = learner.test(model, data["test_loader"], metric="accuracy")
    row = record["history"][0]
    assert row["train_score"] == pytest.approx(train_check["test_score"])
    assert row["test_score"] == pytest.approx(test_check["test_score"])
    assert row["test_loss"] == pytest.approx(test_check["test_loss"])


def test_test_returns_full_and_short_results() -> None:
    data = classification(n=45)
    learner = quiet(loss="cross_entropy")
    model = mlp()
    full = learner.test(model, data["test_loader"], metric=["accuracy", "f1"])
    x, y = data["test_loader"].dataset.tensors
    with torch.no_grad():
        scores = model(x)
    assert set(full) == {
        "y_pred",
        "y_true",
        "y_score",
        "test_loss",
        "test_score",
        "time_cost",
        "metric_name",
        "test_scores",
    }
    assert full["y_true"] == y.tolist()
    assert full["y_pred"] == scores.argmax(dim=1).tolist()
    assert torch.allclose(torch.tensor(full["y_score"]), scores)
    assert full["test_loss"] == pytest.approx(nn.functional.cross_entropy(scores, y).item())
    assert full["metric_name"] == "accuracy"
    assert full["test_score"] == full["test_scores"]["accuracy"]
    short = learner.test(model, data["test_loader"], metric="accuracy", return_full_result=False)
    assert set(short) == {"test_loss", "test_score", "time_cost"}
    assert short["test_loss"] == pytest.approx(full["test_loss"])


def test_metric_none_records_the_loss_only() -> None:
    record = quiet().train(mlp(), classification())
    assert all(
        b["score"] is None and b["metric_name"] is None
        for b in record["training"][0]["batch_records"].values()
    )
    assert record["training"][0]["test_result"]["test_score"] is None
    assert math.isnan(record["history"][0]["train_score"])
    assert math.isnan(record["history"][0]["test_score"])
    assert math.isfinite(record["history"][0]["test_loss"])


def test_several_metrics_get_their_own_history_columns_headline_first() -> None:
    record = quiet().train(mlp(), classification(), metric=["f1", Accuracy()])
    row = record["history"][-1]
    assert row["train_score"] == row["train_f1"]
    assert row["test_score"] == row["test_f1"]
    assert {"train_accuracy", "test_accuracy"} <= set(row)
    assert record["training"][0]["batch_records"][0]["metric_name"] == "f1"


@pytest.mark.parametrize("name", CLASSIFICATION_METRICS + REGRESSION_METRICS)
def test_every_registered_metric_trains_and_matches_a_whole_array_evaluation(name: str) -> None:
    builtin = {entry.name for entry in get_registry().entries("metric", plugin="builtin.metrics")}
    # the confusion matrix is a matrix, not a training score (tests/test_validation_best.py)
    assert builtin - {"confusion_matrix"} == set(CLASSIFICATION_METRICS + REGRESSION_METRICS)
    regress = name in REGRESSION_METRICS
    data = regression() if regress else classification()
    model = mlp(4, 2) if regress else mlp()
    learner = quiet()
    record = learner.train(model, data, metric=name)
    assert math.isfinite(record["history"][-1]["train_score"])
    result = learner.test(model, data["test_loader"], metric=name)
    expected = (
        get_registry().build("metric", name).evaluate(result["y_true"], y_score=result["y_score"])
    )
    assert result["test_score"] == pytest.approx(expected)
    assert record["history"][-1]["test_score"] == pytest.approx(expected)


def test_batch_scores_hold_the_metric_on_each_batch_alone() -> None:
    data = classification()
    model = mlp()
    learner = quiet(
        n_epochs=1, batch_scores=True, optimizer_configs={"name": "sgd", "parameters": {"lr": 0.0}}
    )
    record = learner.train(model, data, metric="accuracy")
    with torch.no_grad():
        expected = [
            (model(x).argmax(dim=1) == y).double().mean().item() for x, y in data["train_loader"]
        ]
    scores = [b["score"] for b in record["training"][0]["batch_records"].values()]
    assert scores == pytest.approx(expected)


def test_the_default_loss_is_cross_entropy_for_classes_and_mse_for_values() -> None:
    learner = quiet(optimizer_configs={"name": "sgd", "parameters": {"lr": 0.0}})
    model = mlp()
    x, y = classification()["test_loader"].dataset.tensors
    result = learner.test(model, classification()["test_loader"])
    with torch.no_grad():
        assert result["test_loss"] == pytest.approx(nn.functional.cross_entropy(model(x), y).item())
    model = mlp(4, 2)
    x, y = regression()["test_loader"].dataset.tensors
    result = learner.test(model, regression()["test_loader"])
    with torch.no_grad():
        assert result["test_loss"] == pytest.approx(nn.functional.mse_loss(model(x), y).item())


# -- components ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "expected_type", "expected_lr"),
    [
        ({}, torch.optim.AdamW, 1e-3),
        ({"optimizer": "sgd"}, torch.optim.SGD, 1e-3),
        ({"optimizer": torch.optim.Adam}, torch.optim.Adam, 1e-3),
        (
            {"optimizer_configs": {"name": "adamw", "parameters": {"lr": 0.05}}},
            torch.optim.AdamW,
            0.05,
        ),
        (
            {
                "optimizer_configs": {
                    "optimizer_class": "torch.optim.SGD",
                    "optimizer_parameters": {"lr": 0.2, "momentum": 0.9},
                }
            },
            torch.optim.SGD,
            0.2,
        ),
    ],
)
def test_the_optimizer_is_built_from_any_form_with_its_parameters(
    recorder: Recorder, kwargs: dict[str, Any], expected_type: type, expected_lr: float
) -> None:
    model = mlp()
    quiet(n_epochs=1, **kwargs).train(model, classification())
    optimizer = recorder.contexts[0].optimizer
    assert type(optimizer) is expected_type
    assert optimizer.param_groups[0]["lr"] == expected_lr
    assert {id(p) for p in optimizer.param_groups[0]["params"]} == {
        id(p) for p in model.parameters()
    }


def test_an_optimizer_instance_is_used_as_is(recorder: Recorder) -> None:
    model = mlp()
    data = classification()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    quiet(n_epochs=2, optimizer=optimizer).train(model, data)
    assert recorder.contexts[0].optimizer is optimizer
    steps = 2 * len(data["train_loader"])
    assert all(state["step"] == steps for state in optimizer.state.values())


@pytest.mark.parametrize(
    "loss",
    [
        nn.L1Loss(),
        nn.L1Loss,
        "l1",
        {"name": "l1"},
        {"loss_class": "torch.nn.L1Loss"},
        nn.functional.l1_loss,
    ],
)
def test_the_loss_is_accepted_in_every_form(loss: Any) -> None:
    learner = quiet(loss=loss)
    model = mlp(4, 2)
    result = learner.test(model, regression()["test_loader"])
    x, y = regression()["test_loader"].dataset.tensors
    with torch.no_grad():
        assert result["test_loss"] == pytest.approx(nn.functional.l1_loss(model(x), y).item())


def test_loss_configs_in_tinybig_form_take_parameters() -> None:
    learner = quiet(
        loss_configs={
            "loss_class": "torch.nn.CrossEntropyLoss",
            "loss_parameters": {"label_smoothing": 0.2},
        }
    )
    assert isinstance(learner.loss, nn.CrossEntropyLoss)
    assert learner.loss.label_smoothing == 0.2


def test_an_epoch_scheduler_steps_once_per_epoch() -> None:
    learner = quiet(
        n_epochs=3,
        optimizer_configs={"name": "sgd", "parameters": {"lr": 0.8}},
        lr_scheduler_configs={
            "lr_scheduler_class": "torch.optim.lr_scheduler.StepLR",
            "lr_scheduler_parameters": {"step_size": 1, "gamma": 0.5},
        },
    )
    record = learner.train(mlp(), classification())
    assert [row["lr"] for row in record["history"]] == pytest.approx([0.8, 0.4, 0.2])


def test_a_step_scheduler_steps_after_every_batch_on_request(recorder: Recorder) -> None:
    data = classification()
    learner = quiet(
        n_epochs=1,
        optimizer_configs={"name": "sgd", "parameters": {"lr": 1.0}},
        lr_scheduler_configs={"name": "exponential", "parameters": {"gamma": 0.5}},
        lr_scheduler_interval="step",
    )
    learner.train(mlp(), data)
    steps = len(data["train_loader"])
    assert recorder.contexts[0].optimizer.param_groups[0]["lr"] == pytest.approx(0.5**steps)


def test_one_cycle_steps_per_batch_and_gets_its_total_steps_from_the_run(
    recorder: Recorder,
) -> None:
    data = classification()
    learner = quiet(
        n_epochs=3,
        optimizer="sgd",
        lr_scheduler_configs={"name": "one_cycle", "parameters": {"max_lr": 0.5}},
    )
    record = learner.train(mlp(), data)
    scheduler = recorder.contexts[0].lr_scheduler
    assert scheduler.total_steps == 3 * len(data["train_loader"])
    assert scheduler.last_epoch == scheduler.total_steps
    lrs = [row["lr"] for row in record["history"]]
    assert lrs[0] < lrs[1] and lrs[2] < lrs[1]


def test_reduce_on_plateau_receives_the_monitored_value() -> None:
    seen: list[float] = []

    class Spy(torch.optim.lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
            seen.append(metrics)
            super().step(metrics)

    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    learner = quiet(n_epochs=3, lr_scheduler=Spy(optimizer))
    record = learner.train(model, classification())
    assert seen == [row["test_loss"] for row in record["history"]]
    record = quiet(n_epochs=2, lr_scheduler=Spy(optimizer), monitor="train_score").train(
        model, classification(), metric="accuracy"
    )
    assert seen[-2:] == [row["train_score"] for row in record["history"]]


def test_gradients_are_clipped_by_norm() -> None:
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    data = {"train_loader": classification()["train_loader"]}
    learner = quiet(
        n_epochs=1,
        grad_clip_norm=1e-3,
        optimizer_configs={"name": "sgd", "parameters": {"lr": 1.0}},
    )
    learner.train(model, data)
    moved = torch.cat(
        [(p.detach() - b).flatten() for p, b in zip(model.parameters(), before, strict=True)]
    )
    assert moved.norm() <= len(data["train_loader"]) * 1e-3 * (1 + 1e-4)
    assert moved.norm() > 0


def test_mixed_precision_is_ignored_with_a_warning_on_the_cpu() -> None:
    with pytest.warns(UserWarning, match="precision='bf16' is ignored on device 'cpu'"):
        record = quiet(precision="bf16").train(mlp(), classification())
    assert len(record["history"]) == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="'auto' picks the GPU here")
def test_device_auto_trains_on_the_cpu_without_an_accelerator(recorder: Recorder) -> None:
    quiet(n_epochs=1).train(mlp(), classification(), device="auto")
    assert recorder.contexts[0].device == torch.device("cpu")


def test_models_taking_a_device_argument_receive_it() -> None:
    class RPNStyle(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(5, 3)
            self.devices: set[str] = set()

        def forward(self, x: Tensor, device: str = "unset") -> Tensor:
            self.devices.add(device)
            return self.linear(x)

    model = RPNStyle()
    quiet(n_epochs=1).train(model, classification(), device=torch.device("cpu"))
    assert model.devices == {"cpu"}


def test_a_seed_makes_shuffling_and_dropout_repeatable() -> None:
    def trained(seed: int) -> list[Tensor]:
        model = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.5), nn.Linear(16, 3))
        model.load_state_dict(reference.state_dict())
        quiet(seed=seed).train(model, classification(shuffle=True))
        return [p.detach() for p in model.parameters()]

    reference = nn.Sequential(nn.Linear(5, 16), nn.Dropout(0.5), nn.Linear(16, 3))
    first, again, other = trained(5), trained(5), trained(6)
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, other, strict=True))


def test_graph_style_training_uses_the_rows_of_a_full_batch() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(30, 5, generator=generator)
    y = x[:, :3].argmax(dim=1)
    loader = DataLoader(TensorDataset(x, y), batch_size=30)
    train_idx, test_mask = torch.arange(20), torch.arange(30) >= 20
    model = mlp()
    learner = quiet()
    record = learner.train(
        model, loader, metric="accuracy", train_idx=train_idx, test_idx=test_mask
    )
    assert len(record["training"][0]["batch_records"]) == 1
    result = learner.test(model, loader, metric="accuracy", test_idx=test_mask)
    assert result["y_true"] == y[20:].tolist()
    assert record["history"][-1]["test_score"] == pytest.approx(result["test_score"])


def test_a_single_loader_trains_without_a_test_pass() -> None:
    record = quiet().train(mlp(), classification()["train_loader"], metric="accuracy")
    assert "test_result" not in record["training"][0]
    assert math.isnan(record["history"][0]["test_loss"])
    record = quiet().train(mlp(), classification(), test_check=False)
    assert "test_result" not in record["training"][1]


# -- hooks --------------------------------------------------------------------------------------
def test_training_events_reach_plugins_in_order(recorder: Recorder) -> None:
    quiet(n_epochs=3).train(mlp(), classification())
    assert recorder.events == [
        ("start", 0, 0),
        ("epoch", 0, 1),
        ("epoch", 1, 2),
        ("epoch", 2, 3),
        ("end", 2, 3),
    ]


def test_a_plugin_can_stop_training_after_an_epoch(recorder: Recorder) -> None:
    class StopAtOne:
        @hookimpl
        def rpnkit_epoch_end(self, context: TrainContext) -> None:
            context.should_stop = context.epoch == 1

    manager = get_plugin_manager()
    manager.register(StopAtOne(), name="test-stop")
    try:
        record = quiet(n_epochs=5).train(mlp(), classification())
    finally:
        manager.unregister(name="test-stop")
    assert len(record["history"]) == 2
    assert recorder.events[-1] == ("end", 1, 2)


def test_early_stopping_stops_when_the_monitor_stops_improving() -> None:
    frozen = {"optimizer_configs": {"name": "sgd", "parameters": {"lr": 0.0}}}
    stopper = EarlyStopping(patience=2)
    learner = quiet(n_epochs=10, early_stopping=stopper, **frozen)
    record = learner.train(mlp(), classification())
    assert len(record["history"]) == 3  # best at epoch 0, then two epochs without improvement
    assert (stopper.best_epoch, stopper.wait) == (0, 2)
    assert not get_plugin_manager().is_registered(stopper)
    record = quiet(n_epochs=10, early_stopping=1, **frozen).train(mlp(), classification())
    assert len(record["history"]) == 2
    as_dict = {"patience": 1, "monitor": "test_score"}
    learner = quiet(n_epochs=10, early_stopping=as_dict, **frozen)
    assert len(learner.train(mlp(), classification(), metric="accuracy")["history"]) == 2


def test_early_stopping_keeps_going_while_the_monitor_improves() -> None:
    learner = quiet(
        n_epochs=4,
        early_stopping=EarlyStopping(patience=1, monitor="train_loss"),
        optimizer_configs={"name": "sgd", "parameters": {"lr": 0.05}},
    )
    assert len(learner.train(mlp(), classification())["history"]) == 4


# -- non-finite losses ---------------------------------------------------------------------------
def poisoned(batch: int) -> dict[str, Any]:
    """Training data whose batch ``batch`` (of 8 samples) holds a NaN feature."""
    data = classification()
    x, y = data["train_loader"].dataset.tensors
    x = x.clone()
    x[8 * batch, 0] = math.nan
    data["train_loader"] = DataLoader(TensorDataset(x, y), batch_size=8)
    return data


def test_a_nan_loss_stops_training_naming_the_epoch_and_batch() -> None:
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 0, batch 2;"):
        quiet().train(mlp(), poisoned(batch=2))


def test_a_nan_loss_batch_is_skipped_when_asked() -> None:
    model = mlp()
    with pytest.warns(RuntimeWarning, match=r"skipped 1 batch\(es\).*batches \[2\]"):
        record = quiet(n_epochs=1, nan_policy="skip", batch_scores=True).train(
            model, poisoned(batch=2), metric="accuracy"
        )
    batches = record["training"][0]["batch_records"]
    assert math.isnan(batches[2]["loss"]) and math.isnan(batches[2]["score"])
    assert all(math.isfinite(batches[i]["loss"]) for i in (0, 1, 3))
    assert math.isfinite(record["history"][0]["train_loss"])
    assert all(torch.isfinite(p).all() for p in model.parameters())


# -- no host synchronisation per batch -------------------------------------------------------------
def count_host_reads(monkeypatch: pytest.MonkeyPatch, run: Any) -> int:
    """How many times ``Tensor.item`` and ``Tensor.tolist`` are called while ``run()`` runs."""
    calls = 0
    for name in ("item", "tolist"):
        original = getattr(torch.Tensor, name)

        def counting(self: Tensor, *args: Any, _original: Any = original) -> Any:
            nonlocal calls
            calls += 1
            return _original(self, *args)

        monkeypatch.setattr(torch.Tensor, name, counting)
    run()
    monkeypatch.undo()
    return calls


@pytest.mark.parametrize("metric", ["accuracy", "f1"])
def test_host_reads_grow_with_epochs_not_batches(
    monkeypatch: pytest.MonkeyPatch, metric: str
) -> None:
    def reads(epochs: int, batch_size: int) -> int:
        data = classification(n=96, batch_size=batch_size, shuffle=True)
        # SGD: Adam reads its step counters (CPU tensors, no device sync) with .item().
        learner = quiet(n_epochs=epochs, optimizer="sgd")
        return count_host_reads(monkeypatch, lambda: learner.train(mlp(), data, metric=metric))

    few_batches, many_batches = reads(2, 32), reads(2, 4)  # 2 and 16 batches per epoch
    assert few_batches == many_batches
    assert reads(4, 4) > many_batches


def test_the_progress_bar_reads_the_loss_every_progress_every_steps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = classification(n=96, batch_size=4)  # 16 batches per epoch

    def reads(progress_every: int) -> int:
        monkeypatch.setenv("TTY_COMPATIBLE", "1")  # the bar is drawn on a terminal only
        # No refresh by time: the count of refreshes depends on progress_every alone.
        monkeypatch.setattr("rpnkit.learner.progress.REFRESH_SECONDS", math.inf)
        learner = BackwardLearner(n_epochs=1, progress_every=progress_every, optimizer="sgd")
        return count_host_reads(monkeypatch, lambda: learner.train(mlp(), data))

    # Refreshes at steps 4, 8, 12, 16 against one at the last step; one read each.
    assert reads(4) - reads(100) == 3
    assert "epoch 0 (1/1)" in capsys.readouterr().err


# -- display -----------------------------------------------------------------------------------
def test_table_rows_print_every_display_step_as_plain_text_when_not_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    BackwardLearner(n_epochs=6).train(
        mlp(), classification(), metric="accuracy", disable_tqdm=True, display_step=4
    )
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].split() == [
        "epoch", "train", "loss", "train", "accuracy", "test", "loss", "test", "accuracy", "lr",
        "seconds",
    ]  # fmt: skip
    assert [line.split()[0] for line in lines[1:3]] == ["0", "4"]
    assert lines[3].split()[0] == "5"  # the last epoch is always shown
    assert lines[4].startswith("Trained 6 epochs in")
    assert lines[5].startswith("Final: train loss")
    assert lines[6].startswith("Best test loss: ")
    assert "\x1b[" not in out.out
    assert out.err == ""


def test_the_table_is_a_rich_table_in_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    BackwardLearner(n_epochs=2).train(mlp(), classification(), disable_tqdm=True)
    out = capsys.readouterr().out
    assert "\x1b[" in out
    assert "train loss" in out and "test loss" in out and "score" not in out.split("Trained")[0]
    assert "Trained 2 epochs" in out


def test_the_progress_bar_shows_one_bar_per_epoch_with_the_running_loss(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")  # the bar is drawn on a terminal only

    class Slow(nn.Module):
        """Slow enough (60 ms a batch) for tqdm's 0.1 s redraw interval to pass."""

        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()

        def forward(self, x: Tensor) -> Tensor:
            time.sleep(0.06)
            return self.net(x)

    BackwardLearner(n_epochs=2, progress_every=2).train(
        Slow(), {"train_loader": classification()["train_loader"]}
    )
    err = capsys.readouterr().err
    assert "epoch 0 (1/2)" in err and "epoch 1 (2/2)" in err
    assert "2/4" in err and "loss=" in err and "lr=1.00e-03" in err


def test_the_summary_names_why_training_stopped(capsys: pytest.CaptureFixture[str]) -> None:
    frozen = {"name": "sgd", "parameters": {"lr": 0.0}}
    learner = BackwardLearner(n_epochs=5, early_stopping=1, optimizer_configs=frozen)
    learner.train(mlp(), classification(), disable_tqdm=True)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["0", "1"]  # the stopping epoch shows
    assert re.fullmatch(
        r"Stopped by early stopping: test_loss did not improve for 1 epochs "
        r"\(best \d\.\d+ at epoch 0\)\.",
        lines[-1],
    )


def test_verbose_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    quiet().train(mlp(), classification(), metric="accuracy")
    assert capsys.readouterr() == ("", "")


def test_a_metric_instance_starts_afresh_in_every_epoch_and_run() -> None:
    metric = Accuracy()
    data = classification()
    first = quiet(n_epochs=2).train(mlp(), data, metric=metric)["history"]
    second = quiet(n_epochs=2).train(mlp(), data, metric=metric)["history"]
    for key in ("train_score", "test_score"):
        assert [row[key] for row in first] == [row[key] for row in second]
