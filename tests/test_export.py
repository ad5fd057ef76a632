"""``rpnkit export``: TorchScript and torch.export round trips for an RPN model and a plain MLP."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest
import torch

import rpnkit
from rpnkit.inference.export import export_run
from tests.inference_runs import rpnkit as run_cli
from tests.inference_runs import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train(tmp_path_factory.mktemp("export"))


def _raw(rows: int) -> torch.Tensor:
    return torch.rand(rows, 3, generator=torch.Generator().manual_seed(rows)) * 10


@pytest.mark.parametrize(
    ("fmt", "name"), [("torchscript", "model.torchscript.pt"), ("exported-program", "model.pt2")]
)
def test_an_rpn_run_exports_and_reloads(trained: Path, tmp_path: Path, fmt: str, name: str) -> None:
    out = tmp_path / name
    done = run_cli(tmp_path, "export", str(trained), "--format", fmt, "-o", str(out))
    assert done.returncode == 0, done.stderr
    run = rpnkit.load_run(trained)
    x = _raw(5)
    if fmt == "torchscript":
        loaded = torch.jit.load(str(out))
    else:
        loaded = torch.export.load(str(out)).module()
    expected = run.outputs(x)  # the exported module takes raw features, standardised inside
    assert torch.allclose(loaded(x), expected, rtol=1e-4, atol=1e-5)


def test_a_plain_mlp_exports(trained: Path, tmp_path: Path) -> None:
    run = rpnkit.load_run(trained)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    plain = dataclasses.replace(run, model=mlp.eval())
    for fmt in ("torchscript", "exported-program"):
        result = export_run(plain, fmt, tmp_path / f"mlp.{fmt}")
        assert result.path.is_file() and result.max_difference < 1e-5


def test_a_model_that_cannot_be_traced_is_one_line(trained: Path, tmp_path: Path) -> None:
    class ValueBranch(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if float(x.sum()) > 0 else x  # control flow on a value

    run = dataclasses.replace(rpnkit.load_run(trained), model=ValueBranch())
    with pytest.raises(rpnkit.RpnkitError, match="cannot be exported as exported-program"):
        export_run(run, "exported-program", tmp_path / "x.pt2")
    assert not (tmp_path / "x.pt2").exists()


def test_unknown_format(trained: Path, tmp_path: Path) -> None:
    done = run_cli(tmp_path, "export", str(trained), "--format", "torchscrpt")
    assert done.returncode == 2 and "did you mean 'torchscript'" in done.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason="onnx and onnxruntime (the onnx extra) are not installed",
)
def test_onnx_round_trip(trained: Path, tmp_path: Path) -> None:
    result = export_run(rpnkit.load_run(trained), "onnx", tmp_path / "model.onnx")
    assert result.path.is_file() and result.max_difference < 1e-4
