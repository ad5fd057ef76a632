"""What people read while a run trains: the epoch table, the summary, the batch bar."""

from __future__ import annotations

import fcntl
import io
import math
import os
import pty
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from rich.console import Console
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.learner import BackwardLearner, TrainContext
from rpnkit.learner.columns import copies_loss, label, metric_columns, metric_names
from rpnkit.learner.display import EpochTable
from rpnkit.learner.progress import Refresh

ROOT = Path(__file__).resolve().parents[1]
CLASSIFIERS = ["accuracy", "f1", "precision", "recall"]


def loaders(n: int = 48, regression: bool = False) -> dict[str, Any]:
    """Tiny train and test loaders: three classes, or one float target."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 5, generator=generator)
    y = (x[:, :1] - x[:, 1:2]) if regression else x[:, :3].argmax(dim=1)
    cut = 2 * n // 3
    return {
        "train_loader": DataLoader(TensorDataset(x[:cut], y[:cut]), batch_size=8),
        "test_loader": DataLoader(TensorDataset(x[cut:], y[cut:]), batch_size=8),
    }


def mlp(outputs: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, outputs))


def terminal_table(width: int, **train: Any) -> str:
    """Train with an epoch table printing to a ``width``-column terminal; return its text."""
    file = io.StringIO()
    console = Console(file=file, force_terminal=True, width=width, color_system=None)
    table = EpochTable(scores=True, test=True, display_step=1, console=console)
    BackwardLearner(n_epochs=2, verbose=False, callbacks=[table]).train(**train)
    return file.getvalue()


# -- the epoch table and the summary -----------------------------------------------------------
def test_every_metric_is_a_column_named_after_it_in_a_log(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(variable, raising=False)
    BackwardLearner(n_epochs=2).train(mlp(), loaders(), metric=["accuracy", "f1"])
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    for title in ("train accuracy", "train f1", "test accuracy", "test f1", "lr", "seconds"):
        assert title in header
    assert "score" not in header
    assert len(lines[1].split()) == len(lines[2].split()) == 9  # every column, one row an epoch
    final = next(line for line in lines if line.startswith("Final: "))
    for title in ("train loss", "train accuracy", "train f1", "test loss", "test f1"):
        assert f"{title} " in final


def test_a_narrow_terminal_keeps_the_headline_and_names_what_is_left_out() -> None:
    text = terminal_table(60, model=mlp(), data_loader=loaders(), metric=CLASSIFIERS)
    lines = text.splitlines()
    assert all(len(line) <= 60 for line in lines)
    at_header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("epoch"))
    note = " ".join(lines[:at_header])  # one sentence, wrapped by the terminal's width
    assert note.startswith("(left out to fit the terminal, in the run's history: ")
    header = lines[at_header]
    assert "test accuracy" in header and "test loss" in header and "epoch" in header
    for title in ("train recall", "test recall", "lr"):
        assert title in note and title not in header
    # the summary names every metric, whatever the width
    final = " ".join(text.split("Final: ")[1].split())
    for name in CLASSIFIERS:
        assert f"train {name} " in final and f"test {name} " in final


def test_a_wide_terminal_shows_every_column() -> None:
    text = terminal_table(200, model=mlp(), data_loader=loaders(), metric=CLASSIFIERS)
    assert "left out" not in text
    header = text.splitlines()[0]
    for name in CLASSIFIERS:
        assert f"train {name}" in header and f"test {name}" in header


def test_a_regression_metric_equal_to_the_loss_is_shown_once() -> None:
    text = terminal_table(
        200, model=mlp(outputs=1), data_loader=loaders(regression=True), metric=["mse", "r2"]
    )
    lines = text.splitlines()
    assert lines[0] == "(mse equals the loss: shown once)"
    assert "test r2" in lines[1] and "mse" not in lines[1]
    final = text.split("Final: ")[1]
    assert "r2" in final and "mse" not in final


def test_the_columns_module_names_keys_and_finds_copies() -> None:
    assert label("test_score", ["accuracy"]) == "test accuracy"
    assert label("train_f1", ["accuracy", "f1"]) == "train f1"
    assert label("lr") == "lr"
    one, several = metric_columns(["mse"]), metric_columns(["mse", "r2"])
    assert (one[0].train, one[0].test) == ("train_score", "test_score")
    assert (several[1].train, several[1].test) == ("train_r2", "test_r2")
    row = {"train_loss": 0.5, "train_score": 0.5, "test_loss": 0.25, "test_score": 0.25}
    assert copies_loss([row], one[0])
    assert not copies_loss([{**row, "test_score": 0.3}], one[0])
    assert not copies_loss([{"train_loss": 0.5, "train_score": math.nan}], one[0])
    keys = ["epoch", "train_loss", "train_score", "test_loss", "test_score", "lr", "seconds"]
    assert metric_names(keys, "accuracy") == ["accuracy"]
    assert metric_names([*keys, "train_mse", "test_mse", "train_r2", "test_r2"]) == ["mse", "r2"]
    assert metric_names(["epoch", "train_loss"]) == []


# -- the batch bar -----------------------------------------------------------------------------
def test_refresh_points_come_by_step_count_and_by_time() -> None:
    by_steps = Refresh(every=3, total=7, seconds=math.inf)
    assert [step for step in range(1, 8) if by_steps.due(step)] == [3, 6, 7]
    by_time = Refresh(every=1000, total=None, seconds=0.01)
    assert not Refresh(every=1000, total=None, seconds=math.inf).due(1)
    time.sleep(0.02)
    assert by_time.due(1)
    assert not by_time.due(2)  # the clock restarted at the refresh


class Steps:
    """A plugin recording the steps of the progress refreshes."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    @hookimpl
    def rpnkit_progress(self, context: TrainContext, step: int, loss: float, lr: float) -> None:
        self.steps.append(step)


def test_a_slow_epoch_refreshes_by_time_between_progress_every_steps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Slow(nn.Module):
        """Every batch takes longer than the refresh interval."""

        def __init__(self) -> None:
            super().__init__()
            self.net = mlp()

        def forward(self, x: Tensor) -> Tensor:
            time.sleep(0.03)
            return self.net(x)

    monkeypatch.setattr("rpnkit.learner.progress.REFRESH_SECONDS", 0.02)
    steps = Steps()
    learner = BackwardLearner(n_epochs=1, verbose=False, progress_every=1000, callbacks=[steps])
    learner.train(Slow(), {"train_loader": loaders()["train_loader"]})
    assert steps.steps == [1, 2, 3, 4]


def _train(*args: str) -> list[str]:
    return [sys.executable, "-m", "rpnkit", "train", str(ROOT / "configs/iris.yaml"), *args]


@pytest.mark.e2e
def test_a_log_gets_one_line_per_epoch_and_no_bar(tmp_path: Path) -> None:
    done = subprocess.run(
        _train("--set", "learner.n_epochs=3", "--output", str(tmp_path / "run")),
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")},
        check=True,
    )
    assert "\r" not in done.stdout and "\r" not in done.stderr
    assert "batch" not in done.stderr
    lines = done.stdout.splitlines()
    assert "test accuracy" in lines[0]
    assert [line.split()[0] for line in lines[1:4]] == ["0", "1", "2"]
    assert lines[4].startswith("Trained 3 epochs")


def run_in_terminal(args: list[str]) -> str:
    """Run ``python -m rpnkit ARGS`` on a 120-column pseudo-terminal; return what it shows."""
    main, secondary = pty.openpty()
    # a fresh pty has no size, and tqdm draws nothing in zero columns
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env.pop("COLUMNS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", *args],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env={**env, "TERM": "xterm"},
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    assert process.wait(timeout=120) == 0
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.e2e
def test_a_terminal_gets_the_bar_and_the_rich_table(tmp_path: Path) -> None:
    config = str(ROOT / "configs/iris.yaml")
    text = run_in_terminal(
        ["train", config, "--set", "learner.n_epochs=2", "--output", str(tmp_path / "run")]
    )
    assert "epoch 0 (1/2)" in text and "\r" in text  # the bar, redrawn in place
    assert "test accuracy" in text and "Trained 2 epochs" in text
