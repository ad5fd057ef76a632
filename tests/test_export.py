"""``rpnkit export``: TorchScript, ``torch.export`` and ONNX files that reproduce the model."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import Tensor

import rpnkit
from tests.conftest import run_rpnkit
from tests.trained_runs import features, rpn_layers, train, write_colours

# real rpnkit processes (train, kill, resume): the end-to-end suite, `pytest -m e2e`
pytestmark = pytest.mark.e2e

TINY_MLP = '''
from torch import nn


class TinyMLP(nn.Sequential):
    """A plain two-layer perceptron, no RPN."""

    def __init__(self, in_features: int = 3, hidden: int = 8, out_features: int = 3) -> None:
        super().__init__(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out_features)
        )
'''


@pytest.fixture(scope="module")
def rpn_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-epoch RPN (gaussian RBF + low-rank, then Taylor d=2) trained through the CLI."""
    folder = tmp_path_factory.mktemp("rpn")
    data = write_colours(folder / "colours.csv")
    return train(folder, data, "colour", {"name": "rpn", "parameters": {"layers": rpn_layers(3)}})


@pytest.fixture(scope="module")
def mlp_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain ``torch.nn`` model, named by its dotted path, trained through the CLI."""
    folder = tmp_path_factory.mktemp("mlp")
    (folder / "tiny_mlp.py").write_text(TINY_MLP)
    data = write_colours(folder / "colours.csv")
    model = {"name": "tiny_mlp.TinyMLP", "parameters": {"hidden": 8}}
    return train(folder, data, "colour", model, pythonpath=folder)


def _reload(format: str, path: Path) -> Callable[[Tensor], Tensor]:
    if format == "torchscript":
        return torch.jit.load(str(path))  # type: ignore[no-any-return]
    if format == "exported-program":
        return torch.export.load(str(path)).module()  # type: ignore[no-any-return]
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda x: torch.from_numpy(session.run(None, {"features": x.numpy()})[0])


FORMATS = [
    "torchscript",
    "exported-program",
    pytest.param(
        "onnx",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("onnx") is None
            or importlib.util.find_spec("onnxruntime") is None,
            reason="onnx and onnxruntime are not installed (the onnx extra)",
        ),
    ),
]


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("kind", ["rpn", "mlp"])
def test_an_export_reloads_and_matches_the_model(
    kind: str,
    format: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run: Path = request.getfixturevalue(f"{kind}_run")
    pythonpath = run.parent if kind == "mlp" else None
    if pythonpath is not None:
        monkeypatch.syspath_prepend(str(pythonpath))
    out = tmp_path / f"model.{format}"
    trust = ("--trust-code",) if pythonpath is not None else ()
    done = run_rpnkit(
        "export", str(run), "--format", format, "-o", str(out), *trust, pythonpath=pythonpath
    )
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout and "reloaded" in done.stdout
    exported = _reload(format, out)
    # raw features, a batch size the export never saw: the standardisation is inside
    x = torch.from_numpy(features(5, seed=3)).float()
    with rpnkit.trusted_code():
        expected = rpnkit.load_run(run).predict(x).outputs
    with torch.no_grad():
        got = exported(x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_export_writes_into_the_run_by_default(rpn_run: Path) -> None:
    done = run_rpnkit("export", str(rpn_run), "--format", "torchscript")
    assert done.returncode == 0, done.stderr
    assert (rpn_run / "model.torchscript.pt").is_file()
    (rpn_run / "model.torchscript.pt").unlink()  # the run is shared by the module's tests


def test_an_unknown_format_is_refused_with_a_suggestion(rpn_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.pt"
    done = run_rpnkit("export", str(rpn_run), "--format", "torchscrpt", "-o", str(out))
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: --format 'torchscrpt'")
    assert "did you mean 'torchscript'" in line and "exported-program" in line
    assert not out.exists()


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is not None
    and importlib.util.find_spec("onnxruntime") is not None,
    reason="onnx is installed",
)
def test_onnx_without_the_extra_says_how_to_install(rpn_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    done = run_rpnkit("export", str(rpn_run), "--format", "onnx", "-o", str(out))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "pip install 'rpnkit[onnx]'" in line
    assert not out.exists()


def test_export_run_in_python_leaves_the_run_usable(rpn_run: Path, tmp_path: Path) -> None:
    from rpnkit.errors import ConfigError
    from rpnkit.inference import export_run

    run = rpnkit.load_run(rpn_run)
    x = torch.from_numpy(features(4, seed=9)).float()
    before = run.predict(x).outputs
    result = export_run(run, "exported-program", tmp_path / "m.pt2")
    assert result.path.is_file() and result.max_difference < 1e-4
    torch.testing.assert_close(run.predict(x).outputs, before)
    with pytest.raises(ConfigError, match="is a directory"):
        export_run(run, "torchscript", tmp_path)
