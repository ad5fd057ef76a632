"""Exact mid-epoch resume: checkpoints every N steps, a run killed anywhere ends bit for bit
like one that never stopped (one process and two gloo processes); plugin failures in training
hooks and broken checkpoint files are one clean line."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from rpnkit import hookimpl
from rpnkit.data import BatchLoader
from rpnkit.errors import ConfigError
from rpnkit.learner import BackwardLearner, TrainContext
from rpnkit.learner.checkpoint import load_checkpoint
from rpnkit.plugins.state import get_plugin_manager
from rpnkit.run.config import normalize_config
from tests.conftest import run_rpnkit

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

CONFIG = """
seed: 0
data: {name: iris, parameters: {batch_size: 10, test_size: 0.3, seed: 0}}
model: {name: mlp, parameters: {dims: [4, 16, 3], p: 0.3}}
learner: {n_epochs: 20, optimizer: {name: adamw, parameters: {lr: 0.01}}}
metric: accuracy
output: {checkpoints: {every_n_steps: 3}}
"""


# -- the Python API ------------------------------------------------------------------------------
def data(kind: str) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(60, 6, generator=generator)
    y = (x[:, 0] + x[:, 1] > 0).long()
    train, test = TensorDataset(x[:44], y[:44]), TensorDataset(x[44:], y[44:])
    if kind == "batch-loader":
        return {
            "train_loader": BatchLoader(train, 8, shuffle=True, seed=5),
            "test_loader": BatchLoader(test, 8),
        }
    own = torch.Generator().manual_seed(7) if kind == "loader-generator" else None
    return {
        "train_loader": DataLoader(train, batch_size=8, shuffle=True, generator=own),
        "test_loader": DataLoader(test, batch_size=8),
    }


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.3), nn.ReLU(), nn.Linear(16, 2))


def learner(**kwargs: Any) -> BackwardLearner:
    kwargs.setdefault("n_epochs", 3)
    return BackwardLearner(
        optimizer_configs={"name": "adamw", "parameters": {"lr": 0.02}},
        lr_scheduler_configs={"name": "onecycle", "parameters": {"max_lr": 0.05}},
        verbose=False,
        progress_every=1,
        batch_scores=True,
        **kwargs,
    )


class InterruptAt:
    """Ctrl-C at training step ``step`` (``rpnkit_progress``), or after epoch ``epoch``'s
    training and test passes, before its end-of-epoch checkpoint."""

    def __init__(self, step: int | None = None, epoch: int | None = None) -> None:
        self.step, self.epoch = step, epoch

    @hookimpl
    def rpnkit_progress(self, context: TrainContext, step: int, loss: float, lr: float) -> None:
        if context.step == self.step:
            raise KeyboardInterrupt

    @hookimpl
    def rpnkit_epoch_end(self, context: TrainContext) -> None:
        if context.epoch == self.epoch:
            raise KeyboardInterrupt


def without_seconds(history: list[dict[str, float]]) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def batch_losses(record: Any) -> list[float]:
    return [b["loss"] for e in sorted(record["training"]) for b in record["training"][e]["batch_records"].values()]  # fmt: skip


@pytest.mark.parametrize("kind", ["batch-loader", "loader-generator", "global-rng"])
def test_a_run_interrupted_at_any_step_resumes_to_the_uninterrupted_result(kind: str) -> None:
    metrics = ["accuracy", "f1"]
    reference = model()
    full = learner().train(reference, data(kind), metric=metrics)
    # 6 steps per epoch (44 samples in batches of 8); saved every 2 steps
    for stop in (InterruptAt(step=5), InterruptAt(step=10), InterruptAt(epoch=0)):
        directory = tempfile.mkdtemp()
        get_plugin_manager().register(stop)
        try:
            with pytest.raises(KeyboardInterrupt):
                learner(checkpoint_dir=directory, checkpoint_every_n_steps=2).train(
                    model(), data(kind), metric=metrics
                )
        finally:
            get_plugin_manager().unregister(stop)
        position = load_checkpoint(directory)["position"]
        assert 0 < position["batches"] <= 6
        torch.manual_seed(999)  # the checkpoint's random states win
        resumed = model()
        record = learner(resume=directory).train(resumed, data(kind), metric=metrics)
        assert min(record["training"]) == position["epoch"]
        for name, value in reference.state_dict().items():
            assert torch.equal(value, resumed.state_dict()[name]), (kind, name)
        assert without_seconds(record["history"]) == without_seconds(full["history"])
        assert batch_losses(record) == batch_losses(full)[-len(batch_losses(record)) :]


def test_checkpoints_every_n_steps_record_the_position(tmp_path: Path) -> None:
    seen: list[dict[str, int]] = []

    class Watch:
        @hookimpl
        def rpnkit_progress(self, context: TrainContext, step: int, loss: float, lr: float) -> None:
            if (tmp_path / "last.pt").is_file():
                seen.append(load_checkpoint(tmp_path)["position"])

    learner(checkpoint_dir=tmp_path, checkpoint_every_n_steps=4, callbacks=[Watch()]).train(
        model(), data("batch-loader")
    )
    assert {"epoch": 0, "batches": 4} in seen and {"epoch": 1, "batches": 2} in seen
    final = load_checkpoint(tmp_path)
    assert final["position"] == {"epoch": 3, "batches": 0} and final["step"] == 18


def test_checkpoint_every_n_steps_is_checked() -> None:
    with pytest.raises(ConfigError, match="checkpoint_every_n_steps=3 needs checkpoint_dir"):
        BackwardLearner(checkpoint_every_n_steps=3)
    with pytest.raises(ConfigError, match="checkpoint_every_n_steps"):
        BackwardLearner(checkpoint_dir="x", checkpoint_every_n_steps=0)


@pytest.mark.parametrize(
    ("value", "shown"),
    [({"every_n_steps": 0}, "every_n_steps=0"), ("often", "'often'"), ({"every": 3}, "every")],
)
def test_output_checkpoints_takes_true_false_or_every_n_steps(value: object, shown: str) -> None:
    raw = {"data": "iris", "model": "rpn", "output": {"checkpoints": value}}
    with pytest.raises(ConfigError, match=r"output\.checkpoints") as info:
        normalize_config(raw)
    assert shown in str(info.value) and "\n" not in str(info.value)
    for accepted in (True, False, {"every_n_steps": 5}):
        raw["output"] = {"checkpoints": accepted}
        assert normalize_config(raw).output["checkpoints"] == accepted


def test_a_truncated_checkpoint_is_named_in_one_line(tmp_path: Path) -> None:
    learner(n_epochs=1, checkpoint_dir=tmp_path).train(model(), data("batch-loader"))
    whole = (tmp_path / "last.pt").read_bytes()
    for size in (0, 100, len(whole) // 2, len(whole) - 10):
        (tmp_path / "last.pt").write_bytes(whole[:size])
        with pytest.raises(ConfigError, match="is truncated or corrupt") as info:
            load_checkpoint(tmp_path)
        message = str(info.value)
        assert "last.pt" in message and "\n" not in message and "Errno" not in message


# -- the command line, killed with SIGKILL ----------------------------------------------------------
def environment() -> dict[str, str]:
    loopback = next(name for _, name in socket.if_nameindex() if name.startswith("lo"))
    return {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": loopback}


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and every process below it (torchrun's workers too)."""
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    for child in found.stdout.split():
        kill_tree(int(child))
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def train(config: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rpnkit", "train", str(config), "--quiet", *extra]
    return subprocess.run(
        [*command, "--output", str(out)],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=600,
    )


def killed_mid_epoch(config: Path, out: Path, *extra: str) -> dict[str, int]:
    """Start a run, SIGKILL it once a checkpoint inside epoch 1 or later exists."""
    command = [sys.executable, "-m", "rpnkit", "train", str(config), "--quiet", *extra]
    process = subprocess.Popen(
        [*command, "--output", str(out)], env=environment(), stderr=subprocess.DEVNULL
    )
    checkpoint = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if checkpoint.is_file():
                position = load_checkpoint(checkpoint)["position"]
                if position["epoch"] >= 1 and position["batches"] > 0:
                    kill_tree(process.pid)
                    break
            time.sleep(0.01)
    finally:
        kill_tree(process.pid)
        process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not (out / "model.pt").exists()
    return dict(load_checkpoint(checkpoint)["position"])


def same_run(resumed: Path, uninterrupted: Path) -> None:
    weights = torch.load(resumed / "model.pt", weights_only=True)
    expected = torch.load(uninterrupted / "model.pt", weights_only=True)
    assert weights.keys() == expected.keys()
    assert all(torch.equal(weights[k], expected[k]) for k in expected)
    history = json.loads((resumed / "history.json").read_text())
    assert "partial" not in history
    reference = json.loads((uninterrupted / "history.json").read_text())["history"]
    assert without_seconds(history["history"]) == without_seconds(reference)


@pytest.mark.parametrize("processes", [1, 2], ids=["one-process", "ddp-gloo-2"])
def test_a_killed_run_resumed_from_the_cli_ends_bit_for_bit_like_an_uninterrupted_one(
    tmp_path: Path, processes: int
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG)
    launch = ["--nproc-per-node", "2"] if processes == 2 else []
    done = train(config, tmp_path / "whole", *launch)
    assert done.returncode == 0, done.stderr[-3000:]

    out = tmp_path / "killed"
    killed_mid_epoch(config, out, *launch)
    assert (out / "config.yaml").is_file()  # written before training: a killed run says what ran
    # the one resume form: the run's own config, no CONFIG
    resumed = subprocess.run(
        [sys.executable, "-m", "rpnkit", "train", "--resume", str(out), "--quiet", *launch],
        capture_output=True, text=True, env=environment(), timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    said = [line for line in resumed.stderr.splitlines() if line.startswith("resuming from")]
    assert len(said) == 1 and "last.pt: epoch " in said[0] and ", batch " in said[0]
    same_run(out, tmp_path / "whole")
    assert not list(out.rglob("*.rpnkit-tmp"))


def test_resume_refuses_a_missing_path_a_finished_run_and_another_model(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.replace("n_epochs: 20", "n_epochs: 2"))
    missing = run_rpnkit("train", str(config), "--resume", str(tmp_path / "nothing"))
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"error: --resume {str(tmp_path / 'nothing')!r} does not exist; give a run's output "
        "directory"
    ]
    out = tmp_path / "run"
    assert train(config, out).returncode == 0
    finished = run_rpnkit("train", str(config), "--resume", str(out))
    lines = finished.stderr.strip().splitlines()
    assert finished.returncode == 2 and len(lines) == 1 and "already finished" in lines[0]
    assert f"`rpnkit train --resume {out} --set learner.n_epochs=N` with N > 2" in lines[0]
    wider = run_rpnkit(
        "train", str(config), "--resume", str(out), "--quiet",
        "--set", "learner.n_epochs=3", "--set", "model.parameters.dims=[4, 32, 3]",
    )  # fmt: skip
    errors = [line for line in wider.stderr.splitlines() if line.startswith("error:")]
    assert wider.returncode == 2 and len(errors) == 1
    assert "other settings of model.parameters.dims.1;" in errors[0]
    assert f"`rpnkit train --resume {out}`" in errors[0]


def test_resume_refuses_a_config_or_set_that_trains_something_else(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.replace("n_epochs: 20", "n_epochs: 2"))
    out = tmp_path / "run"
    first = run_rpnkit(
        "train", str(config), "--output", str(out), "--quiet",
        "--set", "data.parameters.batch_size=5", "--set", "learner.optimizer.parameters.lr=0.003",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "batch_size: 5" in (out / "config.yaml").read_text()  # the effective config
    # the CONFIG without the run's --set differs in the batch size and the lr: refused
    mixed = run_rpnkit("train", str(config), "--resume", str(out), "--set", "learner.n_epochs=3")
    lines = mixed.stderr.strip().splitlines()
    assert mixed.returncode == 2 and len(lines) == 1, mixed.stderr
    assert (
        "other settings of data.parameters.batch_size, learner.optimizer.parameters.lr;" in lines[0]
    )
    for change in ("model.parameters.p=0.1", "seed=3", "learner.loss=nll"):
        refused = run_rpnkit("train", "--resume", str(out), "--set", change)
        assert refused.returncode == 2 and change.partition("=")[0] in refused.stderr
    # extending the finished run is the one allowed change, and continues it
    longer = run_rpnkit("train", "--resume", str(out), "--quiet", "--set", "learner.n_epochs=3")
    assert longer.returncode == 0, longer.stderr
    history = json.loads((out / "history.json").read_text())["history"]
    assert [row["epoch"] for row in history] == [0, 1, 2]
    assert "n_epochs: 3" in (out / "config.yaml").read_text()


def test_extending_a_run_whose_scheduler_has_a_fixed_horizon_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    schedule = "lr_scheduler: {name: cosine, parameters: {T_max: 2}}, "
    config.write_text(CONFIG.replace("n_epochs: 20, ", f"n_epochs: 2, {schedule}"))
    out = tmp_path / "run"
    assert train(config, out).returncode == 0
    longer = run_rpnkit("train", "--resume", str(out), "--set", "learner.n_epochs=4")
    lines = longer.stderr.strip().splitlines()
    assert longer.returncode == 2 and len(lines) == 1
    assert "lr_scheduler 'cosine' (T_max=2) was laid out for 2 epochs" in lines[0]


def test_resume_without_config_needs_a_run_with_its_config(tmp_path: Path) -> None:
    bare = run_rpnkit("train")
    assert bare.returncode == 2 and "train needs a CONFIG file, or --resume RUN" in bare.stderr


# -- a plugin raising in a training hook ------------------------------------------------------------
FAILING_PLUGIN = """
from rpnkit import hookimpl

@hookimpl
def rpnkit_epoch_end(context):
    if context.epoch == 2:
        raise RuntimeError("the tracker lost its connection")
"""


def test_a_plugin_raising_in_a_hook_stops_training_after_saving_what_was_learned(
    tmp_path: Path, make_distribution: Callable[..., Path]
) -> None:
    site = make_distribution(
        "tmp-tracker", {"tracker": "tmp_tracker_plugin"}, {"tmp_tracker_plugin": FAILING_PLUGIN}
    )
    config = tmp_path / "run.yaml"
    config.write_text(CONFIG.replace("output: {checkpoints: {every_n_steps: 3}}", ""))
    out = tmp_path / "run"
    done = run_rpnkit("train", str(config), "--quiet", "--output", str(out), pythonpath=site)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    message = lines[0]
    assert message.startswith("error: plugin 'tracker' (distribution 'tmp-tracker')")
    assert "hook rpnkit_epoch_end" in message and "the tracker lost its connection" in message
    assert f"--resume {out}" in message
    history = json.loads((out / "history.json").read_text())
    assert history["partial"] is True and len(history["history"]) == 2
    assert load_checkpoint(out / "checkpoints")["position"] == {"epoch": 2, "batches": 0}
    assert (out / "model.pt").is_file()
