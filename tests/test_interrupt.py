"""Ctrl-C or SIGTERM during `rpnkit train` keeps what was learned, and the run resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

CONFIG = """
seed: 0
data: {name: digits, parameters: {batch_size: 64}}
model: {name: rpn, parameters: {layers: [{m: 64, n: 10}]}}
learner: {n_epochs: 500, optimizer: {name: adam, parameters: {lr: 0.01}}}
metric: accuracy
"""


ENV = {**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def train_until_epoch(tmp_path: Path, out: Path, epochs: int) -> subprocess.Popen[str]:
    """``rpnkit train`` of a long run into ``out``, once it has printed ``epochs`` epochs."""
    config = tmp_path / "long.yaml"
    config.write_text(CONFIG)
    process = subprocess.Popen(
        [sys.executable, "-m", "rpnkit", "train", str(config), "--output", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert process.stdout is not None
    rows = 0
    for line in process.stdout:  # plain table rows: "  epoch ..." header, then one per epoch
        if line.split() and line.split()[0].isdigit():
            rows += 1
            if rows == epochs:
                break
    return process


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_keeps_history_model_and_checkpoint(tmp_path: Path, sig: int) -> None:
    out = tmp_path / "run"
    process = train_until_epoch(tmp_path, out, 3)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    message = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "training interrupted after" in message[0]
    assert f"resume with `rpnkit train --resume {out}`" in message[0]
    summary = json.loads((out / "history.json").read_text())
    assert summary["partial"] is True
    completed = len(summary["history"])
    assert completed >= 3
    assert [row["epoch"] for row in summary["history"]] == list(range(completed))
    checkpoint = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["epoch"] == completed - 1
    weights = torch.load(out / "model.pt", weights_only=True)
    assert all(torch.equal(weights[k], checkpoint["model"][k]) for k in weights)
    assert not list(out.rglob("*.rpnkit-tmp"))

    resumed = subprocess.run(  # the printed form, shortened by one --set
        [
            sys.executable, "-m", "rpnkit", "train", "--resume", str(out), "--quiet",
            "--set", f"learner.n_epochs={completed + 1}",
        ],
        capture_output=True, text=True, env=ENV, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    history = json.loads((out / "history.json").read_text())
    assert "partial" not in history
    assert [row["epoch"] for row in history["history"]] == list(range(completed + 1))


def test_interrupts_repeated_while_it_saves_do_not_cut_the_save_short(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = train_until_epoch(tmp_path, out, 2)
    # a burst of about 40 ms: SIGTERM, then Ctrl-C and SIGTERM again and again while it stops
    # and keeps what it learned (over well before the process ends: torch's teardown alone
    # takes longer, and a signal after the command has returned is the process's to die of)
    for i in range(30):
        process.send_signal(signal.SIGTERM if i % 2 == 0 else signal.SIGINT)
        time.sleep(0.001)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    message = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(message) == 1 and "training interrupted after" in message[0], stderr
    summary = json.loads((out / "history.json").read_text())
    assert summary["partial"] is True and len(summary["history"]) >= 2
    weights = torch.load(out / "model.pt", weights_only=True)
    assert weights and not list(out.rglob("*.rpnkit-tmp"))
