"""Use what was trained: load a run, predict new rows, evaluate, export the model.

* :func:`load_run` reads a run directory (``config.yaml``, ``model.pt``,
  ``preprocessing.json``) into a :class:`LoadedRun` whose ``predict`` prepares raw inputs as
  the training inputs were and names classes in the training file's own labels;
* :func:`evaluate_run` scores it on its test split or on another labelled file;
* :func:`export_run` writes TorchScript, a ``torch.export`` program or ONNX, checked by
  reloading.

The modules are imported when first used, so ``import rpnkit.inference`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rpnkit.inference.evaluation import EvaluationReport, evaluate_run
    from rpnkit.inference.export import ExportResult, export_run
    from rpnkit.inference.predictions import Predictions
    from rpnkit.inference.preprocessing import Preprocessing
    from rpnkit.inference.run import LoadedRun, load_run

__all__ = [
    "EvaluationReport",
    "ExportResult",
    "LoadedRun",
    "Predictions",
    "Preprocessing",
    "evaluate_run",
    "export_run",
    "load_run",
]

_LAZY = {
    "EvaluationReport": "evaluation",
    "evaluate_run": "evaluation",
    "ExportResult": "export",
    "export_run": "export",
    "Predictions": "predictions",
    "Preprocessing": "preprocessing",
    "LoadedRun": "run",
    "load_run": "run",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"rpnkit.inference.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'rpnkit.inference' has no attribute {name!r}")
