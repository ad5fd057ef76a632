"""A finished run's loss and metrics, on its own test split or on another labelled file.

:func:`evaluate_run` rebuilds the run's dataset from its config (the split is seeded, so it
is the test split the run was scored on) or reads a labelled file prepared with the run's
preprocessing, then evaluates with the run's loss and metrics through
:meth:`rpnkit.learner.BackwardLearner.test`, as the training did after every epoch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import TensorDataset

from rpnkit.data.loader import BatchLoader
from rpnkit.errors import ConfigError, RpnkitError
from rpnkit.inference.run import LoadedRun
from rpnkit.plugins.state import get_registry

__all__ = ["EvaluationReport", "evaluate_run"]


@dataclass(frozen=True)
class EvaluationReport:
    """What :func:`evaluate_run` measured.

    Attributes
    ----------
    source
        What was evaluated (``"the test split of flowers.csv"`` or the file's path).
    samples
        The number of samples.
    metrics
        ``"loss"`` (mean per sample) then every metric of the config, by name.
    recorded
        On the test split: the same values as the run recorded for the weights evaluated,
        after its last epoch or, for the best epoch's weights (``--checkpoint best``, or
        restored at the end of training), after that epoch (``None`` for another file, when
        the run recorded no test pass, or for ``best.pt`` of a run whose ``history.json``
        does not name its best epoch).
    recorded_at
        When ``recorded`` was measured: ``"the last epoch"`` or ``"epoch N, the best by
        COLUMN"`` (``None`` with no ``recorded``).
    """

    source: str
    samples: int
    metrics: dict[str, float]
    recorded: dict[str, float] | None
    recorded_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (what ``rpnkit evaluate --json`` prints)."""
        return {
            "source": self.source,
            "samples": self.samples,
            "metrics": self.metrics,
            "recorded": self.recorded,
            "recorded_at": self.recorded_at,
        }


def evaluate_run(run: LoadedRun, data: str | os.PathLike[str] | None = None) -> EvaluationReport:
    """Evaluate ``run``'s model on its test split, or on the labelled file ``data``.

    Raises
    ------
    ConfigError
        When the dataset cannot be rebuilt (e.g. its file is gone), the file lacks the
        target or holds a label the run never saw, or a component of the config fails.
    """
    from rpnkit.learner import BackwardLearner
    from rpnkit.learner.arguments import resolve_loss

    config = run.config
    metrics = [_build("metric", spec, f"metric[{i}]") for i, spec in enumerate(config.metrics)]
    try:
        learner = BackwardLearner(
            loss=resolve_loss(config.loss, "learner.loss") if config.loss is not None else None,
            precision=config.learner.get("precision"),
            verbose=False,
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, RpnkitError):
            raise
        raise ConfigError(f"learner: {exc}") from None
    if data is None:
        bundle = _build("dataset", config.data, "data")
        if not isinstance(bundle, Mapping) or "test_loader" not in bundle:
            raise ConfigError(f"dataset {config.data['name']!r} has no test split to evaluate")
        loader = bundle["test_loader"]
        test_rows = getattr(getattr(bundle, "graph", None), "test_idx", None)  # a graph's nodes
        source = f"the test split of {getattr(bundle, 'name', config.data['name'])}"
        recorded, recorded_at = _recorded(run, metrics)
    else:
        test_rows = None
        loader = _file_loader(run, data)
        source = str(data)
        recorded, recorded_at = None, None
    prep = run.preprocessing
    if prep.target_mean is not None and prep.target_std is not None:
        from rpnkit.metrics.regression import RegressionMetric

        for metric in metrics:  # the loss stays on the scale the model trained at
            if isinstance(metric, RegressionMetric):
                metric.in_target_units(
                    torch.tensor(prep.target_mean), torch.tensor(prep.target_std)
                )
    result = learner.test(
        run.model,
        loader,
        run.device,
        metrics or None,
        return_full_result=True,
        strategy="single",
        test_idx=test_rows,
    )
    values = {"loss": float(result["test_loss"]), **result["test_scores"]}
    run.model.eval()
    return EvaluationReport(source, len(result["y_true"]), values, recorded, recorded_at)


def _build(group: str, spec: dict[str, Any], where: str) -> Any:
    try:
        return get_registry().build(group, spec["name"], **spec["parameters"])
    except (RpnkitError, TypeError, ValueError) as exc:
        # a data file named by a relative path is looked for from the current directory
        hint = (
            "; run from the directory the training ran in, or pass --data FILE"
            if group == "dataset" and "does not exist" in str(exc)
            else ""
        )
        raise ConfigError(f"{where}: {exc}{hint}") from None


def _recorded(run: LoadedRun, metrics: list[Any]) -> tuple[dict[str, float] | None, str | None]:
    """The test values ``history.json`` recorded for the weights ``run`` holds, named as
    :func:`evaluate_run` names them, and when they were recorded.

    ``best.pt`` (and ``model.pt`` when training ended by restoring the best weights) holds the
    best epoch's weights, whose test pass is that epoch's history row (``history.json``'s
    ``best`` entry names the epoch); otherwise ``model.pt`` holds the last epoch's. A run
    written before ``history.json`` named its best epoch has no record for ``best.pt``.
    """
    import json

    summary = json.loads((run.run_dir / "history.json").read_text(encoding="utf-8"))
    rows = summary.get("history")
    if not rows:
        return None, None
    found = summary.get("best")
    best: dict[str, Any] = found if isinstance(found, dict) else {}
    if run.checkpoint != "best" and not best.get("restored"):
        row, when = rows[-1], "the last epoch"
    else:
        epoch = best.get("epoch")
        at = [r for r in rows if isinstance(r, dict) and r.get("epoch") == epoch]
        if not isinstance(epoch, int) or not at:
            return None, None
        row, when = at[0], f"epoch {epoch}, the best by {best.get('monitor')}"
    loss = row.get("test_loss")
    if not isinstance(loss, int | float) or math.isnan(loss):
        return None, None
    recorded = {"loss": float(loss)}
    names = [m.name for m in metrics]
    for i, name in enumerate(names):
        key = "test_score" if i == 0 and f"test_{name}" not in row else f"test_{name}"
        if isinstance(row.get(key), int | float):
            recorded[name] = float(row[key])
    return recorded, when


def _file_loader(run: LoadedRun, path: str | os.PathLike[str]) -> BatchLoader:
    table = run.read(path, labels=True)
    assert table.targets is not None
    x = run.preprocessing.apply(torch.from_numpy(table.features))
    targets = table.targets
    where = f"--data {str(path)!r}"
    if run.preprocessing.task == "classification":
        classes = run.preprocessing.classes or tuple(
            str(i) for i in range(run.preprocessing.out_features or 0)
        )
        index = {name: i for i, name in enumerate(classes)}
        names = [str(v) for v in targets.tolist()]
        unknown = next((k for k, name in enumerate(names) if name not in index), None)
        if unknown is not None:
            raise ConfigError(
                f"{where}: row {unknown + 1} has the label {names[unknown]!r}, which is not a "
                f"class of the run ({', '.join(map(repr, classes[:8]))})"
            )
        y = torch.tensor([index[name] for name in names], dtype=torch.long)
    else:
        if targets.dtype.kind not in "biuf":
            raise ConfigError(f"{where}: the target holds text, the run is a regression")
        raw = np.asarray(targets, dtype=np.float64).reshape(len(targets), -1)
        prep = run.preprocessing
        if prep.target_mean is not None and prep.target_std is not None:
            raw = (raw - np.asarray(prep.target_mean)) / np.asarray(prep.target_std)
        y = torch.from_numpy(raw.astype(np.float32))
    batch = run.config.data["parameters"].get("test_batch_size") or 256
    return BatchLoader(TensorDataset(x, y), int(batch))
