"""``output.save_best`` and ``--checkpoint best|last`` through the ``rpnkit`` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
import yaml

CONFIG = {
    "seed": 0,
    "data": {"name": "digits", "parameters": {"batch_size": 64, "val_size": 0.2}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 64, "n": 10}]}},
    "learner": {
        "n_epochs": 6,
        "optimizer": {"name": "adamw", "parameters": {"lr": 0.3}},
    },
    "metric": "accuracy",
    "output": {"save_best": {"monitor": "val_accuracy", "mode": "max"}},
}


def rpnkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rpnkit", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_best_pt_holds_the_best_epochs_weights_and_the_commands_take_it(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    done = rpnkit("train", str(config), "--output", str(tmp_path / "run"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "run/history.json").read_text())["history"]
    scores = [row["val_score"] for row in history]
    best = scores.index(max(scores))
    assert best < len(history) - 1, "the test needs a best epoch before the last"
    assert f"Best weights kept from epoch {best}" in done.stdout

    # The same run stopped after its best epoch (keeping no best) ends with exactly the
    # weights of best.pt.
    short = rpnkit(
        "train", str(config), "--output", str(tmp_path / "short"),
        "--set", f"learner.n_epochs={best + 1}", "--set", "output.save_best=null", cwd=tmp_path,
    )  # fmt: skip
    assert short.returncode == 0, short.stderr
    kept = torch.load(tmp_path / "run/best.pt", weights_only=True)
    stopped = torch.load(tmp_path / "short/model.pt", weights_only=True)
    last = torch.load(tmp_path / "run/model.pt", weights_only=True)
    assert kept.keys() == stopped.keys()
    assert all(torch.equal(kept[k], stopped[k]) for k in kept)
    assert not all(torch.equal(kept[k], last[k]) for k in kept)

    # evaluate --checkpoint best measures those weights: the best epoch's test accuracy
    report = rpnkit("evaluate", "run", "--checkpoint", "best", "--json", cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    values = json.loads(report.stdout)["metrics"]
    assert abs(values["accuracy"] - history[best]["test_score"]) < 1e-9
    # ... and compares them with the best epoch's recorded test numbers, not the last's
    summary = json.loads((tmp_path / "run/history.json").read_text())
    assert summary["best"]["epoch"] == best and summary["best"]["monitor"] == "val_score"
    recorded = json.loads(report.stdout)["recorded"]
    assert recorded["accuracy"] == history[best]["test_score"] != history[-1]["test_score"]
    assert recorded["loss"] == history[best]["test_loss"]
    text = rpnkit("evaluate", "run", "--checkpoint", "best", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    accuracy = next(line for line in text.stdout.splitlines() if "accuracy" in line)
    shown = f"{history[best]['test_score']:.6g}"
    assert f"(recorded after epoch {best}, the best by val_score: {shown})" in accuracy
    last_report = rpnkit("evaluate", "run", "--json", cwd=tmp_path)  # model.pt: the last epoch
    assert last_report.returncode == 0, last_report.stderr
    last_json = json.loads(last_report.stdout)
    assert last_json["recorded"]["accuracy"] == history[-1]["test_score"]
    assert last_json["recorded_at"] == "the last epoch"
    assert abs(last_json["metrics"]["accuracy"] - last_json["recorded"]["accuracy"]) < 1e-9

    # plot --confusion draws a PNG of the run's test split
    plot = rpnkit("plot", "--confusion", "run", "--checkpoint", "best", "-o", "c.png", cwd=tmp_path)
    assert plot.returncode == 0, plot.stderr
    image = (tmp_path / "c.png").read_bytes()
    assert image.startswith(b"\x89PNG") and len(image) > 10_000
    assert "10 classes, 360 test samples" in plot.stdout

    # a run without save_best has no best.pt: one line saying how to get one
    missing = rpnkit("evaluate", "short", "--checkpoint", "best", cwd=tmp_path)
    assert missing.returncode != 0
    assert "has no best.pt" in missing.stderr and "Traceback" not in missing.stderr


def test_a_bad_save_best_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "output": {"save_best": {"monitr": "val_loss"}}}))
    done = rpnkit("validate", str(config), cwd=tmp_path)
    assert done.returncode != 0
    assert "output.save_best has no key 'monitr'" in done.stderr
    assert "did you mean 'monitor'" in done.stderr and "Traceback" not in done.stderr
