"""The learning-rate range test: ``BackwardLearner.lr_find`` and ``rpnkit lr-find``."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from torch import Tensor, nn

from rpnkit import BackwardLearner, build
from rpnkit.errors import ConfigError
from rpnkit.learner.lr_finder import suggest
from rpnkit.run.config import load_config
from tests.conftest import run_rpnkit


def _setup() -> tuple[nn.Module, Any]:
    torch.manual_seed(0)
    data = build("dataset", "iris", batch_size=16)
    model = build("model", "rpn", layers=[{"m": 4, "n": 3}])
    return model, data


def test_the_ramp_is_exponential_and_the_suggestion_lies_on_it() -> None:
    model, data = _setup()
    result = BackwardLearner(verbose=False).lr_find(model, data, min_lr=1e-5, max_lr=1.0, steps=30)
    assert len(result.lrs) == len(result.losses) == len(result.raw_losses) <= 30
    assert result.lrs[0] == pytest.approx(1e-5)
    ratios = [b / a for a, b in zip(result.lrs, result.lrs[1:], strict=False)]
    assert ratios == pytest.approx([ratios[0]] * len(ratios))
    assert result.suggestion in result.lrs


def test_model_optimizer_and_random_state_are_restored() -> None:
    model, data = _setup()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    learner = BackwardLearner(optimizer=optimizer, verbose=False)
    learner.train(model, data)  # the optimizer now has moments to restore
    model.eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    moments = {k: v["exp_avg"].clone() for k, v in optimizer.state_dict()["state"].items()}
    rng = torch.get_rng_state()
    learner.lr_find(model, data, steps=20, max_lr=100.0)
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    state = optimizer.state_dict()
    assert all(torch.equal(moments[k], v["exp_avg"]) for k, v in state["state"].items())
    assert state["param_groups"][0]["lr"] == 3e-3
    assert not model.training
    assert torch.equal(torch.get_rng_state(), rng)


def test_a_diverging_loss_stops_the_test_early() -> None:
    model, data = _setup()
    learner = BackwardLearner(optimizer="sgd", verbose=False)
    result = learner.lr_find(model, data, min_lr=1e-3, max_lr=1e6, steps=100)
    assert len(result.lrs) < 100
    assert "stopped at step" in result.stop_reason
    best = min(result.losses[:-1])
    assert result.losses[-1] > 4 * best or not math.isfinite(result.raw_losses[-1])
    assert result.suggestion is None or result.suggestion < result.lrs[-1]


class NanAfter(nn.Module):
    """Cross entropy that becomes NaN from its ``n``-th call on."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def forward(self, output: Tensor, labels: Tensor) -> Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(output, labels)
        return loss * math.nan if self.calls > self.n else loss


def test_a_non_finite_loss_stops_the_test() -> None:
    model, data = _setup()
    result = BackwardLearner(loss=NanAfter(12), verbose=False).lr_find(model, data, steps=50)
    assert len(result.lrs) == 13
    assert "not finite" in result.stop_reason


def test_the_suggestion_is_the_steepest_descent_of_the_curve() -> None:
    lrs = [10 ** (-6 + 6 * i / 99) for i in range(100)]
    centre = math.log(1e-3)
    losses = [1 - math.tanh(2 * (math.log(lr) - centre)) for lr in lrs]
    assert suggest(lrs, losses) == pytest.approx(1e-3, rel=0.2)
    assert suggest(lrs[:3], losses[:3]) is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"min_lr": 1.0, "max_lr": 0.1}, "min_lr=1 must be below max_lr=0.1"),
        ({"steps": 1}, "steps=1 is not valid"),
        ({"smoothing": 1.0}, "smoothing=1.0 is not valid"),
        ({"diverge": 1.0}, "diverge=1.0 is not valid"),
    ],
)
def test_bad_arguments_are_one_line_errors(options: dict[str, Any], message: str) -> None:
    model, data = _setup()
    with pytest.raises(ConfigError, match=re.escape(message)):
        BackwardLearner(verbose=False).lr_find(model, data, **options)


def test_plot_draws_the_curve() -> None:
    pytest.importorskip("matplotlib")
    model, data = _setup()
    result = BackwardLearner(verbose=False).lr_find(model, data, steps=20)
    ax = result.plot()
    assert ax.get_xscale() == "log" and len(ax.lines) >= 2


CONFIG = {
    "seed": 0,
    "data": {"name": "iris", "parameters": {"batch_size": 16}},
    "model": {"name": "rpn", "parameters": {"layers": [{"m": 4, "n": 3}]}},
    "learner": {"n_epochs": 1},
}


@pytest.mark.parametrize(
    "optimizer", [{"name": "adam", "parameters": {"lr": 0.01}}, "sgd", None], ids=str
)
@pytest.mark.e2e
def test_cli_prints_a_set_line_that_trains_with_the_suggestion(
    tmp_path: Path, optimizer: Any
) -> None:
    pytest.importorskip("matplotlib")
    learner = {**CONFIG["learner"], **({"optimizer": optimizer} if optimizer else {})}
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({**CONFIG, "learner": learner}))
    image = tmp_path / "lr.png"
    done = run_rpnkit("lr-find", str(config), "-o", str(image), "--steps", "30")
    assert done.returncode == 0, done.stderr
    assert image.read_bytes().startswith(b"\x89PNG")
    suggested = re.search(r"suggested learning rate: (\S+)", done.stdout)
    assert suggested is not None, done.stdout
    overrides = re.findall(r"--set (\S+)", done.stdout)
    assert f"learner.optimizer.parameters.lr={suggested[1]}" in overrides
    loaded = load_config(config, overrides)
    assert loaded.optimizer is not None
    assert loaded.optimizer["parameters"]["lr"] == float(suggested[1])
    expected = optimizer["name"] if isinstance(optimizer, dict) else optimizer or "adamw"
    assert loaded.optimizer["name"] == expected


def test_cli_refuses_a_bad_range_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    done = run_rpnkit("lr-find", str(config), "--min-lr", "1", "--max-lr", "0.1")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: min_lr=1 must be below max_lr=0.1"]


@pytest.mark.e2e
def test_cli_takes_the_config_flags_of_train(tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    done = run_rpnkit("lr-find", str(config), "--steps", "20", "--threads", "1", "--device", "cpu")
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("train with it: "))
    assert f"rpnkit train {config} --device cpu --threads 1 --set " in line
    bad = run_rpnkit("lr-find", str(config), "--threads", "0")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: threads=0 is not valid; expected an integer >= 1"
    ]
