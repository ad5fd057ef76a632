"""The installed plugin registers the catalog lazily and its metrics build by name."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from rpnkit_torchmetrics.catalog import CATALOG

from rpnkit import build
from rpnkit.cli import main
from rpnkit.metrics import Metric


def test_listing_imports_neither_torchmetrics_nor_torch() -> None:
    code = (
        "import json, sys\n"
        "from rpnkit.cli import main\n"
        "assert main(['list', 'metric', '--json']) == 0\n"
        "print(json.dumps(sorted(m for m in ('torch', 'torchmetrics') if m in sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    listing, _, imported = result.stdout.rstrip().rpartition("\n")
    assert json.loads(imported) == []
    rows = {row["name"]: row for row in json.loads(listing)["metric"]}
    for entry in CATALOG:
        assert rows[entry.name]["plugin"] == "torchmetrics"
        assert rows[entry.name]["target"] == f"rpnkit_torchmetrics.metrics:{entry.class_name}"
        assert rows[entry.name]["aliases"] == list(entry.aliases)


def test_plugin_is_loaded_from_its_distribution(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["torchmetrics"]["status"] == "loaded"
    assert records["torchmetrics"]["distribution"] == "rpnkit-torchmetrics"


def test_show_gives_the_torchmetrics_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "tm.f1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "metric/tm.f1_score" in out
    assert "rpnkit_torchmetrics.metrics:F1Score" in out
    assert "F1Score(*, task=None," in out
    for parameter in ("num_classes", "average", "zero_division"):
        assert f"parameter: {parameter} " in out  # plain text in a pipe


@pytest.mark.parametrize(
    "spec",
    [
        "tm.accuracy",
        "TM.Accuracy",
        {"name": "tm.accuracy", "parameters": {"task": "multiclass", "num_classes": 4}},
        {"metric_class": "tm.accuracy", "metric_parameters": {"num_classes": 4}},
    ],
)
def test_builds_by_name_alias_and_config(spec: object) -> None:
    metric = build("metric", spec)
    assert isinstance(metric, Metric)
    assert (metric.name, metric.higher_is_better) == ("tm.accuracy", True)


def test_aliases_and_keyword_arguments_reach_torchmetrics() -> None:
    torch.manual_seed(0)
    ours, builtin = build("metric", "tm.mse", squared=False), build("metric", "rmse")
    assert ours.name == "tm.mean_squared_error"
    y_score, y_true = torch.randn(32, 1), torch.randn(32)
    ours.update(y_score, y_true)
    builtin.update(y_score, y_true)
    torch.testing.assert_close(ours.compute(), builtin.compute(), atol=1e-6, rtol=0)
