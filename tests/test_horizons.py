"""Scheduler horizons follow the run: ``T_max: auto``, and one warning for a short horizon."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tests.conftest import run_rpnkit

IRIS = str(Path(__file__).resolve().parents[1] / "configs" / "iris.yaml")


def train(out: Path, n_epochs: int, scheduler: str, *extra: str) -> tuple[int, str]:
    done = run_rpnkit(
        "train", IRIS, "--output", str(out), "--quiet",
        "--set", f"learner.n_epochs={n_epochs}", "--set", f"learner.lr_scheduler={scheduler}",
        *extra,
    )  # fmt: skip
    return done.returncode, done.stderr


def lrs(out: Path) -> list[float]:
    return [row["lr"] for row in json.loads((out / "history.json").read_text())["history"]]


def test_a_cosine_horizon_shorter_than_the_run_warns_once(tmp_path: Path) -> None:
    code, stderr = train(tmp_path / "a", 6, "{name: cosine, parameters: {T_max: 2}}")
    assert code == 0, stderr
    warned = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1
    assert "T_max=2 is shorter than learner.n_epochs=6" in warned[0] and "auto" in warned[0]


def test_t_max_auto_follows_n_epochs_and_is_recorded(tmp_path: Path) -> None:
    out = tmp_path / "b"
    code, stderr = train(out, 6, "{name: cosine, parameters: {T_max: auto}}")
    assert code == 0 and "warning" not in stderr, stderr
    rates = lrs(out)
    assert rates == sorted(rates, reverse=True)  # one descent over the whole run
    expected = 0.01 * (1 + math.cos(math.pi * 5 / 6)) / 2
    assert math.isclose(rates[-1], expected, rel_tol=1e-6)
    assert "T_max: 6" in (out / "config.yaml").read_text()


def test_one_cycle_total_steps_auto_follows_the_run(tmp_path: Path) -> None:
    code, stderr = train(
        tmp_path / "c", 3, "{name: one_cycle, parameters: {max_lr: 0.05, total_steps: auto}}",
        "--set", "learner.lr_scheduler_interval=step",
    )  # fmt: skip
    assert code == 0, stderr


def test_t_max_auto_on_a_per_step_scheduler_is_refused(tmp_path: Path) -> None:
    code, stderr = train(
        tmp_path / "d", 3, "{name: cosine, parameters: {T_max: auto}}",
        "--set", "learner.lr_scheduler_interval=step",
    )  # fmt: skip
    assert code == 2 and "T_max: auto follows learner.n_epochs" in stderr
    assert not (tmp_path / "d").exists()
