"""Selection on a validation split, the best epoch's weights, and the loop's standards.

Validation is additive: a run with a ``val_loader`` (or a dataset's ``val_size``) gets
``val_*`` columns and selects on them (early stopping, the best epoch, the ``auto`` monitor);
the test pass is the report. ``save_best``/``restore_best`` keep the best epoch's weights bit
for bit, through checkpoints too. Gradient accumulation makes the larger batch's updates; the
per-batch hook is called only when implemented.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.errors import ConfigError, PluginError
from rpnkit.learner import BackwardLearner
from rpnkit.learner.display import EpochTable
from rpnkit.learner.hooks import TrainingHooks
from rpnkit.learner.selection import SELECTING_ON_TEST
from rpnkit.metrics import ConfusionMatrix
from rpnkit.tracking.base import epoch_scalars
from rpnkit.tracking.csv_logger import CSVLogger


def splits(n: int = 96, batch_size: int = 8, noise: float = 1.5) -> dict[str, Any]:
    """A noisy three-class problem, split into train, validation and test loaders; small and
    noisy enough that a wide model overfits within a few epochs."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=generator)
    y = (x[:, :3] + noise * torch.randn(n, 3, generator=generator)).argmax(dim=1)
    a, b = n // 2, 3 * n // 4

    def loader(lo: int, hi: int) -> DataLoader[Any]:
        return DataLoader(TensorDataset(x[lo:hi], y[lo:hi]), batch_size=batch_size)

    return {"train_loader": loader(0, a), "val_loader": loader(a, b), "test_loader": loader(b, n)}


def wide(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 128), nn.ReLU(), nn.Linear(128, 3))


def weights(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_bits(a: dict[str, Tensor], b: dict[str, Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def overfitting(**kwargs: Any) -> BackwardLearner:
    options: dict[str, Any] = {
        "n_epochs": 30,
        "optimizer": {"name": "adamw", "parameters": {"lr": 0.05}},
        "verbose": False,
        "seed": 0,
    }
    return BackwardLearner(**{**options, **kwargs})


# -- selection on validation ---------------------------------------------------------------------
def test_a_run_with_validation_selects_and_stops_on_it_and_reports_test_on_the_best_weights(
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = wide()
    record = overfitting(early_stopping=3, restore_best=True, verbose=True).train(
        model, splits(), metric="accuracy", disable_tqdm=True
    )
    history = record["history"]
    assert {"val_loss", "val_score"} <= history[0].keys()
    val_losses = [row["val_loss"] for row in history]
    best_epoch = val_losses.index(min(val_losses))
    best = record["best"]
    assert (best["monitor"], best["mode"], best["epoch"]) == ("val_loss", "min", best_epoch)
    assert best["value"] == min(val_losses)
    # Early stopping watched validation: it stopped 3 epochs after the best validation loss,
    # long before the 30 epochs, whatever the test loss did meanwhile.
    assert len(history) == best_epoch + 4 < 30
    # The test numbers reported are those of the restored best weights: the test pass after
    # the best epoch, measured again on the same weights.
    assert best["restored"]
    assert best["test"]["test_loss"] == pytest.approx(history[best_epoch]["test_loss"], rel=1e-12)
    again = BackwardLearner(verbose=False).test(model, splits()["test_loader"], metric="accuracy")
    assert again["test_loss"] == pytest.approx(best["test"]["test_loss"], rel=1e-6)
    out = capsys.readouterr()
    assert SELECTING_ON_TEST not in out.err
    assert f"Test numbers from epoch {best_epoch}: the best by val loss" in out.out


def test_selecting_on_the_test_split_is_said_once(capsys: pytest.CaptureFixture[str]) -> None:
    data = splits()
    del data["val_loader"]
    record = overfitting(n_epochs=4, early_stopping=2, save_best=True, verbose=True).train(
        wide(), data, disable_tqdm=True
    )
    assert "val_loss" not in record["history"][0]
    assert record["best"]["monitor"] == "test_loss"
    assert capsys.readouterr().err.count(SELECTING_ON_TEST) == 1
    # nothing selects: nothing to say
    overfitting(n_epochs=2, verbose=True).train(wide(), data, disable_tqdm=True)
    assert SELECTING_ON_TEST not in capsys.readouterr().err


def test_val_idx_selects_rows_of_one_full_batch() -> None:
    generator = torch.Generator().manual_seed(1)
    x, y = torch.randn(30, 5, generator=generator), torch.randint(0, 3, (30,), generator=generator)
    loader = DataLoader(TensorDataset(x, y), batch_size=30)
    record = overfitting(n_epochs=3).train(
        wide(),
        loader,
        metric="accuracy",
        train_idx=torch.arange(0, 15),
        test_idx=torch.arange(20, 30),
        val_idx=torch.arange(15, 20),
    )
    row = record["history"][-1]
    assert list(row)[:5] == ["epoch", "train_loss", "train_score", "val_loss", "val_score"]
    assert all(math.isfinite(row[key]) for key in ("val_loss", "val_score", "test_loss"))
    assert row["val_loss"] != row["test_loss"]  # other rows of the same batch


def test_a_save_best_monitor_typo_is_one_line_with_a_suggestion() -> None:
    with pytest.raises(ConfigError, match=r"save_best monitor='val_los'.*did you mean 'val_loss'"):
        overfitting(save_best="val_los").train(wide(), splits())
    with pytest.raises(ConfigError, match=r"save_best.mode='best' is not valid"):
        BackwardLearner(save_best={"monitor": "val_loss", "mode": "best"})


# -- the best weights, bit for bit, through an interruption ---------------------------------------
class StopAt:
    """Interrupt training, as Ctrl-C would, after global step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    @hookimpl
    def rpnkit_batch_end(self, context: Any) -> None:
        if context.step == self.step:
            raise KeyboardInterrupt


def test_the_best_weights_are_those_of_the_best_epoch_and_survive_a_resume(tmp_path: Path) -> None:
    data = splits()
    options = {"n_epochs": 8, "save_best": {"monitor": "val_loss", "mode": "min"}}
    whole_model = wide()
    whole = overfitting(**options, restore_best=True).train(whole_model, data, metric="accuracy")
    best_epoch = whole["best"]["epoch"]
    assert 0 < best_epoch < 7
    # The weights kept are bit for bit those a run stopped after the best epoch ends with.
    short_model = wide()
    overfitting(**{**options, "n_epochs": best_epoch + 1}).train(short_model, data)
    assert same_bits(weights(whole_model), weights(short_model))

    # Interrupted inside epoch 5 (6 batches an epoch), resumed from the step checkpoint.
    folder = tmp_path / "checkpoints"
    first = overfitting(**options, checkpoint_dir=folder, checkpoint_every_n_steps=4)
    first.callbacks = [StopAt(33)]
    with pytest.raises(KeyboardInterrupt):
        first.train(wide(), data, metric="accuracy")
    resumed_model = wide(seed=5)  # its own weights are replaced by the checkpoint's
    resumed = overfitting(**options, restore_best=True, resume=folder).train(
        resumed_model, data, metric="accuracy"
    )
    assert resumed["history"] == [
        {**row, "seconds": got["seconds"]}
        for row, got in zip(whole["history"], resumed["history"], strict=True)
    ]
    assert resumed["best"] == whole["best"]
    assert same_bits(weights(resumed_model), weights(whole_model))


# -- gradient accumulation ------------------------------------------------------------------------
@pytest.mark.parametrize("n", [128, 112])  # 112: the epoch's last window holds 3 batches
def test_accumulating_4_batches_of_16_makes_the_updates_of_one_batch_of_64(n: int) -> None:
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(n, 5, generator=generator), torch.randint(0, 3, (n,), generator=generator)
    results = []
    for batch_size, accumulate in ((64, 1), (16, 4)):
        model = wide()
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size)
        BackwardLearner(
            n_epochs=3,
            optimizer={"name": "sgd", "parameters": {"lr": 0.1, "momentum": 0.9}},
            accumulate_grad_batches=accumulate,
            verbose=False,
        ).train(model, loader)
        results.append(weights(model))
    for key in results[0]:
        torch.testing.assert_close(results[1][key], results[0][key], rtol=1e-5, atol=1e-6)


def test_accumulate_grad_batches_must_be_a_positive_integer() -> None:
    with pytest.raises(ConfigError) as info:
        BackwardLearner(accumulate_grad_batches=0)
    assert "accumulate_grad_batches" in str(info.value) and "\n" not in str(info.value)


# -- the per-batch hook ---------------------------------------------------------------------------
def test_the_batch_hook_is_called_only_when_something_implements_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    called: list[str] = []
    dispatch = TrainingHooks.__call__

    def spy(self: TrainingHooks, name: str, **kwargs: Any) -> None:
        called.append(name)
        dispatch(self, name, **kwargs)

    monkeypatch.setattr(TrainingHooks, "__call__", spy)
    quiet = BackwardLearner(n_epochs=2, verbose=False)
    quiet.train(wide(), splits())
    assert called and "rpnkit_batch_end" not in called

    class Counter:
        def __init__(self) -> None:
            self.batches: list[tuple[int, int]] = []

        @hookimpl
        def rpnkit_batch_end(self, context: Any, batch: int, loss: Tensor) -> None:
            assert loss.ndim == 0
            self.batches.append((context.epoch, batch))

    counter = Counter()
    BackwardLearner(n_epochs=2, verbose=False, callbacks=[counter]).train(wide(), splits())
    assert counter.batches == [(e, b) for e in range(2) for b in range(6)]


def test_a_callback_with_a_bad_hook_signature_is_one_plugin_error_line() -> None:
    class Wrong:
        @hookimpl
        def rpnkit_epoch_end(self, context: Any, extra: int) -> None:
            """Takes an argument the hook does not pass."""

    with pytest.raises(PluginError) as info:
        BackwardLearner(n_epochs=1, verbose=False, callbacks=[Wrong()]).train(wide(), splits())
    message = str(info.value)
    assert "Wrong" in message and "rpnkit_epoch_end" in message and "\n" not in message


def test_a_logger_logs_every_n_steps_and_its_rows_have_val_columns(tmp_path: Path) -> None:
    logger = CSVLogger(tmp_path, log_every_n_steps=4)
    BackwardLearner(n_epochs=2, verbose=False, loggers=[logger]).train(wide(), splits())
    lines = (tmp_path / "steps.csv").read_text().splitlines()
    assert lines[0] == "step,epoch,train_step_loss,lr"
    assert [int(line.split(",")[0]) for line in lines[1:]] == [4, 8, 12]
    assert "val_loss" in (tmp_path / "history.csv").read_text().splitlines()[0]
    scalars = epoch_scalars({"epoch": 0, "val_loss": 0.5, "val_score": 0.75}, ["accuracy"])
    assert scalars == {"val/loss": 0.5, "val/accuracy": 0.75}
    with pytest.raises(ConfigError, match="log_every_n_steps=0"):
        CSVLogger(tmp_path, log_every_n_steps=0)


# -- the confusion matrix ---------------------------------------------------------------------------
def test_the_confusion_matrix_counts_true_by_predicted_and_syncs_as_a_sum() -> None:
    metric = ConfusionMatrix()
    metric.update(torch.tensor([[0.9, 0.1, 0.0], [0.1, 0.8, 0.1]]), torch.tensor([0, 2]))
    metric.update(torch.tensor([[0.0, 0.1, 0.9]]), torch.tensor([2]))
    assert metric.compute().tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 1]]
    assert metric._reductions == {"matrix": "sum"}
    labels = ConfusionMatrix.of(torch.tensor([1, 0, 1, 1]), torch.tensor([1, 0, 0, 1]))
    assert labels.tolist() == [[1, 0], [1, 2]]
    with pytest.raises(ConfigError, match="is a matrix, not a number"):
        BackwardLearner(n_epochs=1, verbose=False).train(
            wide(), splits(), metric="confusion_matrix"
        )


# -- the summary -----------------------------------------------------------------------------------
def test_the_final_line_is_broken_between_items_in_an_80_column_terminal() -> None:
    file = io.StringIO()
    console = Console(file=file, force_terminal=True, width=80, color_system=None)
    table = EpochTable(scores=True, test=True, val=True, display_step=1, console=console)
    BackwardLearner(n_epochs=2, verbose=False, callbacks=[table]).train(
        wide(), splits(), metric=["accuracy", "f1", "precision"]
    )
    lines = file.getvalue().splitlines()
    assert all(len(line) <= 80 for line in lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("Final: "))
    final = [lines[start]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        final.append(line)
    assert len(final) > 1
    items = [item for line in final for item in line.removeprefix("Final: ").strip().split(", ")]
    for split in ("train", "val", "test"):
        for name in ("loss", "accuracy", "f1", "precision"):
            assert any(item.rstrip(",.").rsplit(" ", 1)[0] == f"{split} {name}" for item in items)
