"""Export a run's model as TorchScript, a ``torch.export`` program or ONNX, checked on reload.

The exported module takes raw features, as ``rpnkit predict`` does: the run's
standardisation is part of it (:class:`Standardised`), and it returns the model's raw outputs
(class scores or values). Every export is saved, loaded back and compared with the eager
model on two sample batches of different sizes (which also catches a batch size baked into
the graph); the file is written only when they agree. What a format cannot capture (Python
control flow on values, an unsupported operator) is a one-line
:class:`~rpnkit.errors.ConfigError` naming the format and the first line of torch's reason.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from rpnkit.atomic import atomic_open
from rpnkit.errors import ConfigError, did_you_mean
from rpnkit.inference.run import LoadedRun

__all__ = ["DEFAULT_FILES", "FORMATS", "ExportResult", "Standardised", "export_run"]

#: The export formats and the file each writes by default in the run directory.
DEFAULT_FILES: dict[str, str] = {
    "torchscript": "model.torchscript.pt",
    "exported-program": "model.pt2",
    "onnx": "model.onnx",
}
FORMATS: tuple[str, ...] = tuple(DEFAULT_FILES)
_SAMPLE_ROWS = (8, 3)


class Standardised(nn.Module):
    """``model((x - mean) / std) * out_std + out_mean``: raw features in, the target's units out.

    ``out_mean`` / ``out_std`` undo a regression run's ``standardize_target`` (0 and 1, an
    identity, for every other run).
    """

    mean: Tensor
    std: Tensor
    out_mean: Tensor
    out_std: Tensor

    def __init__(
        self,
        model: nn.Module,
        mean: Tensor,
        std: Tensor,
        out_mean: Tensor | None = None,
        out_std: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        self.register_buffer("out_mean", torch.zeros(()) if out_mean is None else out_mean)
        self.register_buffer("out_std", torch.ones(()) if out_std is None else out_std)

    def forward(self, x: Tensor) -> Tensor:
        """The model's outputs for raw features ``x`` of shape ``(n, in_features)``."""
        return self.model((x - self.mean) / self.std) * self.out_std + self.out_mean


@dataclass(frozen=True)
class ExportResult:
    """A written export: ``path``, ``format`` and the largest output difference found."""

    path: Path
    format: str
    max_difference: float


def export_run(
    run: LoadedRun,
    format: str,
    path: str | os.PathLike[str] | None = None,
    *,
    rtol: float = 1e-4,
    atol: float = 1e-5,
) -> ExportResult:
    """Export ``run``'s model to ``path`` (default: ``DEFAULT_FILES[format]`` in the run).

    Parameters
    ----------
    run
        A run from :func:`~rpnkit.inference.load_run`.
    format
        ``"torchscript"`` (traced), ``"exported-program"`` (``torch.export``, batch size
        dynamic) or ``"onnx"`` (the ``onnx`` extra; checked with onnxruntime).
    path
        The file to write, atomically.
    rtol, atol
        How closely the reloaded export must match the eager model.

    Raises
    ------
    ConfigError
        For an unknown format, a format the model cannot be exported in, a missing extra,
        or a reloaded export whose outputs differ from the model's.
    """
    if format not in FORMATS:
        raise ConfigError(
            f"--format {format!r} is not valid{did_you_mean(format, FORMATS)}; valid: "
            f"{', '.join(FORMATS)}"
        )
    target = Path(path) if path is not None else run.run_dir / DEFAULT_FILES[format]
    if target.is_dir():
        raise ConfigError(f"-o {str(target)!r} is a directory; give a file name")
    try:
        return _export(run, format, target, rtol, atol)
    finally:
        run.model.to(run.device)  # exports are made, and checked, on the CPU


def _export(run: LoadedRun, format: str, target: Path, rtol: float, atol: float) -> ExportResult:
    module = _standardised(run).to("cpu").eval()
    samples = [_sample(run, rows, seed) for seed, rows in enumerate(_SAMPLE_ROWS)]
    exporter, runner = {
        "torchscript": (_torchscript, _load_torchscript),
        "exported-program": (_exported_program, _load_exported_program),
        "onnx": (_onnx, _load_onnx),
    }[format]
    if format == "onnx":
        _need_onnx()
    name = run.config.model["name"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer and deprecation notes: the check decides
            data = exporter(module, samples[0])
            load = runner(data)
            with torch.inference_mode():
                pairs = [(module(x), load(x)) for x in samples]
    except ConfigError:
        raise
    except Exception as exc:  # torch's exporters raise many kinds; the reason is reported
        raise ConfigError(
            f"model {name!r} cannot be exported as {format}: {type(exc).__name__}: "
            f"{_first_line(exc)}"
        ) from None
    difference = 0.0
    for rows, (expected, got) in zip(_SAMPLE_ROWS, pairs, strict=True):
        if got.shape != expected.shape or not torch.allclose(got, expected, rtol=rtol, atol=atol):
            detail = (
                f"shape {tuple(got.shape)} for {tuple(expected.shape)}"
                if got.shape != expected.shape
                else f"largest difference {float((got - expected).abs().max()):.3g}"
            )
            raise ConfigError(
                f"model {name!r} exported as {format} does not reproduce the model on a batch "
                f"of {rows} rows ({detail}); nothing was written"
            )
        difference = max(difference, float((got - expected).abs().max()) if got.numel() else 0.0)
    with atomic_open(target) as file:
        file.write(data)
    return ExportResult(target, format, difference)


def _standardised(run: LoadedRun) -> nn.Module:
    width = _width(run)
    prep = run.preprocessing
    mean = torch.tensor(prep.feature_mean or [0.0] * width, dtype=torch.float32)
    std = torch.tensor(prep.feature_std or [1.0] * width, dtype=torch.float32)
    # a copy: exporting on the CPU leaves the run's own model where it was
    out_mean = out_std = None
    if prep.target_mean is not None and prep.target_std is not None:
        out_mean = torch.tensor(prep.target_mean, dtype=torch.float32)
        out_std = torch.tensor(prep.target_std, dtype=torch.float32)
    return Standardised(copy.deepcopy(run.model), mean, std, out_mean, out_std)


def _width(run: LoadedRun) -> int:
    width = run.preprocessing.in_features or getattr(run.model, "in_features", None)
    if not isinstance(width, int):
        raise ConfigError(
            f"run {str(run.run_dir)!r}: the model's number of input features is not known, so "
            "no sample batch can be made for the export check"
        )
    return width


def _sample(run: LoadedRun, rows: int, seed: int) -> Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, _width(run), generator=generator)
    prep = run.preprocessing
    if prep.feature_mean is not None and prep.feature_std is not None:
        x = x * torch.tensor(prep.feature_std) + torch.tensor(prep.feature_mean)
    return x.float()


def _torchscript(module: nn.Module, sample: Tensor) -> bytes:
    traced = torch.jit.trace(module, (sample,), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()


def _load_torchscript(data: bytes) -> Callable[[Tensor], Tensor]:
    loaded = torch.jit.load(io.BytesIO(data), map_location="cpu")
    return lambda x: loaded(x)


def _exported_program(module: nn.Module, sample: Tensor) -> bytes:
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(module, (sample,), dynamic_shapes=({0: batch},))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    return buffer.getvalue()


def _load_exported_program(data: bytes) -> Callable[[Tensor], Tensor]:
    loaded = torch.export.load(io.BytesIO(data)).module()
    return lambda x: loaded(x)


def _need_onnx() -> None:
    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        raise ConfigError(
            f"--format onnx needs {' and '.join(missing)}, which is not installed; install "
            "it with pip install 'rpnkit[onnx]'"
        )


def _onnx(module: nn.Module, sample: Tensor) -> bytes:
    buffer = io.BytesIO()
    torch.onnx.export(
        module,
        (sample,),
        buffer,  # type: ignore[arg-type]  # torch.onnx.export writes to a file-like too
        input_names=["features"],
        output_names=["outputs"],
        dynamic_axes={"features": {0: "batch"}, "outputs": {0: "batch"}},
        dynamo=False,
    )
    return buffer.getvalue()


def _load_onnx(data: bytes) -> Callable[[Tensor], Tensor]:
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])

    def run(x: Tensor) -> Tensor:
        (out,) = session.run(None, {"features": x.numpy()})
        return torch.from_numpy(out)

    return run


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else "no reason given")[:300]
